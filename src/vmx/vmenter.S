/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX guest entry and exit.
 *
 * int __vhv_vmx_run(u64 *regs, bool launched);
 *
 * Called with interrupts disabled and the VP's VMCS current.  Returns 0
 * after a VM exit, 1 if VMLAUNCH/VMRESUME failed.  RSP, RIP and RFLAGS
 * of the guest live in the VMCS; the other registers in regs[].  A VM
 * exit lands at __vhv_vmx_exit (HOST_RIP) with the stack as it was at
 * entry (HOST_RSP is written just before).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/unwind_hints.h>
#include "vhv/guest-regs.S"

#define G(r)		VHV_REG_OFF(VHV_REG_##r)
#define HOST_RSP	0x6c14

	.text
SYM_FUNC_START(__vhv_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi			/* regs, at 0(%rsp) from here on */

	mov	$HOST_RSP, %eax
	vmwrite	%rsp, %rax

	/* Flags from this test survive the register loads below. */
	test	%sil, %sil

	mov	%rdi, %rax
	VHV_LOAD_GUEST_REGS %rax
	mov	G(RAX)(%rax), %rax

	jnz	.Lresume
	UNWIND_HINT_SAVE
	vmlaunch
	jmp	.Lfail
.Lresume:
	vmresume
.Lfail:
	/* VMfail: nothing of the guest ran; registers hold guest values. */
	mov	$1, %eax
	jmp	.Lclear

SYM_INNER_LABEL(__vhv_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push	%rax
	mov	8(%rsp), %rax		/* regs */
	pop	G(RAX)(%rax)
	VHV_SAVE_GUEST_REGS %rax
	xor	%eax, %eax

.Lclear:
	/* Leave no guest value in a register the host may speculate on. */
	VHV_CLEAR_GUEST_SCRATCH
	/* Nor a guest return address in the RSB, before the first RET. */
	VHV_FILL_RSB

	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__vhv_vmx_run)
