// SPDX-License-Identifier: GPL-2.0
/*
 * Guest exception and interrupt entry: 256 stubs of 16 bytes each (the
 * IDT points at them), a common path that saves the registers as struct ex_regs and
 * calls vhv_guest_exception(), and the trap reached when a guest's entry
 * function returns.
 */
#include <string.h>

#include "vhv_util.h"
#include "apic.h"

/* Vectors whose exceptions push an error code. */
#define EXC_HAS_ERROR_CODE						\
	"((vhv_vec == 8) || ((vhv_vec >= 10) && (vhv_vec <= 14)) || "	\
	"(vhv_vec == 17) || (vhv_vec == 21) || (vhv_vec == 29) || "	\
	"(vhv_vec == 30))"

asm(".pushsection .text\n"
	".balign 16\n"
	".globl vhv_exc_stubs\n"
	"vhv_exc_stubs:\n"
	"vhv_vec = 0\n"
	".rept 256\n"
	".balign 16\n"
	".if !" EXC_HAS_ERROR_CODE "\n"
	"pushq $0\n"
	".endif\n"
	"pushq $vhv_vec\n"
	"jmp vhv_exc_common\n"
	"vhv_vec = vhv_vec + 1\n"
	".endr\n"
	"\n"
	/*
	 * The CPU aligned RSP to 16 before pushing 6 quadwords (with the
	 * error code), the stub pushed the vector and we push 15 registers:
	 * RSP is 16-byte aligned at the call.
	 */
	"vhv_exc_common:\n"
	"push %rax\n"
	"push %rcx\n"
	"push %rdx\n"
	"push %rbx\n"
	"push %rbp\n"
	"push %rsi\n"
	"push %rdi\n"
	"push %r8\n"
	"push %r9\n"
	"push %r10\n"
	"push %r11\n"
	"push %r12\n"
	"push %r13\n"
	"push %r14\n"
	"push %r15\n"
	"mov %rsp, %rdi\n"
	"cld\n"
	"call vhv_guest_exception\n"
	"pop %r15\n"
	"pop %r14\n"
	"pop %r13\n"
	"pop %r12\n"
	"pop %r11\n"
	"pop %r10\n"
	"pop %r9\n"
	"pop %r8\n"
	"pop %rdi\n"
	"pop %rsi\n"
	"pop %rbp\n"
	"pop %rbx\n"
	"pop %rdx\n"
	"pop %rcx\n"
	"pop %rax\n"
	"add $16, %rsp\n"
	"iretq\n"
	"\n"
	/* Return address of a guest entry function. */
	".balign 16\n"
	".globl vhv_guest_return_trap\n"
	"vhv_guest_return_trap:\n"
	"and $-16, %rsp\n"
	"call vhv_guest_returned\n"
	"1: hlt\n"
	"jmp 1b\n"
	".popsection\n");

vhv_exc_handler_fn vhv_guest_exc_handlers[VHV_NR_VECTORS];

void vhv_guest_exception(struct ex_regs *regs)
{
	vhv_exc_handler_fn handler = NULL;
	u64 cr2 = 0;

	if (regs->vector < VHV_NR_VECTORS)
		handler = READ_ONCE(vhv_guest_exc_handlers[regs->vector]);
	if (handler) {
		handler(regs);
		return;
	}
	if (regs->vector == PF_VECTOR)
		asm volatile("mov %%cr2, %0" : "=r"(cr2));
	ucall(UCALL_UNHANDLED, regs->vector, regs->error_code, regs->rip, cr2);
	for (;;)
		asm volatile("hlt");
}

void vhv_guest_returned(void)
{
	ucall_assert("the guest entry function returned", __FILE__, __LINE__,
		     0, 0, 0);
}

void part_install_exception_handler(struct vhv_partition *part,
				    unsigned int vector,
				    vhv_exc_handler_fn handler)
{
	TEST_ASSERT(vector < VHV_NR_EXC_VECTORS, "bad vector %u", vector);
	*guest_ptr(part, vhv_guest_exc_handlers[vector]) = handler;
}

void part_install_irq_handler(struct vhv_partition *part, unsigned int vector,
			      vhv_exc_handler_fn handler)
{
	TEST_ASSERT(vector < VHV_NR_VECTORS, "bad vector %u", vector);
	*guest_ptr(part, vhv_guest_exc_handlers[vector]) = handler;
}
