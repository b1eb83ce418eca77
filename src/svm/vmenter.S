/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SVM guest entry and exit.
 *
 * void __vhv_svm_run(unsigned long vmcb_pa, u64 *regs,
 *		      unsigned long host_save_pa);
 *
 * Called with interrupts disabled and GIF clear.  VMRUN saves and
 * restores only part of the host state; VMSAVE/VMLOAD on host_save_pa
 * cover the rest (FS, GS, TR, LDTR, and the SYSCALL/SYSENTER MSRs), and
 * must run before anything uses the per-CPU GS base again.  RAX, RSP,
 * RIP and RFLAGS of the guest live in the VMCB; the others in regs[].
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include "vhv/guest-regs.S"


/* Stack slots after the pushes below */
#define SLOT_VMCB	0
#define SLOT_HOST	8
#define SLOT_REGS	16

	.text
SYM_FUNC_START(__vhv_svm_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rsi
	push	%rdx
	push	%rdi

	/* Host state that VMRUN does not keep. */
	mov	%rdx, %rax
	vmsave	%rax

	/* Guest registers; RAX is loaded from the VMCB by VMRUN. */
	mov	%rsi, %rax
	VHV_LOAD_GUEST_REGS %rax

	mov	SLOT_VMCB(%rsp), %rax
	vmload	%rax
	/* Host interrupts stay pending until GIF is set; they cause exits. */
	sti
	vmrun	%rax
	cli

	/* RAX and RSP are the host's again. */
	mov	SLOT_VMCB(%rsp), %rax
	vmsave	%rax
	mov	SLOT_HOST(%rsp), %rax
	vmload	%rax

	mov	SLOT_REGS(%rsp), %rax
	VHV_SAVE_GUEST_REGS %rax

	/* Leave no guest value in a register the host may speculate on. */
	xor	%eax, %eax
	VHV_CLEAR_GUEST_SCRATCH
	/* Nor a guest return address in the RSB, before the first RET. */
	VHV_FILL_RSB

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__vhv_svm_run)
