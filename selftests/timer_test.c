// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC timer: one-shot, periodic and TSC-deadline modes, the
 * divide configuration, masking, mode switches, waking a halted VP,
 * heavy reprogramming, and tearing down VPs with an armed timer.
 *
 * Guest time is measured with RDTSC and CPUID 0x40000010 (TSC kHz); the
 * APIC timer counts at VHV_CAP_APIC_BUS_HZ (1 GHz: 1 count = 1 ns x the
 * divider).  Emulated lanes are slow and coarse, so bounds on periods
 * are generous; a timer must never fire before its time, though.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

#define TIMER_VECTOR	0xec
#define TDCR_DIV_1	0xb
#define TDCR_DIV_4	0x1
#define TDCR_DIV_32	0x8
#define NS_PER_MS	1000000ULL

/* Guest state, reset by guest_timer_init(). */
#define TIMER_TSC_LOG	16

static u64 timer_irqs;
static u64 timer_first_tsc;
static u64 timer_last_tsc;
static u64 timer_tsc[TIMER_TSC_LOG];	/* of the first interrupts */
static u64 tsc_khz;

static void guest_timer_handler(struct ex_regs *regs)
{
	u64 now = guest_rdtsc();
	u64 n = READ_ONCE(timer_irqs);

	if (!n)
		WRITE_ONCE(timer_first_tsc, now);
	if (n < TIMER_TSC_LOG)
		WRITE_ONCE(timer_tsc[n], now);
	WRITE_ONCE(timer_last_tsc, now);
	WRITE_ONCE(timer_irqs, n + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_timer_init(void)
{
	WRITE_ONCE(timer_irqs, 0);
	tsc_khz = guest_tsc_khz();
	GUEST_ASSERT(tsc_khz);
	xapic_enable();
	xapic_write_reg(APIC_TDCR, TDCR_DIV_1);
}

static u64 us_to_tsc(u64 us)
{
	return us * tsc_khz / 1000;
}

static u64 tsc_to_ns(u64 tsc)
{
	return tsc * 1000000ULL / tsc_khz;
}

/*
 * Has the TSC reached t?  An emulator's CPU can stall for milliseconds
 * between two instructions when the host is busy, so a check that a
 * timer has not fired yet holds only if its time has not come.
 */
static bool guest_tsc_passed(u64 t)
{
	return guest_rdtsc() >= t;
}

/* Spin (interrupts on) for us microseconds of TSC time. */
static void guest_udelay(u64 us)
{
	u64 end = guest_rdtsc() + us_to_tsc(us);

	while (guest_rdtsc() < end)
		guest_nop_pause();
}

/* Spin until n timer interrupts arrived, for at most ms milliseconds. */
static void guest_wait_irqs(u64 n, u64 ms)
{
	u64 end = guest_rdtsc() + us_to_tsc(ms * 1000);

	while (READ_ONCE(timer_irqs) < n && guest_rdtsc() < end)
		guest_nop_pause();
	GUEST_ASSERT_EQ_CTX(READ_ONCE(timer_irqs) >= n, 1,
			    READ_ONCE(timer_irqs));
}

static bool guest_has_tsc_deadline(void)
{
	u32 eax, ebx, ecx, edx;

	guest_cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	return ecx & BIT(24);
}

static struct vhv_partition *timer_partition(struct vhv_vp **vp,
					     void (*guest)(void))
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);

	part_install_irq_handler(part, TIMER_VECTOR, guest_timer_handler);
	*vp = vp_add(part, 0, guest);
	return part;
}

static void run_to_done(void (*guest)(void))
{
	struct vhv_vp *vp;
	struct vhv_partition *part = timer_partition(&vp, guest);

	vp_expect_done(vp);
	part_free(part);
}

static bool have_tsc_deadline(void)
{
	return vhv_check_cap(VHV_CAP_TSC_DEADLINE) == 1;
}

/* ---------------------------------------------------------------------
 * One-shot.
 */
static void guest_oneshot(void)
{
	const u64 count = 1 * NS_PER_MS;
	u64 t0, c1, c2;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVTT), TIMER_VECTOR);
	t0 = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, count);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), count);
	c1 = xapic_read_reg(APIC_TMCCT);
	guest_udelay(100);
	c2 = xapic_read_reg(APIC_TMCCT);
	/* Counting down (unless it already expired on a slow machine). */
	GUEST_ASSERT(c1 <= count);
	GUEST_ASSERT(c2 < c1 || !c2);

	guest_wait_irqs(1, 2000);
	GUEST_ASSERT(tsc_to_ns(READ_ONCE(timer_first_tsc) - t0) >=
		     count * 99 / 100);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), count);
	/* Once only. */
	guest_udelay(3000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 1);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_DONE();
}

TEST(oneshot)
{
	run_to_done(guest_oneshot);
}

/* ---------------------------------------------------------------------
 * Periodic.
 */
#define PERIODIC_IRQS	10

static void guest_periodic(void)
{
	const u64 count = 1 * NS_PER_MS;
	u64 n;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, count);
	while (READ_ONCE(timer_irqs) < PERIODIC_IRQS)
		guest_sti_hlt();
	GUEST_SYNC(READ_ONCE(tsc_khz));
	/* Still running: the count reloads. */
	GUEST_ASSERT(xapic_read_reg(APIC_TMCCT) <= count);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMICT), count);

	/* TMICT = 0 stops it. */
	xapic_write_reg(APIC_TMICT, 0);
	n = READ_ONCE(timer_irqs);
	guest_udelay(4000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), n);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_DONE();
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * The median interval between interrupts: host stalls make some longer
 * (and the next one shorter), but not most of them.
 */
TEST(periodic)
{
	struct vhv_vp *vp;
	struct vhv_partition *part = timer_partition(&vp, guest_periodic);
	u64 khz, *tsc, ns[PERIODIC_IRQS - 1];
	unsigned int i;

	khz = vp_expect_sync(vp);
	ASSERT_GE(*guest_ptr(part, timer_irqs), (u64)PERIODIC_IRQS);
	tsc = *guest_ptr(part, timer_tsc);
	for (i = 0; i < PERIODIC_IRQS - 1; i++) {
		ASSERT_GT(tsc[i + 1], tsc[i]);
		ns[i] = (tsc[i + 1] - tsc[i]) * 1000000ULL / khz;
	}
	qsort(ns, ARRAY_SIZE(ns), sizeof(ns[0]), cmp_u64);
	TH_LOG("period %llu ns (median), %llu to %llu",
	       (unsigned long long)ns[ARRAY_SIZE(ns) / 2],
	       (unsigned long long)ns[0],
	       (unsigned long long)ns[ARRAY_SIZE(ns) - 1]);
	EXPECT_GE(ns[ARRAY_SIZE(ns) / 2], NS_PER_MS / 2);
	EXPECT_LE(ns[ARRAY_SIZE(ns) / 2], 3 * NS_PER_MS);
	vp_expect_done(vp);
	part_free(part);
}

/* Periods under 200 us are clamped: a count of 1 does not flood. */
static void guest_periodic_clamp(void)
{
	u64 start, n, ns;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	start = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, 1);
	guest_wait_irqs(1, 2000);
	guest_udelay(2000);
	xapic_write_reg(APIC_TMICT, 0);
	n = READ_ONCE(timer_irqs);
	ns = tsc_to_ns(READ_ONCE(timer_last_tsc) - start);
	/* n interrupts take at least (n - 1) periods of 200 us. */
	GUEST_ASSERT_EQ_CTX(ns >= (n - 1) * 200000 * 99 / 100, 1, n);
	GUEST_DONE();
}

TEST(periodic_clamp)
{
	run_to_done(guest_periodic_clamp);
}

/* ---------------------------------------------------------------------
 * TSC deadline.
 */
static void guest_tsc_deadline(void)
{
	u64 deadline, val;
	bool late;

	GUEST_ASSERT(guest_has_tsc_deadline());
	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVTT),
			APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);

	/* 5 ms ahead: fires once, not before. */
	deadline = guest_rdtsc() + us_to_tsc(5000);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	val = guest_rdmsr(MSR_IA32_TSC_DEADLINE);
	GUEST_ASSERT(val == deadline || guest_tsc_passed(deadline));
	while (!READ_ONCE(timer_irqs))
		guest_sti_hlt();
	GUEST_ASSERT(READ_ONCE(timer_first_tsc) >= deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(3000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 1);

	/* In the past: at once. */
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, guest_rdtsc() - us_to_tsc(10));
	guest_wait_irqs(2, 1000);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, 1);
	guest_wait_irqs(3, 1000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 3);

	/* Writing 0 disarms. */
	deadline = guest_rdtsc() + us_to_tsc(5000);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	late = guest_tsc_passed(deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(8000);
	GUEST_ASSERT(READ_ONCE(timer_irqs) == 3 || late);
	WRITE_ONCE(timer_irqs, 3);

	/* Rewriting moves the deadline (earlier: no race with the first). */
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, guest_rdtsc() + us_to_tsc(1000000));
	deadline = guest_rdtsc() + us_to_tsc(2000);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	guest_wait_irqs(4, 2000);
	GUEST_ASSERT(READ_ONCE(timer_last_tsc) >= deadline);
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(3000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 4);

	/* Ignored in one-shot mode. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, guest_rdtsc() + us_to_tsc(100));
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_udelay(2000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 4);
	GUEST_DONE();
}

TEST(tsc_deadline)
{
	if (!have_tsc_deadline())
		SKIP(return, "no VHV_CAP_TSC_DEADLINE");
	run_to_done(guest_tsc_deadline);
}

/* ---------------------------------------------------------------------
 * Divide configuration.
 */
static void guest_divide(void)
{
	static const u32 tdcr[] = { TDCR_DIV_1, TDCR_DIV_4, TDCR_DIV_32 };
	static const u32 div[] = { 1, 4, 32 };
	unsigned int i;

	guest_timer_init();
	/* Masked: it counts, but does not interrupt. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | TIMER_VECTOR);
	for (i = 0; i < ARRAY_SIZE(tdcr); i++) {
		u64 t0, t1, counted, ns;

		xapic_write_reg(APIC_TDCR, tdcr[i]);
		GUEST_ASSERT_EQ(xapic_read_reg(APIC_TDCR), tdcr[i]);
		t0 = guest_rdtsc();
		xapic_write_reg(APIC_TMICT, 0xffffffff);
		guest_udelay(2000);
		counted = 0xffffffffULL - xapic_read_reg(APIC_TMCCT);
		t1 = guest_rdtsc();
		ns = tsc_to_ns(t1 - t0);
		/* counted * div ~ ns: between half and double. */
		GUEST_ASSERT_EQ_CTX(counted * div[i] * 2 >= ns, 1, counted);
		GUEST_ASSERT_EQ_CTX(counted * div[i] <= ns * 2, 1, counted);
	}
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 0);
	GUEST_DONE();
}

TEST(divide_config)
{
	run_to_done(guest_divide);
}

/* ---------------------------------------------------------------------
 * Switching to and from TSC-deadline mode disarms the timer.  The timers
 * are 5 ms long so that they cannot expire before the switch.
 */
/* No interrupt since, unless the switch came after the timer's time. */
static void guest_check_disarmed(u64 armed_tsc, bool late)
{
	guest_udelay(8000);
	GUEST_ASSERT_EQ_CTX(READ_ONCE(timer_irqs) == 0 || late, 1,
			    guest_rdtsc() - armed_tsc);
	WRITE_ONCE(timer_irqs, 0);
}

static void guest_mode_switch(void)
{
	u64 t0;
	bool late;

	guest_timer_init();

	/* One-shot armed, then TSC-deadline. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	t0 = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, 5 * NS_PER_MS);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	late = guest_tsc_passed(t0 + us_to_tsc(5000));
	GUEST_ASSERT_EQ(guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	guest_check_disarmed(t0, late);

	/* Periodic armed, then TSC-deadline. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	t0 = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, 5 * NS_PER_MS);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VECTOR);
	late = guest_tsc_passed(t0 + us_to_tsc(5000));
	guest_check_disarmed(t0, late);

	/* TSC-deadline armed, then one-shot. */
	t0 = guest_rdtsc();
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, t0 + us_to_tsc(5000));
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	late = guest_tsc_passed(t0 + us_to_tsc(5000));
	guest_check_disarmed(t0, late);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);

	/* And it still works afterwards. */
	xapic_write_reg(APIC_TMICT, 200000);
	guest_wait_irqs(1, 2000);
	GUEST_DONE();
}

TEST(mode_switch_disarms)
{
	if (!have_tsc_deadline())
		SKIP(return, "no VHV_CAP_TSC_DEADLINE");
	run_to_done(guest_mode_switch);
}

/* ---------------------------------------------------------------------
 * A masked timer counts but never interrupts.
 */
static void guest_masked(void)
{
	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_ONESHOT |
			TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 200000);
	guest_udelay(2000);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TMCCT), 0);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 0);
	GUEST_ASSERT(!(xapic_read_reg(APIC_IRR + (TIMER_VECTOR / 32) * 0x10) &
		       BIT(TIMER_VECTOR % 32)));
	/* Unmasking later does not deliver the old expiry. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	guest_udelay(1000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 0);

	/* Periodic, masked. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | APIC_LVT_TIMER_PERIODIC |
			TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 100000);
	guest_udelay(2000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 0);
	/* Unmasked, it interrupts. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	guest_wait_irqs(1, 2000);
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_DONE();
}

TEST(masked_timer)
{
	run_to_done(guest_masked);
}

/* ---------------------------------------------------------------------
 * The timer wakes a halted VP.  HLT only ends with an interrupt (see
 * exit_test), so one HLT normally suffices; the loop covers a timer that
 * expired before the HLT on a very slow machine.
 */
static u64 guest_hlt_until_irq(u64 n)
{
	u64 hlts = 0;

	while (READ_ONCE(timer_irqs) < n) {
		guest_sti_hlt();
		hlts++;
	}
	return hlts;
}

static void guest_timer_wakes_hlt(void)
{
	u64 t0, t1;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	t0 = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, 5 * NS_PER_MS);
	guest_hlt_until_irq(1);
	t1 = guest_rdtsc();
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 1);
	GUEST_ASSERT(tsc_to_ns(t1 - t0) >= 5 * NS_PER_MS * 99 / 100);
	GUEST_SYNC(tsc_to_ns(t1 - t0));

	/* Again with the TSC deadline, if there is one. */
	if (guest_has_tsc_deadline()) {
		xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE |
				TIMER_VECTOR);
		t0 = guest_rdtsc() + us_to_tsc(5000);
		guest_wrmsr(MSR_IA32_TSC_DEADLINE, t0);
		guest_hlt_until_irq(2);
		GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 2);
		GUEST_ASSERT(guest_rdtsc() >= t0);
	}
	GUEST_DONE();
}

TEST(timer_wakes_halted_vp)
{
	struct vhv_vp *vp;
	struct vhv_partition *part = timer_partition(&vp,
						     guest_timer_wakes_hlt);

	/* HLT waits in the kernel: the first exit is the guest's sync. */
	EXPECT_GE(vp_expect_sync(vp), 5 * NS_PER_MS * 99 / 100);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Thousands of reprogrammings, then a short one: exactly one interrupt.
 */
#define REPROGRAM_WRITES	2000

static void guest_reprogram(void)
{
	unsigned int i;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);
	for (i = 0; i < REPROGRAM_WRITES; i++) {
		switch (i % 4) {
		case 0:
			xapic_write_reg(APIC_TMICT, 0xffffffff);
			break;
		case 1:
			xapic_write_reg(APIC_TMICT, 0xfffffff0 - i);
			break;
		case 2:
			xapic_write_reg(APIC_TMICT, 0);
			break;
		case 3:
			xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC |
					TIMER_VECTOR);
			xapic_write_reg(APIC_TMICT, 0x7fffffff);
			xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT |
					TIMER_VECTOR);
			break;
		}
	}
	xapic_write_reg(APIC_TMICT, 100000);
	guest_wait_irqs(1, 2000);
	guest_udelay(3000);
	GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 1);

	if (guest_has_tsc_deadline()) {
		xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE |
				TIMER_VECTOR);
		for (i = 0; i < REPROGRAM_WRITES / 2; i++)
			guest_wrmsr(MSR_IA32_TSC_DEADLINE,
				    i % 3 ? guest_rdtsc() + us_to_tsc(1000000) :
				    0);
		guest_wrmsr(MSR_IA32_TSC_DEADLINE,
			    guest_rdtsc() + us_to_tsc(100));
		guest_wait_irqs(2, 2000);
		guest_udelay(3000);
		GUEST_ASSERT_EQ(READ_ONCE(timer_irqs), 2);
	}
	GUEST_DONE();
}

TEST(rapid_reprogramming)
{
	run_to_done(guest_reprogram);
}

/* ---------------------------------------------------------------------
 * VHV_SET_LAPIC restarts an armed timer from its initial count.
 */
static void guest_set_lapic_restart(void)
{
	u64 before, after;

	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 0xffffffff);
	guest_udelay(20000);
	before = xapic_read_reg(APIC_TMCCT);
	GUEST_ASSERT(before < 0xffffffffULL - 19000000);
	GUEST_SYNC(before);
	/* Still counting down from the restart. */
	after = xapic_read_reg(APIC_TMCCT);
	GUEST_ASSERT(after && after <= 0xffffffffULL);
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_DONE();
}

/* The host sees the count start over, right after VHV_SET_LAPIC. */
TEST(set_lapic_restarts_timer)
{
	struct vhv_vp *vp;
	struct vhv_partition *part = timer_partition(&vp,
						     guest_set_lapic_restart);
	struct vhv_lapic_state s, t;
	u64 before;

	before = vp_expect_sync(vp);
	vp_get_lapic(vp, &s);
	EXPECT_EQ(0xffffffffU, lapic_state_reg(&s, APIC_TMICT));
	EXPECT_LE(lapic_state_reg(&s, APIC_TMCCT), before);
	vp_set_lapic(vp, &s);
	vp_get_lapic(vp, &t);
	EXPECT_GT(lapic_state_reg(&t, APIC_TMCCT), before);
	EXPECT_GT(lapic_state_reg(&t, APIC_TMCCT), lapic_state_reg(&s, APIC_TMCCT));
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * VPs and partitions torn down while their periodic timers run.
 */
static void guest_arm_periodic(void)
{
	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 60000);
	while (!READ_ONCE(timer_irqs))
		guest_sti_hlt();
	GUEST_SYNC(1);
	for (;;) {
		u64 n = READ_ONCE(timer_irqs);

		while (READ_ONCE(timer_irqs) == n)
			guest_sti_hlt();
		GUEST_SYNC(READ_ONCE(timer_irqs));
	}
}

TEST(destroy_with_armed_timer)
{
	int iter;

	for (iter = 0; iter < 4; iter++) {
		struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
		struct vhv_vp *vp0, *vp1, *vp2;
		struct vhv_lapic_state s;

		part_install_irq_handler(part, TIMER_VECTOR,
					 guest_timer_handler);
		vp0 = vp_add(part, 0, guest_arm_periodic);
		vp1 = vp_add(part, 1, guest_arm_periodic);
		EXPECT_EQ(1ULL, vp_expect_sync(vp0));
		EXPECT_EQ(1ULL, vp_expect_sync(vp1));

		/* A timer armed by the VMM on a VP that never ran. */
		vp2 = vp_add(part, 2, guest_arm_periodic);
		vp_get_lapic(vp2, &s);
		lapic_state_set_reg(&s, APIC_SPIV,
				    APIC_SPIV_APIC_ENABLED | 0xff);
		lapic_state_set_reg(&s, APIC_TDCR, TDCR_DIV_1);
		lapic_state_set_reg(&s, APIC_LVTT,
				    APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
		lapic_state_set_reg(&s, APIC_TMICT, 50000);
		vp_set_lapic(vp2, &s);

		/* VP 0 goes while its timer fires; VP 1 carries on. */
		vp_free(vp0);
		EXPECT_GT(vp_expect_sync(vp1), 1ULL);
		if (iter & 1)
			vp_free(vp2);
		/* The rest goes with the partition, timers armed. */
		part_free(part);
	}
}

/*
 * Close the VP and partition fds while the VP's thread sits in VHV_RUN,
 * halted between the interrupts of its periodic timer; a signal then
 * ends the run and everything is freed (zz_module_test's rmmod checks
 * for leaks).
 */
static void guest_periodic_hlt_forever(void)
{
	guest_timer_init();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VECTOR);
	xapic_write_reg(APIC_TMICT, 100000);
	for (;;)
		guest_sti_hlt();
}

struct run_thread {
	int fd;
	int done;
	int ret;
	int err;
};

static void *run_thread_fn(void *arg)
{
	struct run_thread *rt = arg;

	rt->ret = ioctl(rt->fd, VHV_RUN, 0);
	rt->err = errno;
	__atomic_store_n(&rt->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void noop_handler(int sig)
{
}

TEST(close_while_halted_with_timer)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	struct sigaction sa;
	int iter, i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	for (iter = 0; iter < 3; iter++) {
		struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
		struct vhv_vp *vp = vp_add(part, 0, guest_periodic_hlt_forever);
		u64 *irqs = guest_ptr(part, timer_irqs);
		struct run_thread rt = { .fd = vp->fd };
		pthread_t thread;
		u64 seen;

		part_install_irq_handler(part, TIMER_VECTOR,
					 guest_timer_handler);
		ASSERT_EQ(0, pthread_create(&thread, NULL, run_thread_fn, &rt));
		for (i = 0; i < 2000 && READ_ONCE(*irqs) < 3; i++)
			nanosleep(&ts, NULL);
		ASSERT_GE(READ_ONCE(*irqs), 3ULL) TH_LOG("no timer interrupts");

		EXPECT_EQ(0, close(vp->fd));
		EXPECT_EQ(0, close(part->fd));
		EXPECT_EQ(0, munmap(vp->run, vp->run_size));
		/* Still running: the timer still wakes it. */
		seen = READ_ONCE(*irqs);
		for (i = 0; i < 2000 && READ_ONCE(*irqs) == seen; i++)
			nanosleep(&ts, NULL);
		EXPECT_GT(READ_ONCE(*irqs), seen);
		EXPECT_EQ(0, __atomic_load_n(&rt.done, __ATOMIC_ACQUIRE));

		for (i = 0; i < 1000 &&
		     !__atomic_load_n(&rt.done, __ATOMIC_ACQUIRE); i++) {
			pthread_kill(thread, SIGUSR1);
			nanosleep(&ts, NULL);
		}
		ASSERT_EQ(0, pthread_join(thread, NULL));
		EXPECT_EQ(-1, rt.ret);
		EXPECT_EQ(EINTR, rt.err);

		/* The library must not touch what was closed. */
		part->vps[0] = NULL;
		munmap(part->ram, part->ram_size);
		free(vp);
		free(part);
	}
}

TEST_HARNESS_MAIN
