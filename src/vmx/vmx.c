// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VMX backend with EPT and unrestricted guest.
 *
 * A VMCS is active on at most one CPU.  When a VP's thread moves, the
 * preempt notifier (vp_load) clears the VMCS on the old CPU with an IPI
 * and loads it on the new one; each CPU keeps a list of the VMCSs
 * active on it so that disabling VMX (hotplug, last partition gone)
 * can clear them first.
 */
#define pr_fmt(fmt) "vhv: " fmt

#include <linux/hw_breakpoint.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/apicdef.h>
#include <asm/asm.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/mtrr.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>

#include "vhv/vhv.h"
#include "vhv/compat.h"

#include "vmenter.h"

/* MSRs VMX does not switch itself: loaded on entry, saved on exit. */
static const u32 vmx_swapped_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
};

#define NR_SWAPPED	ARRAY_SIZE(vmx_swapped_msrs)

struct vmx_vp {
	struct vhv_vp vp;
	void *vmcs;
	void *vapic;			/* virtual-APIC page: the TPR shadow */
	struct list_head cpu_link;	/* on vmx_cpu.vmcss of cpu */
	int cpu;			/* where the VMCS is active, or -1 */
	bool launched;
	bool need_flush;
	u16 vpid;
	u32 entry_ctl;			/* current VM-entry controls */
	u32 proc_ctl;			/* current processor-based controls */
	u8 tpr_threshold;
	u32 reinject;			/* IDT-vectoring info to redeliver */
	u32 reinject_err;
	u32 reinject_len;
	u64 exit_rip;
	u64 cr2;			/* not in the VMCS */
	u64 guest_dr6;			/* for a reflected #DB, if set_dr6 */
	bool set_dr6;
	u64 host_cr3, host_cr4;
	u64 host_debugctl;		/* a VM exit clears IA32_DEBUGCTL */
	struct vmx_msr_entry guest_msrs[NR_SWAPPED];
	struct vmx_msr_entry host_msrs[NR_SWAPPED];
};

static struct vmx_vp *to_vmx(struct vhv_vp *vp)
{
	return container_of(vp, struct vmx_vp, vp);
}

struct vmx_cpu {
	void *vmxon;
	bool on;			/* in VMX operation */
	struct vmx_vp *current_vmcs;
	struct list_head vmcss;
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);

static struct {
	u32 revision;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 cr0_mask, cr4_mask;	/* guest/host masks */
	bool vpid, invept_single, invept_global;
	u32 preempt_ticks;	/* VMX-preemption timer: one host tick */
} vmcs_conf;

static DEFINE_IDA(vpid_ida);

/* ---- VMX instructions ---- */

static __always_inline void vmcs_write(unsigned long field, u64 val)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "rm"(val) : "cc");
}

static __always_inline u64 vmcs_read(unsigned long field)
{
	u64 val;

	asm volatile("vmread %1, %0" : "=rm"(val) : "r"(field) : "cc");
	return val;
}

static void vmcs_set_bits(unsigned long field, u64 bits, bool on)
{
	u64 v = vmcs_read(field);

	vmcs_write(field, on ? v | bits : v & ~bits);
}

static void vmx_vmclear(void *vmcs)
{
	u64 pa = __pa(vmcs);

	asm volatile("vmclear %0" : : "m"(pa) : "cc", "memory");
}

static void vmx_vmptrld(void *vmcs)
{
	u64 pa = __pa(vmcs);

	asm volatile("vmptrld %0" : : "m"(pa) : "cc", "memory");
}

static void vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static u64 vmx_eptp(struct vhv_partition *p)
{
	return vhv_mmu_root_pa(p) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
}

/* Drop every translation derived from the partition's EPT on this CPU. */
static void vmx_flush(struct vhv_partition *p)
{
	if (vmcs_conf.invept_single)
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, vmx_eptp(p));
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
}

/* ---- setup ---- */

/* Required bits must be allowed; optional ones are used if allowed. */
static int adjust_ctl(u32 need, u32 want, u32 msr, u32 *out)
{
	u64 cap;
	u32 ctl;

	vhv_rdmsr(msr, cap);
	ctl = ((need | want) & (cap >> 32)) | (u32)cap;
	if ((ctl & need) != need)
		return -EIO;
	*out = ctl;
	return 0;
}

static int vmx_setup_config(void)
{
	bool true_ctls;
	u64 basic, ept, proc_cap;
	int r;

	vhv_rdmsr(MSR_IA32_VMX_BASIC, basic);
	true_ctls = basic & BIT_ULL(55);
	vmcs_conf.revision = basic & 0x7fffffff;
	if (((basic >> 50) & 15) != 6 || ((basic >> 32) & 0x1fff) > PAGE_SIZE)
		return -EIO;

	r = adjust_ctl(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
		       PIN_BASED_VIRTUAL_NMIS,
		       PIN_BASED_VMX_PREEMPTION_TIMER,
		       true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		       MSR_IA32_VMX_PINBASED_CTLS, &vmcs_conf.pin);
	r = r ?: adjust_ctl(CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			    CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_TPR_SHADOW |
			    CPU_BASED_MWAIT_EXITING |
			    CPU_BASED_MONITOR_EXITING |
			    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			    MSR_IA32_VMX_PROCBASED_CTLS, &vmcs_conf.proc);
	r = r ?: adjust_ctl(SECONDARY_EXEC_ENABLE_EPT |
			    SECONDARY_EXEC_UNRESTRICTED_GUEST,
			    SECONDARY_EXEC_ENABLE_VPID,
			    MSR_IA32_VMX_PROCBASED_CTLS2, &vmcs_conf.proc2);
	r = r ?: adjust_ctl(VM_EXIT_HOST_ADDR_SPACE_SIZE |
			    VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_SAVE_IA32_PAT |
			    VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |
			    VM_EXIT_LOAD_IA32_EFER, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
			    MSR_IA32_VMX_EXIT_CTLS, &vmcs_conf.exit);
	r = r ?: adjust_ctl(VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_IA32_PAT |
			    VM_ENTRY_LOAD_IA32_EFER, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
			    MSR_IA32_VMX_ENTRY_CTLS, &vmcs_conf.entry);
	if (r) {
		pr_info("VMX lacks EPT, unrestricted guest or a needed control\n");
		return -ENODEV;
	}
	/* The windows are turned on and off per entry: they must be allowed. */
	vhv_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
		  MSR_IA32_VMX_PROCBASED_CTLS, proc_cap);
	if (~(proc_cap >> 32) & (CPU_BASED_INTR_WINDOW_EXITING |
			      CPU_BASED_NMI_WINDOW_EXITING)) {
		pr_info("VMX lacks interrupt- or NMI-window exiting\n");
		return -ENODEV;
	}
	vmcs_conf.entry &= ~VM_ENTRY_IA32E_MODE;	/* set per guest EFER */

	vhv_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP, ept);
	if (!(ept & VMX_EPT_PAGE_WALK_4_BIT) || !(ept & VMX_EPTP_WB_BIT) ||
	    !(ept & VMX_EPT_INVEPT_BIT) ||
	    !(ept & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT))) {
		pr_info("EPT lacks 4-level tables, WB or INVEPT\n");
		return -ENODEV;
	}
	/*
	 * External interrupts give the host its CPU back.  The preemption
	 * timer bounds a guest's run to one host tick as well: Bochs, at
	 * least, takes no interrupt exit while the guest has IF clear, and
	 * a guest spinning there would keep the CPU for good.
	 */
	if (vmcs_conf.pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		u64 misc, ticks = (u64)tsc_khz * 1000 / HZ;

		vhv_rdmsr(MSR_IA32_VMX_MISC, misc);
		ticks >>= misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK;
		vmcs_conf.preempt_ticks = clamp_t(u64, ticks, 1, U32_MAX);
	}
	vmcs_conf.invept_single = ept & VMX_EPT_EXTENT_CONTEXT_BIT;
	vmcs_conf.invept_global = ept & VMX_EPT_EXTENT_GLOBAL_BIT;
	vmcs_conf.vpid = vmcs_conf.proc2 & SECONDARY_EXEC_ENABLE_VPID;

	vhv_rdmsr(MSR_IA32_VMX_CR0_FIXED0, vmcs_conf.cr0_fixed0);
	vhv_rdmsr(MSR_IA32_VMX_CR0_FIXED1, vmcs_conf.cr0_fixed1);
	vhv_rdmsr(MSR_IA32_VMX_CR4_FIXED0, vmcs_conf.cr4_fixed0);
	vhv_rdmsr(MSR_IA32_VMX_CR4_FIXED1, vmcs_conf.cr4_fixed1);
	/* Unrestricted guests may clear PE and PG. */
	vmcs_conf.cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	/*
	 * Bits the hardware forces (CR0.NE, CR4.VMXE) are owned by the
	 * host: the guest reads its own value from the read shadow, and a
	 * write that changes one exits.
	 */
	vmcs_conf.cr0_mask = vmcs_conf.cr0_fixed0 | (u32)~vmcs_conf.cr0_fixed1;
	vmcs_conf.cr4_mask = vmcs_conf.cr4_fixed0 | (u32)~vmcs_conf.cr4_fixed1 |
			     ~(u64)VHV_CR4_GUEST;
	return 0;
}

static void vmx_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		free_page((unsigned long)vc->vmxon);
		vc->vmxon = NULL;
	}
}

static int vmx_hardware_setup(void)
{
	u64 feat;
	int cpu, r;

	if (!boot_cpu_has(X86_FEATURE_VMX)) {
		pr_info("VMX not supported\n");
		return -ENODEV;
	}
	vhv_rdmsr(MSR_IA32_FEAT_CTL, feat);
	if (!(feat & FEAT_CTL_LOCKED) ||
	    !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_info("VMX disabled by firmware\n");
		return -ENODEV;
	}
	r = vmx_setup_config();
	if (r)
		return r;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		INIT_LIST_HEAD(&vc->vmcss);
		vc->vmxon = (void *)get_zeroed_page(GFP_KERNEL);
		if (!vc->vmxon) {
			vmx_hardware_unsetup();
			return -ENOMEM;
		}
		*(u32 *)vc->vmxon = vmcs_conf.revision;
	}
	pr_info("VMX: EPT, unrestricted guest, vpid %d, invept-single %d, preemption timer %u\n",
		vmcs_conf.vpid, vmcs_conf.invept_single,
		vmcs_conf.preempt_ticks);
	return 0;
}

static int vmx_cpu_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 pa = __pa(vc->vmxon);
	unsigned long flags;
	bool fail;

	/* Interrupts off: another hypervisor's enable IPI may race. */
	local_irq_save(flags);
	fail = cr4_read_shadow() & X86_CR4_VMXE; /* another owns VMX */
	if (!fail) {
		cr4_set_bits(X86_CR4_VMXE);
		asm volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa)
			     : "cc", "memory");
		if (fail)
			cr4_clear_bits(X86_CR4_VMXE);
	}
	if (!fail) {
		vc->on = true;
		/* Translations another hypervisor may have left behind. */
		if (vmcs_conf.invept_global)
			vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	}
	local_irq_restore(flags);
	return fail ? -EBUSY : 0;
}

static void vmx_clear_vmcs(void *arg)
{
	struct vmx_vp *vmx = arg;
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	if (vmx->cpu != smp_processor_id())
		return;
	vmx_vmclear(vmx->vmcs);
	if (vc->current_vmcs == vmx)
		vc->current_vmcs = NULL;
	list_del(&vmx->cpu_link);
	vmx->cpu = -1;
	vmx->launched = false;
}

static void vmx_cpu_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vp *vmx, *tmp;

	/* The list is only changed on this CPU with interrupts off. */
	local_irq_disable();
	list_for_each_entry_safe(vmx, tmp, &vc->vmcss, cpu_link)
		vmx_clear_vmcs(vmx);
	vc->on = false;
	asm volatile("vmxoff" : : : "cc", "memory");
	local_irq_enable();
	cr4_clear_bits(X86_CR4_VMXE);
}

/* ---- loading a VMCS on a CPU ---- */

static void vmx_set_host_percpu(void)
{
	int cpu = smp_processor_id();
	struct desc_ptr gdt, idt;
	u64 v;

	native_store_gdt(&gdt);
	store_idt(&idt);
	vmcs_write(HOST_GDTR_BASE, gdt.address);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vhv_rdmsr(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	vhv_rdmsr(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
}

/* Make the VMCS current on this CPU; preemption disabled. */
static void vmx_vp_load(struct vhv_vp *vp, int cpu)
{
	struct vmx_vp *vmx = to_vmx(vp);
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	unsigned int i;
	u64 fs;

	if (vmx->cpu != cpu) {
		if (vmx->cpu >= 0)
			smp_call_function_single(vmx->cpu, vmx_clear_vmcs,
						 vmx, 1);
		local_irq_disable();
		list_add(&vmx->cpu_link, &vc->vmcss);
		vmx->cpu = cpu;
		local_irq_enable();
		vmx->need_flush = true;	/* stale translations here */
	}
	if (vc->current_vmcs != vmx) {
		vmx_vmptrld(vmx->vmcs);
		vc->current_vmcs = vmx;
		vmx_set_host_percpu();
	}
	/*
	 * Per-thread host state: the FS base (TLS) and, in KERNEL_GS_BASE,
	 * the user GS base of whichever thread is using the VP now.
	 */
	vhv_rdmsr(MSR_FS_BASE, fs);
	vmcs_write(HOST_FS_BASE, fs);
	vhv_rdmsr(MSR_IA32_DEBUGCTLMSR, vmx->host_debugctl);
	for (i = 0; i < NR_SWAPPED; i++)
		vhv_rdmsr(vmx_swapped_msrs[i], vmx->host_msrs[i].value);
}

/*
 * A VM exit sets the GDT limit to 0xffff and the TR limit to 0x67;
 * restore them before anything else runs on this CPU in user mode.
 */
static void vmx_vp_put(struct vhv_vp *vp)
{
	load_fixmap_gdt(raw_smp_processor_id());
	invalidate_tss_limit();
}

/* ---- state ---- */

static const struct {
	u32 sel, limit, ar, base;
} vmx_seg_fields[] = {
#define SEG(s) { GUEST_##s##_SELECTOR, GUEST_##s##_LIMIT, GUEST_##s##_AR_BYTES, \
		 GUEST_##s##_BASE }
	SEG(ES), SEG(CS), SEG(SS), SEG(DS), SEG(FS), SEG(GS), SEG(LDTR),
	SEG(TR),
#undef SEG
};

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR };

#define AR_UNUSABLE	BIT(16)

static void seg_get(int n, struct vhv_segment *s)
{
	u32 ar = vmcs_read(vmx_seg_fields[n].ar);

	s->base = vmcs_read(vmx_seg_fields[n].base);
	s->limit = vmcs_read(vmx_seg_fields[n].limit);
	s->selector = vmcs_read(vmx_seg_fields[n].sel);
	s->type = ar & 15;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->present = (ar >> 7) & 1;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
	s->unusable = !!(ar & AR_UNUSABLE);
}

static void seg_set(int n, const struct vhv_segment *s)
{
	u32 ar = (s->type & 15) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
		 (s->present & 1) << 7 | (s->avl & 1) << 12 |
		 (s->l & 1) << 13 | (s->db & 1) << 14 | (s->g & 1) << 15;

	if (s->unusable || !s->present)
		ar = AR_UNUSABLE;
	vmcs_write(vmx_seg_fields[n].base, s->base);
	vmcs_write(vmx_seg_fields[n].limit, s->limit);
	vmcs_write(vmx_seg_fields[n].sel, s->selector);
	vmcs_write(vmx_seg_fields[n].ar, ar);
}

static u64 vmx_get_cr0(void)
{
	return (vmcs_read(GUEST_CR0) & ~vmcs_conf.cr0_mask) |
	       (vmcs_read(CR0_READ_SHADOW) & vmcs_conf.cr0_mask);
}

static u64 vmx_get_cr4(void)
{
	return (vmcs_read(GUEST_CR4) & ~vmcs_conf.cr4_mask) |
	       (vmcs_read(CR4_READ_SHADOW) & vmcs_conf.cr4_mask);
}

static void vmx_get_sregs(struct vhv_vp *vp, struct vhv_sregs *s)
{
	struct vmx_vp *vmx = to_vmx(vp);

	seg_get(S_CS, &s->cs);
	seg_get(S_DS, &s->ds);
	seg_get(S_ES, &s->es);
	seg_get(S_FS, &s->fs);
	seg_get(S_GS, &s->gs);
	seg_get(S_SS, &s->ss);
	seg_get(S_TR, &s->tr);
	seg_get(S_LDTR, &s->ldt);
	s->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_read(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	s->cr0 = vmx_get_cr0();
	s->cr2 = vmx->cr2;
	s->cr3 = vmcs_read(GUEST_CR3);
	s->cr4 = vmx_get_cr4();
	s->efer = vmcs_read(GUEST_IA32_EFER);
}

/* In PAE paging the CPU takes the PDPTEs from the VMCS on entry. */
static void vmx_load_pdptrs(struct vmx_vp *vmx, u64 cr3)
{
	u64 pdpte[4] = { 0 };
	int i;

	vhv_gpa_read(vmx->vp.part, cr3 & 0xffffffe0, pdpte, sizeof(pdpte));
	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTR0 + i * 2, pdpte[i]);
}

static void vmx_set_efer(struct vmx_vp *vmx, u64 efer)
{
	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		vmx->entry_ctl |= VM_ENTRY_IA32E_MODE;
	else
		vmx->entry_ctl &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, vmx->entry_ctl);
}

static void vmx_write_cr0(u64 cr0)
{
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR0, (cr0 | vmcs_conf.cr0_fixed0) &
		   (vmcs_conf.cr0_fixed1 | ~0xffffffffULL));
}

static void vmx_write_cr4(u64 cr4)
{
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, cr4 | vmcs_conf.cr4_fixed0 | X86_CR4_VMXE);
}

static bool pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

static void vmx_set_sregs(struct vhv_vp *vp, const struct vhv_sregs *s)
{
	struct vmx_vp *vmx = to_vmx(vp);

	/* A new state: no event of the old one is delivered into it. */
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmx->reinject = 0;

	seg_set(S_CS, &s->cs);
	seg_set(S_DS, &s->ds);
	seg_set(S_ES, &s->es);
	seg_set(S_FS, &s->fs);
	seg_set(S_GS, &s->gs);
	seg_set(S_SS, &s->ss);
	seg_set(S_TR, &s->tr);
	seg_set(S_LDTR, &s->ldt);
	vmcs_write(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, s->idt.limit);
	vmx_write_cr0(s->cr0);
	vmx->cr2 = s->cr2;
	vmcs_write(GUEST_CR3, s->cr3);
	vmx_write_cr4(s->cr4);
	vmx_set_efer(vmx, s->efer);
	if (pae_paging(s->cr0, s->cr4, s->efer))
		vmx_load_pdptrs(vmx, s->cr3);
	vmx->need_flush = true;
}

static void vmx_vp_reset(struct vhv_vp *vp)
{
	struct vmx_vp *vmx = to_vmx(vp);

	vmx_set_sregs(vp, &vhv_reset_sregs);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	memset(vmx->guest_msrs, 0, sizeof(vmx->guest_msrs));
	for (int i = 0; i < NR_SWAPPED; i++)
		vmx->guest_msrs[i].index = vmx_swapped_msrs[i];
	vmx->reinject = 0;
}

static unsigned long vmx_msr_field(u32 index)
{
	switch (index) {
	case MSR_FS_BASE:		return GUEST_FS_BASE;
	case MSR_GS_BASE:		return GUEST_GS_BASE;
	case MSR_IA32_SYSENTER_CS:	return GUEST_SYSENTER_CS;
	case MSR_IA32_SYSENTER_ESP:	return GUEST_SYSENTER_ESP;
	case MSR_IA32_SYSENTER_EIP:	return GUEST_SYSENTER_EIP;
	case MSR_IA32_CR_PAT:		return GUEST_IA32_PAT;
	case MSR_EFER:			return GUEST_IA32_EFER;
	default:			return 0;
	}
}

static u64 *vmx_swapped_msr(struct vmx_vp *vmx, u32 index)
{
	unsigned int i;

	for (i = 0; i < NR_SWAPPED; i++)
		if (vmx_swapped_msrs[i] == index)
			return &vmx->guest_msrs[i].value;
	return NULL;
}

static int vmx_get_msr(struct vhv_vp *vp, u32 index, u64 *data)
{
	u64 *swapped = vmx_swapped_msr(to_vmx(vp), index);
	unsigned long field = vmx_msr_field(index);

	if (swapped)
		*data = *swapped;
	else if (field)
		*data = vmcs_read(field);
	else if (index == MSR_IA32_TSC)
		*data = rdtsc() + vmcs_read(TSC_OFFSET);
	else
		return -ENOENT;
	return 0;
}

static int vmx_set_msr(struct vhv_vp *vp, u32 index, u64 data)
{
	struct vmx_vp *vmx = to_vmx(vp);
	u64 *swapped = vmx_swapped_msr(vmx, index);
	unsigned long field = vmx_msr_field(index);

	switch (index) {
	case MSR_EFER:
		/* LMA follows CR0.PG; it is not written directly. */
		data = (data & ~EFER_LMA) |
		       (vmcs_read(GUEST_IA32_EFER) & EFER_LMA);
		vmx_set_efer(vmx, data);
		return 0;
	case MSR_IA32_TSC:
		vmcs_write(TSC_OFFSET, data - rdtsc());
		return 0;
	}
	if (swapped)
		*swapped = data;
	else if (field)
		vmcs_write(field, data);
	else
		return -ENOENT;
	return 0;
}

static void vmx_inject_exception(struct vhv_vp *vp, u8 vector, bool has_error,
				 u32 error)
{
	/* Real mode delivers no error code. */
	if (!(vmx_get_cr0() & X86_CR0_PE))
		has_error = false;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vector | INTR_TYPE_HARD_EXCEPTION |
		   (has_error ? INTR_INFO_DELIVER_CODE_MASK : 0) |
		   INTR_INFO_VALID_MASK);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
}

static bool vmx_event_queued(struct vhv_vp *vp)
{
	return to_vmx(vp)->reinject ||
	       (vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK);
}

/* An STI/MOV SS shadow, unless the core has moved RIP past it. */
static bool vmx_shadow(struct vhv_vp *vp)
{
	return (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       vp->regs[VHV_REG_RIP] == to_vmx(vp)->exit_rip;
}

static bool vmx_irq_blocked(struct vhv_vp *vp)
{
	return !(vp->regs[VHV_REG_RFLAGS] & X86_EFLAGS_IF) || vmx_shadow(vp);
}

static bool vmx_nmi_blocked(struct vhv_vp *vp)
{
	return (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
		GUEST_INTR_STATE_NMI) || vmx_shadow(vp);
}

static void vmx_inject_irq(struct vhv_vp *vp, u8 vector)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vector | INTR_TYPE_EXT_INTR |
		   INTR_INFO_VALID_MASK);
}

/* With virtual NMIs the CPU blocks further NMIs until the IRET. */
static void vmx_inject_nmi(struct vhv_vp *vp)
{
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, X86_TRAP_NMI | INTR_TYPE_NMI_INTR |
		   INTR_INFO_VALID_MASK);
}

/*
 * Interrupt- and NMI-window exiting, and the TPR threshold: a guest
 * MOV to CR8 below it exits (the TPR shadow lives in the vapic page).
 */
static void vmx_set_windows(struct vhv_vp *vp, unsigned int win,
			    u8 tpr_class)
{
	struct vmx_vp *vmx = to_vmx(vp);
	u32 proc = vmx->proc_ctl & ~(CPU_BASED_INTR_WINDOW_EXITING |
				     CPU_BASED_NMI_WINDOW_EXITING);

	if (win & VHV_WIN_IRQ)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	if (win & VHV_WIN_NMI)
		proc |= CPU_BASED_NMI_WINDOW_EXITING;
	if (proc != vmx->proc_ctl) {
		vmx->proc_ctl = proc;
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	}
	if (tpr_class != vmx->tpr_threshold) {
		vmx->tpr_threshold = tpr_class;
		vmcs_write(TPR_THRESHOLD, tpr_class);
	}
}

static void vmx_set_cr2(struct vhv_vp *vp, u64 cr2)
{
	to_vmx(vp)->cr2 = cr2;
}

static void vmx_init_vmcs(struct vmx_vp *vmx)
{
	struct vhv_vp *vp = &vmx->vp;
	u64 v;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmcs_conf.pin);
	vmx->proc_ctl = vmcs_conf.proc;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc_ctl);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_conf.proc2);
	vmcs_write(VM_EXIT_CONTROLS, vmcs_conf.exit);
	vmx->entry_ctl = vmcs_conf.entry;
	vmcs_write(VM_ENTRY_CONTROLS, vmx->entry_ctl);
	vmcs_write(EXCEPTION_BITMAP, BIT(X86_TRAP_DB) | BIT(X86_TRAP_AC) |
		   BIT(X86_TRAP_MC));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(VIRTUAL_APIC_PAGE_ADDR, __pa(vmx->vapic));
	vmcs_write(TPR_THRESHOLD, 0);
	vmcs_write(EPT_POINTER, vmx_eptp(vp->part));
	if (vmcs_conf.vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(CR0_GUEST_HOST_MASK, vmcs_conf.cr0_mask);
	vmcs_write(CR4_GUEST_HOST_MASK, vmcs_conf.cr4_mask);

	vmcs_write(VM_EXIT_MSR_STORE_COUNT, NR_SWAPPED);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, __pa(vmx->guest_msrs));
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, NR_SWAPPED);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, __pa(vmx->guest_msrs));
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, NR_SWAPPED);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, __pa(vmx->host_msrs));

	/* Host state that is the same on every CPU. */
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, vmx->host_cr3 = __read_cr3());
	vmcs_write(HOST_CR4, vmx->host_cr4 = cr4_read_shadow());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vhv_rdmsr(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	vhv_rdmsr(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	vhv_rdmsr(MSR_IA32_CR_PAT, v);
	vmcs_write(HOST_IA32_PAT, v);
	vhv_rdmsr(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
	vmcs_write(HOST_RIP, (unsigned long)__vhv_vmx_exit);
	vmx_set_host_percpu();

	vmx_vp_reset(vp);
}

static int vmx_vp_create(struct vhv_vp *vp)
{
	struct vmx_vp *vmx = to_vmx(vp);
	unsigned int i;
	int r = -ENOMEM, cpu;

	vmx->cpu = -1;
	vmx->vmcs = (void *)get_zeroed_page(VHV_GFP);
	vmx->vapic = (void *)get_zeroed_page(VHV_GFP);
	if (!vmx->vmcs || !vmx->vapic)
		goto free;
	if (vmcs_conf.vpid) {
		r = ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL);
		if (r < 0)
			goto free;
		vmx->vpid = r;
	}
	*(u32 *)vmx->vmcs = vmcs_conf.revision;
	for (i = 0; i < NR_SWAPPED; i++)
		vmx->host_msrs[i].index = vmx_swapped_msrs[i];

	cpu = get_cpu();
	vmx_vmclear(vmx->vmcs);
	vmx_vp_load(vp, cpu);
	vmx_init_vmcs(vmx);
	put_cpu();
	return 0;
free:
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->vapic);
	return r;
}

static void vmx_vp_free(struct vhv_vp *vp)
{
	struct vmx_vp *vmx = to_vmx(vp);
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_vmcs, vmx, 1);
	if (vmx->vpid)
		ida_free(&vpid_ida, vmx->vpid);
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->vapic);
}

/* On every online CPU; one that is coming up or going down may be off. */
static void vmx_flush_ipi(void *p)
{
	if (this_cpu_read(vmx_cpu.on))
		vmx_flush(p);
}

/* The EPT root may be reused: forget its translations everywhere. */
static void vmx_partition_destroy(struct vhv_partition *p)
{
	on_each_cpu(vmx_flush_ipi, p, 1);
}

/* ---- exits ---- */

static u8 vmx_insn_len(void)
{
	return vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

static void vmx_exit_resume(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_RESUME;
}

static void vmx_exit_cpuid(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_CPUID;
	x->insn_len = vmx_insn_len();
}

static void vmx_exit_hlt(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_HLT;
	x->insn_len = vmx_insn_len();
}

static void vmx_exit_rdmsr(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_RDMSR;
	x->insn_len = vmx_insn_len();
}

static void vmx_exit_wrmsr(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_WRMSR;
	x->insn_len = vmx_insn_len();
}

static void vmx_exit_io(struct vmx_vp *vmx, struct vhv_exit *x)
{
	u64 q = x->info[0];

	x->kind = VHV_X_IO;
	x->insn_len = vmx_insn_len();
	x->io.port = q >> 16;
	x->io.size = (q & 7) + 1;
	x->io.in = q & BIT(3);
	x->io.string = q & BIT(4);
	x->io.rep = q & BIT(5);
}

static void vmx_exit_ept_violation(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_NPF;
	x->info[1] = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	x->npf.gpa = x->info[1];
	x->npf.write = x->info[0] & EPT_VIOLATION_ACC_WRITE;
	x->npf.fetch = x->info[0] & EPT_VIOLATION_ACC_INSTR;
	x->npf.walk = (x->info[0] & EPT_VIOLATION_GVA_IS_VALID) &&
		      !(x->info[0] & EPT_VIOLATION_GVA_TRANSLATED);
	/* An IRET that faulted did not unblock NMIs after all. */
	if ((x->info[0] & BIT(12)) && !vmx->reinject)
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
			      GUEST_INTR_STATE_NMI, true);
}

static void vmx_exit_shutdown(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_SHUTDOWN;
}

static void vmx_exit_fail(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_FAIL_ENTRY;
}

/* A machine check during VM entry is the host's: let it handle it. */
static void vmx_exit_mce_entry(struct vmx_vp *vmx, struct vhv_exit *x)
{
	asm volatile("int $0x12");
	x->kind = VHV_X_FAIL_ENTRY;
}

/* INVD would drop dirty cache lines of the host: do nothing instead. */
static void vmx_exit_invd(struct vmx_vp *vmx, struct vhv_exit *x)
{
	x->kind = VHV_X_NOP;
	x->insn_len = vmx_insn_len();
}

/* VMX instructions and the like, which the guest does not have. */
static void vmx_exit_ud(struct vmx_vp *vmx, struct vhv_exit *x)
{
	vmx_inject_exception(&vmx->vp, X86_TRAP_UD, false, 0);
	x->kind = VHV_X_RESUME;
}

/*
 * NMIs that hit the guest are taken here and handed to the host; #DB
 * and #AC are intercepted only so that a guest cannot hang the CPU in
 * an endless delivery loop, and go back to the guest.
 */
static void vmx_exit_exception(struct vmx_vp *vmx, struct vhv_exit *x)
{
	u32 info = vmcs_read(VM_EXIT_INTR_INFO);
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	x->kind = VHV_X_RESUME;
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
		asm volatile("int $2");
		return;
	}
	if (vector == X86_TRAP_MC) {	/* the host's machine check */
		asm volatile("int $0x12");
		return;
	}
	if (vector == X86_TRAP_DB) {
		/* A #DB that exits leaves DR6 alone: give the guest its bits. */
		vmx->guest_dr6 = DR6_RESERVED |
				 (x->info[0] & (DR_TRAP_BITS | DR_STEP | BIT(13)));
		vmx->set_dr6 = true;
	}
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXCEPTION) {
		/* ICEBP: delivered as what it was, after the instruction. */
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vector |
			   INTR_TYPE_PRIV_SW_EXCEPTION | INTR_INFO_VALID_MASK);
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN,
			   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
		return;
	}
	if (vector == X86_TRAP_DB || vector == X86_TRAP_AC)
		vmx_inject_exception(&vmx->vp, vector, vector == X86_TRAP_AC,
				     0);
	else
		x->kind = VHV_X_UNKNOWN;
}

/*
 * MOV to CR0/CR4 or LMSW that changes a bit the host owns.  Finished in
 * vmx_handle_exit(): loading PAE PDPTEs reads guest memory.
 */
static void vmx_exit_cr(struct vmx_vp *vmx, struct vhv_exit *x)
{
	unsigned int type = (x->info[0] >> 4) & 3;

	x->kind = (type == 0 || type == 3) ? VHV_X_BACKEND : VHV_X_UNKNOWN;
	x->insn_len = vmx_insn_len();
}

static int vmx_handle_exit(struct vhv_vp *vp)
{
	struct vmx_vp *vmx = to_vmx(vp);
	u64 q = vp->exit.info[0], val, old, efer;
	unsigned int cr = q & 15, type = (q >> 4) & 3;

	if (type == 3) {		/* LMSW: can set PE, not clear it */
		cr = 0;
		old = vmx_get_cr0();
		val = (old & ~0xeULL) | ((q >> 16) & 0xf);
	} else {
		val = vp->regs[(q >> 8) & 15];
	}

	if (cr == 0) {
		old = vmx_get_cr0();
		efer = vmcs_read(GUEST_IA32_EFER);
		if (val >> 32 || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
		    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
		    ((val & ~old & X86_CR0_PG) && (efer & EFER_LME) &&
		     !(vmx_get_cr4() & X86_CR4_PAE)))
			goto gp;
		vmx_write_cr0(val);
		if ((val ^ old) & X86_CR0_PG && (efer & EFER_LME))
			vmx_set_efer(vmx, (val & X86_CR0_PG) ? efer | EFER_LMA :
				     efer & ~EFER_LMA);
		if (pae_paging(val, vmx_get_cr4(), efer))
			vmx_load_pdptrs(vmx, vmcs_read(GUEST_CR3));
	} else if (cr == 4) {
		if (val & ~VHV_CR4_GUEST)
			goto gp;
		vmx_write_cr4(val);
	} else {
		vhv_internal_error(vp, VHV_INTERNAL_UNKNOWN_EXIT);
		return 0;
	}
	vmx->need_flush = true;
	vp->regs[VHV_REG_RIP] += vp->exit.insn_len;
	return 1;
gp:
	vmx_inject_exception(vp, X86_TRAP_GP, true, 0);
	return 1;
}

typedef void (*vmx_exit_fn)(struct vmx_vp *vmx, struct vhv_exit *x);

static const vmx_exit_fn vmx_exit_table[] = {
	[EXIT_REASON_EXCEPTION_NMI]		= vmx_exit_exception,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= vmx_exit_resume,
	[EXIT_REASON_INTERRUPT_WINDOW]		= vmx_exit_resume,
	[EXIT_REASON_NMI_WINDOW]		= vmx_exit_resume,
	[EXIT_REASON_TPR_BELOW_THRESHOLD]	= vmx_exit_resume,
	[EXIT_REASON_TRIPLE_FAULT]		= vmx_exit_shutdown,
	[EXIT_REASON_INIT_SIGNAL]		= vmx_exit_resume,
	[EXIT_REASON_CPUID]			= vmx_exit_cpuid,
	[EXIT_REASON_HLT]			= vmx_exit_hlt,
	[EXIT_REASON_INVD]			= vmx_exit_invd,
	[EXIT_REASON_VMCALL]			= vmx_exit_ud,
	[EXIT_REASON_VMCLEAR]			= vmx_exit_ud,
	[EXIT_REASON_VMLAUNCH]			= vmx_exit_ud,
	[EXIT_REASON_VMPTRLD]			= vmx_exit_ud,
	[EXIT_REASON_VMPTRST]			= vmx_exit_ud,
	[EXIT_REASON_VMREAD]			= vmx_exit_ud,
	[EXIT_REASON_VMRESUME]			= vmx_exit_ud,
	[EXIT_REASON_VMWRITE]			= vmx_exit_ud,
	[EXIT_REASON_VMOFF]			= vmx_exit_ud,
	[EXIT_REASON_VMON]			= vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS]			= vmx_exit_cr,
	[EXIT_REASON_IO_INSTRUCTION]		= vmx_exit_io,
	[EXIT_REASON_MSR_READ]			= vmx_exit_rdmsr,
	[EXIT_REASON_MSR_WRITE]			= vmx_exit_wrmsr,
	[EXIT_REASON_INVALID_STATE]		= vmx_exit_fail,
	[EXIT_REASON_MSR_LOAD_FAIL]		= vmx_exit_fail,
	[EXIT_REASON_MWAIT_INSTRUCTION]		= vmx_exit_ud,
	[EXIT_REASON_MONITOR_INSTRUCTION]	= vmx_exit_ud,
	[EXIT_REASON_MCE_DURING_VMENTRY]	= vmx_exit_mce_entry,
	[EXIT_REASON_EPT_VIOLATION]		= vmx_exit_ept_violation,
	[EXIT_REASON_INVEPT]			= vmx_exit_ud,
	[EXIT_REASON_PREEMPTION_TIMER]		= vmx_exit_resume,
	[EXIT_REASON_INVVPID]			= vmx_exit_ud,
	[EXIT_REASON_XSETBV]			= vmx_exit_ud,
};

static void vmx_decode_exit(struct vmx_vp *vmx)
{
	struct vhv_exit *x = &vmx->vp.exit;
	u32 reason = vmcs_read(VM_EXIT_REASON);
	u32 idt = vmcs_read(IDT_VECTORING_INFO_FIELD);
	u16 basic = reason;

	memset(x, 0, sizeof(*x));
	x->kind = VHV_X_UNKNOWN;
	x->code = reason;
	x->info[0] = vmcs_read(EXIT_QUALIFICATION);

	/*
	 * An event cut short by the exit is delivered again.  An NMI left
	 * virtual-NMI blocking set, which its injection must not find.
	 */
	if ((idt & VECTORING_INFO_VALID_MASK) &&
	    !(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		if ((idt & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
			vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
				      GUEST_INTR_STATE_NMI, false);
		vmx->reinject = idt;
		vmx->reinject_err = vmcs_read(IDT_VECTORING_ERROR_CODE);
		vmx->reinject_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
		x->vectoring = true;
	}
	if (basic < ARRAY_SIZE(vmx_exit_table)) {
		vmx_exit_fn fn = vmx_exit_table[array_index_nospec(basic,
					ARRAY_SIZE(vmx_exit_table))];

		if (fn)
			fn(vmx, x);
	}
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		x->kind = VHV_X_FAIL_ENTRY;
}

static int vmx_vp_run(struct vhv_vp *vp)
{
	struct vmx_vp *vmx = to_vmx(vp);
	long gen = atomic_long_read(&vp->part->tlb_gen);
	u16 ds, es;
	u64 cr;
	int fail;

	if (vmx->need_flush || vp->tlb_gen != gen)
		vmx_flush(vp->part);
	vmx->need_flush = false;
	vp->tlb_gen = gen;

	cr = __read_cr3();
	if (cr != vmx->host_cr3)
		vmcs_write(HOST_CR3, vmx->host_cr3 = cr);
	cr = cr4_read_shadow();
	if (cr != vmx->host_cr4)
		vmcs_write(HOST_CR4, vmx->host_cr4 = cr);

	/* A RIP moved by the core ends any STI/MOV SS interrupt shadow. */
	if (vp->regs[VHV_REG_RIP] != vmx->exit_rip)
		vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO,
			      GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS,
			      false);
	if (vmx->reinject &&
	    !(vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK)) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vmx->reinject);
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmx->reinject_err);
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmx->reinject_len);
	}
	vmx->reinject = 0;

	if (vmcs_conf.preempt_ticks)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmcs_conf.preempt_ticks);
	vmcs_write(GUEST_RSP, vp->regs[VHV_REG_RSP]);
	vmcs_write(GUEST_RIP, vp->regs[VHV_REG_RIP]);
	vmcs_write(GUEST_RFLAGS, vp->regs[VHV_REG_RFLAGS]);
	*(u32 *)(vmx->vapic + APIC_TASKPRI) = vhv_lapic_tpr(vp);
	if (vmx->set_dr6) {
		set_debugreg(vmx->guest_dr6, 6);
		vmx->set_dr6 = false;
	}
	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);

	savesegment(ds, ds);
	savesegment(es, es);
	fail = __vhv_vmx_run(vp->regs, vmx->launched);
	loadsegment(ds, ds);
	loadsegment(es, es);
	vmx->cr2 = native_read_cr2();
	if (vmx->host_debugctl)
		vhv_wrmsr(MSR_IA32_DEBUGCTLMSR, vmx->host_debugctl);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	if (fail) {
		memset(&vp->exit, 0, sizeof(vp->exit));
		vp->exit.kind = VHV_X_FAIL_ENTRY;
		vp->exit.code = vmcs_read(VM_INSTRUCTION_ERROR);
		return 0;
	}
	/* A failed VM entry leaves the VMCS clear: VMLAUNCH again. */
	if (!(vmcs_read(VM_EXIT_REASON) & VMX_EXIT_REASONS_FAILED_VMENTRY))
		vmx->launched = true;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vp->regs[VHV_REG_RSP] = vmcs_read(GUEST_RSP);
	vp->regs[VHV_REG_RIP] = vmcs_read(GUEST_RIP);
	vp->regs[VHV_REG_RFLAGS] = vmcs_read(GUEST_RFLAGS);
	vmx->exit_rip = vp->regs[VHV_REG_RIP];
	/* Guest MOV to CR8 writes the TPR shadow. */
	vhv_lapic_set_tpr(vp, *(u32 *)(vmx->vapic + APIC_TASKPRI));
	vmx_decode_exit(vmx);
	return 0;
}

/* ---- EPT entries ---- */

static u64 vmx_spte_table(u64 pa)
{
	return pa | VMX_EPT_RWX_MASK;
}

static u64 vmx_spte_leaf(u64 pa, u32 prot)
{
	return pa | VMX_EPT_READABLE_MASK |
	       (prot & VHV_MAP_WRITE ? VMX_EPT_WRITABLE_MASK : 0) |
	       (prot & VHV_MAP_EXEC ? VMX_EPT_EXECUTABLE_MASK : 0) |
	       (MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT);
}

static int vmx_mmu_levels(void)
{
	return 4;
}

const struct vhv_backend_ops vhv_vmx_ops = {
	.name = "VMX",
	.id = VHV_BACKEND_VMX,
	.vp_size = sizeof(struct vmx_vp),
	.hardware_setup = vmx_hardware_setup,
	.hardware_unsetup = vmx_hardware_unsetup,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.partition_destroy = vmx_partition_destroy,
	.vp_create = vmx_vp_create,
	.vp_free = vmx_vp_free,
	.vp_reset = vmx_vp_reset,
	.vp_load = vmx_vp_load,
	.vp_put = vmx_vp_put,
	.vp_run = vmx_vp_run,
	.handle_exit = vmx_handle_exit,
	.get_sregs = vmx_get_sregs,
	.set_sregs = vmx_set_sregs,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.event_queued = vmx_event_queued,
	.irq_blocked = vmx_irq_blocked,
	.nmi_blocked = vmx_nmi_blocked,
	.inject_irq = vmx_inject_irq,
	.inject_nmi = vmx_inject_nmi,
	.set_windows = vmx_set_windows,
	.inject_exception = vmx_inject_exception,
	.set_cr2 = vmx_set_cr2,
	.spte_table = vmx_spte_table,
	.spte_leaf = vmx_spte_leaf,
	.spte_present = VMX_EPT_RWX_MASK,
	.spte_writable = VMX_EPT_WRITABLE_MASK,
	.mmu_levels = vmx_mmu_levels,
};
