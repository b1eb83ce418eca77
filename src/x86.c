// SPDX-License-Identifier: GPL-2.0
/*
 * Architectural x86 state shared by both backends: the guest page walk
 * used by the emulator, register checks and reset, CPUID and MSRs.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "vhv/vhv.h"

/* ---- guest page walk ---- */

#define PTE_P		BIT_ULL(0)
#define PTE_W		BIT_ULL(1)
#define PTE_U		BIT_ULL(2)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR	GENMASK_ULL(51, 12)

#define PFERR_P		BIT(0)

enum vhv_cpu_mode vhv_cpu_mode(const struct vhv_sregs *s)
{
	if ((s->efer & EFER_LMA) && s->cs.l)
		return VHV_MODE_64;
	if ((s->cr0 & X86_CR0_PE) && s->cs.db)
		return VHV_MODE_32;
	return VHV_MODE_16;
}

static int read_pte(struct vhv_vp *vp, u64 gpa, bool wide, u64 *pte)
{
	u32 pte32;
	int r;

	if (wide)
		return vhv_gpa_read(vp->part, gpa, pte, 8);
	r = vhv_gpa_read(vp->part, gpa, &pte32, 4);
	*pte = pte32;
	return r;
}

/*
 * Translate a linear address as the guest MMU would.  Returns 0, -EFAULT
 * with *pf_error set for a guest #PF, or -ENOENT if a table is not RAM.
 * Accessed and dirty bits are not updated.
 */
int vhv_gva_to_gpa(struct vhv_vp *vp, const struct vhv_sregs *s, u64 gva,
		   u32 access, u64 *gpa, u32 *pf_error)
{
	bool wide = s->cr4 & X86_CR4_PAE, nx = s->efer & EFER_NX;
	bool wp = s->cr0 & X86_CR0_WP;
	u64 table, pte = 0, allow_w = PTE_W, allow_u = PTE_U, allow_x = 1;
	int level, bits = wide ? 9 : 10, r;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = (s->efer & EFER_LMA) ? gva : (u32)gva;
		return 0;
	}
	if (s->efer & EFER_LMA) {
		level = 4;
		table = s->cr3 & PTE_ADDR;
	} else if (wide) {
		/* PAE: the four PDPTEs are at CR3[31:5]. */
		table = (s->cr3 & 0xffffffe0) + ((gva >> 30) & 3) * 8;
		r = read_pte(vp, table, true, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			goto fault;
		table = pte & PTE_ADDR;
		level = 2;
		gva = (u32)gva;
	} else {
		level = 2;
		table = s->cr3 & 0xfffff000;
		gva = (u32)gva;
	}

	for (;; level--) {
		unsigned int shift = 12 + bits * (level - 1);
		u64 idx = (gva >> shift) & ((1U << bits) - 1);

		r = read_pte(vp, table + idx * (wide ? 8 : 4), wide, &pte);
		if (r)
			return r;
		if (!(pte & PTE_P))
			goto fault;
		allow_w &= pte;
		allow_u &= pte;
		if (wide && nx && (pte & PTE_NX))
			allow_x = 0;
		if (level == 1 || ((pte & PTE_PS) && level <= 3 &&
				   (wide || (s->cr4 & X86_CR4_PSE)))) {
			u64 mask = (1ULL << shift) - 1;
			u64 base = pte & PTE_ADDR & ~mask;

			if (!wide && level == 2)	/* PSE-36 bits 20:13 */
				base = (pte & 0xffc00000) |
				       ((pte & 0x1fe000) << 19);
			*gpa = base | (gva & mask);
			break;
		}
		table = pte & PTE_ADDR;
	}

	if (((access & VHV_ACC_USER) && !allow_u) ||
	    ((access & VHV_ACC_WRITE) && !allow_w &&
	     ((access & VHV_ACC_USER) || wp)) ||
	    ((access & VHV_ACC_FETCH) && !allow_x)) {
		*pf_error = PFERR_P | access;
		return -EFAULT;
	}
	return 0;
fault:
	*pf_error = access;
	return -EFAULT;
}

/* ---- register state ---- */

#define EFER_VALID (EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

int vhv_check_sregs(const struct vhv_sregs *s)
{
	bool pg = s->cr0 & X86_CR0_PG;

	if (s->cr0 >> 32 || (pg && !(s->cr0 & X86_CR0_PE)) ||
	    ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD)))
		return -EINVAL;
	if (s->cr4 & ~VHV_CR4_GUEST || s->efer & ~EFER_VALID || s->cr8 > 15)
		return -EINVAL;
	if (!!(s->efer & EFER_LMA) != ((s->efer & EFER_LME) && pg))
		return -EINVAL;
	if (s->efer & EFER_LMA) {
		if (!(s->cr4 & X86_CR4_PAE) || (s->cs.l && s->cs.db) ||
		    s->cr3 >> boot_cpu_data.x86_phys_bits)
			return -EINVAL;
	}
	return 0;
}

/* Power-on state of the special registers (Intel SDM Table 10-1). */
#define RESET_DATA_SEG { .limit = 0xffff, .type = 3, .s = 1, .present = 1 }

const struct vhv_sregs vhv_reset_sregs = {
	.cs = { .base = 0xffff0000, .limit = 0xffff, .selector = 0xf000,
		.type = 11, .s = 1, .present = 1 },
	.ds = RESET_DATA_SEG, .es = RESET_DATA_SEG, .fs = RESET_DATA_SEG,
	.gs = RESET_DATA_SEG, .ss = RESET_DATA_SEG,
	.tr = { .limit = 0xffff, .type = 11, .present = 1 },
	.ldt = { .limit = 0xffff, .type = 2, .present = 1 },
	.gdt = { .limit = 0xffff },
	.idt = { .limit = 0xffff },
	.cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET,
};

/* Power-on state of the general registers (Intel SDM Table 10-1). */
void vhv_reset_regs(struct vhv_vp *vp)
{
	memset(vp->regs, 0, sizeof(vp->regs));
	vp->regs[VHV_REG_RIP] = 0xfff0;
	vp->regs[VHV_REG_RFLAGS] = X86_RFLAGS_FIXED;
	vp->regs[VHV_REG_RDX] = 0x600;
	vp->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			(vp->index ? 0 : MSR_IA32_APICBASE_BSP);
	vp->pending = VHV_PEND_NONE;
}

/* ---- CPUID ---- */

/*
 * The default table is built once from the host, keeping only features
 * the backends virtualize.  Everything else reads as zero.
 */
static struct vhv_cpuid_entry *def_cpuid;
static u32 def_ncpuid;

#define F(x)	(1U << (x))
/* leaf 1 EDX: FPU VME DE PSE TSC MSR PAE CX8 SEP PGE CMOV PAT PSE36
 * CLFSH MMX FXSR SSE SSE2 (no MCE/MCA: there are no MCG/MCi MSRs)
 */
#define L1_EDX	(F(0) | F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(8) | F(9) | \
		 F(11) | F(13) | F(15) | F(16) | F(17) | F(19) | F(23) | \
		 F(24) | F(25) | F(26))
/* leaf 1 ECX: SSE3 PCLMUL SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND */
#define L1_ECX	(F(0) | F(1) | F(9) | F(13) | F(19) | F(20) | F(22) | \
		 F(23) | F(25) | F(30))
/* leaf 7 EBX: FSGSBASE BMI1 SMEP BMI2 ERMS ADX SMAP CLFLUSHOPT SHA */
#define L7_EBX	(F(0) | F(3) | F(7) | F(8) | F(9) | F(19) | F(20) | \
		 F(23) | F(29))
/* 0x80000001 ECX: LAHF ABM SSE4A PREFETCHW; EDX: SYSCALL NX LM + leaf 1 */
#define X1_ECX	(F(0) | F(5) | F(6) | F(8))
#define X1_EDX	(F(11) | F(20) | F(29) | (L1_EDX & 0x0183f3ff))

static void def_add(u32 func, u32 index, u32 flags, u32 eax, u32 ebx,
		    u32 ecx, u32 edx)
{
	def_cpuid[def_ncpuid++] = (struct vhv_cpuid_entry) {
		.function = func, .index = index, .flags = flags,
		.eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx,
	};
}

int vhv_cpuid_setup(void)
{
	u32 a, b, c, d, max, xmax, f;
	static const char sig[12] = "VhvVhvVhvVhv";

	def_cpuid = kcalloc(32, sizeof(*def_cpuid), GFP_KERNEL);
	if (!def_cpuid)
		return -ENOMEM;

	cpuid(0, &max, &b, &c, &d);
	max = min(max, 7U);
	def_add(0, 0, 0, max, b, c, d);
	cpuid(1, &a, &b, &c, &d);
	def_add(1, 0, 0, a, b & 0xffff, (c & L1_ECX) | F(24) | F(31),
		d & L1_EDX);
	for (f = 2; f <= max; f++) {
		if (f == 2 || f == 4) {
			cpuid_count(f, 0, &a, &b, &c, &d);
			def_add(f, 0, f == 4 ? VHV_CPUID_FLAG_INDEX : 0,
				f == 4 ? a & 0x3ff : a, b, c, d);
		} else if (f == 7) {
			cpuid_count(7, 0, &a, &b, &c, &d);
			def_add(7, 0, VHV_CPUID_FLAG_INDEX, 0, b & L7_EBX, 0, 0);
		}
	}
	def_add(0x40000000, 0, 0, 0x40000010, *(u32 *)&sig[0],
		*(u32 *)&sig[4], *(u32 *)&sig[8]);
	/* Timing leaf: TSC and APIC timer frequencies in kHz. */
	def_add(0x40000010, 0, 0, tsc_khz, VHV_APIC_BUS_HZ / 1000, 0, 0);

	cpuid(0x80000000, &xmax, &b, &c, &d);
	xmax = min(xmax, 0x80000008U);
	def_add(0x80000000, 0, 0, xmax, b, c, d);
	for (f = 0x80000001; f <= xmax; f++) {
		cpuid(f, &a, &b, &c, &d);
		if (f == 0x80000001)
			def_add(f, 0, 0, a, b, c & X1_ECX, d & X1_EDX);
		else if (f <= 0x80000006)
			def_add(f, 0, 0, a, b, c, d);
		else if (f == 0x80000007)
			def_add(f, 0, 0, 0, 0, 0, d & F(8));
		else if (f == 0x80000008)
			def_add(f, 0, 0, min(a & 0xff, 48U) | (48 << 8), 0, 0,
				0);
	}
	return 0;
}

void vhv_cpuid_cleanup(void)
{
	kfree(def_cpuid);
	def_cpuid = NULL;
}

static const struct vhv_cpuid_entry *
cpuid_find(const struct vhv_cpuid_entry *t, u32 n, u32 func, u32 index)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (t[i].function == func &&
		    (!(t[i].flags & VHV_CPUID_FLAG_INDEX) || t[i].index == index))
			return &t[i];
	return NULL;
}

void vhv_cpuid(struct vhv_vp *vp, u32 func, u32 index, u32 out[4])
{
	const struct vhv_cpuid_entry *e;

	if (vp->cpuid)
		e = cpuid_find(vp->cpuid, vp->ncpuid, func, index);
	else
		e = cpuid_find(def_cpuid, def_ncpuid, func, index);
	if (!e) {
		memset(out, 0, 4 * sizeof(*out));
		return;
	}
	out[0] = e->eax;
	out[1] = e->ebx;
	out[2] = e->ecx;
	out[3] = e->edx;
	/* The defaults give each VP its index as initial APIC ID. */
	if (!vp->cpuid && func == 1)
		out[1] |= vp->index << 24;
	/* The partition decides on x2APIC; APIC reflects IA32_APIC_BASE. */
	if (func == 1) {
		if (vp->part->flags & VHV_PARTITION_X2APIC) {
			if (!vp->cpuid)
				out[2] |= F(21);
		} else {
			out[2] &= ~F(21);
		}
		if (!(vp->apic_base & MSR_IA32_APICBASE_ENABLE))
			out[3] &= ~F(9);
	}
}

int vhv_set_cpuid(struct vhv_vp *vp, struct vhv_cpuid __user *arg)
{
	struct vhv_cpuid_entry *t = NULL;
	struct vhv_cpuid hdr;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;
	if (hdr.nent > VHV_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		u32 i;

		t = vmemdup_user(arg->entries, hdr.nent * sizeof(*t));
		if (IS_ERR(t))
			return PTR_ERR(t);
		for (i = 0; i < hdr.nent; i++) {
			if (t[i].reserved || t[i].flags & ~VHV_CPUID_FLAG_INDEX) {
				kvfree(t);
				return -EINVAL;
			}
		}
	}
	kvfree(vp->cpuid);
	vp->cpuid = t;
	vp->ncpuid = hdr.nent;
	return 0;
}

/* ---- MSRs ---- */

static bool pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/*
 * MSRs the core keeps; the backend keeps those that live in its VMCB or
 * VMCS, and the checks common to both are made here.  Anything else is
 * not an MSR of this CPU: the guest gets #GP and the MSR ioctls stop
 * there.
 */
int vhv_get_msr(struct vhv_vp *vp, u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_APICBASE:
		*data = vp->apic_base;
		return 0;
	case MSR_TSC_AUX:
		*data = vp->tsc_aux;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = MSR_IA32_MISC_ENABLE_FAST_STRING;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = 0;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return vhv_lapic_get_msr(vp, index, data);
	default:
		return vhv_ops->get_msr(vp, index, data);
	}
}

int vhv_set_msr(struct vhv_vp *vp, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		/* Addresses: a non-canonical one is a #GP. */
		if (!__is_canonical_address(data, 48))
			return -EINVAL;
		return vhv_ops->set_msr(vp, index, data);
	case MSR_IA32_APICBASE:
	case MSR_IA32_TSC_DEADLINE:
	case APIC_BASE_MSR ... APIC_BASE_MSR + 0xff:
		return vhv_lapic_set_msr(vp, index, data, host);
	case MSR_SYSCALL_MASK:
		if (data >> 32)		/* bits 63:32 are reserved */
			return -EINVAL;
		return vhv_ops->set_msr(vp, index, data);
	case MSR_EFER:
		if (data & ~EFER_VALID)
			return -EINVAL;
		return vhv_ops->set_msr(vp, index, data);
	case MSR_IA32_CR_PAT:
		if (!pat_valid(data))
			return -EINVAL;
		return vhv_ops->set_msr(vp, index, data);
	case MSR_IA32_SYSENTER_CS:
		return vhv_ops->set_msr(vp, index, (u32)data);
	case MSR_TSC_AUX:
		if (data >> 32)
			return -EINVAL;
		vp->tsc_aux = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
	case MSR_IA32_UCODE_REV:
		return 0;	/* writes are ignored */
	default:
		return vhv_ops->set_msr(vp, index, data);
	}
}
