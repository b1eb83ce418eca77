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
#include "vhv/regs.h"

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
	mov	G(RCX)(%rax), %rcx
	mov	G(RDX)(%rax), %rdx
	mov	G(RBX)(%rax), %rbx
	mov	G(RBP)(%rax), %rbp
	mov	G(RSI)(%rax), %rsi
	mov	G(RDI)(%rax), %rdi
	mov	G(R8)(%rax), %r8
	mov	G(R9)(%rax), %r9
	mov	G(R10)(%rax), %r10
	mov	G(R11)(%rax), %r11
	mov	G(R12)(%rax), %r12
	mov	G(R13)(%rax), %r13
	mov	G(R14)(%rax), %r14
	mov	G(R15)(%rax), %r15
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
	mov	%rcx, G(RCX)(%rax)
	mov	%rdx, G(RDX)(%rax)
	mov	%rbx, G(RBX)(%rax)
	mov	%rbp, G(RBP)(%rax)
	mov	%rsi, G(RSI)(%rax)
	mov	%rdi, G(RDI)(%rax)
	mov	%r8, G(R8)(%rax)
	mov	%r9, G(R9)(%rax)
	mov	%r10, G(R10)(%rax)
	mov	%r11, G(R11)(%rax)
	mov	%r12, G(R12)(%rax)
	mov	%r13, G(R13)(%rax)
	mov	%r14, G(R14)(%rax)
	mov	%r15, G(R15)(%rax)
	xor	%eax, %eax

.Lclear:
	/* Leave no guest value in a register the host may speculate on. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__vhv_vmx_run)
