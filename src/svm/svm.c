// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SVM backend with nested paging.
 *
 * Optional SVM features are used where CPUID reports them and replaced
 * where it does not: without NRIP save the core measures the exiting
 * instruction itself (I/O always has the next RIP in EXITINFO2); without
 * flush-by-ASID a TLB flush takes a new ASID.
 * VMCB clean bits are not used: the whole VMCB is loaded on every entry.
 */
#define pr_fmt(fmt) "vhv: " fmt

#include <linux/hw_breakpoint.h>
#include <asm/debugreg.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include "vhv/vhv.h"
#include "vhv/compat.h"
#include "vmcb.h"

#include "vmenter.h"

struct svm_vp {
	struct vhv_vp vp;
	struct vmcb *vmcb;
	unsigned long vmcb_pa;
	u64 reinject;		/* EXITINTINFO to deliver on next entry */
	u64 asid_gen;
	u32 asid;
	int asid_cpu;
	bool need_flush;	/* guest paging state changed by the VMM */
	u64 exit_rip;		/* RIP at the last exit */
	/*
	 * NMI blocking, which SVM without vNMI leaves to software: set by
	 * an injected NMI, cleared once the guest's IRET has executed,
	 * i.e. at the first exit after the IRET intercept with another RIP.
	 * While an NMI waits on that IRET or an STI/MOV SS shadow, the
	 * guest single-steps (RFLAGS.TF in the VMCB only, #DB intercepted).
	 */
	bool nmi_masked;
	bool iret_seen;
	u64 iret_rip;
	bool nmi_step;
	u64 step_flags;		/* the guest's own TF and RF */
};

static struct svm_vp *to_svm(struct vhv_vp *vp)
{
	return container_of(vp, struct svm_vp, vp);
}

/*
 * Per-CPU state.  ASIDs are handed out per CPU; when they run out the
 * generation moves on and the whole TLB is flushed, so an ASID is never
 * reused without a flush.
 */
struct svm_cpu {
	struct page *hsave;		/* VM_HSAVE_PA */
	struct page *host_save;		/* VMSAVE/VMLOAD of host state */
	u64 asid_gen;
	u32 next_asid;
	bool flush_all;		/* the new generation's flush is pending */
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static u32 max_asid;
static bool has_nrips, has_flush_by_asid;
static void *iopm, *msrpm;	/* all ones: intercept every port and MSR */

#define IOPM_ORDER	2	/* 12 KiB used */
#define MSRPM_ORDER	1	/* 8 KiB */

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
	}
	free_pages((unsigned long)iopm, IOPM_ORDER);
	free_pages((unsigned long)msrpm, MSRPM_ORDER);
	iopm = NULL;
	msrpm = NULL;
}

static int svm_hardware_setup(void)
{
	u64 vm_cr;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_info("SVM not supported\n");
		return -ENODEV;
	}
	vhv_rdmsr(MSR_VM_CR, vm_cr);
	if (vm_cr & VM_CR_SVMDIS) {
		pr_info("SVM disabled by firmware\n");
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_info("SVM without nested paging is not supported\n");
		return -ENODEV;
	}
	has_nrips = boot_cpu_has(X86_FEATURE_NRIPS);
	has_flush_by_asid = boot_cpu_has(X86_FEATURE_FLUSHBYASID);
	max_asid = cpuid_ebx(0x8000000a) - 1;
	if (!max_asid)
		return -ENODEV;

	iopm = (void *)__get_free_pages(GFP_KERNEL, IOPM_ORDER);
	msrpm = (void *)__get_free_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!iopm || !msrpm)
		goto nomem;
	memset(iopm, 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(msrpm, 0xff, PAGE_SIZE << MSRPM_ORDER);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		sd->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(cpu_to_node(cpu),
						 GFP_KERNEL | __GFP_ZERO, 0);
		if (!sd->hsave || !sd->host_save)
			goto nomem;
	}
	pr_info("SVM: %u ASIDs, nrips %d, flush-by-asid %d\n", max_asid,
		has_nrips, has_flush_by_asid);
	return 0;
nomem:
	svm_hardware_unsetup();
	return -ENOMEM;
}

static int svm_cpu_enable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	unsigned long flags;
	u64 efer;

	/* Interrupts off: another hypervisor's enable IPI may race. */
	local_irq_save(flags);
	vhv_rdmsr(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		local_irq_restore(flags);
		return -EBUSY;	/* another hypervisor owns SVM */
	}
	vhv_wrmsr(MSR_EFER, efer | EFER_SVME);
	vhv_wrmsr(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	local_irq_restore(flags);
	/* Start a new generation: the first VP flushes everything. */
	sd->asid_gen++;
	sd->next_asid = max_asid + 1;
	sd->flush_all = false;
	return 0;
}

static void svm_cpu_disable(void)
{
	unsigned long flags;
	u64 efer;

	local_irq_save(flags);
	vhv_wrmsr(MSR_VM_HSAVE_PA, 0);
	vhv_rdmsr(MSR_EFER, efer);
	vhv_wrmsr(MSR_EFER, efer & ~EFER_SVME);
	local_irq_restore(flags);
}

/* ---- state ---- */

static void seg_get(const struct vmcb_seg *v, struct vhv_segment *s)
{
	u16 a = v->attrib;

	s->base = v->base;
	s->limit = v->limit;
	s->selector = v->selector;
	s->type = a & 15;
	s->s = (a >> 4) & 1;
	s->dpl = (a >> 5) & 3;
	s->present = (a >> 7) & 1;
	s->avl = (a >> 8) & 1;
	s->l = (a >> 9) & 1;
	s->db = (a >> 10) & 1;
	s->g = (a >> 11) & 1;
	s->unusable = !s->present;
}

static void seg_set(struct vmcb_seg *v, const struct vhv_segment *s)
{
	v->base = s->base;
	v->limit = s->limit;
	v->selector = s->selector;
	v->attrib = s->unusable ? 0 :
		    (s->type & 15) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
		    (s->present & 1) << 7 | (s->avl & 1) << 8 |
		    (s->l & 1) << 9 | (s->db & 1) << 10 | (s->g & 1) << 11;
}

static void svm_get_sregs(struct vhv_vp *vp, struct vhv_sregs *s)
{
	struct vmcb_save *v = &to_svm(vp)->vmcb->save;

	seg_get(&v->cs, &s->cs);
	seg_get(&v->ds, &s->ds);
	seg_get(&v->es, &s->es);
	seg_get(&v->fs, &s->fs);
	seg_get(&v->gs, &s->gs);
	seg_get(&v->ss, &s->ss);
	seg_get(&v->tr, &s->tr);
	seg_get(&v->ldtr, &s->ldt);
	s->gdt.base = v->gdtr.base;
	s->gdt.limit = v->gdtr.limit;
	s->idt.base = v->idtr.base;
	s->idt.limit = v->idtr.limit;
	s->cr0 = v->cr0;
	s->cr2 = v->cr2;
	s->cr3 = v->cr3;
	s->cr4 = v->cr4;
	s->efer = v->efer & ~EFER_SVME;
}

static void svm_set_sregs(struct vhv_vp *vp, const struct vhv_sregs *s)
{
	struct svm_vp *svm = to_svm(vp);
	struct vmcb_save *v = &svm->vmcb->save;

	/* A new state: no event of the old one is delivered into it. */
	svm->vmcb->control.event_inj = 0;
	svm->reinject = 0;

	seg_set(&v->cs, &s->cs);
	seg_set(&v->ds, &s->ds);
	seg_set(&v->es, &s->es);
	seg_set(&v->fs, &s->fs);
	seg_set(&v->gs, &s->gs);
	seg_set(&v->ss, &s->ss);
	seg_set(&v->tr, &s->tr);
	seg_set(&v->ldtr, &s->ldt);
	v->gdtr.base = s->gdt.base;
	v->gdtr.limit = s->gdt.limit;
	v->idtr.base = s->idt.base;
	v->idtr.limit = s->idt.limit;
	v->cr0 = s->cr0;
	v->cr2 = s->cr2;
	v->cr3 = s->cr3;
	v->cr4 = s->cr4;
	v->efer = s->efer | EFER_SVME;
	v->cpl = (s->cr0 & X86_CR0_PE) ? s->ss.dpl & 3 : 0;
	svm->need_flush = true;
}

static void svm_vp_reset(struct vhv_vp *vp)
{
	struct svm_vp *svm = to_svm(vp);
	struct vmcb_save *v = &svm->vmcb->save;

	memset(v, 0, sizeof(*v));
	svm_set_sregs(vp, &vhv_reset_sregs);
	v->dr6 = 0xffff0ff0;
	v->dr7 = 0x400;
	v->g_pat = 0x0007040600070406ULL;
	svm->vmcb->control.event_inj = 0;
	svm->vmcb->control.int_state = 0;
	svm->reinject = 0;
	svm->nmi_masked = false;
	svm->iret_seen = false;
	svm->nmi_step = false;
	svm->vmcb->control.intercept3 &= ~SVM_I3_IRET;
}

static u64 *svm_msr_field(struct vmcb_save *v, u32 index)
{
	switch (index) {
	case MSR_STAR:		return &v->star;
	case MSR_LSTAR:		return &v->lstar;
	case MSR_CSTAR:		return &v->cstar;
	case MSR_SYSCALL_MASK:	return &v->sfmask;
	case MSR_KERNEL_GS_BASE: return &v->kernel_gs_base;
	case MSR_FS_BASE:	return &v->fs.base;
	case MSR_GS_BASE:	return &v->gs.base;
	case MSR_IA32_SYSENTER_CS: return &v->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP: return &v->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP: return &v->sysenter_eip;
	case MSR_IA32_CR_PAT:	return &v->g_pat;
	default:		return NULL;
	}
}

static int svm_get_msr(struct vhv_vp *vp, u32 index, u64 *data)
{
	struct vmcb *vmcb = to_svm(vp)->vmcb;
	u64 *field = svm_msr_field(&vmcb->save, index);

	if (field) {
		*data = *field;
		return 0;
	}
	switch (index) {
	case MSR_EFER:
		*data = vmcb->save.efer & ~EFER_SVME;
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vmcb->control.tsc_offset;
		return 0;
	default:
		return -ENOENT;
	}
}

static int svm_set_msr(struct vhv_vp *vp, u32 index, u64 data)
{
	struct vmcb *vmcb = to_svm(vp)->vmcb;
	u64 *field = svm_msr_field(&vmcb->save, index);

	switch (index) {
	case MSR_EFER:
		/* LMA follows CR0.PG; it is not written directly. */
		vmcb->save.efer = (data & ~EFER_LMA) | EFER_SVME |
				  (vmcb->save.efer & EFER_LMA);
		return 0;
	case MSR_IA32_TSC:
		vmcb->control.tsc_offset = data - rdtsc();
		return 0;
	}
	if (!field)
		return -ENOENT;
	*field = data;
	return 0;
}

static void svm_inject_exception(struct vhv_vp *vp, u8 vector, bool has_error,
				 u32 error)
{
	/* Real mode delivers no error code. */
	if (!(to_svm(vp)->vmcb->save.cr0 & X86_CR0_PE))
		has_error = false;
	to_svm(vp)->vmcb->control.event_inj =
		vector | SVM_EVTINJ_EXC | SVM_EVTINJ_VALID |
		(has_error ? SVM_EVTINJ_ERR | (u64)error << 32 : 0);
}

static bool svm_event_queued(struct vhv_vp *vp)
{
	struct svm_vp *svm = to_svm(vp);

	return svm->reinject || (svm->vmcb->control.event_inj & SVM_EVTINJ_VALID);
}

/* An STI/MOV SS shadow, unless the core has moved RIP past it. */
static bool svm_shadow(struct svm_vp *svm)
{
	return (svm->vmcb->control.int_state & SVM_INT_STATE_SHADOW) &&
	       svm->vp.regs[VHV_REG_RIP] == svm->exit_rip;
}

static bool svm_irq_blocked(struct vhv_vp *vp)
{
	return !(vp->regs[VHV_REG_RFLAGS] & X86_EFLAGS_IF) ||
	       svm_shadow(to_svm(vp));
}

static bool svm_nmi_blocked(struct vhv_vp *vp)
{
	return to_svm(vp)->nmi_masked || svm_shadow(to_svm(vp));
}

static void svm_inject_irq(struct vhv_vp *vp, u8 vector)
{
	to_svm(vp)->vmcb->control.event_inj = vector | SVM_EVTINJ_INTR |
					      SVM_EVTINJ_VALID;
}

static void svm_inject_nmi(struct vhv_vp *vp)
{
	struct svm_vp *svm = to_svm(vp);

	svm->nmi_step = false;
	svm->vmcb->control.event_inj = 2 | SVM_EVTINJ_NMI | SVM_EVTINJ_VALID;
	svm->nmi_masked = true;
	svm->iret_seen = false;
	svm->vmcb->control.intercept3 |= SVM_I3_IRET;
}

/*
 * An interrupt window is a virtual interrupt (V_IRQ, ignoring V_TPR)
 * whose delivery we intercept.  An interrupt held by the TPR makes MOV
 * to CR8 exit (a TPR write through the APIC page exits anyway).  NMIs
 * unblock at IRET, which is intercepted from the injection on; past
 * that, or past a shadow, the guest single-steps.  Behind an event
 * being delivered (whose frame must not get our TF), an IPI to this
 * CPU ends the run once the delivery is done.
 */
static void svm_set_windows(struct vhv_vp *vp, unsigned int win,
			    u8 tpr_class)
{
	struct svm_vp *svm = to_svm(vp);
	struct vmcb_control *c = &svm->vmcb->control;

	if (win & VHV_WIN_IRQ) {
		c->int_ctl |= SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR |
			      SVM_INT_CTL_V_INTR_PRIO;
		c->intercept3 |= SVM_I3_VINTR;
	} else {
		c->int_ctl &= ~(SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR |
				SVM_INT_CTL_V_INTR_PRIO);
		c->intercept3 &= ~SVM_I3_VINTR;
	}
	if (tpr_class)
		c->intercept_cr |= SVM_CR_WRITE(8);
	else
		c->intercept_cr &= ~SVM_CR_WRITE(8);
	if (!(win & VHV_WIN_NMI) || (svm->nmi_masked && !svm->iret_seen))
		return;
	if (svm_event_queued(vp)) {
		svm->nmi_step = false;	/* TF would land in its frame */
		smp_send_reschedule(smp_processor_id());
	} else if (!svm->nmi_step) {
		svm->nmi_step = true;
		svm->step_flags = vp->regs[VHV_REG_RFLAGS] &
				  (X86_EFLAGS_TF | X86_EFLAGS_RF);
	}
}

static void svm_set_cr2(struct vhv_vp *vp, u64 cr2)
{
	to_svm(vp)->vmcb->save.cr2 = cr2;
}

static int svm_vp_create(struct vhv_vp *vp)
{
	struct svm_vp *svm = to_svm(vp);
	struct vmcb_control *c;
	struct page *page;

	page = alloc_page(VHV_GFP | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->asid_cpu = -1;

	c = &svm->vmcb->control;
	c->intercept_exceptions = BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC) |
				  BIT(X86_TRAP_MC);
	c->intercept3 = SVM_I3_INTR | SVM_I3_NMI | SVM_I3_CPUID |
			SVM_I3_INVD | SVM_I3_HLT | SVM_I3_INVLPGA |
			SVM_I3_IOIO | SVM_I3_MSR | SVM_I3_SHUTDOWN;
	c->intercept4 = SVM_I4_VMRUN | SVM_I4_VMMCALL | SVM_I4_VMLOAD |
			SVM_I4_VMSAVE | SVM_I4_STGI | SVM_I4_CLGI |
			SVM_I4_SKINIT | SVM_I4_RDTSCP | SVM_I4_MONITOR |
			SVM_I4_MWAIT |
			SVM_I4_MWAIT_COND | SVM_I4_XSETBV | SVM_I4_RDPRU;
	c->iopm_base_pa = __pa(iopm);
	c->msrpm_base_pa = __pa(msrpm);
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->np_ctl = 1;
	c->ncr3 = vhv_mmu_root_pa(vp->part);
	svm_vp_reset(vp);
	return 0;
}

static void svm_vp_free(struct vhv_vp *vp)
{
	free_page((unsigned long)to_svm(vp)->vmcb);
}

/* ---- entry and exits ---- */

static void svm_new_asid(struct svm_vp *svm, struct svm_cpu *sd, int cpu)
{
	if (sd->next_asid > max_asid) {
		sd->asid_gen++;
		sd->next_asid = 1;
		sd->flush_all = true;
	}
	svm->asid = sd->next_asid++;
	svm->asid_gen = sd->asid_gen;
	svm->asid_cpu = cpu;
}

/* The exiting instruction's length, or 0 for the core to measure. */
static u8 insn_len(struct svm_vp *svm)
{
	return has_nrips ? svm->vmcb->control.next_rip - svm->vmcb->save.rip :
	       0;
}

static void svm_exit_resume(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_RESUME;
}

static void svm_exit_cpuid(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_CPUID;
	x->insn_len = insn_len(svm);
}

static void svm_exit_hlt(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_HLT;
	x->insn_len = insn_len(svm);
}

static void svm_exit_msr(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = x->info[0] ? VHV_X_WRMSR : VHV_X_RDMSR;
	x->insn_len = insn_len(svm);
}

static void svm_exit_io(struct svm_vp *svm, struct vhv_exit *x)
{
	u64 info = x->info[0];

	x->kind = VHV_X_IO;
	x->insn_len = x->info[1] - svm->vmcb->save.rip;
	x->io.port = info >> 16;
	x->io.size = (info & SVM_IO_SIZE_MASK) >> SVM_IO_SIZE_SHIFT;
	x->io.in = info & SVM_IO_IN;
	x->io.string = info & SVM_IO_STR;
	x->io.rep = info & SVM_IO_REP;
}

static void svm_exit_npf(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_NPF;
	x->npf.gpa = x->info[1];
	x->npf.write = x->info[0] & SVM_NPF_WRITE;
	x->npf.fetch = x->info[0] & SVM_NPF_FETCH;
	x->npf.walk = x->info[0] & SVM_NPF_WALK;
}

static void svm_exit_shutdown(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_SHUTDOWN;
}

/* INVD would drop dirty cache lines of the host: do nothing instead. */
static void svm_exit_invd(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_NOP;
	x->insn_len = insn_len(svm);
}

static void svm_exit_cr8(struct svm_vp *svm, struct vhv_exit *x)
{
	x->kind = VHV_X_CR8_WRITE;
}

/* The guest's IRET ends NMI blocking once it has executed. */
static void svm_exit_iret(struct svm_vp *svm, struct vhv_exit *x)
{
	svm->vmcb->control.intercept3 &= ~SVM_I3_IRET;
	svm->iret_seen = true;
	svm->iret_rip = svm->vmcb->save.rip;
	x->kind = VHV_X_RESUME;
}

/* SVM instructions and the like, which the guest does not have. */
static void svm_exit_ud(struct svm_vp *svm, struct vhv_exit *x)
{
	svm_inject_exception(&svm->vp, X86_TRAP_UD, false, 0);
	x->kind = VHV_X_RESUME;
}

/*
 * #DB and #AC are intercepted only so that a guest cannot hang the CPU
 * in an endless delivery loop; they go back to the guest, except the
 * single step of an NMI window when the guest was not stepping itself.
 */
static void svm_exit_reflect(struct svm_vp *svm, struct vhv_exit *x)
{
	u8 vector = x->code - SVM_EXIT_EXCP_BASE;

	x->kind = VHV_X_RESUME;
	/*
	 * Ours unless DR6 names another cause (Bochs intercepts before it
	 * sets DR6.BS, so BS alone cannot tell).
	 */
	if (vector == X86_TRAP_DB && svm->nmi_step &&
	    ((svm->vmcb->save.dr6 & DR_STEP) ||
	     !(svm->vmcb->save.dr6 & (DR_TRAP_BITS | DR6_BD_SVM)))) {
		svm->nmi_step = false;
		if (!(svm->step_flags & X86_EFLAGS_TF)) {
			svm->vmcb->save.dr6 &= ~DR_STEP;
			return;
		}
	}

	/*
	 * A guest single step whose #DB names no cause: Bochs intercepts
	 * before it writes DR6; the guest's handler must still see BS.
	 */
	if (vector == X86_TRAP_DB &&
	    (svm->vmcb->save.rflags & X86_EFLAGS_TF) &&
	    !(svm->vmcb->save.dr6 & (DR_TRAP_BITS | DR6_BD_SVM | DR_STEP)))
		svm->vmcb->save.dr6 |= DR_STEP;
	svm_inject_exception(&svm->vp, vector, vector == X86_TRAP_AC, 0);
}

/* A machine check of the host that hit the guest: the host handles it. */
static void svm_exit_mc(struct svm_vp *svm, struct vhv_exit *x)
{
	asm volatile("int $0x12");
	x->kind = VHV_X_RESUME;
}

typedef void (*svm_exit_fn)(struct svm_vp *svm, struct vhv_exit *x);

static const svm_exit_fn svm_exit_table[SVM_EXIT_NR] = {
	[SVM_EXIT_EXCP_BASE + X86_TRAP_DB]	= svm_exit_reflect,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_AC]	= svm_exit_reflect,
	[SVM_EXIT_EXCP_BASE + X86_TRAP_MC]	= svm_exit_mc,
	[SVM_EXIT_WRITE_CR8]			= svm_exit_cr8,
	[SVM_EXIT_INTR]				= svm_exit_resume,
	[SVM_EXIT_NMI]				= svm_exit_resume,
	[SVM_EXIT_VINTR]			= svm_exit_resume,
	[SVM_EXIT_IRET]				= svm_exit_iret,
	[SVM_EXIT_CPUID]			= svm_exit_cpuid,
	[SVM_EXIT_INVD]				= svm_exit_invd,
	[SVM_EXIT_HLT]				= svm_exit_hlt,
	[SVM_EXIT_INVLPGA]			= svm_exit_ud,
	[SVM_EXIT_IOIO]				= svm_exit_io,
	[SVM_EXIT_MSR]				= svm_exit_msr,
	[SVM_EXIT_SHUTDOWN]			= svm_exit_shutdown,
	[SVM_EXIT_VMRUN]			= svm_exit_ud,
	[SVM_EXIT_VMMCALL]			= svm_exit_ud,
	[SVM_EXIT_VMLOAD]			= svm_exit_ud,
	[SVM_EXIT_VMSAVE]			= svm_exit_ud,
	[SVM_EXIT_STGI]				= svm_exit_ud,
	[SVM_EXIT_CLGI]				= svm_exit_ud,
	[SVM_EXIT_SKINIT]			= svm_exit_ud,
	[SVM_EXIT_RDTSCP]			= svm_exit_ud,
	[SVM_EXIT_MONITOR]			= svm_exit_ud,
	[SVM_EXIT_MWAIT]			= svm_exit_ud,
	[SVM_EXIT_MWAIT_COND]			= svm_exit_ud,
	[SVM_EXIT_XSETBV]			= svm_exit_ud,
	[SVM_EXIT_RDPRU]			= svm_exit_ud,
};

static void svm_decode_exit(struct svm_vp *svm)
{
	struct vmcb_control *c = &svm->vmcb->control;
	struct vhv_exit *x = &svm->vp.exit;
	u64 code = c->exit_code;

	memset(x, 0, sizeof(*x));
	x->kind = VHV_X_UNKNOWN;
	x->code = code;
	x->info[0] = c->exit_info_1;
	x->info[1] = c->exit_info_2;

	/*
	 * An event cut short by the exit is delivered again, except INTn,
	 * INT3 and INTO: RIP still points at them, so they run again.
	 */
	if (c->exit_int_info & SVM_EVTINJ_VALID) {
		u64 type = c->exit_int_info & SVM_EVTINJ_TYPE;
		u8 vector = c->exit_int_info;

		if (type != SVM_EVTINJ_SOFT &&
		    !(type == SVM_EVTINJ_EXC &&
		      (vector == X86_TRAP_BP || vector == X86_TRAP_OF)))
			svm->reinject = c->exit_int_info;
		x->vectoring = true;
	}

	if (code == SVM_EXIT_NPF) {
		svm_exit_npf(svm, x);
	} else if (code < SVM_EXIT_NR) {
		svm_exit_fn fn = svm_exit_table[array_index_nospec(code,
							SVM_EXIT_NR)];

		if (fn)
			fn(svm, x);
	}
}

/* An entry that did not happen: the VMM gets VHV_EXIT_FAIL_ENTRY. */
static int svm_fail_entry(struct vhv_vp *vp)
{
	memset(&vp->exit, 0, sizeof(vp->exit));
	vp->exit.kind = VHV_X_FAIL_ENTRY;
	vp->exit.code = SVM_EXIT_INVALID;
	return 0;
}

static int svm_vp_run(struct vhv_vp *vp)
{
	struct svm_vp *svm = to_svm(vp);
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	struct vmcb *vmcb = svm->vmcb;
	long gen = atomic_long_read(&vp->part->tlb_gen);
	int cpu = smp_processor_id();

	/*
	 * VMRUN does not check RFLAGS.VM against long mode (VMX entry does);
	 * such a state is undefined, and Bochs's CPU breaks down on it.
	 */
	if ((vmcb->save.efer & EFER_LMA) &&
	    (vp->regs[VHV_REG_RFLAGS] & X86_EFLAGS_VM))
		return svm_fail_entry(vp);
	if (svm->asid_cpu != cpu || svm->asid_gen != sd->asid_gen) {
		svm_new_asid(svm, sd, cpu);
	} else if (svm->need_flush || vp->tlb_gen != gen) {
		if (has_flush_by_asid)
			vmcb->control.tlb_ctl = SVM_TLB_ASID;
		else
			svm_new_asid(svm, sd, cpu);
	}
	if (sd->flush_all)
		vmcb->control.tlb_ctl = SVM_TLB_ALL;
	vmcb->control.asid = svm->asid;

	if (svm->reinject && !(vmcb->control.event_inj & SVM_EVTINJ_VALID))
		vmcb->control.event_inj = svm->reinject;
	svm->reinject = 0;

	/* A RIP moved by the core ends any STI/MOV SS interrupt shadow. */
	if (vp->regs[VHV_REG_RIP] != svm->exit_rip)
		vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~SVM_INT_CTL_V_TPR) |
				vhv_lapic_tpr(vp) >> 4;
	vmcb->save.rax = vp->regs[VHV_REG_RAX];
	vmcb->save.rsp = vp->regs[VHV_REG_RSP];
	vmcb->save.rip = vp->regs[VHV_REG_RIP];
	vmcb->save.rflags = vp->regs[VHV_REG_RFLAGS] |
			    (svm->nmi_step ? X86_EFLAGS_TF | X86_EFLAGS_RF : 0);

	asm volatile("clgi" ::: "memory");
	__vhv_svm_run(svm->vmcb_pa, vp->regs, page_to_phys(sd->host_save));
	asm volatile("stgi" ::: "memory");
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	vmcb->control.event_inj = 0;	/* if cut short: in EXITINTINFO */
	/*
	 * A VMRUN that fails its state checks entered nothing: no flush was
	 * done, and the VMCB's state is not the guest's (QEMU even writes
	 * the host's RIP there, and the code in 32 bits).
	 */
	if ((u32)vmcb->control.exit_code == (u32)SVM_EXIT_INVALID)
		return svm_fail_entry(vp);
	if (vmcb->control.tlb_ctl == SVM_TLB_ALL)
		sd->flush_all = false;
	vmcb->control.tlb_ctl = SVM_TLB_NONE;
	svm->need_flush = false;
	vp->tlb_gen = gen;
	vp->regs[VHV_REG_RAX] = vmcb->save.rax;
	vp->regs[VHV_REG_RSP] = vmcb->save.rsp;
	vp->regs[VHV_REG_RIP] = vmcb->save.rip;
	vp->regs[VHV_REG_RFLAGS] = vmcb->save.rflags;
	if (svm->nmi_step)	/* our TF and RF stay in the VMCB */
		vp->regs[VHV_REG_RFLAGS] = (vmcb->save.rflags &
					    ~(X86_EFLAGS_TF | X86_EFLAGS_RF)) |
					   svm->step_flags;
	svm->exit_rip = vmcb->save.rip;
	/* Guest MOV to CR8 writes V_TPR. */
	if ((vmcb->control.int_ctl & SVM_INT_CTL_V_TPR) != vhv_lapic_tpr(vp) >> 4)
		vhv_lapic_set_tpr(vp, (vmcb->control.int_ctl &
				       SVM_INT_CTL_V_TPR) << 4);
	if (svm->iret_seen && svm->exit_rip != svm->iret_rip) {
		svm->nmi_masked = false;
		svm->iret_seen = false;
	}
	svm_decode_exit(svm);
	return 0;
}

/* ---- nested page table entries ---- */

#define NPT_P	BIT_ULL(0)
#define NPT_W	BIT_ULL(1)
#define NPT_U	BIT_ULL(2)	/* NPT treats every guest access as user */
#define NPT_NX	BIT_ULL(63)

static u64 svm_spte_table(u64 pa)
{
	return pa | NPT_P | NPT_W | NPT_U;
}

static u64 svm_spte_leaf(u64 pa, u32 prot)
{
	return pa | NPT_P | NPT_U | (prot & VHV_MAP_WRITE ? NPT_W : 0) |
	       (prot & VHV_MAP_EXEC ? 0 : NPT_NX);
}

/* Nested paging uses the host's paging mode. */
static int svm_mmu_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

const struct vhv_backend_ops vhv_svm_ops = {
	.name = "SVM",
	.id = VHV_BACKEND_SVM,
	.vp_size = sizeof(struct svm_vp),
	.hardware_setup = svm_hardware_setup,
	.hardware_unsetup = svm_hardware_unsetup,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.vp_create = svm_vp_create,
	.vp_free = svm_vp_free,
	.vp_reset = svm_vp_reset,
	.vp_run = svm_vp_run,
	.get_sregs = svm_get_sregs,
	.set_sregs = svm_set_sregs,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.event_queued = svm_event_queued,
	.irq_blocked = svm_irq_blocked,
	.nmi_blocked = svm_nmi_blocked,
	.inject_irq = svm_inject_irq,
	.inject_nmi = svm_inject_nmi,
	.set_windows = svm_set_windows,
	.inject_exception = svm_inject_exception,
	.set_cr2 = svm_set_cr2,
	.spte_table = svm_spte_table,
	.spte_leaf = svm_spte_leaf,
	.spte_present = NPT_P,
	.spte_writable = NPT_W,
	.mmu_levels = svm_mmu_levels,
};
