// SPDX-License-Identifier: GPL-2.0
/*
 * What an exit, an interrupt and an IPI cost, in the guest's TSC cycles.
 * `make bench` runs this in the lanes; each result is one line
 *
 *	# bench NAME: CYCLES cycles/op, NS ns/op (N ops)
 *
 * The numbers are those of an emulated machine: compare them with each
 * other and across commits, not with hardware.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "apic.h"
#include "vhv_util.h"

#define BENCH_VEC	0x40
#define PING_VEC	0x41
#define PONG_VEC	0x42
#define TIMER_VEC	0x43

enum {
	B_CPUID,
	B_X2APIC_SELF_IPI,
	B_XAPIC_SELF_IPI,
	B_PINGPONG,
	B_TIMER_WAKE,
	B_NR
};

static const char *const bench_name[B_NR] = {
	[B_CPUID] = "cpuid exit",
	[B_X2APIC_SELF_IPI] = "x2APIC self-IPI + EOI",
	[B_XAPIC_SELF_IPI] = "xAPIC (MMIO) self-IPI + EOI",
	[B_PINGPONG] = "IPI round trip between 2 VPs (HLT)",
	[B_TIMER_WAKE] = "TSC-deadline wake-up from HLT (lateness)",
};

/* Shared by the guest's VPs and handlers: READ_ONCE/WRITE_ONCE. */
static u64 irq_count;
static bool use_x2apic;
static bool ponger_ready;	/* VP 1's APIC takes interrupts */

static void bench_irq(struct ex_regs *regs)
{
	WRITE_ONCE(irq_count, READ_ONCE(irq_count) + 1);
	if (READ_ONCE(use_x2apic))
		x2apic_write_reg(APIC_EOI, 0);
	else
		xapic_write_reg(APIC_EOI, 0);
}

/* VP 1 answers every ping with a pong. */
static void pong_irq(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
	x2apic_send_ipi(0, PONG_VEC);
}

static void report(unsigned int id, u64 cycles, u64 n)
{
	GUEST_SYNC_ARGS(id, cycles, n, 0);
}

static void guest_bench(void)
{
	u32 a, b, c, d;
	u64 t, i, n, late, khz = guest_tsc_khz();

	n = 1000;
	t = guest_rdtsc();
	for (i = 0; i < n; i++)
		guest_cpuid(0, 0, &a, &b, &c, &d);
	report(B_CPUID, guest_rdtsc() - t, n);

	x2apic_enable();
	WRITE_ONCE(use_x2apic, true);
	guest_sti();
	n = 500;
	WRITE_ONCE(irq_count, 0);
	t = guest_rdtsc();
	for (i = 0; i < n; i++)
		x2apic_write_reg(APIC_SELF_IPI, BENCH_VEC);
	t = guest_rdtsc() - t;
	GUEST_ASSERT_EQ(READ_ONCE(irq_count), n);
	report(B_X2APIC_SELF_IPI, t, n);

	/* Back to xAPIC through the disabled state. */
	guest_cli();
	guest_wrmsr(MSR_IA32_APICBASE, APIC_BASE_GPA | APICBASE_BSP);
	guest_wrmsr(MSR_IA32_APICBASE, APIC_BASE_GPA | APICBASE_BSP |
		    APICBASE_ENABLE);
	xapic_enable();
	WRITE_ONCE(use_x2apic, false);
	guest_sti();
	WRITE_ONCE(irq_count, 0);
	t = guest_rdtsc();
	for (i = 0; i < n; i++)
		xapic_write_reg(APIC_ICR, APIC_DEST_SELF | BENCH_VEC);
	t = guest_rdtsc() - t;
	GUEST_ASSERT_EQ(READ_ONCE(irq_count), n);
	report(B_XAPIC_SELF_IPI, t, n);

	/* Ping VP 1 (x2APIC ID 1) and sleep until its pong. */
	guest_cli();
	x2apic_enable();		/* xAPIC to x2APIC directly */
	WRITE_ONCE(use_x2apic, true);
	GUEST_SYNC_ARGS(B_NR, 0, 0, 0);		/* VP 1 may start */
	/* With IF=1: a spin with IF=0 stalls Bochs's only CPU. */
	guest_sti();
	while (!READ_ONCE(ponger_ready))
		guest_nop_pause();
	guest_cli();
	n = 200;
	WRITE_ONCE(irq_count, 0);
	t = guest_rdtsc();
	for (i = 0; i < n; i++) {
		x2apic_send_ipi(1, PING_VEC);
		while (READ_ONCE(irq_count) == i)
			guest_sti_hlt();
		guest_cli();
	}
	report(B_PINGPONG, guest_rdtsc() - t, n);

	/* Arm a deadline 100 us ahead, halt, see how late the wake-up is. */
	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VEC);
	n = 50;
	late = 0;
	for (i = 0; i < n; i++) {
		u64 deadline = guest_rdtsc() + khz / 10;

		WRITE_ONCE(irq_count, 0);
		guest_wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		while (!READ_ONCE(irq_count))
			guest_sti_hlt();
		guest_cli();
		late += guest_rdtsc() - deadline;
	}
	report(B_TIMER_WAKE, late, n);
	GUEST_DONE();
}

static void guest_ponger(void)
{
	x2apic_enable();
	WRITE_ONCE(ponger_ready, true);
	for (;;)
		guest_sti_hlt();
}

static void *ponger_thread(void *arg)
{
	struct vhv_vp *vp = arg;

	/* Runs until the main thread's signal ends the benchmark. */
	__vp_run(vp);
	return NULL;
}

static void handle_usr1(int sig)
{
}

int main(void)
{
	struct vhv_partition *part;
	struct vhv_vp *vp, *vp1;
	double ns_per_cycle;
	pthread_t thread;
	struct ucall uc;
	u64 cmd;

	if (!vhv_check_cap(VHV_CAP_LAPIC)) {
		printf("# bench: no in-kernel APIC\n");
		return 4;
	}
	signal(SIGUSR1, handle_usr1);
	ns_per_cycle = 1e6 / host_tsc_khz();
	part = part_create_flags(VHV_DEFAULT_RAM, VHV_PARTITION_X2APIC);
	part_install_irq_handler(part, BENCH_VEC, bench_irq);
	part_install_irq_handler(part, PONG_VEC, bench_irq);
	part_install_irq_handler(part, TIMER_VEC, bench_irq);
	part_install_irq_handler(part, PING_VEC, pong_irq);
	vp = vp_add(part, 0, guest_bench);
	vp1 = vp_add(part, 1, guest_ponger);

	for (;;) {
		cmd = vp_run_ucall(vp, &uc);
		if (cmd == UCALL_DONE)
			break;
		TEST_ASSERT(cmd == UCALL_SYNC, "unexpected ucall %llu",
			    (unsigned long long)cmd);
		if (uc.args[0] == B_NR) {
			pthread_create(&thread, NULL, ponger_thread, vp1);
			continue;
		}
		printf("# bench %s: %.0f cycles/op, %.0f ns/op (%llu ops)\n",
		       bench_name[uc.args[0]],
		       (double)uc.args[1] / uc.args[2],
		       (double)uc.args[1] / uc.args[2] * ns_per_cycle,
		       (unsigned long long)uc.args[2]);
	}
	pthread_kill(thread, SIGUSR1);
	pthread_join(thread, NULL);
	part_free(part);
	return 0;
}
