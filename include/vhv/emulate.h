/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The instruction decoder and ALU used to emulate MMIO accesses.
 *
 * This file and src/emulate.c are pure C with no kernel dependencies
 * beyond fixed-width types, so the same code is built into vhv.ko and
 * into the userspace unit tests (selftests/unit).
 */
#ifndef _VHV_EMULATE_H
#define _VHV_EMULATE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#include <stdbool.h>
/* The same types as uint8_t etc., spelled as the compiler does. */
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#endif

#define VHV_INSN_MAX	15

/* Default operand/address size of the code being decoded. */
enum vhv_cpu_mode {
	VHV_MODE_16,		/* real mode, or a 16-bit code segment */
	VHV_MODE_32,		/* 32-bit code segment */
	VHV_MODE_64,		/* long mode, CS.L = 1 */
};

enum vhv_op {
	VHV_OP_NONE,
	VHV_OP_STORE,		/* [m] = src (register or immediate) */
	VHV_OP_LOAD,		/* reg = [m] */
	VHV_OP_MOVZX,		/* reg = zero-extend([m], srcsize) */
	VHV_OP_MOVSX,		/* reg = sign-extend([m], srcsize) */
	VHV_OP_ALU_MEM,		/* [m] = [m] alu src; CMP/TEST only set flags */
	VHV_OP_ALU_REG,		/* reg = reg alu [m]; CMP/TEST only set flags */
	VHV_OP_XCHG,		/* tmp = [m]; [m] = reg; reg = tmp */
	VHV_OP_STOS,		/* [ES:rDI] = rAX; rDI += +-size */
	VHV_OP_MOVS,		/* [ES:rDI] = [seg:rSI]; both step */
};

enum vhv_alu {
	VHV_ALU_ADD,		/* the order of opcode bits 5:3 */
	VHV_ALU_OR,
	VHV_ALU_ADC,
	VHV_ALU_SBB,
	VHV_ALU_AND,
	VHV_ALU_SUB,
	VHV_ALU_XOR,
	VHV_ALU_CMP,
	VHV_ALU_TEST,
};

enum vhv_seg {
	VHV_SEG_ES, VHV_SEG_CS, VHV_SEG_SS, VHV_SEG_DS, VHV_SEG_FS, VHV_SEG_GS,
};

#define VHV_REP_NONE	0
#define VHV_REP_REP	1	/* F3 */
#define VHV_REP_REPNE	2	/* F2 */

#define VHV_NO_REG	(-1)

struct vhv_insn {
	u8 len;			/* total bytes, prefixes included */
	u8 op;			/* enum vhv_op */
	u8 alu;			/* enum vhv_alu, for the ALU forms */
	u8 opsize;		/* operand size in bytes: 1, 2, 4 or 8 */
	u8 srcsize;		/* MOVZX/MOVSX: size of the memory operand */
	u8 addrsize;		/* 2, 4 or 8 */
	u8 rep;			/* VHV_REP_* */
	u8 seg;			/* enum vhv_seg of the memory operand (rSI for MOVS) */
	s8 reg;			/* register operand (0-15), or VHV_NO_REG */
	bool reg_high8;		/* AH, CH, DH or BH; reg is then 0-3 */
	bool has_imm;
	bool rip_relative;	/* disp is relative to the next instruction */
	s8 base;		/* memory base register or VHV_NO_REG */
	s8 index;		/* memory index register or VHV_NO_REG */
	u8 scale;		/* 1, 2, 4 or 8 */
	s64 disp;
	u64 imm;		/* sign- or zero-extended to opsize as x86 does */
};

/*
 * Decode the instruction in buf[0..len).  Only instructions that can
 * touch memory through one of the forms in enum vhv_op are accepted.
 * Returns 0, or -1 when the bytes are not an instruction we emulate
 * (or are truncated).
 */
int vhv_decode(const u8 *buf, unsigned int len, enum vhv_cpu_mode mode,
	       struct vhv_insn *insn);

/*
 * Effective address of the memory operand (without the segment base),
 * truncated to the address size.  gprs is indexed by VHV_REG_*; next_rip
 * is the address of the following instruction (for RIP-relative forms).
 */
u64 vhv_insn_ea(const struct vhv_insn *insn, const u64 *gprs, u64 next_rip);

/*
 * Compute dst alu src at size bytes.  Returns the result (for CMP and
 * TEST, the value that would have been stored) and updates the
 * arithmetic flags (CF, PF, AF, ZF, SF, OF) in *rflags as the CPU does.
 * ADC and SBB read CF from *rflags.
 */
u64 vhv_alu(enum vhv_alu alu, unsigned int size, u64 dst, u64 src,
	    u64 *rflags);

/* Read/write a register operand with x86 partial-register rules. */
u64 vhv_reg_read(const u64 *gprs, int reg, bool high8, unsigned int size);
void vhv_reg_write(u64 *gprs, int reg, bool high8, unsigned int size,
		   u64 val);

/* Sign-extend the low size bytes of v to 64 bits. */
u64 vhv_sext(u64 v, unsigned int size);

#endif /* _VHV_EMULATE_H */
