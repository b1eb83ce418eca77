// SPDX-License-Identifier: GPL-2.0
/*
 * ALU instructions with an MMIO operand: ADD, OR, ADC, SBB, AND, SUB, XOR,
 * CMP and TEST, at 8, 16, 32 and 64 bits, with the memory operand as
 * destination (op r, m), as source (op m, r) and with immediates (80/81
 * and the sign-extended imm8 form 83).  The guest runs each instruction
 * on RAM and then on MMIO from the same initial state, and compares the
 * results and RFLAGS: the CPU is the oracle for the emulation.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define MMIO_CELL	(GUEST_MMIO_GPA + 0x100)

enum {
	OP_ADD, OP_OR, OP_ADC, OP_SBB, OP_AND, OP_SUB, OP_XOR, OP_CMP, OP_TEST,
	NR_OPS
};

enum { FORM_MR, FORM_RM, FORM_MI, FORM_MI8, NR_FORMS };

/* Runs the instruction on the memory at addr; returns the register. */
typedef u64 (*alu_fn)(u64 addr, u64 val, u64 flags_in, u64 *flags_out);

#define ALU_MR(op, sfx, mod)						\
static u64 op##_##sfx##_mr(u64 addr, u64 val, u64 fin, u64 *fout)	\
{									\
	u64 f;								\
	asm volatile("push %[fin]\n\t"					\
		     "popfq\n\t"					\
		     #op #sfx " %" mod "[val], (%[addr])\n\t"		\
		     "pushfq\n\t"					\
		     "pop %[f]\n\t"					\
		     : [f] "=&r"(f)					\
		     : [fin] "r"(fin), [val] "r"(val), [addr] "r"(addr)	\
		     : "cc", "memory");					\
	*fout = f;							\
	return val;							\
}

#define ALU_RM(op, sfx, mod)						\
static u64 op##_##sfx##_rm(u64 addr, u64 val, u64 fin, u64 *fout)	\
{									\
	u64 f;								\
	asm volatile("push %[fin]\n\t"					\
		     "popfq\n\t"					\
		     #op #sfx " (%[addr]), %" mod "[val]\n\t"		\
		     "pushfq\n\t"					\
		     "pop %[f]\n\t"					\
		     : [f] "=&r"(f), [val] "+r"(val)			\
		     : [fin] "r"(fin), [addr] "r"(addr)			\
		     : "cc", "memory");					\
	*fout = f;							\
	return val;							\
}

#define ALU_MI(op, sfx, name, imm)					\
static u64 op##_##sfx##_##name(u64 addr, u64 val, u64 fin, u64 *fout)	\
{									\
	u64 f;								\
	asm volatile("push %[fin]\n\t"					\
		     "popfq\n\t"					\
		     #op #sfx " $" #imm ", (%[addr])\n\t"		\
		     "pushfq\n\t"					\
		     "pop %[f]\n\t"					\
		     : [f] "=&r"(f)					\
		     : [fin] "r"(fin), [addr] "r"(addr)			\
		     : "cc", "memory");					\
	*fout = f;							\
	return val;							\
}

/* Immediates: 80 ib, 81 iw/id (REX.W: id sign-extended), 83 ib. */
#define ALU_OP(op)							\
	ALU_MR(op, b, "b") ALU_RM(op, b, "b") ALU_MI(op, b, mi, 0x81)	\
	ALU_MR(op, w, "w") ALU_RM(op, w, "w") ALU_MI(op, w, mi, 0x8001) \
	ALU_MI(op, w, mi8, -3)						\
	ALU_MR(op, l, "k") ALU_RM(op, l, "k")				\
	ALU_MI(op, l, mi, 0x80000001) ALU_MI(op, l, mi8, -3)		\
	ALU_MR(op, q, "q") ALU_RM(op, q, "q")				\
	ALU_MI(op, q, mi, -0x7fffffff) ALU_MI(op, q, mi8, -3)

ALU_OP(add)
ALU_OP(or)
ALU_OP(adc)
ALU_OP(sbb)
ALU_OP(and)
ALU_OP(sub)
ALU_OP(xor)
ALU_OP(cmp)

/* TEST has no "m, r" direction of its own and no imm8 form. */
ALU_MR(test, b, "b") ALU_MI(test, b, mi, 0x81)
ALU_MR(test, w, "w") ALU_MI(test, w, mi, 0x8001)
ALU_MR(test, l, "k") ALU_MI(test, l, mi, 0x80000001)
ALU_MR(test, q, "q") ALU_MI(test, q, mi, -0x7fffffff)

#define ALU_FNS(op)							\
	{ { op##_b_mr, op##_b_rm, op##_b_mi, NULL },			\
	  { op##_w_mr, op##_w_rm, op##_w_mi, op##_w_mi8 },		\
	  { op##_l_mr, op##_l_rm, op##_l_mi, op##_l_mi8 },		\
	  { op##_q_mr, op##_q_rm, op##_q_mi, op##_q_mi8 } }

static const alu_fn alu_fns[NR_OPS][4][NR_FORMS] = {
	[OP_ADD] = ALU_FNS(add),
	[OP_OR] = ALU_FNS(or),
	[OP_ADC] = ALU_FNS(adc),
	[OP_SBB] = ALU_FNS(sbb),
	[OP_AND] = ALU_FNS(and),
	[OP_SUB] = ALU_FNS(sub),
	[OP_XOR] = ALU_FNS(xor),
	[OP_CMP] = ALU_FNS(cmp),
	[OP_TEST] = {
		{ test_b_mr, NULL, test_b_mi, NULL },
		{ test_w_mr, NULL, test_w_mi, NULL },
		{ test_l_mr, NULL, test_l_mi, NULL },
		{ test_q_mr, NULL, test_q_mi, NULL },
	},
};

static u64 value(unsigned int kind, unsigned int size)
{
	u64 mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	u64 sign = 1ULL << (size * 8 - 1);

	switch (kind) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return sign - 1;
	case 3:
		return sign;
	case 4:
		return mask;
	case 5:
		return 0x0f;
	default:
		return 0x5a3c96f0e1d2c3b4ULL & mask;
	}
}

/* (destination, source) kinds: zero, carries, overflows, AF, patterns. */
static const u8 pairs[][2] = {
	{ 0, 0 }, { 1, 4 }, { 2, 1 }, { 3, 4 }, { 3, 3 }, { 5, 1 }, { 6, 2 },
	{ 4, 1 },
};

static u64 guest_ram_cell;

static void mmio_write64(u64 addr, u64 v)
{
	asm volatile("movq %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static u64 mmio_read64(u64 addr)
{
	u64 v;

	asm volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static void guest_alu(u64 op)
{
	/* AF is undefined after the logical operations. */
	u64 flags_mask = ~0ULL;
	unsigned int size, si, form, p, fl;

	if (op == OP_OR || op == OP_AND || op == OP_XOR || op == OP_TEST)
		flags_mask &= ~X86_FLAGS_AF;

	for (si = 0, size = 1; si < 4; si++, size *= 2) {
		for (form = 0; form < NR_FORMS; form++) {
			alu_fn fn = alu_fns[op][si][form];

			if (!fn)
				continue;
			for (p = 0; p < ARRAY_SIZE(pairs); p++) {
				for (fl = 0; fl < 2; fl++) {
					u64 dst = value(pairs[p][0], size);
					u64 src = value(pairs[p][1], size);
					u64 fin = X86_FLAGS_FIXED |
						  (fl ? X86_FLAGS_ARITH : 0);
					u64 ctx = op << 24 | size << 16 |
						  form << 8 | p << 1 | fl;
					u64 f_ram, f_mmio, r_ram, r_mmio;

					/* Bits above the size must survive. */
					if (form == FORM_RM && size < 8)
						src |= 0xa5a5a5a5a5a5a500ULL <<
						       ((size - 1) * 8);

					WRITE_ONCE(guest_ram_cell, dst);
					r_ram = fn((u64)&guest_ram_cell, src,
						   fin, &f_ram);
					mmio_write64(MMIO_CELL, dst);
					r_mmio = fn(MMIO_CELL, src, fin,
						    &f_mmio);

					GUEST_ASSERT_EQ_CTX(r_mmio, r_ram, ctx);
					GUEST_ASSERT_EQ_CTX(f_mmio & flags_mask,
							    f_ram & flags_mask,
							    ctx);
					GUEST_ASSERT_EQ_CTX(mmio_read64(MMIO_CELL),
							    READ_ONCE(guest_ram_cell),
							    ctx);
				}
			}
		}
	}
	GUEST_DONE();
}

static void run_alu(struct __test_metadata *_metadata, u64 op)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_alu));
	struct mmio_dev *dev = calloc(1, sizeof(*dev));
	struct ucall uc;

	ASSERT_NE(NULL, dev);
	mmio_dev_init(dev, GUEST_MMIO_GPA);
	vp_args_set(vp, 1, op);
	ASSERT_EQ((u64)UCALL_DONE, vp_run_mmio(vp, dev, &uc));
	/* Every case went through MMIO: at least a write and a read. */
	EXPECT_GT(dev->nlog, 200U);
	free(dev);
	part_free(part);
}

TEST(mmio_alu_add)
{
	run_alu(_metadata, OP_ADD);
}

TEST(mmio_alu_or)
{
	run_alu(_metadata, OP_OR);
}

TEST(mmio_alu_adc)
{
	run_alu(_metadata, OP_ADC);
}

TEST(mmio_alu_sbb)
{
	run_alu(_metadata, OP_SBB);
}

TEST(mmio_alu_and)
{
	run_alu(_metadata, OP_AND);
}

TEST(mmio_alu_sub)
{
	run_alu(_metadata, OP_SUB);
}

TEST(mmio_alu_xor)
{
	run_alu(_metadata, OP_XOR);
}

TEST(mmio_alu_cmp)
{
	run_alu(_metadata, OP_CMP);
}

TEST(mmio_alu_test)
{
	run_alu(_metadata, OP_TEST);
}

TEST_HARNESS_MAIN
