/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest register moves shared by the two entry paths, src/svm/vmenter.S
 * and src/vmx/vmenter.S, which include this file; it is not assembled
 * on its own.
 */
#include <asm/cpufeatures.h>
#include <asm/nospec-branch.h>
#include "vhv/regs.h"
/*
 * The guest registers both entry paths move by hand: all but RAX and
 * RSP, which VMRUN/VMLAUNCH take from (or the VMCS/VMCB holds) and the
 * caller handles.  \base must be a register not in this list.
 */
.macro VHV_LOAD_GUEST_REGS base
	mov	VHV_REG_OFF(VHV_REG_RCX)(\base), %rcx
	mov	VHV_REG_OFF(VHV_REG_RDX)(\base), %rdx
	mov	VHV_REG_OFF(VHV_REG_RBX)(\base), %rbx
	mov	VHV_REG_OFF(VHV_REG_RBP)(\base), %rbp
	mov	VHV_REG_OFF(VHV_REG_RSI)(\base), %rsi
	mov	VHV_REG_OFF(VHV_REG_RDI)(\base), %rdi
	mov	VHV_REG_OFF(VHV_REG_R8)(\base), %r8
	mov	VHV_REG_OFF(VHV_REG_R9)(\base), %r9
	mov	VHV_REG_OFF(VHV_REG_R10)(\base), %r10
	mov	VHV_REG_OFF(VHV_REG_R11)(\base), %r11
	mov	VHV_REG_OFF(VHV_REG_R12)(\base), %r12
	mov	VHV_REG_OFF(VHV_REG_R13)(\base), %r13
	mov	VHV_REG_OFF(VHV_REG_R14)(\base), %r14
	mov	VHV_REG_OFF(VHV_REG_R15)(\base), %r15
.endm

.macro VHV_SAVE_GUEST_REGS base
	mov	%rcx, VHV_REG_OFF(VHV_REG_RCX)(\base)
	mov	%rdx, VHV_REG_OFF(VHV_REG_RDX)(\base)
	mov	%rbx, VHV_REG_OFF(VHV_REG_RBX)(\base)
	mov	%rbp, VHV_REG_OFF(VHV_REG_RBP)(\base)
	mov	%rsi, VHV_REG_OFF(VHV_REG_RSI)(\base)
	mov	%rdi, VHV_REG_OFF(VHV_REG_RDI)(\base)
	mov	%r8, VHV_REG_OFF(VHV_REG_R8)(\base)
	mov	%r9, VHV_REG_OFF(VHV_REG_R9)(\base)
	mov	%r10, VHV_REG_OFF(VHV_REG_R10)(\base)
	mov	%r11, VHV_REG_OFF(VHV_REG_R11)(\base)
	mov	%r12, VHV_REG_OFF(VHV_REG_R12)(\base)
	mov	%r13, VHV_REG_OFF(VHV_REG_R13)(\base)
	mov	%r14, VHV_REG_OFF(VHV_REG_R14)(\base)
	mov	%r15, VHV_REG_OFF(VHV_REG_R15)(\base)
.endm

/* Leave no guest value in a caller-saved register the host may use. */
.macro VHV_CLEAR_GUEST_SCRATCH
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
.endm

/*
 * Overwrite the return stack buffer after a VM exit wherever the host's
 * Spectre v2 mitigations ask for it, as KVM does: the guest must not
 * steer the host's returns.  Before the first RET; clobbers RCX.
 */
.macro VHV_FILL_RSB
#ifdef X86_FEATURE_RSB_VMEXIT_LITE
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
#else
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
#endif
.endm
