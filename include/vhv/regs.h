/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest register file layout, shared by C and the entry assembly.
 * The order is the x86 register encoding, so ModRM numbers index it.
 */
#ifndef _VHV_REGS_H
#define _VHV_REGS_H

#define VHV_REG_RAX	0
#define VHV_REG_RCX	1
#define VHV_REG_RDX	2
#define VHV_REG_RBX	3
#define VHV_REG_RSP	4
#define VHV_REG_RBP	5
#define VHV_REG_RSI	6
#define VHV_REG_RDI	7
#define VHV_REG_R8	8
#define VHV_REG_R9	9
#define VHV_REG_R10	10
#define VHV_REG_R11	11
#define VHV_REG_R12	12
#define VHV_REG_R13	13
#define VHV_REG_R14	14
#define VHV_REG_R15	15
#define VHV_REG_RIP	16
#define VHV_REG_RFLAGS	17
#define VHV_NR_REGS	18

/* Byte offset of a register in the array, for assembly. */
#define VHV_REG_OFF(r)	((r) * 8)

#endif /* _VHV_REGS_H */
