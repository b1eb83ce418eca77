/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMCB, laid out as in the AMD APM vol. 2, appendix B.  Only the
 * fields vhv uses are named; the rest is reserved padding.
 */
#ifndef _VHV_SVM_VMCB_H
#define _VHV_SVM_VMCB_H

#include <linux/build_bug.h>
#include <linux/types.h>

#define VM_CR_SVMDIS		BIT(4)	/* MSR_VM_CR: SVM disabled */

/* Intercept vector 3 (offset 0x0c) and 4 (offset 0x10) bits */
#define SVM_I3_INTR		BIT(0)
#define SVM_I3_NMI		BIT(1)
#define SVM_I3_SMI		BIT(2)
#define SVM_I3_INIT		BIT(3)
#define SVM_I3_VINTR		BIT(4)
#define SVM_I3_CPUID		BIT(18)
#define SVM_I3_IRET		BIT(20)
#define SVM_I3_INVD		BIT(22)
#define SVM_I3_HLT		BIT(24)
#define SVM_I3_INVLPGA		BIT(26)
#define SVM_I3_IOIO		BIT(27)
#define SVM_I3_MSR		BIT(28)
#define SVM_I3_TASK_SWITCH	BIT(29)
#define SVM_I3_SHUTDOWN		BIT(31)
#define SVM_I4_VMRUN		BIT(0)
#define SVM_I4_VMMCALL		BIT(1)
#define SVM_I4_VMLOAD		BIT(2)
#define SVM_I4_VMSAVE		BIT(3)
#define SVM_I4_STGI		BIT(4)
#define SVM_I4_CLGI		BIT(5)
#define SVM_I4_SKINIT		BIT(6)
#define SVM_I4_RDTSCP		BIT(7)
#define SVM_I4_MONITOR		BIT(10)
#define SVM_I4_MWAIT		BIT(11)
#define SVM_I4_MWAIT_COND	BIT(12)
#define SVM_I4_XSETBV		BIT(13)
#define SVM_I4_RDPRU		BIT(14)

#define SVM_TLB_NONE		0
#define SVM_TLB_ALL		1
#define SVM_TLB_ASID		3

#define SVM_INT_CTL_V_TPR		0xfULL
#define SVM_INT_CTL_V_IRQ		BIT(8)
#define SVM_INT_CTL_V_INTR_PRIO		(0xfULL << 16)
#define SVM_INT_CTL_V_IGN_TPR		BIT(20)
#define SVM_INT_CTL_V_INTR_MASKING	BIT(24)

#define SVM_INT_STATE_SHADOW		BIT(0)

#define DR6_BD_SVM			BIT(13)	/* DR6.BD: general detect */

/* intercept_cr: writes of CRn are bit 16 + n */
#define SVM_CR_WRITE(n)		BIT(16 + (n))

#define SVM_EVTINJ_VALID	BIT(31)
#define SVM_EVTINJ_ERR		BIT(11)
#define SVM_EVTINJ_TYPE		(7 << 8)
#define SVM_EVTINJ_INTR		(0 << 8)
#define SVM_EVTINJ_NMI		(2 << 8)
#define SVM_EVTINJ_EXC		(3 << 8)
#define SVM_EVTINJ_SOFT		(4 << 8)

/* Exit codes */
#define SVM_EXIT_WRITE_CR8	0x018
#define SVM_EXIT_EXCP_BASE	0x040
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_SMI		0x062
#define SVM_EXIT_INIT		0x063
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_TASK_SWITCH	0x07d
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_RDTSCP		0x087
#define SVM_EXIT_MONITOR	0x08a
#define SVM_EXIT_MWAIT		0x08b
#define SVM_EXIT_MWAIT_COND	0x08c
#define SVM_EXIT_XSETBV		0x08d
#define SVM_EXIT_RDPRU		0x08e
#define SVM_EXIT_NR		0x090	/* size of the dense exit table */
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_INVALID	((u64)-1)

/* IOIO EXITINFO1 */
#define SVM_IO_IN		BIT(0)
#define SVM_IO_STR		BIT(2)
#define SVM_IO_REP		BIT(3)
#define SVM_IO_SIZE_SHIFT	4
#define SVM_IO_SIZE_MASK	(7 << SVM_IO_SIZE_SHIFT)

/* NPF EXITINFO1 */
#define SVM_NPF_WRITE		BIT(1)
#define SVM_NPF_FETCH		BIT(4)
#define SVM_NPF_WALK		BIT_ULL(33)

struct vmcb_control {
	u32 intercept_cr;
	u32 intercept_dr;
	u32 intercept_exceptions;
	u32 intercept3;
	u32 intercept4;
	u32 intercept5;
	u8 reserved_18[0x3c - 0x18];
	u16 pause_filter_thresh;
	u16 pause_filter_count;
	u64 iopm_base_pa;
	u64 msrpm_base_pa;
	u64 tsc_offset;
	u32 asid;
	u8 tlb_ctl;
	u8 reserved_5d[3];
	u64 int_ctl;
	u64 int_state;
	u64 exit_code;
	u64 exit_info_1;
	u64 exit_info_2;
	u64 exit_int_info;
	u64 np_ctl;
	u64 avic_apic_bar;
	u64 ghcb_pa;
	u64 event_inj;
	u64 ncr3;
	u64 virt_ext;
	u32 clean;
	u32 reserved_c4;
	u64 next_rip;
	u8 insn_len;
	u8 insn_bytes[15];
	u8 reserved_e0[0x400 - 0xe0];
} __packed;

struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs;
	struct vmcb_seg gdtr, ldtr, idtr, tr;
	u8 reserved_a0[0xcb - 0xa0];
	u8 cpl;
	u32 reserved_cc;
	u64 efer;
	u8 reserved_d8[0x148 - 0xd8];
	u64 cr4;
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip;
	u8 reserved_180[0x1d8 - 0x180];
	u64 rsp;
	u8 reserved_1e0[0x1f8 - 0x1e0];
	u64 rax;
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2;
	u8 reserved_248[0x268 - 0x248];
	u64 g_pat;
	u64 dbgctl;
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x40);
static_assert(offsetof(struct vmcb_control, asid) == 0x58);
static_assert(offsetof(struct vmcb_control, exit_code) == 0x70);
static_assert(offsetof(struct vmcb_control, event_inj) == 0xa8);
static_assert(offsetof(struct vmcb_control, ncr3) == 0xb0);
static_assert(offsetof(struct vmcb_control, next_rip) == 0xc8);
static_assert(sizeof(struct vmcb_control) == 0x400);
static_assert(offsetof(struct vmcb_save, cpl) == 0xcb);
static_assert(offsetof(struct vmcb_save, efer) == 0xd0);
static_assert(offsetof(struct vmcb_save, cr4) == 0x148);
static_assert(offsetof(struct vmcb_save, rip) == 0x178);
static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8);
static_assert(offsetof(struct vmcb_save, rax) == 0x1f8);
static_assert(offsetof(struct vmcb_save, cr2) == 0x240);
static_assert(offsetof(struct vmcb_save, g_pat) == 0x268);

#endif /* _VHV_SVM_VMCB_H */
