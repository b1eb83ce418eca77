/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhv core: partitions, virtual processors, the neutral exit and the
 * backend operations table.  Documentation/design.rst explains how they
 * fit together; Documentation/locking.rst gives the lock order.
 */
#ifndef _VHV_VHV_H
#define _VHV_VHV_H

#include <linux/bitmap.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <linux/vhv.h>

#include "vhv/emulate.h"
#include "vhv/lapic.h"
#include "vhv/regs.h"

struct vhv_vp;

/*
 * Memory a partition or VP allocates for itself: charged to the
 * caller's memory cgroup, and failing with -ENOMEM at the cgroup's
 * limit rather than calling the OOM killer on the VMM.
 */
#define VHV_GFP		(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL)

/* A guest-physical range backed by VMM memory. */
struct vhv_mapping {
	u64 gpa;
	u64 size;
	u64 uaddr;
	u32 flags;		/* VHV_MAP_* */
};

/*
 * Second-level address translation (NPT or EPT), built lazily from the
 * mappings.  Guest pages are pinned while a table entry points at them.
 */
struct vhv_mmu {
	/*
	 * This mutex protects: maps[], nmaps, npinned and every table page
	 * below root.  It is taken before the owner mm's mmap_lock.
	 */
	struct mutex lock;
	struct vhv_mapping maps[VHV_MAX_MAPPINGS];	/* sorted by gpa */
	unsigned int nmaps;
	u64 *root;
	int levels;		/* 4 or 5 */
	/*
	 * Guest pages pinned, counted in the owner mm's pinned_vm (VmPin)
	 * against RLIMIT_MEMLOCK unless the creator had CAP_IPC_LOCK.
	 */
	unsigned long npinned;
	bool pin_unlimited;
};

struct vhv_partition {
	struct kref ref;	/* the partition fd and each VP hold one */
	struct mm_struct *mm;	/* owner: only it may use the fds */
	u64 id;			/* unique for the module's lifetime, from 1 */
	u32 flags;		/* VHV_PARTITION_* */
	/* This mutex serialises VP creation and release. */
	struct mutex lock;
	/*
	 * This rwlock protects vps[]: written (under lock) to add or
	 * remove a VP, read to route interrupts, which only set bits and
	 * kick.  A VP is freed only after it has left vps[].
	 */
	rwlock_t vps_lock;
	struct vhv_vp *vps[VHV_MAX_VPS];
	/* Level-triggered vectors whose EOI exits to the VMM. */
	DECLARE_BITMAP(eoi_exits, 256);
	struct vhv_mmu mmu;
	/*
	 * Bumped when translations are removed; a VP whose tlb_gen differs
	 * flushes its TLB before the next entry.
	 */
	atomic_long_t tlb_gen;
};

/* The backend-neutral exit, filled by vhv_backend_ops.vp_run(). */
enum vhv_exit_kind {
	VHV_X_RESUME,		/* handled by the backend */
	VHV_X_IO,
	VHV_X_NPF,		/* nested/EPT page fault */
	VHV_X_CPUID,
	VHV_X_RDMSR,
	VHV_X_WRMSR,
	VHV_X_HLT,
	VHV_X_CR8_WRITE,	/* MOV to CR8, to be decoded by the core */
	VHV_X_NOP,		/* skip the instruction (INVD) */
	VHV_X_BACKEND,		/* finish in vhv_backend_ops.handle_exit */
	VHV_X_SHUTDOWN,		/* triple fault */
	VHV_X_FAIL_ENTRY,	/* code: hardware reason */
	VHV_X_UNKNOWN,		/* code, info: raw exit */
};

struct vhv_exit {
	u32 kind;		/* enum vhv_exit_kind */
	u8 insn_len;		/* of the exiting instruction; 0: unknown */
	bool vectoring;		/* the exit interrupted an event delivery */
	u32 cpu;		/* host CPU of the exit */
	u64 code;		/* raw exit code */
	u64 info[2];		/* raw exit information */
	union {
		struct {
			u16 port;
			u8 size;
			bool in;
			bool string;
			bool rep;
		} io;
		struct {
			u64 gpa;
			bool write;
			bool fetch;
			bool walk;	/* by the guest's own page walk */
		} npf;
	};
};

/* What the next VHV_RUN must finish before entering the guest. */
enum vhv_pending {
	VHV_PEND_NONE,
	VHV_PEND_IO_IN,		/* IN/INS: copy the run-page data in */
	VHV_PEND_MMIO_READ,	/* redo the emulation with the read value */
};

struct vhv_vp {
	struct vhv_partition *part;
	u32 index;
	/* This mutex protects: everything below; held through VHV_RUN. */
	struct mutex mutex;
	struct vhv_run *run;
	u64 regs[VHV_NR_REGS];
	struct vhv_exit exit;
	struct fpu_guest fpu;
	struct preempt_notifier pn;
	long tlb_gen;		/* partition tlb_gen last flushed for */

	/* Emulation in progress across an exit to the VMM. */
	u8 pending;		/* enum vhv_pending */
	struct vhv_insn insn;
	u64 next_rip;
	u32 io_count;		/* IN: items expected in the run page */
	bool io_string;
	u8 mmio_len;		/* MMIO read: bytes expected */

	/* Architectural state the core keeps. */
	struct vhv_lapic lapic;
	u8 mp_state;		/* VHV_MP_* */
	/*
	 * HLT and wait-for-SIPI sleep here.  An rcuwait, not a wait queue:
	 * the timer's hardirq callback wakes it, also on PREEMPT_RT.
	 */
	struct rcuwait wait;
	bool in_guest;		/* from just before the event check to the exit */
	int cpu;		/* where it last entered the guest */
	u64 apic_base;
	u64 tsc_aux;
	struct vhv_cpuid_entry *cpuid;	/* NULL: the defaults */
	u32 ncpuid;
};

/*
 * The backend operations.  A VP hook runs in process context with
 * vp->mutex held and the VP loaded on this CPU (see vp_load), unless
 * noted; vp_create/vp_free run without the mutex, before the VP is
 * visible and after it is gone.
 */
struct vhv_backend_ops {
	const char *name;
	u32 id;				/* VHV_BACKEND_* */
	size_t vp_size;			/* backend VP embedding vhv_vp */

	/* Module load/unload: probe the CPU, allocate per-CPU data. */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	/*
	 * Turn virtualization on/off on this CPU.  Called in the CPU's
	 * hotplug thread: bound to the CPU, preemptible.
	 */
	int (*cpu_enable)(void);
	void (*cpu_disable)(void);

	/* Before a partition's tables are freed (optional). */
	void (*partition_destroy)(struct vhv_partition *p);
	/*
	 * Initialise (to the reset state) and free the backend VP;
	 * vp_reset loads vhv_reset_sregs and resets the rest.
	 */
	int (*vp_create)(struct vhv_vp *vp);
	void (*vp_free)(struct vhv_vp *vp);
	void (*vp_reset)(struct vhv_vp *vp);
	/*
	 * The VP's thread starts a VP ioctl or is scheduled in (load), or
	 * ends it or is scheduled out (put); preemption disabled.  Optional.
	 */
	void (*vp_load)(struct vhv_vp *vp, int cpu);
	void (*vp_put)(struct vhv_vp *vp);
	/*
	 * Enter the guest once and describe the exit in vp->exit.  Runs
	 * with preemption and interrupts disabled.  Returns 0 or -errno.
	 */
	int (*vp_run)(struct vhv_vp *vp);

	/*
	 * Finish an exit the backend could not handle with interrupts off
	 * (VHV_X_BACKEND); may sleep.  Returns as vhv_handle_exit().
	 */
	int (*handle_exit)(struct vhv_vp *vp);

	void (*get_sregs)(struct vhv_vp *vp, struct vhv_sregs *sregs);
	/* sregs were checked by vhv_check_sregs(). */
	void (*set_sregs)(struct vhv_vp *vp, const struct vhv_sregs *sregs);
	/* MSRs kept in the VMCB/VMCS.  Return -ENOENT if not one. */
	int (*get_msr)(struct vhv_vp *vp, u32 index, u64 *data);
	int (*set_msr)(struct vhv_vp *vp, u32 index, u64 data);
	/*
	 * Event injection, with interrupts off just before vp_run.
	 * event_queued: an exception or a re-delivery fills the next
	 * entry already.  irq_blocked: RFLAGS.IF clear or an STI/MOV SS
	 * shadow; nmi_blocked: NMIs masked or a shadow.  set_windows asks
	 * for an exit once the VHV_WIN_* events can be injected or the
	 * guest's TPR class drops below tpr_class (0: never).
	 */
	bool (*event_queued)(struct vhv_vp *vp);
	bool (*irq_blocked)(struct vhv_vp *vp);
	bool (*nmi_blocked)(struct vhv_vp *vp);
	void (*inject_irq)(struct vhv_vp *vp, u8 vector);
	void (*inject_nmi)(struct vhv_vp *vp);
	void (*set_windows)(struct vhv_vp *vp, unsigned int win, u8 tpr_class);
	/* Queue an exception for the next entry. */
	void (*inject_exception)(struct vhv_vp *vp, u8 vector, bool has_error,
				 u32 error);
	void (*set_cr2)(struct vhv_vp *vp, u64 cr2);

	/* Second-level table entries; called with mmu.lock held. */
	u64 (*spte_table)(u64 pa);
	u64 (*spte_leaf)(u64 pa, u32 prot);
	u64 spte_present;		/* bits meaning "present" */
	u64 spte_writable;		/* the write-permission bit */
	int (*mmu_levels)(void);
};

#define VHV_WIN_IRQ	BIT(0)
#define VHV_WIN_NMI	BIT(1)

/* The APIC timer's clock: one count per ns, before the divider. */
#define VHV_APIC_BUS_HZ	1000000000

extern const struct vhv_backend_ops *vhv_ops;
extern const struct vhv_backend_ops vhv_svm_ops;
extern const struct vhv_backend_ops vhv_vmx_ops;

/* main.c */
int vhv_hardware_get(void);
void vhv_hardware_put(void);

/* partition.c */
int vhv_partition_create(u32 flags);
void vhv_partition_put(struct vhv_partition *p);
bool vhv_owner_ok(struct vhv_partition *p);
void vhv_flush_tlb(struct vhv_partition *p);

/* vp.c */
int vhv_vp_create(struct vhv_partition *p, unsigned long index);

/* exit.c: the arch-neutral exit handlers; >0 resume, 0 exit, <0 errno */
int vhv_handle_exit(struct vhv_vp *vp);
int vhv_complete_pending(struct vhv_vp *vp);
void vhv_internal_error(struct vhv_vp *vp, u32 suberror);

/* mmu.c */
int vhv_mmu_init(struct vhv_partition *p);
void vhv_mmu_destroy(struct vhv_partition *p);
int vhv_map_gpa(struct vhv_partition *p, const struct vhv_map_gpa *m);
int vhv_unmap_gpa(struct vhv_partition *p, const struct vhv_unmap_gpa *u);
#define VHV_FAULT_MAPPED	0
#define VHV_FAULT_MMIO		1
#define VHV_FAULT_NOEXEC	2
int vhv_mmu_fault(struct vhv_partition *p, u64 gpa, bool write, bool fetch);
int vhv_gpa_read(struct vhv_partition *p, u64 gpa, void *buf, u32 len);
int vhv_gpa_write(struct vhv_partition *p, u64 gpa, const void *buf,
		  u32 len);
static inline phys_addr_t vhv_mmu_root_pa(struct vhv_partition *p)
{
	return __pa(p->mmu.root);
}

/* x86.c: architectural state common to both backends */
#define VHV_ACC_WRITE	BIT(1)
#define VHV_ACC_USER	BIT(2)
#define VHV_ACC_FETCH	BIT(4)
int vhv_gva_to_gpa(struct vhv_vp *vp, const struct vhv_sregs *s, u64 gva,
		   u32 access, u64 *gpa, u32 *pf_error);
int vhv_check_sregs(const struct vhv_sregs *s);
void vhv_reset_regs(struct vhv_vp *vp);
extern const struct vhv_sregs vhv_reset_sregs;
int vhv_cpuid_setup(void);
void vhv_cpuid_cleanup(void);
void vhv_cpuid(struct vhv_vp *vp, u32 func, u32 index, u32 out[4]);
int vhv_set_cpuid(struct vhv_vp *vp, struct vhv_cpuid __user *arg);
int vhv_get_msr(struct vhv_vp *vp, u32 index, u64 *data);
int vhv_set_msr(struct vhv_vp *vp, u32 index, u64 data, bool host);
enum vhv_cpu_mode vhv_cpu_mode(const struct vhv_sregs *s);

/* CR4 bits a guest may set; the others are reserved for it. */
#define VHV_CR4_GUEST	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | \
			 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | \
			 X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
			 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_UMIP | \
			 X86_CR4_FSGSBASE | X86_CR4_PCIDE | X86_CR4_SMEP | \
			 X86_CR4_SMAP)

#define X86_RFLAGS_FIXED	0x2UL
#define X86_RFLAGS_VALID	0x3f7fd5UL

#endif /* _VHV_VHV_H */
