/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvhboot entry: the Multiboot (v1) header, a flat GDT, a stack, the call
 * into pvhboot_main() and the final jump to the kernel's PVH entry point.
 *
 * A Multiboot loader enters _start in 32-bit protected mode with paging
 * off, %eax = 0x2badb002 and %ebx = the Multiboot information; the GDTR
 * it leaves may point anywhere, so load our own GDT before touching a
 * segment register.
 */

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

#define SEL_CS		0x08
#define SEL_DS		0x10
#define SEL_TSS		0x18

	.section .multiboot, "a"
	.balign 4
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl	_start
_start:
	cli
	cld
	lgdt	gdt_desc
	ljmp	$SEL_CS, $1f
1:	movl	$SEL_DS, %ecx
	movl	%ecx, %ds
	movl	%ecx, %es
	movl	%ecx, %fs
	movl	%ecx, %gs
	movl	%ecx, %ss
	movl	$stack_top, %esp
	pushl	%ebx			/* struct mb_info * */
	pushl	%eax			/* Multiboot magic */
	call	pvhboot_main		/* returns only on error */
2:	cli
	hlt
	jmp	2b

/*
 * void pvh_enter(u32 entry, u32 start_info): the machine state that the
 * PVH boot ABI asks for (arch/x86/platform/pvh/head.S): %ebx = start_info,
 * CR0 = PE only, CR4 = 0, flat 32-bit CS/DS/ES, TR a 32-bit TSS with base
 * 0 and limit 0x67, IF and TF clear.
 */
	.globl	pvh_enter
pvh_enter:
	cli
	movl	4(%esp), %eax
	movl	8(%esp), %ebx
	movl	$SEL_TSS, %ecx
	ltr	%cx
	xorl	%ecx, %ecx
	movl	%ecx, %cr4
	movl	$0x11, %ecx		/* PE, and ET (read-only 1 anyway) */
	movl	%ecx, %cr0
	pushl	$0x2			/* EFLAGS: only the reserved bit 1 */
	popfl
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	jmp	*%eax

	.data
	.balign 8
gdt:
	.quad	0x0000000000000000	/* null */
	.quad	0x00cf9a000000ffff	/* SEL_CS: 32-bit code, base 0, 4 GiB */
	.quad	0x00cf92000000ffff	/* SEL_DS: data, base 0, 4 GiB */
gdt_tss:
	.quad	0x0000890000000067	/* SEL_TSS: 32-bit TSS, base 0, limit 0x67 */
gdt_end:

	.balign 8
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.bss
	.balign 16
	.space	16384
stack_top:
