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
#include "vhv/regs.h"

#define G(r)	VHV_REG_OFF(VHV_REG_##r)

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

	/* Leave no guest value in a register the host may speculate on. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__vhv_svm_run)
