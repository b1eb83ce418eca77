// SPDX-License-Identifier: GPL-2.0
/*
 * Decoder and ALU for the instructions that vhv emulates on MMIO exits.
 *
 * Only instructions with a memory operand that a guest plausibly uses on
 * device memory are accepted: MOV, MOVZX/MOVSX/MOVSXD, the eight classic
 * ALU operations and TEST, XCHG, and (REP) STOS/MOVS.  Everything else is
 * refused with -1 so the caller can inject a fault or give up.
 *
 * The file is plain C without library calls so that the same code is
 * built into the module and into the userspace unit tests.
 *
 * Conventions (see also include/vhv/emulate.h):
 *  - ModRM displacements are stored sign-extended; moffs (A0-A3) are
 *    stored zero-extended in disp with no base and no index.
 *  - A high-byte register (AH, CH, DH, BH) is reported as reg 0-3 (the
 *    containing register) with reg_high8 set.
 *  - In 64-bit mode the ES, CS, SS and DS overrides are ignored, as the
 *    CPU does; seg keeps its default (DS, or SS for rBP/rSP bases).
 *  - STOS: seg is ES, base is rDI and reg is rAX.  MOVS: seg is the
 *    source segment, base is rSI; the destination is always ES:rDI.
 */
#include "vhv/emulate.h"
#include "vhv/regs.h"

/* Per-opcode decode attributes. */
#define D_BYTE		0x01	/* 8-bit operands */
#define D_MODRM		0x02	/* ModRM with a memory operand follows */
#define D_REG		0x04	/* ModRM.reg is a register operand */
#define D_GRP		0x08	/* ModRM.reg selects the ALU operation */
#define D_SLASH0	0x10	/* ModRM.reg must be 0 */
#define D_IMM		0x20	/* imm8/16/32 by operand size */
#define D_IMM8		0x40	/* imm8, sign-extended to operand size */
#define D_MOFFS		0x80	/* moffs of address size, rAX operand */
#define D_STR		0x100	/* string instruction */
#define D_REXW		0x200	/* 64-bit mode with REX.W only */

#define REX_B		0x01
#define REX_X		0x02
#define REX_R		0x04
#define REX_W		0x08

#define FL_CF		0x0001
#define FL_PF		0x0004
#define FL_AF		0x0010
#define FL_ZF		0x0040
#define FL_SF		0x0080
#define FL_OF		0x0800
#define FL_ARITH	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

struct vhv_opdesc {
	u16 opcode;		/* 0x0fxx for the two-byte map */
	u8 op;			/* enum vhv_op */
	u8 alu;			/* enum vhv_alu, unless D_GRP */
	u8 srcsize;		/* MOVZX/MOVSX source size */
	u16 flags;		/* D_* */
};

/* Opcodes 00-3B with a ModRM are handled arithmetically, not here. */
static const struct vhv_opdesc vhv_opcodes[] = {
	{ 0x63, VHV_OP_MOVSX, 0, 4, D_MODRM | D_REG | D_REXW },
	{ 0x80, VHV_OP_ALU_MEM, 0, 0, D_BYTE | D_MODRM | D_GRP | D_IMM },
	{ 0x81, VHV_OP_ALU_MEM, 0, 0, D_MODRM | D_GRP | D_IMM },
	{ 0x83, VHV_OP_ALU_MEM, 0, 0, D_MODRM | D_GRP | D_IMM8 },
	{ 0x84, VHV_OP_ALU_MEM, VHV_ALU_TEST, 0, D_BYTE | D_MODRM | D_REG },
	{ 0x85, VHV_OP_ALU_MEM, VHV_ALU_TEST, 0, D_MODRM | D_REG },
	{ 0x86, VHV_OP_XCHG, 0, 0, D_BYTE | D_MODRM | D_REG },
	{ 0x87, VHV_OP_XCHG, 0, 0, D_MODRM | D_REG },
	{ 0x88, VHV_OP_STORE, 0, 0, D_BYTE | D_MODRM | D_REG },
	{ 0x89, VHV_OP_STORE, 0, 0, D_MODRM | D_REG },
	{ 0x8a, VHV_OP_LOAD, 0, 0, D_BYTE | D_MODRM | D_REG },
	{ 0x8b, VHV_OP_LOAD, 0, 0, D_MODRM | D_REG },
	{ 0xa0, VHV_OP_LOAD, 0, 0, D_BYTE | D_MOFFS },
	{ 0xa1, VHV_OP_LOAD, 0, 0, D_MOFFS },
	{ 0xa2, VHV_OP_STORE, 0, 0, D_BYTE | D_MOFFS },
	{ 0xa3, VHV_OP_STORE, 0, 0, D_MOFFS },
	{ 0xa4, VHV_OP_MOVS, 0, 0, D_BYTE | D_STR },
	{ 0xa5, VHV_OP_MOVS, 0, 0, D_STR },
	{ 0xaa, VHV_OP_STOS, 0, 0, D_BYTE | D_STR },
	{ 0xab, VHV_OP_STOS, 0, 0, D_STR },
	{ 0xc6, VHV_OP_STORE, 0, 0, D_BYTE | D_MODRM | D_SLASH0 | D_IMM },
	{ 0xc7, VHV_OP_STORE, 0, 0, D_MODRM | D_SLASH0 | D_IMM },
	{ 0xf6, VHV_OP_ALU_MEM, VHV_ALU_TEST, 0,
	  D_BYTE | D_MODRM | D_SLASH0 | D_IMM },
	{ 0xf7, VHV_OP_ALU_MEM, VHV_ALU_TEST, 0, D_MODRM | D_SLASH0 | D_IMM },
	{ 0x0fb6, VHV_OP_MOVZX, 0, 1, D_MODRM | D_REG },
	{ 0x0fb7, VHV_OP_MOVZX, 0, 2, D_MODRM | D_REG },
	{ 0x0fbe, VHV_OP_MOVSX, 0, 1, D_MODRM | D_REG },
	{ 0x0fbf, VHV_OP_MOVSX, 0, 2, D_MODRM | D_REG },
	{ }			/* op == VHV_OP_NONE ends the table */
};

/* 16-bit ModRM addressing, indexed by ModRM.rm. */
static const s8 vhv_base16[8] = {
	VHV_REG_RBX, VHV_REG_RBX, VHV_REG_RBP, VHV_REG_RBP,
	VHV_REG_RSI, VHV_REG_RDI, VHV_REG_RBP, VHV_REG_RBX,
};

static const s8 vhv_index16[8] = {
	VHV_REG_RSI, VHV_REG_RDI, VHV_REG_RSI, VHV_REG_RDI,
	VHV_NO_REG, VHV_NO_REG, VHV_NO_REG, VHV_NO_REG,
};

struct vhv_dec {
	const u8 *buf;
	unsigned int pos;
	unsigned int end;	/* min(len, VHV_INSN_MAX) */
	enum vhv_cpu_mode mode;
	u8 rex;
};

static u64 vhv_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

u64 vhv_sext(u64 v, unsigned int size)
{
	unsigned int shift;

	if (size == 0 || size >= 8)
		return v;
	shift = 64 - size * 8;
	return (u64)((s64)(v << shift) >> shift);
}

/* Fetch n little-endian bytes; fails rather than read past the end. */
static int vhv_fetch(struct vhv_dec *d, unsigned int n, u64 *val)
{
	unsigned int i;

	if (d->end - d->pos < n)
		return -1;
	*val = 0;
	for (i = 0; i < n; i++)
		*val |= (u64)d->buf[d->pos + i] << (i * 8);
	d->pos += n;
	return 0;
}

/* Returns the table's terminator (op == VHV_OP_NONE) if not found. */
static const struct vhv_opdesc *vhv_lookup(u16 opcode)
{
	const struct vhv_opdesc *od;

	for (od = vhv_opcodes; od->op != VHV_OP_NONE; od++)
		if (od->opcode == opcode)
			break;
	return od;
}

/* Decode ModRM, SIB and displacement; *regf gets ModRM.reg (3 bits). */
static int vhv_modrm(struct vhv_dec *d, struct vhv_insn *insn, u8 *regf)
{
	unsigned int mod, rm, idx, dsize = 0;
	u64 modrm, sib, disp = 0;

	if (vhv_fetch(d, 1, &modrm))
		return -1;
	mod = modrm >> 6;
	rm = modrm & 7;
	*regf = (modrm >> 3) & 7;
	if (mod == 3)
		return -1;

	if (insn->addrsize == 2) {
		if (mod == 0 && rm == 6) {
			dsize = 2;
		} else {
			insn->base = vhv_base16[rm];
			insn->index = vhv_index16[rm];
			dsize = mod;		/* disp8 or disp16 */
		}
	} else {
		if (rm == 4) {
			if (vhv_fetch(d, 1, &sib))
				return -1;
			insn->scale = 1 << (sib >> 6);
			rm = sib & 7;
			idx = ((sib >> 3) & 7) | (d->rex & REX_X) << 2;
			if (idx != VHV_REG_RSP)	/* 4 means no index */
				insn->index = idx;
			if (mod == 0 && rm == 5)
				dsize = 4;	/* no base */
			else
				insn->base = rm | (d->rex & REX_B) << 3;
		} else if (mod == 0 && rm == 5) {
			dsize = 4;
			insn->rip_relative = d->mode == VHV_MODE_64;
		} else {
			insn->base = rm | (d->rex & REX_B) << 3;
		}
		if (mod)
			dsize = mod == 1 ? 1 : 4;
	}
	if (insn->base == VHV_REG_RBP || insn->base == VHV_REG_RSP)
		insn->seg = VHV_SEG_SS;

	if (dsize && vhv_fetch(d, dsize, &disp))
		return -1;
	insn->disp = vhv_sext(disp, dsize);
	return 0;
}

int vhv_decode(const u8 *buf, unsigned int len, enum vhv_cpu_mode mode,
	       struct vhv_insn *insn)
{
	struct vhv_dec d = {
		.buf = buf,
		.end = len < VHV_INSN_MAX ? len : VHV_INSN_MAX,
		.mode = mode,
	};
	const struct vhv_opdesc *od;
	bool opsz = false, adsz = false, prefix;
	int seg = -1;
	u64 b, v;
	u8 regf = 0;

	*insn = (struct vhv_insn) {
		.reg = VHV_NO_REG, .base = VHV_NO_REG, .index = VHV_NO_REG,
		.scale = 1, .seg = VHV_SEG_DS,
	};

	/* Legacy prefixes in any order; a REX counts only if last. */
	for (;;) {
		if (vhv_fetch(&d, 1, &b))
			return -1;
		prefix = true;
		switch (b) {
		case 0x66:
			opsz = true;
			break;
		case 0x67:
			adsz = true;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			seg = (b >> 3) & 3;	/* ES, CS, SS, DS */
			break;
		case 0x64:
			seg = VHV_SEG_FS;
			break;
		case 0x65:
			seg = VHV_SEG_GS;
			break;
		case 0xf2:
			insn->rep = VHV_REP_REPNE;
			break;
		case 0xf3:
			insn->rep = VHV_REP_REP;
			break;
		case 0xf0:		/* LOCK: nothing to do */
			break;
		default:
			prefix = false;
		}
		if (prefix)
			d.rex = 0;
		else if (mode == VHV_MODE_64 && (b & 0xf0) == 0x40)
			d.rex = b;
		else
			break;
	}
	if (b == 0x0f) {
		if (vhv_fetch(&d, 1, &v))
			return -1;
		b = 0x0f00 | v;
	}

	if (mode == VHV_MODE_16)
		insn->opsize = opsz ? 4 : 2;
	else
		insn->opsize = opsz ? 2 : 4;
	if (d.rex & REX_W)
		insn->opsize = 8;
	if (mode == VHV_MODE_64)
		insn->addrsize = adsz ? 4 : 8;
	else if (mode == VHV_MODE_32)
		insn->addrsize = adsz ? 2 : 4;
	else
		insn->addrsize = adsz ? 4 : 2;

	if (b < 0x40 && (b & 7) < 4) {
		/* ADD..CMP: 0 r/m8,r8  1 r/m,r  2 r8,r/m8  3 r,r/m */
		static const struct vhv_opdesc alu_mem = {
			0, VHV_OP_ALU_MEM, 0, 0, D_MODRM | D_REG };
		static const struct vhv_opdesc alu_reg = {
			0, VHV_OP_ALU_REG, 0, 0, D_MODRM | D_REG };

		od = b & 2 ? &alu_reg : &alu_mem;
		insn->alu = b >> 3;
		if (!(b & 1))
			insn->opsize = 1;
	} else {
		od = vhv_lookup(b);
		if (od->op == VHV_OP_NONE)
			return -1;
		insn->alu = od->alu;
		if (od->flags & D_BYTE)
			insn->opsize = 1;
	}
	insn->op = od->op;
	insn->srcsize = od->srcsize;

	if ((od->flags & D_REXW) &&
	    (mode != VHV_MODE_64 || !(d.rex & REX_W)))
		return -1;

	if (od->flags & D_MODRM) {
		if (vhv_modrm(&d, insn, &regf))
			return -1;
		if ((od->flags & D_SLASH0) && regf)
			return -1;
		if (od->flags & D_GRP)
			insn->alu = regf;
	}
	if (od->flags & D_REG) {
		insn->reg = regf | (d.rex & REX_R) << 1;
		if (insn->opsize == 1 && !d.rex && insn->reg >= 4) {
			insn->reg -= 4;		/* AH, CH, DH, BH */
			insn->reg_high8 = true;
		}
	}
	if (od->flags & D_MOFFS) {
		if (vhv_fetch(&d, insn->addrsize, &v))
			return -1;
		insn->disp = v;
		insn->reg = VHV_REG_RAX;
	}
	if (od->flags & (D_IMM | D_IMM8)) {
		unsigned int isize = insn->opsize < 4 ? insn->opsize : 4;

		if (od->flags & D_IMM8)
			isize = 1;
		if (vhv_fetch(&d, isize, &v))
			return -1;
		insn->imm = vhv_sext(v, isize) & vhv_mask(insn->opsize);
		insn->has_imm = true;
	}

	/* 64-bit mode ignores all segment overrides but FS and GS. */
	if (seg >= 0 && (mode != VHV_MODE_64 || seg >= VHV_SEG_FS))
		insn->seg = seg;
	if (insn->op == VHV_OP_STOS) {
		insn->base = VHV_REG_RDI;
		insn->reg = VHV_REG_RAX;
		insn->seg = VHV_SEG_ES;		/* cannot be overridden */
	} else if (insn->op == VHV_OP_MOVS) {
		insn->base = VHV_REG_RSI;
	}
	insn->len = d.pos;
	return 0;
}

u64 vhv_insn_ea(const struct vhv_insn *insn, const u64 *gprs, u64 next_rip)
{
	u64 ea = insn->disp;

	if (insn->rip_relative)
		ea += next_rip;
	else if (insn->base >= 0 && insn->base < 16)
		ea += gprs[insn->base];
	if (insn->index >= 0 && insn->index < 16)
		ea += gprs[insn->index] * insn->scale;
	return ea & vhv_mask(insn->addrsize);
}

static u64 vhv_parity(u64 res)
{
	u8 p = res;

	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	return p & 1 ? 0 : FL_PF;
}

/*
 * AF is undefined after AND, OR, XOR and TEST; we clear it, which is
 * what current Intel and AMD processors do.
 */
u64 vhv_alu(enum vhv_alu alu, unsigned int size, u64 dst, u64 src,
	    u64 *rflags)
{
	u64 mask = vhv_mask(size), sign = (mask >> 1) + 1;
	u64 cf = *rflags & FL_CF, res, fl = 0;
	bool arith = true;

	dst &= mask;
	src &= mask;
	if (alu != VHV_ALU_ADC && alu != VHV_ALU_SBB)
		cf = 0;
	switch (alu) {
	case VHV_ALU_ADD:
	case VHV_ALU_ADC:
		res = (dst + src + cf) & mask;
		if (cf ? res <= dst : res < dst)
			fl |= FL_CF;
		if ((dst ^ res) & (src ^ res) & sign)
			fl |= FL_OF;
		break;
	case VHV_ALU_SUB:
	case VHV_ALU_SBB:
	case VHV_ALU_CMP:
		res = (dst - src - cf) & mask;
		if (cf ? dst <= src : dst < src)
			fl |= FL_CF;
		if ((dst ^ src) & (dst ^ res) & sign)
			fl |= FL_OF;
		break;
	case VHV_ALU_OR:
		res = dst | src;
		arith = false;
		break;
	case VHV_ALU_AND:
	case VHV_ALU_TEST:
		res = dst & src;
		arith = false;
		break;
	case VHV_ALU_XOR:
	default:
		res = dst ^ src;
		arith = false;
		break;
	}
	if (arith)
		fl |= (dst ^ src ^ res) & FL_AF;
	fl |= vhv_parity(res);
	if (!res)
		fl |= FL_ZF;
	if (res & sign)
		fl |= FL_SF;
	*rflags = (*rflags & ~(u64)FL_ARITH) | fl;
	return res;
}

u64 vhv_reg_read(const u64 *gprs, int reg, bool high8, unsigned int size)
{
	if (reg < 0 || reg > 15)
		return 0;
	if (size == 1 && high8)
		return (gprs[reg & 3] >> 8) & 0xff;
	return gprs[reg] & vhv_mask(size);
}

void vhv_reg_write(u64 *gprs, int reg, bool high8, unsigned int size,
		   u64 val)
{
	u64 mask = vhv_mask(size);

	if (reg < 0 || reg > 15)
		return;
	if (size == 1 && high8)
		gprs[reg & 3] = (gprs[reg & 3] & ~0xff00ULL) | (val & 0xff) << 8;
	else if (size == 4)
		gprs[reg] = val & mask;		/* 32-bit writes zero-extend */
	else
		gprs[reg] = (gprs[reg] & ~mask) | (val & mask);
}
