// SPDX-License-Identifier: GPL-2.0
/*
 * Exits other than I/O: HLT (which waits in the kernel), triple faults,
 * code fetches outside RAM, signals and immediate_exit, and closing a VP
 * while it runs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

static void guest_int3(void)
{
	asm volatile("int3");
	GUEST_DONE();
}

/* An IDT with limit 0: #BP -> #GP -> #DF -> triple fault. */
TEST(shutdown_zero_idt_host)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_int3);
	struct vhv_sregs sregs;

	vp_sregs_get(vp, &sregs);
	sregs.idt.limit = 0;
	vp_sregs_set(vp, &sregs);
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_SHUTDOWN);
	part_free(part);
}

static void guest_lidt_zero(void)
{
	u64 idtr[2] = { 0, 0 };		/* limit 0, base 0 */

	asm volatile("lidt %0\n\t"
		     "ud2" : : "m"(idtr) : "memory");
	GUEST_DONE();
}

TEST(shutdown_zero_idt_guest)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_lidt_zero);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_SHUTDOWN);
	part_free(part);
}

/* With RSP on an unmapped page, #UD cannot push: #PF, #DF, shutdown. */
static void guest_bad_stack(void)
{
	asm volatile("mov %0, %%rsp\n\t"
		     "ud2" : : "r"(GUEST_IDENTITY_SIZE + 0x2000) : "memory");
	GUEST_DONE();
}

TEST(shutdown_double_fault_chain)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_bad_stack);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_SHUTDOWN);
	part_free(part);
}

static void guest_jump(u64 target)
{
	asm volatile("jmp *%0" : : "r"(target) : "memory");
}

/* Executing from a GPA with no memory is an internal error, not MMIO. */
TEST(fetch_from_unbacked_gpa)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	u64 targets[] = { GUEST_MMIO_GPA, VHV_DEFAULT_RAM + 0x1000 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(targets); i++) {
		struct vhv_vp *vp = vp_add(part, i, GUEST_CODE(guest_jump));

		vp_args_set(vp, 1, targets[i]);
		vp_run(vp);
		TEST_ASSERT_EXIT(vp, VHV_EXIT_INTERNAL_ERROR);
		EXPECT_EQ((u32)VHV_INTERNAL_FETCH,
			  vp->run->internal.suberror)
			TH_LOG("exit %s", vp_exit_str(vp));
	}
	part_free(part);
}

/* A fresh VP starts at 0xfffffff0, where nothing is mapped. */
TEST(fetch_reset_vector_without_memory)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_INTERNAL_ERROR);
	EXPECT_EQ((u32)VHV_INTERNAL_FETCH, vp->run->internal.suberror)
		TH_LOG("exit %s", vp_exit_str(vp));
	part_free(part);
}

static u64 guest_entered;
static u64 guest_counter;
static u64 guest_stop;

static void guest_spin(void)
{
	WRITE_ONCE(guest_entered, 1);
	while (!READ_ONCE(guest_stop))
		WRITE_ONCE(guest_counter, READ_ONCE(guest_counter) + 1);
	GUEST_SYNC(READ_ONCE(guest_counter));
	GUEST_DONE();
}

TEST(immediate_exit)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_spin);
	struct vhv_regs before, after;
	int i;

	vp_regs_get(vp, &before);
	vp->run->immediate_exit = 1;
	for (i = 0; i < 2; i++) {
		errno = 0;
		EXPECT_EQ(-1, __vp_run(vp));
		EXPECT_EQ(EINTR, errno);
		EXPECT_EQ((u32)VHV_EXIT_INTR, vp->run->exit_reason);
	}
	/* The guest did not run at all. */
	vp_regs_get(vp, &after);
	EXPECT_EQ(before.rip, after.rip);
	EXPECT_EQ(0ULL, *guest_ptr(part, guest_entered));

	vp->run->immediate_exit = 0;
	*guest_ptr(part, guest_stop) = 1;
	EXPECT_EQ(0ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	EXPECT_EQ(1ULL, *guest_ptr(part, guest_entered));
	part_free(part);
}

static void noop_handler(int sig)
{
}

static void install_handler(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sa.sa_flags = 0;		/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(sig, &sa, NULL), "sigaction failed");
}

static void set_itimer_ms(long ms)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = 0, .tv_usec = ms * 1000 },
		.it_value = { .tv_sec = 0, .tv_usec = ms * 1000 },
	};

	TEST_ASSERT(!setitimer(ITIMER_REAL, &it, NULL), "setitimer failed");
}

#define HLT_VECTOR	0x40

static u64 hlt_irq_count;
static u64 hlt_irq_rip;
static u64 hlt_after;

static void guest_hlt_irq_handler(struct ex_regs *regs)
{
	WRITE_ONCE(hlt_irq_count, READ_ONCE(hlt_irq_count) + 1);
	WRITE_ONCE(hlt_irq_rip, regs->rip);
	xapic_write_reg(APIC_EOI, 0);
}

/* R8 holds the address just past the HLT. */
static void guest_hlt(void)
{
	u64 after;

	xapic_enable();
	GUEST_SYNC(0);
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "mov %%r8, %1\n\t"
		     "sti\n\t"
		     "hlt\n\t"
		     "1:\n\t"
		     "mov %%r8, %0"
		     : "=r"(after), "=m"(hlt_after) : : "r8", "memory");
	GUEST_SYNC_ARGS(1, READ_ONCE(hlt_irq_count), READ_ONCE(hlt_irq_rip),
			after);
	GUEST_DONE();
}

/*
 * HLT with IF=1 and nothing pending does not exit: the VP sleeps in
 * VHV_RUN until a signal (-EINTR, VHV_EXIT_INTR; still halted) and the
 * next RUN goes on sleeping.  An interrupt then wakes it: the handler
 * runs with the return address just past the HLT.
 */
TEST(hlt_sleeps_until_interrupt)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_hlt);
	struct ucall uc;
	int i;

	install_handler(SIGALRM);
	part_install_irq_handler(part, HLT_VECTOR, guest_hlt_irq_handler);
	EXPECT_EQ(0ULL, vp_expect_sync(vp));

	set_itimer_ms(20);
	for (i = 0; i < 3; i++) {
		errno = 0;
		ASSERT_EQ(-1, __vp_run(vp))
			TH_LOG("HLT exited: %s", vp_exit_str(vp));
		ASSERT_EQ(EINTR, errno);
		EXPECT_EQ((u32)VHV_EXIT_INTR, vp->run->exit_reason);
		EXPECT_EQ((u32)VHV_MP_HALTED, vp_get_mp_state(vp));
		EXPECT_EQ(0ULL, READ_ONCE(*guest_ptr(part, hlt_irq_count)));
	}
	set_itimer_ms(0);
	ASSERT_NE(0ULL, *guest_ptr(part, hlt_after));

	part_request_interrupt(part, VHV_INTERRUPT_FIXED, HLT_VECTOR, 0, 0);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(1ULL, uc.args[0]);
	EXPECT_EQ(1ULL, uc.args[1]);
	EXPECT_EQ(*guest_ptr(part, hlt_after), uc.args[2]);
	EXPECT_EQ(*guest_ptr(part, hlt_after), uc.args[3]);
	EXPECT_EQ((u32)VHV_MP_RUNNABLE, vp_get_mp_state(vp));
	vp_expect_done(vp);
	part_free(part);
}

/*
 * A timer signal interrupts a spinning guest: VHV_RUN fails with EINTR
 * and VHV_EXIT_INTR, and the guest goes on where it was on the next RUN.
 */
TEST(signal_interrupts_run)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_spin);
	u64 *counter = guest_ptr(part, guest_counter);
	u64 first = 0, last = 0, synced;
	int i;

	install_handler(SIGALRM);
	set_itimer_ms(20);
	for (i = 0; i < 4; i++) {
		errno = 0;
		ASSERT_EQ(-1, __vp_run(vp))
			TH_LOG("exit %s", vp_exit_str(vp));
		ASSERT_EQ(EINTR, errno);
		EXPECT_EQ((u32)VHV_EXIT_INTR, vp->run->exit_reason);
		last = READ_ONCE(*counter);
		if (!i)
			first = last;
	}
	set_itimer_ms(0);
	EXPECT_EQ(1ULL, *guest_ptr(part, guest_entered));
	EXPECT_GT(last, first);

	WRITE_ONCE(*guest_ptr(part, guest_stop), 1);
	synced = vp_expect_sync(vp);
	EXPECT_GE(synced, last);
	vp_expect_done(vp);
	part_free(part);
}

struct close_run {
	int fd;
	int done;
	int ret;
	int err;
};

static void *close_run_thread(void *arg)
{
	struct close_run *cr = arg;

	cr->ret = ioctl(cr->fd, VHV_RUN, 0);
	cr->err = errno;
	__atomic_store_n(&cr->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Close everything under a running VP: the VP fd, the partition fd and
 * the run page.  A signal then ends VHV_RUN with EINTR and all is freed
 * (zz_module_test's rmmod checks nothing was leaked).
 */
TEST(close_while_running)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_spin);
	u64 *counter = guest_ptr(part, guest_counter);
	struct close_run cr = { .fd = vp->fd };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_t thread;
	int i;

	install_handler(SIGUSR1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, close_run_thread, &cr));
	for (i = 0; i < 2000 && !READ_ONCE(*counter); i++)
		nanosleep(&ts, NULL);
	ASSERT_NE(0ULL, READ_ONCE(*counter)) TH_LOG("the guest never ran");

	EXPECT_EQ(0, close(vp->fd));
	EXPECT_EQ(0, close(part->fd));
	EXPECT_EQ(0, munmap(vp->run, vp->run_size));
	/* Still running. */
	nanosleep(&ts, NULL);
	EXPECT_EQ(0, __atomic_load_n(&cr.done, __ATOMIC_ACQUIRE));

	for (i = 0; i < 1000 && !__atomic_load_n(&cr.done, __ATOMIC_ACQUIRE);
	     i++) {
		pthread_kill(thread, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-1, cr.ret);
	EXPECT_EQ(EINTR, cr.err);

	/* The library must not touch what was closed. */
	part->vps[0] = NULL;
	munmap(part->ram, part->ram_size);
	free(vp);
	free(part);

	/* The device still works. */
	part = part_create(VHV_DEFAULT_RAM);
	vp = vp_add(part, 0, guest_spin);
	*guest_ptr(part, guest_stop) = 1;
	vp_expect_sync(vp);
	vp_expect_done(vp);
	part_free(part);
}

TEST_HARNESS_MAIN
