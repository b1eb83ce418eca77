// SPDX-License-Identifier: GPL-2.0
/*
 * Arch-neutral exit handling: the backend has turned its hardware exit
 * into struct vhv_exit; here it is handled in the kernel or handed to
 * the VMM through the run page.
 *
 * Return convention (as KVM's): >0 enter the guest again, 0 return to
 * the VMM with the run page filled in, <0 an -errno for VHV_RUN.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>

#include "vhv/vhv.h"

#define IO_DATA_ROOM	(VHV_RUN_PAGE_SIZE - VHV_RUN_DATA_OFFSET)

/* linear_access() flag: fail quietly instead of queueing a #PF */
#define ACC_PROBE	BIT(31)

/* Outcome of a guest memory access made by the emulator. */
enum {
	MEM_OK,
	MEM_PF,			/* a #PF was queued for the guest */
	MEM_MMIO,		/* not RAM: the VMM must do it */
	MEM_BAD,		/* cannot be emulated */
};

struct emu_ctx {
	struct vhv_sregs s;
	enum vhv_cpu_mode mode;
	bool have_read;		/* read_val is the VMM's MMIO read */
	u64 read_val;
	bool write;		/* an MMIO write is to be reported */
	u64 write_gpa;
	u64 write_val;
	u8 write_len;
};

void vhv_internal_error(struct vhv_vp *vp, u32 suberror)
{
	struct vhv_run *run = vp->run;

	run->exit_reason = VHV_EXIT_INTERNAL_ERROR;
	memset(&run->internal, 0, sizeof(run->internal));
	run->internal.suberror = suberror;
	run->internal.code = vp->exit.code;
	run->internal.info[0] = vp->exit.info[0];
	run->internal.info[1] = vp->exit.info[1];
}

static u64 rip_mask(enum vhv_cpu_mode mode)
{
	return mode == VHV_MODE_64 ? ~0ULL :
	       mode == VHV_MODE_32 ? 0xffffffffULL : 0xffffULL;
}

static void advance_rip(struct vhv_vp *vp, u64 next_rip)
{
	vp->regs[VHV_REG_RIP] = next_rip;
}

static void measure_insn(struct vhv_vp *vp, u8 opcode_len);

/* Step over the exiting instruction, whose opcode is opcode_len bytes. */
static void skip_insn(struct vhv_vp *vp, u8 opcode_len)
{
	if (!vp->exit.insn_len)
		measure_insn(vp, opcode_len);
	advance_rip(vp, vp->regs[VHV_REG_RIP] + vp->exit.insn_len);
}

static u64 seg_base(const struct emu_ctx *c, unsigned int seg)
{
	static const size_t off[] = {
		[VHV_SEG_ES] = offsetof(struct vhv_sregs, es),
		[VHV_SEG_CS] = offsetof(struct vhv_sregs, cs),
		[VHV_SEG_SS] = offsetof(struct vhv_sregs, ss),
		[VHV_SEG_DS] = offsetof(struct vhv_sregs, ds),
		[VHV_SEG_FS] = offsetof(struct vhv_sregs, fs),
		[VHV_SEG_GS] = offsetof(struct vhv_sregs, gs),
	};

	if (c->mode == VHV_MODE_64 && seg != VHV_SEG_FS && seg != VHV_SEG_GS)
		return 0;
	return ((const struct vhv_segment *)((const u8 *)&c->s +
					     off[seg]))->base;
}

static void queue_pf(struct vhv_vp *vp, u64 lin, u32 error)
{
	vhv_ops->set_cr2(vp, lin);
	vhv_ops->inject_exception(vp, X86_TRAP_PF, true, error);
}

/*
 * Access guest linear memory one page at a time.  On MEM_MMIO, *gpa is
 * the guest-physical address of the part that is not RAM.
 */
static int linear_access(struct vhv_vp *vp, struct emu_ctx *c, u64 lin,
			 void *buf, u32 len, u32 access, u64 *gpa)
{
	if (c->s.ss.dpl == 3)
		access |= VHV_ACC_USER;
	while (len) {
		u32 chunk = min_t(u32, len, PAGE_SIZE - offset_in_page(lin));
		u32 pf_error;
		int r;

		r = vhv_gva_to_gpa(vp, &c->s, lin, access & ~ACC_PROBE, gpa,
				   &pf_error);
		if (r == -EFAULT) {
			if (access & ACC_PROBE)
				return MEM_BAD;
			queue_pf(vp, lin, pf_error);
			return MEM_PF;
		}
		if (r)
			return MEM_BAD;
		if (access & VHV_ACC_WRITE)
			r = vhv_gpa_write(vp->part, *gpa, buf, chunk);
		else
			r = vhv_gpa_read(vp->part, *gpa, buf, chunk);
		if (r == -ENOENT)
			return MEM_MMIO;
		if (r)
			return MEM_BAD;
		lin += chunk;
		buf += chunk;
		len -= chunk;
	}
	return MEM_OK;
}

/* Fetch up to VHV_INSN_MAX bytes at CS:RIP.  Returns the count or <0. */
static int fetch_insn(struct vhv_vp *vp, struct emu_ctx *c, u8 *buf)
{
	u64 lin = seg_base(c, VHV_SEG_CS) + vp->regs[VHV_REG_RIP], gpa;
	u32 first = min_t(u32, VHV_INSN_MAX, PAGE_SIZE - offset_in_page(lin));
	int r;

	r = linear_access(vp, c, lin, buf, first, VHV_ACC_FETCH, &gpa);
	if (r != MEM_OK)
		return -r;
	if (first < VHV_INSN_MAX &&
	    linear_access(vp, c, lin + first, buf + first,
			  VHV_INSN_MAX - first, VHV_ACC_FETCH | ACC_PROBE,
			  &gpa) == MEM_OK)
		first = VHV_INSN_MAX;
	return first;
}

static void emu_init(struct vhv_vp *vp, struct emu_ctx *c)
{
	memset(c, 0, sizeof(*c));
	vhv_ops->get_sregs(vp, &c->s);
	c->mode = vhv_cpu_mode(&c->s);
}

/* A fetch that failed: a queued #PF resumes the guest, else give up. */
static int fetch_failed(struct vhv_vp *vp, int r)
{
	if (r == -MEM_PF)
		return 1;
	vhv_internal_error(vp, VHV_INTERNAL_FETCH);
	return 0;
}

/*
 * Walk the prefixes of the instruction in buf: the segment override and
 * address size they select.  Returns the offset of the opcode.
 */
static int scan_prefixes(const u8 *buf, int n, enum vhv_cpu_mode mode,
			 u8 *seg, u8 *addrsize)
{
	int i;

	*seg = VHV_SEG_DS;
	*addrsize = mode == VHV_MODE_64 ? 8 : mode == VHV_MODE_32 ? 4 : 2;
	for (i = 0; i < n; i++) {
		switch (buf[i]) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			*seg = (buf[i] >> 3) & 3;
			continue;
		case 0x64: case 0x65:
			*seg = buf[i] - 0x64 + VHV_SEG_FS;
			continue;
		case 0x67:
			*addrsize = mode == VHV_MODE_32 ? 2 : 4;
			continue;
		case 0x66: case 0xf0: case 0xf2: case 0xf3:
			continue;
		}
		if (mode == VHV_MODE_64 && (buf[i] & 0xf0) == 0x40)
			continue;
		break;
	}
	return i;
}

/*
 * Without NRIP save the backend does not know how long the exiting
 * instruction is: its opcode is known, but prefixes may precede it.
 */
static void measure_insn(struct vhv_vp *vp, u8 opcode_len)
{
	u8 buf[VHV_INSN_MAX], seg, as;
	struct emu_ctx c;
	u64 lin, gpa;
	int n;

	emu_init(vp, &c);
	lin = seg_base(&c, VHV_SEG_CS) + vp->regs[VHV_REG_RIP];
	if (linear_access(vp, &c, lin, buf, 1, VHV_ACC_FETCH | ACC_PROBE,
			  &gpa) != MEM_OK || buf[0] == 0x0f || buf[0] == 0xf4) {
		vp->exit.insn_len = opcode_len;	/* no prefix: the usual */
		return;
	}
	n = fetch_insn(vp, &c, buf);
	if (n > 0)
		opcode_len += scan_prefixes(buf, n, c.mode, &seg, &as);
	vp->exit.insn_len = opcode_len;
}

/* ---- port I/O ---- */

/* Segment override and address size of an INS/OUTS, from its prefixes. */
static int string_io_prefixes(struct vhv_vp *vp, struct emu_ctx *c,
			      u8 *seg, u8 *addrsize)
{
	u8 buf[VHV_INSN_MAX];
	int n = fetch_insn(vp, c, buf);

	if (n < 0)
		return n;
	scan_prefixes(buf, n, c->mode, seg, addrsize);
	return 0;
}

static u64 addr_mask(u8 addrsize)
{
	return addrsize == 8 ? ~0ULL : (1ULL << (addrsize * 8)) - 1;
}

/* reg += delta within the address size, as the string instructions do. */
static void step_reg(u64 *regs, int reg, u8 addrsize, s64 delta)
{
	u64 mask = addr_mask(addrsize);

	if (addrsize == 4)	/* 32-bit writes clear the upper half */
		regs[reg] = (u32)(regs[reg] + delta);
	else
		regs[reg] = (regs[reg] & ~mask) | ((regs[reg] + delta) & mask);
}

/*
 * Copy @count string items between the run page and guest memory at
 * seg:reg.  Returns the number of items done; a #PF, or memory that is
 * not RAM, stops early with the reason in *status.
 */
static u32 string_io_copy(struct vhv_vp *vp, struct emu_ctx *c, int reg,
			  u8 seg, u32 count, bool to_guest, int *status)
{
	u8 *data = (u8 *)vp->run + VHV_RUN_DATA_OFFSET;
	u8 size = vp->insn.opsize, as = vp->insn.addrsize;
	s64 step = (vp->regs[VHV_REG_RFLAGS] & X86_EFLAGS_DF) ? -size : size;
	u32 i;
	u64 gpa;

	*status = MEM_OK;
	for (i = 0; i < count; i++) {
		u64 lin = seg_base(c, seg) + (vp->regs[reg] & addr_mask(as));

		*status = linear_access(vp, c, lin, data + i * size, size,
					to_guest ? VHV_ACC_WRITE : 0, &gpa);
		if (*status != MEM_OK)
			break;
		step_reg(vp->regs, reg, as, step);
	}
	return i;
}

/* String I/O between a port and MMIO is not emulated. */
static int string_io_failed(struct vhv_vp *vp, int status)
{
	if (status == MEM_PF)
		return 1;
	vp->pending = VHV_PEND_NONE;
	vhv_internal_error(vp, VHV_INTERNAL_EMULATION);
	return 0;
}

/* After @done items of a string I/O: count down rCX, finish when zero. */
static void string_io_done(struct vhv_vp *vp, u32 done)
{
	if (vp->insn.rep) {
		step_reg(vp->regs, VHV_REG_RCX, vp->insn.addrsize, -(s64)done);
		if (vp->regs[VHV_REG_RCX] & addr_mask(vp->insn.addrsize))
			return;		/* re-executed for the rest */
	}
	if (done)
		advance_rip(vp, vp->next_rip);
}

static int handle_io(struct vhv_vp *vp)
{
	struct vhv_run *run = vp->run;
	struct vhv_insn *st = &vp->insn;
	struct emu_ctx c;
	u32 count = 1;
	int r, status;
	u64 rcx;

	memset(st, 0, sizeof(*st));
	st->opsize = vp->exit.io.size;
	st->rep = vp->exit.io.rep;
	vp->next_rip = vp->regs[VHV_REG_RIP] + vp->exit.insn_len;

	run->exit_reason = VHV_EXIT_IO;
	memset(&run->io, 0, sizeof(run->io));
	run->io.port = vp->exit.io.port;
	run->io.size = st->opsize;
	run->io.direction = vp->exit.io.in ? VHV_IO_IN : VHV_IO_OUT;
	run->io.string = vp->exit.io.string;
	run->io.rep = st->rep;
	run->io.data_offset = VHV_RUN_DATA_OFFSET;

	if (vp->exit.io.string) {
		emu_init(vp, &c);
		r = string_io_prefixes(vp, &c, &st->seg, &st->addrsize);
		if (r < 0)
			return fetch_failed(vp, r);
		if (st->rep) {
			rcx = vp->regs[VHV_REG_RCX] & addr_mask(st->addrsize);
			if (!rcx) {
				advance_rip(vp, vp->next_rip);
				return 1;
			}
			count = min_t(u64, rcx, IO_DATA_ROOM / st->opsize);
		}
		if (!vp->exit.io.in) {
			count = string_io_copy(vp, &c, VHV_REG_RSI, st->seg,
					       count, false, &status);
			string_io_done(vp, count);
			if (!count)
				return string_io_failed(vp, status);
		}
	} else if (!vp->exit.io.in) {
		memcpy((u8 *)run + VHV_RUN_DATA_OFFSET,
		       &vp->regs[VHV_REG_RAX], st->opsize);
		advance_rip(vp, vp->next_rip);
	}
	run->io.count = count;
	if (vp->exit.io.in) {
		vp->io_count = count;
		vp->io_string = vp->exit.io.string;
		vp->pending = VHV_PEND_IO_IN;
	}
	return 0;
}

static int complete_io_in(struct vhv_vp *vp)
{
	u8 *data = (u8 *)vp->run + VHV_RUN_DATA_OFFSET;
	struct emu_ctx c;
	u64 val = 0;
	int status;
	u32 done;

	if (!vp->io_string) {
		memcpy(&val, data, vp->insn.opsize);
		vhv_reg_write(vp->regs, VHV_REG_RAX, false, vp->insn.opsize,
			      val);
		advance_rip(vp, vp->next_rip);
		return 1;
	}
	emu_init(vp, &c);
	done = string_io_copy(vp, &c, VHV_REG_RDI, VHV_SEG_ES, vp->io_count,
			      true, &status);
	string_io_done(vp, done);
	return status == MEM_OK ? 1 : string_io_failed(vp, status);
}

/* ---- MMIO ---- */

static int mem_read(struct vhv_vp *vp, struct emu_ctx *c, u64 lin, u8 len,
		    u64 *val)
{
	struct vhv_run *run = vp->run;
	u64 gpa;
	int r;

	*val = 0;
	r = linear_access(vp, c, lin, val, len, 0, &gpa);
	if (r != MEM_MMIO)
		return r;
	if (offset_in_page(lin) + len > PAGE_SIZE)
		return MEM_BAD;		/* a split MMIO access */
	if (vhv_lapic_mmio(vp, gpa, val, len, false))
		return MEM_OK;
	if (c->have_read) {
		c->have_read = false;
		*val = c->read_val;
		return MEM_OK;
	}
	run->exit_reason = VHV_EXIT_MMIO;
	memset(&run->mmio, 0, sizeof(run->mmio));
	run->mmio.gpa = gpa;
	run->mmio.len = len;
	vp->mmio_len = len;
	vp->pending = VHV_PEND_MMIO_READ;
	return MEM_MMIO;
}

static int mem_write(struct vhv_vp *vp, struct emu_ctx *c, u64 lin, u8 len,
		     u64 val)
{
	u64 gpa;
	int r;

	r = linear_access(vp, c, lin, &val, len, VHV_ACC_WRITE, &gpa);
	if (r != MEM_MMIO)
		return r;
	if (offset_in_page(lin) + len > PAGE_SIZE)
		return MEM_BAD;
	if (vhv_lapic_mmio(vp, gpa, &val, len, true))
		return MEM_OK;
	if (c->write)
		return MEM_BAD;
	c->write = true;
	c->write_gpa = gpa;
	c->write_val = val;
	c->write_len = len;
	return MEM_OK;
}

/* Run the decoded instruction in vp->insn; MMIO goes to the VMM. */
static int emulate_insn(struct vhv_vp *vp, struct emu_ctx *c)
{
	struct vhv_insn *in = &vp->insn;
	u64 *g = vp->regs, ea, val, src, res, amask = addr_mask(in->addrsize);
	s64 step = (g[VHV_REG_RFLAGS] & X86_EFLAGS_DF) ? -in->opsize :
		   in->opsize;
	bool store = in->alu != VHV_ALU_CMP && in->alu != VHV_ALU_TEST;
	u8 sz = in->opsize;
	int r = MEM_OK;

	ea = seg_base(c, in->seg) + vhv_insn_ea(in, g, vp->next_rip);
	if (c->mode != VHV_MODE_64)
		ea = (u32)ea;

	switch (in->op) {
	case VHV_OP_STORE:
		val = in->has_imm ? in->imm :
		      vhv_reg_read(g, in->reg, in->reg_high8, sz);
		r = mem_write(vp, c, ea, sz, val);
		break;
	case VHV_OP_LOAD:
	case VHV_OP_MOVZX:
	case VHV_OP_MOVSX:
		r = mem_read(vp, c, ea, in->op == VHV_OP_LOAD ? sz : in->srcsize,
			     &val);
		if (r)
			break;
		if (in->op == VHV_OP_MOVSX)
			val = vhv_sext(val, in->srcsize);
		vhv_reg_write(g, in->reg, in->reg_high8, sz, val);
		break;
	case VHV_OP_ALU_MEM:
		r = mem_read(vp, c, ea, sz, &val);
		if (r)
			break;
		src = in->has_imm ? in->imm :
		      vhv_reg_read(g, in->reg, in->reg_high8, sz);
		res = vhv_alu(in->alu, sz, val, src, &g[VHV_REG_RFLAGS]);
		if (store)
			r = mem_write(vp, c, ea, sz, res);
		break;
	case VHV_OP_ALU_REG:
		r = mem_read(vp, c, ea, sz, &val);
		if (r)
			break;
		src = vhv_reg_read(g, in->reg, in->reg_high8, sz);
		res = vhv_alu(in->alu, sz, src, val, &g[VHV_REG_RFLAGS]);
		if (store)
			vhv_reg_write(g, in->reg, in->reg_high8, sz, res);
		break;
	case VHV_OP_XCHG:
		r = mem_read(vp, c, ea, sz, &val);
		if (!r)
			r = mem_write(vp, c, ea, sz,
				      vhv_reg_read(g, in->reg, in->reg_high8,
						   sz));
		if (!r)
			vhv_reg_write(g, in->reg, in->reg_high8, sz, val);
		break;
	case VHV_OP_STOS:
	case VHV_OP_MOVS:
		if (in->rep && !(g[VHV_REG_RCX] & amask))
			break;
		val = g[VHV_REG_RAX];
		if (in->op == VHV_OP_MOVS)
			r = mem_read(vp, c, seg_base(c, in->seg) +
				     (g[VHV_REG_RSI] & amask), sz, &val);
		if (!r)
			r = mem_write(vp, c, seg_base(c, VHV_SEG_ES) +
				      (g[VHV_REG_RDI] & amask), sz, val);
		if (r)
			break;
		if (in->op == VHV_OP_MOVS)
			step_reg(g, VHV_REG_RSI, in->addrsize, step);
		step_reg(g, VHV_REG_RDI, in->addrsize, step);
		if (in->rep) {
			step_reg(g, VHV_REG_RCX, in->addrsize, -1);
			if (g[VHV_REG_RCX] & amask)
				goto report;	/* re-executed for the rest */
		}
		break;
	default:
		r = MEM_BAD;
	}
	if (r)
		return r;
	advance_rip(vp, vp->next_rip);
report:
	if (c->write) {
		struct vhv_run *run = vp->run;

		run->exit_reason = VHV_EXIT_MMIO;
		memset(&run->mmio, 0, sizeof(run->mmio));
		run->mmio.gpa = c->write_gpa;
		run->mmio.len = c->write_len;
		run->mmio.is_write = 1;
		memcpy(run->mmio.data, &c->write_val, c->write_len);
		return MEM_MMIO;
	}
	return MEM_OK;
}

/* Map an emulation outcome to the run-loop convention. */
static int emulation_result(struct vhv_vp *vp, int r, const u8 *bytes,
			    int len)
{
	switch (r) {
	case MEM_OK:
	case MEM_PF:
		return 1;
	case MEM_MMIO:
		return 0;
	default:
		vp->pending = VHV_PEND_NONE;
		vhv_internal_error(vp, VHV_INTERNAL_EMULATION);
		if (bytes) {
			vp->run->internal.insn_len = len;
			memcpy(vp->run->internal.insn, bytes, len);
		}
		return 0;
	}
}

static int handle_mmio(struct vhv_vp *vp)
{
	u8 buf[VHV_INSN_MAX];
	struct emu_ctx c;
	int n;

	emu_init(vp, &c);
	n = fetch_insn(vp, &c, buf);
	if (n < 0)
		return fetch_failed(vp, n);
	if (vhv_decode(buf, n, c.mode, &vp->insn))
		return emulation_result(vp, MEM_BAD, buf, n);
	vp->next_rip = (vp->regs[VHV_REG_RIP] + vp->insn.len) &
		       rip_mask(c.mode);
	return emulation_result(vp, emulate_insn(vp, &c), buf, n);
}

static int complete_mmio_read(struct vhv_vp *vp)
{
	struct emu_ctx c;

	emu_init(vp, &c);
	c.have_read = true;
	memcpy(&c.read_val, vp->run->mmio.data, sizeof(c.read_val));
	c.read_val &= addr_mask(vp->mmio_len);
	vp->pending = VHV_PEND_NONE;
	return emulation_result(vp, emulate_insn(vp, &c), NULL, 0);
}

static int handle_npf(struct vhv_vp *vp)
{
	int r = vhv_mmu_fault(vp->part, vp->exit.npf.gpa, vp->exit.npf.write,
			      vp->exit.npf.fetch);

	if (r == VHV_FAULT_MAPPED)
		return 1;
	if (r < 0) {
		vhv_internal_error(vp, VHV_INTERNAL_MEMORY);
		return 0;
	}
	if (r == VHV_FAULT_NOEXEC || vp->exit.npf.fetch) {
		vhv_internal_error(vp, VHV_INTERNAL_FETCH);
		return 0;
	}
	/*
	 * An event delivery (IDT, stack) or the guest's own page walk that
	 * touches MMIO: not emulated.
	 */
	if (vp->exit.vectoring || vp->exit.npf.walk) {
		vhv_internal_error(vp, VHV_INTERNAL_EMULATION);
		return 0;
	}
	return handle_mmio(vp);
}

/* ---- CPUID, MSRs, the rest ---- */

static int handle_cpuid(struct vhv_vp *vp)
{
	u64 *g = vp->regs;
	u32 out[4];

	vhv_cpuid(vp, g[VHV_REG_RAX], g[VHV_REG_RCX], out);
	g[VHV_REG_RAX] = out[0];
	g[VHV_REG_RBX] = out[1];
	g[VHV_REG_RCX] = out[2];
	g[VHV_REG_RDX] = out[3];
	skip_insn(vp, 2);
	return 1;
}

/*
 * MOV to CR8, intercepted (SVM) while an interrupt waits for the TPR to
 * drop: 0F 22 /r with ModRM.reg (extended by REX.R) = 8.
 */
static int handle_cr8_write(struct vhv_vp *vp)
{
	u8 buf[VHV_INSN_MAX], seg, as, rex = 0;
	struct emu_ctx c;
	int n, i;
	u64 val;

	emu_init(vp, &c);
	n = fetch_insn(vp, &c, buf);
	if (n < 0)
		return fetch_failed(vp, n);
	i = scan_prefixes(buf, n, c.mode, &seg, &as);
	if (i && c.mode == VHV_MODE_64 && (buf[i - 1] & 0xf0) == 0x40)
		rex = buf[i - 1];
	if (i + 3 > n || buf[i] != 0x0f || buf[i + 1] != 0x22 ||
	    (buf[i + 2] >> 6) != 3 ||
	    (((buf[i + 2] >> 3) & 7) | (rex & 4 ? 8 : 0)) != 8)
		return emulation_result(vp, MEM_BAD, buf, n);
	val = vp->regs[(buf[i + 2] & 7) | (rex & 1 ? 8 : 0)];
	if (val > 15) {
		vhv_ops->inject_exception(vp, X86_TRAP_GP, true, 0);
		return 1;
	}
	vhv_lapic_set_tpr(vp, val << 4);
	advance_rip(vp, vp->regs[VHV_REG_RIP] + i + 3);
	return 1;
}

static int handle_msr(struct vhv_vp *vp, bool write)
{
	u64 *g = vp->regs, data;
	u32 index = g[VHV_REG_RCX];
	int r;

	if (write) {
		data = (u32)g[VHV_REG_RAX] | (g[VHV_REG_RDX] << 32);
		r = vhv_set_msr(vp, index, data, false);
	} else {
		r = vhv_get_msr(vp, index, &data);
		if (!r) {
			g[VHV_REG_RAX] = (u32)data;
			g[VHV_REG_RDX] = data >> 32;
		}
	}
	if (r)
		vhv_ops->inject_exception(vp, X86_TRAP_GP, true, 0);
	else
		skip_insn(vp, 2);
	return 1;
}

static int handle_exit(struct vhv_vp *vp)
{
	struct vhv_exit *x = &vp->exit;
	struct vhv_run *run = vp->run;

	run->rip = vp->regs[VHV_REG_RIP];
	switch (x->kind) {
	case VHV_X_RESUME:
		return 1;
	case VHV_X_IO:
		return handle_io(vp);
	case VHV_X_NPF:
		return handle_npf(vp);
	case VHV_X_CPUID:
		return handle_cpuid(vp);
	case VHV_X_RDMSR:
	case VHV_X_WRMSR:
		return handle_msr(vp, x->kind == VHV_X_WRMSR);
	case VHV_X_HLT:
		skip_insn(vp, 1);
		vp->mp_state = VHV_MP_HALTED;
		return 1;
	case VHV_X_CR8_WRITE:
		return handle_cr8_write(vp);
	case VHV_X_NOP:
		skip_insn(vp, 2);
		return 1;
	case VHV_X_BACKEND:
		return vhv_ops->handle_exit(vp);
	case VHV_X_SHUTDOWN:
		/* The state after a shutdown is undefined: start over. */
		vhv_reset_regs(vp);
		vhv_ops->vp_reset(vp);
		vhv_lapic_reset(vp, false);
		run->exit_reason = VHV_EXIT_SHUTDOWN;
		return 0;
	case VHV_X_FAIL_ENTRY:
		run->exit_reason = VHV_EXIT_FAIL_ENTRY;
		memset(&run->fail_entry, 0, sizeof(run->fail_entry));
		run->fail_entry.hardware_reason = x->code;
		run->fail_entry.cpu = x->cpu;
		return 0;
	default:
		vhv_internal_error(vp, VHV_INTERNAL_UNKNOWN_EXIT);
		return 0;
	}
}

/* A level-triggered EOI the VMM asked to see ends the run. */
static int eoi_exit(struct vhv_vp *vp, int r)
{
	if (r <= 0 || vp->lapic.eoi_exit < 0)
		return r;
	vp->run->exit_reason = VHV_EXIT_EOI;
	vp->run->rip = vp->regs[VHV_REG_RIP];
	memset(&vp->run->eoi, 0, sizeof(vp->run->eoi));
	vp->run->eoi.vector = vp->lapic.eoi_exit;
	vp->lapic.eoi_exit = -1;
	return 0;
}

int vhv_handle_exit(struct vhv_vp *vp)
{
	return eoi_exit(vp, handle_exit(vp));
}

/* Finish what the last exit left to the VMM (IN data, MMIO read). */
int vhv_complete_pending(struct vhv_vp *vp)
{
	u8 pending = vp->pending;

	vp->pending = VHV_PEND_NONE;
	switch (pending) {
	case VHV_PEND_IO_IN:
		return complete_io_in(vp);
	case VHV_PEND_MMIO_READ:
		return eoi_exit(vp, complete_mmio_read(vp));
	default:
		return 1;
	}
}
