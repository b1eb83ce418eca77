// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel local APIC: reset state, TPR/PPR/CR8, the software
 * enable, LDR/DFR, ESR, ISR/IRR/TMR, x2APIC MSRs and their #GPs, the
 * IA32_APIC_BASE transitions, and the validation of the APIC ioctls.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

#define APIC_VERSION		0x50014	/* max LVT 5, version 0x14 */
#define APIC_RESET_SVR		0xff
#define LVT_RESET		APIC_LVT_MASKED

static const u32 lvt_regs[] = {
	APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1,
	APIC_LVTERR,
};

/* ---------------------------------------------------------------------
 * Guest helpers: #GP recording (RDMSR and WRMSR are two bytes long).
 */
static u64 gp_count;

static void guest_gp_handler(struct ex_regs *regs)
{
	WRITE_ONCE(gp_count, READ_ONCE(gp_count) + 1);
	regs->rip += 2;
}

static bool rdmsr_faults(u32 msr)
{
	u64 before = READ_ONCE(gp_count);

	guest_rdmsr(msr);
	return READ_ONCE(gp_count) != before;
}

static bool wrmsr_faults(u32 msr, u64 val)
{
	u64 before = READ_ONCE(gp_count);

	guest_wrmsr(msr, val);
	return READ_ONCE(gp_count) != before;
}

#define GUEST_ASSERT_RDMSR_GP(msr)					\
	GUEST_ASSERT_EQ_CTX(rdmsr_faults(msr), 1, msr)
#define GUEST_ASSERT_RDMSR_OK(msr)					\
	GUEST_ASSERT_EQ_CTX(rdmsr_faults(msr), 0, msr)
#define GUEST_ASSERT_WRMSR_GP(msr, val)					\
	GUEST_ASSERT_EQ_CTX(wrmsr_faults(msr, val), 1,			\
			    ((u64)(msr) << 32) | (u32)(val))
#define GUEST_ASSERT_WRMSR_OK(msr, val)					\
	GUEST_ASSERT_EQ_CTX(wrmsr_faults(msr, val), 0,			\
			    ((u64)(msr) << 32) | (u32)(val))

static inline u64 guest_read_cr8(void)
{
	u64 v;

	asm volatile("mov %%cr8, %0" : "=r"(v) : : "memory");
	return v;
}

static inline void guest_write_cr8(u64 v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

/* ISR/TMR/IRR bit of vec through xAPIC MMIO. */
static bool xapic_vec_bit(u32 base, u32 vec)
{
	return xapic_read_reg(base + (vec / 32) * 0x10) & (1U << (vec % 32));
}

/*
 * A self IPI arrives at an instruction boundary soon after the write
 * that sends it; wait a bounded while for *counter to reach n.
 */
static void guest_wait_count(u64 *counter, u64 n)
{
	unsigned int i;

	for (i = 0; i < 1000 && READ_ONCE(*counter) < n; i++)
		guest_nop_pause();
	GUEST_ASSERT_EQ(READ_ONCE(*counter), n);
}

static u64 x2apic_ldr_of(u32 id)
{
	return ((id >> 4) << 16) | (1U << (id & 15));
}

static bool cap_x2apic(void)
{
	return vhv_check_cap(VHV_CAP_X2APIC) == 1;
}

/* ---------------------------------------------------------------------
 * Capabilities.
 */
static void guest_timing_leaf(void)
{
	u32 eax, ebx, ecx, edx;

	guest_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT(edx & BIT(9));		/* APIC on chip */
	guest_cpuid(VHV_CPUID_TIMING_LEAF, 0, &eax, &ebx, &ecx, &edx);
	GUEST_SYNC_ARGS(eax, ebx, 0, 0);
	GUEST_DONE();
}

TEST(check_caps)
{
	struct vhv_partition *part;
	struct vhv_vp *vp;
	struct ucall uc;
	u64 khz;

	EXPECT_EQ(1, vhv_check_cap(VHV_CAP_LAPIC));
	EXPECT_EQ(1, vhv_check_cap(VHV_CAP_X2APIC));
	EXPECT_EQ(1, vhv_check_cap(VHV_CAP_TSC_DEADLINE));
	EXPECT_EQ(1000000000, vhv_check_cap(VHV_CAP_APIC_BUS_HZ));

	/* The guest sees the same clocks in CPUID 0x40000010. */
	part = part_create(VHV_DEFAULT_RAM);
	vp = vp_add(part, 0, guest_timing_leaf);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ((u64)vhv_check_cap(VHV_CAP_APIC_BUS_HZ) / 1000, uc.args[1]);
	khz = host_tsc_khz();
	EXPECT_GT(uc.args[0], khz * 3 / 4)
		TH_LOG("guest TSC %llu kHz, host %llu kHz",
		       (unsigned long long)uc.args[0], (unsigned long long)khz);
	EXPECT_LT(uc.args[0], khz * 5 / 4)
		TH_LOG("guest TSC %llu kHz, host %llu kHz",
		       (unsigned long long)uc.args[0], (unsigned long long)khz);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Reset state, through MMIO and VHV_GET_LAPIC.
 */
static void guest_reset_state(u32 index)
{
	unsigned int i;

	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), index << 24);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), APIC_VERSION);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_SPIV), APIC_RESET_SVR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_DFR), 0xffffffff);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LDR), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TDCR), 0);
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(lvt_regs[i]), LVT_RESET,
				    lvt_regs[i]);
	for (i = 0; i < 8; i++) {
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(APIC_ISR + i * 0x10), 0, i);
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(APIC_TMR + i * 0x10), 0, i);
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(APIC_IRR + i * 0x10), 0, i);
	}
	/* Partial reads inside a register. */
	GUEST_ASSERT_EQ(READ_ONCE(*(u8 *)(APIC_BASE_GPA + APIC_LVR)), 0x14);
	GUEST_ASSERT_EQ(READ_ONCE(*(u16 *)(APIC_BASE_GPA + APIC_LVR + 2)), 5);
	GUEST_ASSERT_EQ(READ_ONCE(*(u8 *)(APIC_BASE_GPA + APIC_ID + 3)), index);
	GUEST_ASSERT_EQ(guest_read_cr8(), 0);
	GUEST_DONE();
}

static void check_reset_lapic(struct __test_metadata *_metadata,
			      struct vhv_vp *vp)
{
	struct vhv_lapic_state s;
	unsigned int i;

	memset(&s, 0xcc, sizeof(s));
	vp_get_lapic(vp, &s);
	EXPECT_EQ(vp->index << 24, lapic_state_reg(&s, APIC_ID));
	EXPECT_EQ((u32)APIC_VERSION, lapic_state_reg(&s, APIC_LVR));
	EXPECT_EQ((u32)APIC_RESET_SVR, lapic_state_reg(&s, APIC_SPIV));
	EXPECT_EQ(0xffffffffU, lapic_state_reg(&s, APIC_DFR));
	EXPECT_EQ(0U, lapic_state_reg(&s, APIC_LDR));
	EXPECT_EQ(0U, lapic_state_reg(&s, APIC_TASKPRI));
	EXPECT_EQ(0U, lapic_state_reg(&s, APIC_TMICT));
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		EXPECT_EQ((u32)LVT_RESET, lapic_state_reg(&s, lvt_regs[i]))
			TH_LOG("LVT 0x%x", lvt_regs[i]);
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0U, lapic_state_reg(&s, APIC_ISR + i * 0x10));
		EXPECT_EQ(0U, lapic_state_reg(&s, APIC_IRR + i * 0x10));
	}
}

TEST(reset_state)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	static const u32 indexes[] = { 0, 1, 17 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(indexes); i++) {
		struct vhv_vp *vp = vp_add(part, indexes[i],
					   GUEST_CODE(guest_reset_state));
		u64 base = vp_get_msr(vp, MSR_IA32_APICBASE);

		EXPECT_EQ(APIC_BASE_GPA | APICBASE_ENABLE |
			  (indexes[i] ? 0 : APICBASE_BSP), base)
			TH_LOG("VP %u", indexes[i]);
		check_reset_lapic(_metadata, vp);
		vp_args_set(vp, 1, (u64)indexes[i]);
		vp_expect_done(vp);
	}
	part_free(part);
}

/* ---------------------------------------------------------------------
 * TPR, PPR and CR8.
 */
#define TPR_VECTOR	0x80

static u64 tpr_irqs;

static void guest_tpr_handler(struct ex_regs *regs)
{
	u32 ppr = xapic_read_reg(APIC_PROCPRI);

	WRITE_ONCE(tpr_irqs, READ_ONCE(tpr_irqs) + 1);

	/* TPR class 3 is below the in-service class 8. */
	GUEST_ASSERT_EQ(ppr, 0x80);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, TPR_VECTOR));
	xapic_write_reg(APIC_TASKPRI, 0x9f);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x9f);
	GUEST_ASSERT_EQ(guest_read_cr8(), 9);
	xapic_write_reg(APIC_TASKPRI, 0x35);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x80);
	xapic_write_reg(APIC_EOI, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x35);
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, TPR_VECTOR));
	GUEST_SYNC(TPR_VECTOR);
}

static void guest_tpr(void)
{
	/* TPR is bits 7:0; CR8 is TPR[7:4]. */
	xapic_write_reg(APIC_TASKPRI, 0xffffff5f);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x5f);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x5f);
	GUEST_ASSERT_EQ(guest_read_cr8(), 5);
	guest_write_cr8(0xa);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0xa0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0xa0);
	guest_write_cr8(0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0);

	/* The host sees the same register through both interfaces. */
	xapic_write_reg(APIC_TASKPRI, 0x70);
	GUEST_SYNC(1);
	/* The host set CR8 = 2 with VHV_SET_SREGS. */
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0x20);
	GUEST_ASSERT_EQ(guest_read_cr8(), 2);

	/* PPR with a vector in service. */
	xapic_enable();
	xapic_write_reg(APIC_TASKPRI, 0x35);
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | TPR_VECTOR);
	guest_wait_count(&tpr_irqs, 1);
	/* The handler synced; TPR masks a self IPI of a lower class. */
	xapic_write_reg(APIC_TASKPRI, 0x90);
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | TPR_VECTOR);
	guest_nop_pause();
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, TPR_VECTOR));
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0x90);
	GUEST_SYNC(2);
	/* Lowering CR8 lets it in (the handler syncs again). */
	guest_write_cr8(0);
	guest_wait_count(&tpr_irqs, 2);
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, TPR_VECTOR));
	GUEST_DONE();
}

TEST(tpr_ppr_cr8)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_tpr);
	struct vhv_lapic_state s;
	struct vhv_sregs sregs;

	part_install_irq_handler(part, TPR_VECTOR, guest_tpr_handler);
	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	vp_sregs_get(vp, &sregs);
	EXPECT_EQ(7ULL, sregs.cr8);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(0x70U, lapic_state_reg(&s, APIC_TASKPRI));
	sregs.cr8 = 2;
	vp_sregs_set(vp, &sregs);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(0x20U, lapic_state_reg(&s, APIC_TASKPRI));

	EXPECT_EQ((u64)TPR_VECTOR, vp_expect_sync(vp));
	EXPECT_EQ(2ULL, vp_expect_sync(vp));
	vp_get_lapic(vp, &s);
	EXPECT_TRUE(lapic_state_vec_bit(&s, APIC_IRR, TPR_VECTOR));
	EXPECT_EQ(0x90U, lapic_state_reg(&s, APIC_PROCPRI));
	EXPECT_EQ((u64)TPR_VECTOR, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * The SVR software enable.
 */
#define SVR_VECTOR	0x41

static u64 svr_irqs;

static void guest_count_handler(struct ex_regs *regs)
{
	WRITE_ONCE(svr_irqs, READ_ONCE(svr_irqs) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_svr(void)
{
	unsigned int i;

	/* Software disabled: masks cannot be cleared. */
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++) {
		xapic_write_reg(lvt_regs[i], 0x40 + i);
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(lvt_regs[i]),
				    APIC_LVT_MASKED | (0x40 + i), lvt_regs[i]);
	}
	/* A fixed interrupt is not accepted (the host sends one now). */
	GUEST_SYNC(1);
	for (i = 0; i < 100; i++)
		guest_nop_pause();
	GUEST_ASSERT_EQ(READ_ONCE(svr_irqs), 0);
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, SVR_VECTOR));

	/* Enabled: they can. */
	xapic_enable();
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_SPIV), APIC_SPIV_APIC_ENABLED | 0xff);
	GUEST_ASSERT_EQ(READ_ONCE(svr_irqs), 0);
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++) {
		xapic_write_reg(lvt_regs[i], 0x40 + i);
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(lvt_regs[i]), 0x40 + i,
				    lvt_regs[i]);
	}
	/* Now the same interrupt is taken. */
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(READ_ONCE(svr_irqs), 1);

	/* Disabling again masks every LVT. */
	xapic_write_reg(APIC_SPIV, 0xff);
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(lvt_regs[i]) &
				    APIC_LVT_MASKED, APIC_LVT_MASKED,
				    lvt_regs[i]);
	GUEST_DONE();
}

TEST(svr_software_disable)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_svr);
	struct vhv_lapic_state s;

	part_install_irq_handler(part, SVR_VECTOR, guest_count_handler);
	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, SVR_VECTOR, 0, 0);
	vp_get_lapic(vp, &s);
	EXPECT_FALSE(lapic_state_vec_bit(&s, APIC_IRR, SVR_VECTOR));
	EXPECT_EQ(2ULL, vp_expect_sync(vp));
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, SVR_VECTOR, 0, 0);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * LDR and DFR.
 */
static void guest_ldr_dfr(void)
{
	/* LDR: only bits 31:24. */
	xapic_write_reg(APIC_LDR, 0xffffffff);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LDR), 0xff000000);
	xapic_write_reg(APIC_LDR, 0x5a123456);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LDR), 0x5a000000);
	/* DFR: bits 31:28 (flat 0xf, cluster 0x0); 27:0 read as ones. */
	xapic_write_reg(APIC_DFR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_DFR), 0x0fffffff);
	xapic_write_reg(APIC_DFR, 0xf0000000);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_DFR), 0xffffffff);
	xapic_write_reg(APIC_DFR, 0x0fffffff);
	GUEST_SYNC(xapic_read_reg(APIC_DFR));
	GUEST_DONE();
}

TEST(ldr_dfr)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_ldr_dfr);
	struct vhv_lapic_state s;

	EXPECT_EQ(0x0fffffffULL, vp_expect_sync(vp));
	vp_get_lapic(vp, &s);
	EXPECT_EQ(0x5a000000U, lapic_state_reg(&s, APIC_LDR));
	EXPECT_EQ(0x0fffffffU, lapic_state_reg(&s, APIC_DFR));
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * ESR.
 */
static void guest_esr(void)
{
	xapic_enable();
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), 0);

	/* Vector 5 is illegal: not sent (no #BR), latched by a write. */
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | 5);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), 0);
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), BIT(5));
	/* The next write latches the (no) errors since. */
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), 0);

	/* Lowest priority with an illegal vector, to a physical ID. */
	xapic_send_ipi(0, APIC_DM_LOWEST | 15);
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), BIT(5));

	/* A reserved register. */
	xapic_read_reg(0x40);
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), BIT(7));
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR), 0);
	GUEST_DONE();
}

TEST(esr_latching)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_esr);

	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * ISR, IRR and TMR while a handler runs; EOI exits.
 */
#define HIGH_VECTOR	0x60
#define LOW_VECTOR	0x50
#define LEVEL2_VECTOR	0x70

static u64 irq_order[4];
static u64 nr_irqs;

static void guest_record_irq(struct ex_regs *regs)
{
	u64 n = READ_ONCE(nr_irqs);

	if (n < ARRAY_SIZE(irq_order))
		WRITE_ONCE(irq_order[n], regs->vector);
	WRITE_ONCE(nr_irqs, n + 1);
}

static void guest_high_handler(struct ex_regs *regs)
{
	guest_record_irq(regs);
	GUEST_SYNC_ARGS(HIGH_VECTOR, xapic_vec_bit(APIC_ISR, HIGH_VECTOR),
			xapic_vec_bit(APIC_TMR, HIGH_VECTOR),
			xapic_read_reg(APIC_PROCPRI));
	/* The host sent LOW_VECTOR meanwhile: pending below us. */
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, LOW_VECTOR));
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, LOW_VECTOR));
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_eoi_handler(struct ex_regs *regs)
{
	guest_record_irq(regs);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, regs->vector));
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_isr_irr(void)
{
	xapic_enable();
	GUEST_SYNC(0);
	while (READ_ONCE(nr_irqs) < 2)
		guest_sti_hlt();
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, HIGH_VECTOR));
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, LOW_VECTOR));
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, LOW_VECTOR));
	GUEST_ASSERT(!xapic_vec_bit(APIC_TMR, LOW_VECTOR));
	GUEST_SYNC(1);
	while (READ_ONCE(nr_irqs) < 3)
		guest_sti_hlt();
	GUEST_DONE();
}

TEST(isr_irr_tmr_and_eoi_exit)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_isr_irr);
	u64 bitmap[4] = { 0 };
	struct vhv_lapic_state s;
	struct ucall uc;

	part_install_irq_handler(part, HIGH_VECTOR, guest_high_handler);
	part_install_irq_handler(part, LOW_VECTOR, guest_eoi_handler);
	part_install_irq_handler(part, LEVEL2_VECTOR, guest_eoi_handler);
	/* EOI exits for HIGH (level) and LOW (edge: no exit). */
	bitmap[HIGH_VECTOR / 64] |= BIT_ULL(HIGH_VECTOR % 64);
	bitmap[LOW_VECTOR / 64] |= BIT_ULL(LOW_VECTOR % 64);
	part_set_eoi_exits(part, bitmap);

	EXPECT_EQ(0ULL, vp_expect_sync(vp));
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, HIGH_VECTOR, 0,
			       VHV_INTERRUPT_LEVEL);
	vp_get_lapic(vp, &s);
	EXPECT_TRUE(lapic_state_vec_bit(&s, APIC_IRR, HIGH_VECTOR));

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	ASSERT_EQ((u64)HIGH_VECTOR, uc.args[0]);
	EXPECT_EQ(1ULL, uc.args[1]);	/* ISR */
	EXPECT_EQ(1ULL, uc.args[2]);	/* TMR */
	EXPECT_EQ((u64)HIGH_VECTOR, uc.args[3]);	/* PPR */
	vp_get_lapic(vp, &s);
	EXPECT_TRUE(lapic_state_vec_bit(&s, APIC_ISR, HIGH_VECTOR));
	EXPECT_TRUE(lapic_state_vec_bit(&s, APIC_TMR, HIGH_VECTOR));
	EXPECT_FALSE(lapic_state_vec_bit(&s, APIC_IRR, HIGH_VECTOR));
	EXPECT_EQ((u32)HIGH_VECTOR, lapic_state_reg(&s, APIC_PROCPRI));

	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LOW_VECTOR, 0, 0);
	vp_get_lapic(vp, &s);
	EXPECT_TRUE(lapic_state_vec_bit(&s, APIC_IRR, LOW_VECTOR));
	EXPECT_FALSE(lapic_state_vec_bit(&s, APIC_ISR, LOW_VECTOR));
	EXPECT_FALSE(lapic_state_vec_bit(&s, APIC_TMR, LOW_VECTOR));

	/* The level-triggered EOI of HIGH exits; LOW's does not. */
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_EOI);
	EXPECT_EQ((u32)HIGH_VECTOR, vp->run->eoi.vector);
	vp_get_lapic(vp, &s);
	EXPECT_FALSE(lapic_state_vec_bit(&s, APIC_ISR, HIGH_VECTOR));
	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	EXPECT_EQ(2ULL, *guest_ptr(part, nr_irqs));
	EXPECT_EQ((u64)HIGH_VECTOR, guest_ptr(part, irq_order)[0][0]);
	EXPECT_EQ((u64)LOW_VECTOR, guest_ptr(part, irq_order)[0][1]);

	/* Level-triggered but not in the bitmap: no exit. */
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LEVEL2_VECTOR, 0,
			       VHV_INTERRUPT_LEVEL);
	vp_expect_done(vp);
	EXPECT_EQ((u64)LEVEL2_VECTOR, guest_ptr(part, irq_order)[0][2]);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * x2APIC MSRs.
 */
#define X2_VECTOR	0x70

static u64 x2_irqs;

static void guest_x2_handler(struct ex_regs *regs)
{
	WRITE_ONCE(x2_irqs, READ_ONCE(x2_irqs) + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_x2apic_msrs(u32 index)
{
	u32 eax, ebx, ecx, edx, msr;

	guest_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT(ecx & BIT(21));

	/* Not in x2APIC mode: every x2APIC MSR #GPs. */
	for (msr = 0x800; msr <= 0x8ff; msr += 0x11) {
		GUEST_ASSERT_RDMSR_GP(msr);
		GUEST_ASSERT_WRMSR_GP(msr, 0);
	}
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_ID));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_TASKPRI), 0);

	x2apic_enable();
	GUEST_ASSERT(guest_rdmsr(MSR_IA32_APICBASE) & APICBASE_EXTD);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), index);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_LDR), x2apic_ldr_of(index));
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_LVR), APIC_VERSION);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_SPIV),
			APIC_SPIV_APIC_ENABLED | 0xff);

	/* Readable and writable registers. */
	x2apic_write_reg(APIC_TASKPRI, 0x40);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_TASKPRI), 0x40);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_PROCPRI), 0x40);
	x2apic_write_reg(APIC_TASKPRI, 0);
	x2apic_write_reg(APIC_LVTT, APIC_LVT_MASKED | 0x33);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_LVTT), APIC_LVT_MASKED | 0x33);
	x2apic_write_reg(APIC_TDCR, 0xb);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_TDCR), 0xb);
	GUEST_ASSERT_WRMSR_OK(APIC_X2APIC_MSR(APIC_ESR), 0);
	GUEST_ASSERT_RDMSR_OK(APIC_X2APIC_MSR(APIC_ESR));
	GUEST_ASSERT_WRMSR_OK(APIC_X2APIC_MSR(APIC_EOI), 0);
	GUEST_ASSERT_RDMSR_OK(APIC_X2APIC_MSR(APIC_ICR));
	GUEST_ASSERT_RDMSR_OK(APIC_X2APIC_MSR(APIC_TMCCT));
	GUEST_ASSERT_RDMSR_OK(APIC_X2APIC_MSR(APIC_ISR));
	GUEST_ASSERT_RDMSR_OK(APIC_X2APIC_MSR(APIC_IRR + 0x70));

	/* Write-only registers. */
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_EOI));
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_SELF_IPI));

	/* Read-only registers. */
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_ID), index);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_ID), index + 1);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_LVR), APIC_VERSION);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_PROCPRI), 0);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_LDR), 0);
	for (msr = 0x810; msr <= 0x827; msr++)
		GUEST_ASSERT_WRMSR_GP(msr, 0);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), index);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_LDR), x2apic_ldr_of(index));

	/* DFR and ICR2 do not exist. */
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_DFR));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_DFR), 0xffffffff);
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_ICR2));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_ICR2), 0);

	/* EOI and ESR take only zero. */
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_EOI), 1);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_ESR), 0x20);

	/* Bits 63:32 only for ICR. */
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_TASKPRI), BIT_ULL(32));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_LVTT),
			      BIT_ULL(63) | APIC_LVT_MASKED);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_TMICT), BIT_ULL(40));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_SPIV),
			      BIT_ULL(33) | APIC_SPIV_APIC_ENABLED | 0xff);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_TASKPRI), 0);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_TMICT), 0);
	/* A fixed IPI to an x2APIC ID nobody has. */
	GUEST_ASSERT_WRMSR_OK(APIC_X2APIC_MSR(APIC_ICR),
			      (0x12345ULL << 32) | X2_VECTOR);

	/* SELF_IPI: vector in bits 7:0, nothing else. */
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_SELF_IPI),
			      0x100 | X2_VECTOR);
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_SELF_IPI),
			      BIT_ULL(31) | X2_VECTOR);
	GUEST_ASSERT_EQ(READ_ONCE(x2_irqs), 0);
	GUEST_ASSERT_WRMSR_OK(APIC_X2APIC_MSR(APIC_SELF_IPI), X2_VECTOR);
	guest_wait_count(&x2_irqs, 1);
	/* A self IPI through ICR, destination = our ID. */
	x2apic_send_ipi(index, APIC_DM_FIXED | X2_VECTOR);
	guest_wait_count(&x2_irqs, 2);

	/* Reserved MSRs. */
	for (msr = 0x801; msr <= 0x807; msr++) {
		if (msr == 0x802 || msr == 0x803)
			continue;
		GUEST_ASSERT_RDMSR_GP(msr);
		GUEST_ASSERT_WRMSR_GP(msr, 0);
	}
	for (msr = 0x829; msr <= 0x82e; msr++) {
		GUEST_ASSERT_RDMSR_GP(msr);
		GUEST_ASSERT_WRMSR_GP(msr, 0);
	}
	GUEST_SYNC(READ_ONCE(gp_count));
	GUEST_DONE();
}

TEST(x2apic_msrs)
{
	static const u32 indexes[] = { 0, 1, 17, 63 };
	struct vhv_partition *part;
	struct vhv_lapic_state s;
	unsigned int i;

	if (!cap_x2apic())
		SKIP(return, "no VHV_CAP_X2APIC");
	part = part_create_flags(VHV_DEFAULT_RAM, VHV_PARTITION_X2APIC);
	part_install_exception_handler(part, GP_VECTOR, guest_gp_handler);
	part_install_irq_handler(part, X2_VECTOR, guest_x2_handler);
	for (i = 0; i < ARRAY_SIZE(indexes); i++) {
		struct vhv_vp *vp = vp_add(part, indexes[i],
					   GUEST_CODE(guest_x2apic_msrs));

		*guest_ptr(part, gp_count) = 0;
		*guest_ptr(part, x2_irqs) = 0;
		vp_args_set(vp, 1, (u64)indexes[i]);
		EXPECT_NE(0ULL, vp_expect_sync(vp));
		/* In x2APIC mode, the ID register holds the x2APIC ID. */
		vp_get_lapic(vp, &s);
		EXPECT_EQ(indexes[i], lapic_state_reg(&s, APIC_ID));
		EXPECT_EQ((u32)x2apic_ldr_of(indexes[i]),
			  lapic_state_reg(&s, APIC_LDR));
		EXPECT_EQ(APIC_BASE_GPA | APICBASE_ENABLE | APICBASE_EXTD |
			  (indexes[i] ? 0 : APICBASE_BSP),
			  vp_get_msr(vp, MSR_IA32_APICBASE));
		vp_expect_done(vp);
	}
	part_free(part);
}

/* Without VHV_PARTITION_X2APIC there is no x2APIC. */
static void guest_no_x2apic(void)
{
	u32 eax, ebx, ecx, edx;
	u64 base = guest_rdmsr(MSR_IA32_APICBASE);

	guest_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	GUEST_ASSERT(!(ecx & BIT(21)));
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, base | APICBASE_EXTD);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), base);
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_ID));
	GUEST_ASSERT_WRMSR_GP(APIC_X2APIC_MSR(APIC_TASKPRI), 0);
	/* xAPIC still works. */
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), APIC_VERSION);
	GUEST_DONE();
}

TEST(x2apic_not_offered)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_no_x2apic);

	part_install_exception_handler(part, GP_VECTOR, guest_gp_handler);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * IA32_APIC_BASE transitions and relocation.
 */
#define RELOC_GPA	0xfed00000UL

static void guest_check_apic_was_reset(u32 index)
{
	unsigned int i;

	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), index << 24);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_SPIV), APIC_RESET_SVR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LDR), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_DFR), 0xffffffff);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TDCR), 0);
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		GUEST_ASSERT_EQ_CTX(xapic_read_reg(lvt_regs[i]), LVT_RESET,
				    lvt_regs[i]);
}

static void guest_apic_base(u32 index)
{
	u64 base = guest_rdmsr(MSR_IA32_APICBASE);
	u64 xapic = base, x2apic = base | APICBASE_EXTD;
	u64 disabled = base & ~APICBASE_ENABLE;
	u64 invalid = disabled | APICBASE_EXTD;

	GUEST_ASSERT_EQ(base & ~0xfffULL, APIC_BASE_GPA);
	GUEST_ASSERT(base & APICBASE_ENABLE);
	GUEST_ASSERT(!(base & APICBASE_EXTD));

	/* xAPIC -> x2APIC -> (xAPIC, invalid: #GP) -> disabled. */
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, invalid);
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, x2apic);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), x2apic);
	GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), index);
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, xapic);
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, invalid);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), x2apic);
	x2apic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED | 0xff);
	x2apic_write_reg(APIC_TASKPRI, 0x20);
	x2apic_write_reg(APIC_LVTT, 0x40);
	x2apic_write_reg(APIC_TDCR, 0x3);
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, disabled);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), disabled);
	GUEST_ASSERT_RDMSR_GP(APIC_X2APIC_MSR(APIC_ID));

	/* disabled -> (x2APIC, invalid: #GP) -> xAPIC, reset. */
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, x2apic);
	GUEST_ASSERT_WRMSR_GP(MSR_IA32_APICBASE, invalid);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), disabled);
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, xapic);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE), xapic);
	guest_check_apic_was_reset(index);

	/* xAPIC -> disabled -> xAPIC resets too. */
	xapic_enable();
	xapic_write_reg(APIC_TASKPRI, 0x30);
	xapic_write_reg(APIC_LDR, 0x01000000);
	xapic_write_reg(APIC_DFR, 0x0fffffff);
	xapic_write_reg(APIC_LVT0, 0x700);
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, disabled);
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, xapic);
	guest_check_apic_was_reset(index);

	/* Relocation: the old page is the VMM's MMIO (host serves it). */
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE,
			      (xapic & 0xfffULL) | RELOC_GPA);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_APICBASE),
			(xapic & 0xfffULL) | RELOC_GPA);
	GUEST_ASSERT_EQ(READ_ONCE(*(u32 *)(RELOC_GPA + APIC_ID)), index << 24);
	GUEST_ASSERT_EQ(READ_ONCE(*(u32 *)(RELOC_GPA + APIC_LVR)), APIC_VERSION);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), 0xabcd1234);
	/* And back. */
	GUEST_ASSERT_WRMSR_OK(MSR_IA32_APICBASE, xapic);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), APIC_VERSION);
	GUEST_DONE();
}

TEST(apic_base_transitions)
{
	struct vhv_partition *part;
	struct vhv_vp *vp;
	struct mmio_dev *dev;
	struct ucall uc;

	if (!cap_x2apic())
		SKIP(return, "no VHV_CAP_X2APIC");
	dev = calloc(1, sizeof(*dev));
	ASSERT_NE(NULL, dev);
	part = part_create_flags(VHV_DEFAULT_RAM, VHV_PARTITION_X2APIC);
	part_install_exception_handler(part, GP_VECTOR, guest_gp_handler);
	vp = vp_add(part, 3, GUEST_CODE(guest_apic_base));
	vp_args_set(vp, 1, 3ULL);

	mmio_dev_init(dev, APIC_BASE_GPA);
	*(u32 *)&dev->mem[APIC_LVR] = 0xabcd1234;
	ASSERT_EQ((u64)UCALL_DONE, vp_run_mmio(vp, dev, &uc));
	ASSERT_EQ(1U, dev->nlog);
	mmio_dev_check(dev, 0, APIC_BASE_GPA + APIC_LVR, 4, false, 0);
	free(dev);
	part_free(part);
}

/* The VMM may set any valid state, and no invalid one. */
static void guest_read_x2apic_id(void)
{
	GUEST_SYNC(x2apic_read_reg(APIC_ID));
	GUEST_DONE();
}

TEST(apic_base_from_vmm)
{
	struct vhv_partition *part;
	struct vhv_msr_entry e;
	struct vhv_vp *vp;
	struct vhv_lapic_state s;
	u64 xapic, x2apic, disabled;

	if (!cap_x2apic())
		SKIP(return, "no VHV_CAP_X2APIC");
	part = part_create_flags(VHV_DEFAULT_RAM, VHV_PARTITION_X2APIC);
	vp = vp_add(part, 5, guest_read_x2apic_id);
	xapic = vp_get_msr(vp, MSR_IA32_APICBASE);
	x2apic = xapic | APICBASE_EXTD;
	disabled = xapic & ~APICBASE_ENABLE;

	e = (struct vhv_msr_entry){ .index = MSR_IA32_APICBASE,
				    .data = disabled | APICBASE_EXTD };
	EXPECT_EQ(0, __vp_msrs(vp, VHV_SET_MSRS, &e, 1));
	EXPECT_EQ(xapic, vp_get_msr(vp, MSR_IA32_APICBASE));

	vp_set_msr(vp, MSR_IA32_APICBASE, x2apic);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(5U, lapic_state_reg(&s, APIC_ID));
	vp_set_msr(vp, MSR_IA32_APICBASE, xapic);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(5U << 24, lapic_state_reg(&s, APIC_ID));
	vp_set_msr(vp, MSR_IA32_APICBASE, disabled);
	EXPECT_EQ(disabled, vp_get_msr(vp, MSR_IA32_APICBASE));
	vp_set_msr(vp, MSR_IA32_APICBASE, x2apic);
	EXPECT_EQ(x2apic, vp_get_msr(vp, MSR_IA32_APICBASE));

	EXPECT_EQ(5ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * VHV_GET_LAPIC / VHV_SET_LAPIC.
 */
static void guest_read_back(void)
{
	GUEST_SYNC_ARGS(xapic_read_reg(APIC_TASKPRI), xapic_read_reg(APIC_LDR),
			xapic_read_reg(APIC_SPIV), xapic_read_reg(APIC_LVT0));
	GUEST_SYNC_ARGS(xapic_read_reg(APIC_DFR), xapic_read_reg(APIC_TDCR),
			xapic_read_reg(APIC_LVTERR),
			xapic_read_reg(APIC_PROCPRI));
	GUEST_DONE();
}

TEST(lapic_state_round_trip)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_read_back);
	struct vhv_lapic_state s, t;
	struct vhv_sregs sregs;
	struct ucall uc;

	vp_get_lapic(vp, &s);
	lapic_state_set_reg(&s, APIC_TASKPRI, 0x42);
	lapic_state_set_reg(&s, APIC_LDR, 0x08000000);
	lapic_state_set_reg(&s, APIC_SPIV, APIC_SPIV_APIC_ENABLED | 0xef);
	lapic_state_set_reg(&s, APIC_LVT0, 0x700);
	lapic_state_set_reg(&s, APIC_DFR, 0x0fffffff);
	lapic_state_set_reg(&s, APIC_TDCR, 0xa);
	lapic_state_set_reg(&s, APIC_LVTERR, 0x3e);
	vp_set_lapic(vp, &s);
	vp_get_lapic(vp, &t);
	EXPECT_EQ(0x42U, lapic_state_reg(&t, APIC_TASKPRI));
	EXPECT_EQ(0x08000000U, lapic_state_reg(&t, APIC_LDR));
	EXPECT_EQ(APIC_SPIV_APIC_ENABLED | 0xefU, lapic_state_reg(&t, APIC_SPIV));
	EXPECT_EQ(0x700U, lapic_state_reg(&t, APIC_LVT0));
	EXPECT_EQ(0x0fffffffU, lapic_state_reg(&t, APIC_DFR));
	EXPECT_EQ(0xaU, lapic_state_reg(&t, APIC_TDCR));
	EXPECT_EQ(0x3eU, lapic_state_reg(&t, APIC_LVTERR));
	EXPECT_EQ(0x42U, lapic_state_reg(&t, APIC_PROCPRI));

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(0x42ULL, uc.args[0]);
	EXPECT_EQ(0x08000000ULL, uc.args[1]);
	EXPECT_EQ(APIC_SPIV_APIC_ENABLED | 0xefULL, uc.args[2]);
	EXPECT_EQ(0x700ULL, uc.args[3]);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(0x0fffffffULL, uc.args[0]);
	EXPECT_EQ(0xaULL, uc.args[1]);
	EXPECT_EQ(0x3eULL, uc.args[2]);
	EXPECT_EQ(0x42ULL, uc.args[3]);
	/* CR8 follows TPR. */
	vp_sregs_get(vp, &sregs);
	EXPECT_EQ(4ULL, sregs.cr8);
	vp_expect_done(vp);

	/* Bad pointers. */
	errno = 0;
	EXPECT_EQ(-1, __vp_get_lapic(vp, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, __vp_set_lapic(vp, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	part_free(part);
}

TEST(lapic_state_x2apic_id)
{
	struct vhv_partition *part;
	struct vhv_lapic_state s;
	struct vhv_vp *vp;
	u64 base;

	if (!cap_x2apic())
		SKIP(return, "no VHV_CAP_X2APIC");
	part = part_create_flags(VHV_DEFAULT_RAM, VHV_PARTITION_X2APIC);
	vp = vp_add(part, 2, guest_read_x2apic_id);
	base = vp_get_msr(vp, MSR_IA32_APICBASE);
	vp_set_msr(vp, MSR_IA32_APICBASE, base | APICBASE_EXTD);
	vp_get_lapic(vp, &s);
	ASSERT_EQ(2U, lapic_state_reg(&s, APIC_ID));

	/* The x2APIC ID is the VP index. */
	lapic_state_set_reg(&s, APIC_ID, 3);
	errno = 0;
	EXPECT_EQ(-1, __vp_set_lapic(vp, &s));
	EXPECT_EQ(EINVAL, errno);
	lapic_state_set_reg(&s, APIC_ID, 2 << 24);
	errno = 0;
	EXPECT_EQ(-1, __vp_set_lapic(vp, &s));
	EXPECT_EQ(EINVAL, errno);
	lapic_state_set_reg(&s, APIC_ID, 2);
	lapic_state_set_reg(&s, APIC_TASKPRI, 0x10);
	vp_set_lapic(vp, &s);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(2U, lapic_state_reg(&s, APIC_ID));
	EXPECT_EQ(0x10U, lapic_state_reg(&s, APIC_TASKPRI));
	EXPECT_EQ(2ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * MP state.
 */
TEST(mp_state)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *bsp = vp_create(part, 0);
	struct vhv_vp *ap = vp_create(part, 1);
	struct vhv_mp_state mp;
	u32 st;

	EXPECT_EQ((u32)VHV_MP_RUNNABLE, vp_get_mp_state(bsp));
	EXPECT_EQ((u32)VHV_MP_WAIT_SIPI, vp_get_mp_state(ap));
	for (st = VHV_MP_RUNNABLE; st <= VHV_MP_WAIT_SIPI; st++) {
		vp_set_mp_state(ap, st);
		EXPECT_EQ(st, vp_get_mp_state(ap));
	}

	mp = (struct vhv_mp_state){ .state = VHV_MP_WAIT_SIPI + 1 };
	errno = 0;
	EXPECT_EQ(-1, __vp_set_mp_state(ap, &mp));
	EXPECT_EQ(EINVAL, errno);
	mp = (struct vhv_mp_state){ .state = 0xffffffff };
	errno = 0;
	EXPECT_EQ(-1, __vp_set_mp_state(ap, &mp));
	EXPECT_EQ(EINVAL, errno);
	mp = (struct vhv_mp_state){ .state = VHV_MP_RUNNABLE, .reserved = 1 };
	errno = 0;
	EXPECT_EQ(-1, __vp_set_mp_state(bsp, &mp));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, __vp_set_mp_state(bsp, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, __vp_get_mp_state(bsp, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* Nothing changed. */
	EXPECT_EQ((u32)VHV_MP_WAIT_SIPI, vp_get_mp_state(ap));
	EXPECT_EQ((u32)VHV_MP_RUNNABLE, vp_get_mp_state(bsp));

	/* GET clears reserved. */
	memset(&mp, 0xff, sizeof(mp));
	EXPECT_EQ(0, __vp_get_mp_state(bsp, &mp));
	EXPECT_EQ(0U, mp.reserved);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * VHV_REQUEST_INTERRUPT and VHV_SET_EOI_EXITS.
 */
static int request_irq(struct vhv_partition *part, u32 type, u32 vector,
		       u32 flags, u64 reserved)
{
	struct vhv_interrupt irq = {
		.type = type,
		.vector = vector,
		.destination = 0x55,	/* nobody */
		.flags = flags,
		.reserved = reserved,
	};

	errno = 0;
	return __part_request_interrupt(part, &irq) ? -errno : 0;
}

TEST(request_interrupt_validation)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	static const u32 bad_types[] = { 2, 3, 8, 9, 0x100, 0xffffffff };
	unsigned int i;

	/* Nobody matches: still 0. */
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_FIXED, 16, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_FIXED, 255, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_LOWEST, 0x30,
				 VHV_INTERRUPT_LOGICAL, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_FIXED, 0x30,
				 VHV_INTERRUPT_LOGICAL | VHV_INTERRUPT_LEVEL,
				 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_NMI, 0, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_NMI, 3, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_INIT, 0, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_SIPI, 0x10, 0, 0));
	EXPECT_EQ(0, request_irq(part, VHV_INTERRUPT_EXTINT, 8, 0, 0));

	/* Vectors 0-15 for fixed and lowest priority. */
	for (i = 0; i < 16; i += 5) {
		EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, i,
					       0, 0));
		EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_LOWEST, i,
					       0, 0));
	}
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, 15, 0, 0));
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, 256, 0, 0));
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_SIPI, 256, 0, 0));
	for (i = 0; i < ARRAY_SIZE(bad_types); i++)
		EXPECT_EQ(-EINVAL, request_irq(part, bad_types[i], 0x30, 0, 0))
			TH_LOG("type 0x%x", bad_types[i]);
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, 0x30, 0x4,
				       0));
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, 0x30,
				       0x80000000, 0));
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_FIXED, 0x30, 0, 1));
	EXPECT_EQ(-EINVAL, request_irq(part, VHV_INTERRUPT_NMI, 0, 0,
				       1ULL << 63));

	errno = 0;
	EXPECT_EQ(-1, __part_request_interrupt(part, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	part_free(part);
}

TEST(eoi_exits_validation)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	u64 bitmap[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };
	int dev;

	EXPECT_EQ(0, __part_set_eoi_exits(part, bitmap));
	memset(bitmap, 0, sizeof(bitmap));
	EXPECT_EQ(0, __part_set_eoi_exits(part, bitmap));
	errno = 0;
	EXPECT_EQ(-1, ioctl(part->fd, VHV_SET_EOI_EXITS, (void *)8));
	EXPECT_EQ(EFAULT, errno);

	/* Partition ioctls, not VP or device ones. */
	vp_create(part, 0);
	errno = 0;
	EXPECT_EQ(-1, ioctl(part->vps[0]->fd, VHV_SET_EOI_EXITS, bitmap));
	EXPECT_EQ(ENOTTY, errno);
	dev = vhv_open();
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, VHV_REQUEST_INTERRUPT, bitmap));
	EXPECT_EQ(ENOTTY, errno);
	close(dev);
	part_free(part);
}

TEST_HARNESS_MAIN
