// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt delivery into one VP through its local APIC: priority order,
 * TPR/PPR masking, EOI order with nested handlers, NMI blocking,
 * interrupts requested by the VMM (halted, running, level-triggered
 * with EOI exits, ExtINT) and the STI interrupt shadow.
 *
 * Handlers record what they saw in guest globals; the host reads the
 * guest's copies with guest_ptr() and checks the order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

#define LOG_MAX		32
#define WAIT_MS		10000	/* guest-side bound of a wait, in TSC ms */

/* ---------------------------------------------------------------------
 * Guest side.
 */
static u32 irq_n;
static u32 irq_vec[LOG_MAX];
static u64 irq_rip[LOG_MAX];
static u64 irq_rflags[LOG_MAX];
static u32 irq_isr[LOG_MAX];	/* the vector's ISR bit at entry */
static u32 irq_irr[LOG_MAX];	/* the vector's IRR bit at entry */
static u32 irq_tmr[LOG_MAX];	/* the vector's TMR bit at entry */

static bool xapic_vec_bit(u32 base, u32 vec)
{
	return xapic_read_reg(base + (vec / 32) * 0x10) & (1U << (vec % 32));
}

static u32 xapic_ppr(void)
{
	return xapic_read_reg(APIC_PROCPRI) & 0xff;
}

static u64 read_cr8(void)
{
	u64 v;

	asm volatile("mov %%cr8, %0" : "=r"(v) : : "memory");
	return v;
}

static void write_cr8(u64 v)
{
	asm volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

/* Wait (bounded) until *p == want; returns the last value read. */
static u32 guest_wait_u32(u32 *p, u32 want, u64 ms)
{
	u64 end = guest_deadline(ms);
	u32 v;

	while ((v = READ_ONCE(*p)) != want && guest_rdtsc() < end)
		asm volatile("pause" : : : "memory");
	return v;
}

/*
 * An interrupt that should have been taken at the last instruction
 * boundary: fail with the count now and, as context, the count after
 * waiting a little (tells "late" from "never").
 */
#define GUEST_ASSERT_TAKEN(want)					\
	do {								\
		u32 __now = READ_ONCE(irq_n);				\
		if (__now != (want))					\
			GUEST_ASSERT_EQ_CTX(__now, (want),		\
				guest_wait_u32(&irq_n, (want), 100));	\
	} while (0)

static void irq_record(struct ex_regs *regs)
{
	u32 n = READ_ONCE(irq_n);
	u32 vec = regs->vector;

	if (n < LOG_MAX) {
		irq_vec[n] = vec;
		irq_rip[n] = regs->rip;
		irq_rflags[n] = regs->rflags;
		irq_isr[n] = xapic_vec_bit(APIC_ISR, vec);
		irq_irr[n] = xapic_vec_bit(APIC_IRR, vec);
		irq_tmr[n] = xapic_vec_bit(APIC_TMR, vec);
	}
	WRITE_ONCE(irq_n, n + 1);
}

static void irq_handler(struct ex_regs *regs)
{
	irq_record(regs);
	xapic_write_reg(APIC_EOI, 0);
}

/* ---------------------------------------------------------------------
 * Host side.
 */
FIXTURE(irq) {
	struct vhv_partition *part;
	struct vhv_vp *vp;
};

FIXTURE_SETUP(irq)
{
	unsigned int v;

	/*
	 * This harness runs the test body after a SKIP in the setup: end
	 * the test's process here instead, with the harness's skip status.
	 */
	if (!vhv_check_cap(VHV_CAP_LAPIC))
		SKIP(_exit(255), "no in-kernel local APIC");
	self->part = part_create(VHV_DEFAULT_RAM);
	for (v = VHV_NR_EXC_VECTORS; v < VHV_NR_VECTORS; v++)
		part_install_irq_handler(self->part, v, irq_handler);
	self->vp = NULL;
}

FIXTURE_TEARDOWN(irq)
{
	part_free(self->part);
}

static u32 host_irq_n(struct vhv_partition *part)
{
	return READ_ONCE(*guest_ptr(part, irq_n));
}

static u32 host_irq_vec(struct vhv_partition *part, unsigned int i)
{
	return guest_ptr(part, irq_vec)[0][i];
}

static int cmp_desc(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The handlers ran once per vector, highest vector first. */
static void check_descending(struct __test_metadata *_metadata,
			     struct vhv_partition *part, const u32 *vecs,
			     unsigned int n)
{
	u32 want[LOG_MAX];
	unsigned int i;

	memcpy(want, vecs, n * sizeof(*vecs));
	qsort(want, n, sizeof(*want), cmp_desc);
	ASSERT_EQ(n, host_irq_n(part));
	for (i = 0; i < n; i++)
		EXPECT_EQ(want[i], host_irq_vec(part, i))
			TH_LOG("handler #%u", i);
}

/* Several classes, and two vectors sharing a class (0x55, 0x5e). */
static const u32 prio_vectors[] = {
	0x41, 0x92, 0x63, 0xe4, 0x55, 0x5e, 0x30, 0xfe,
};

static void guest_priority_self(void)
{
	unsigned int i;

	xapic_enable();
	guest_cli();
	for (i = 0; i < ARRAY_SIZE(prio_vectors); i++)
		self_ipi(prio_vectors[i]);
	for (i = 0; i < ARRAY_SIZE(prio_vectors); i++)
		GUEST_ASSERT_EQ_CTX(xapic_vec_bit(APIC_IRR, prio_vectors[i]),
				    1, prio_vectors[i]);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 0);
	asm volatile("sti; nop; cli" : : : "memory");
	GUEST_ASSERT_TAKEN(ARRAY_SIZE(prio_vectors));
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_ASSERT_EQ(xapic_ppr(), 0);
	guest_sti();
	GUEST_DONE();
}

/* Self-IPIs pending with IF=0 are taken highest vector first. */
TEST_F_TIMEOUT(irq, priority_order_self_ipi, 60)
{
	self->vp = vp_add(self->part, 0, guest_priority_self);
	vp_expect_done(self->vp);
	check_descending(_metadata, self->part, prio_vectors,
			 ARRAY_SIZE(prio_vectors));
}

static void guest_priority_vmm(void)
{
	unsigned int i;

	xapic_enable();
	guest_cli();
	GUEST_SYNC(0);
	for (i = 0; i < ARRAY_SIZE(prio_vectors); i++)
		GUEST_ASSERT_EQ_CTX(xapic_vec_bit(APIC_IRR, prio_vectors[i]),
				    1, prio_vectors[i]);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 0);
	asm volatile("sti; nop; cli" : : : "memory");
	GUEST_ASSERT_TAKEN(ARRAY_SIZE(prio_vectors));
	GUEST_ASSERT(xapic_isr_empty());
	guest_sti();
	GUEST_DONE();
}

/* The same with the vectors requested by the VMM while IF=0. */
TEST_F_TIMEOUT(irq, priority_order_vmm, 60)
{
	unsigned int i;

	self->vp = vp_add(self->part, 0, guest_priority_vmm);
	EXPECT_EQ(0ULL, vp_expect_sync(self->vp));
	for (i = 0; i < ARRAY_SIZE(prio_vectors); i++)
		part_request_interrupt(self->part, VHV_INTERRUPT_FIXED,
				       prio_vectors[i], 0, 0);
	vp_expect_done(self->vp);
	check_descending(_metadata, self->part, prio_vectors,
			 ARRAY_SIZE(prio_vectors));
}

static void guest_tpr(void)
{
	xapic_enable();
	guest_sti();

	xapic_write_reg(APIC_TASKPRI, 0x50);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI) & 0xff, 0x50);
	GUEST_ASSERT_EQ(read_cr8(), 5);
	GUEST_ASSERT_EQ(xapic_ppr(), 0x50);

	/* Class 6 is above the TPR's class 5: taken at once. */
	self_ipi(0x61);
	GUEST_ASSERT_TAKEN(1);
	/* Classes 5 and 4 wait in the IRR. */
	self_ipi(0x52);
	self_ipi(0x45);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 1);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, 0x52));
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, 0x45));
	GUEST_ASSERT_EQ(xapic_ppr(), 0x50);

	/* Lowering the TPR by MMIO releases class 5 only. */
	xapic_write_reg(APIC_TASKPRI, 0x40);
	GUEST_ASSERT_TAKEN(2);
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, 0x52));
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, 0x45));
	GUEST_ASSERT_EQ(read_cr8(), 4);

	/* ... and by CR8. */
	write_cr8(3);
	GUEST_ASSERT_TAKEN(3);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI) & 0xff, 0x30);
	GUEST_ASSERT_EQ(xapic_ppr(), 0x30);
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, 0x45));

	/* A VMM interrupt held by a TPR raised through CR8. */
	write_cr8(0xf);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_TASKPRI) & 0xff, 0xf0);
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 3);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, 0x99));
	xapic_write_reg(APIC_TASKPRI, 0xa0);	/* class 9 is still masked */
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 3);
	write_cr8(8);
	GUEST_ASSERT_TAKEN(4);
	write_cr8(0);
	GUEST_ASSERT_EQ(xapic_ppr(), 0);
	GUEST_DONE();
}

/* TPR above a vector's class holds it in the IRR; lowering TPR frees it. */
TEST_F_TIMEOUT(irq, tpr_masking, 60)
{
	static const u32 order[] = { 0x61, 0x52, 0x45, 0x99 };
	unsigned int i;

	self->vp = vp_add(self->part, 0, guest_tpr);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	part_request_interrupt(self->part, VHV_INTERRUPT_FIXED, 0x99, 0, 0);
	vp_expect_done(self->vp);
	ASSERT_EQ(ARRAY_SIZE(order), host_irq_n(self->part));
	for (i = 0; i < ARRAY_SIZE(order); i++)
		EXPECT_EQ(order[i], host_irq_vec(self->part, i));
}

/* Nested handlers: the events in the order they happened. */
#define EV_MAX		16
static u32 ev_n;
static u32 ev[EV_MAX];

static void ev_add(u32 code)
{
	u32 n = READ_ONCE(ev_n);

	if (n < EV_MAX)
		ev[n] = code;
	WRITE_ONCE(ev_n, n + 1);
}

#define NEST_LOW	0x40
#define NEST_HIGH	0x80
#define NEST_LOWER	0x30
#define EV_EXIT		0x1000

static void nest_high_handler(struct ex_regs *regs)
{
	ev_add(regs->vector);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_HIGH));
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_LOW));
	GUEST_ASSERT_EQ(xapic_ppr(), NEST_HIGH);
	xapic_write_reg(APIC_EOI, 0);
	/* EOI cleared the highest ISR bit only. */
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, NEST_HIGH));
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_LOW));
	GUEST_ASSERT_EQ(xapic_ppr(), NEST_LOW);
}

static void nest_lower_handler(struct ex_regs *regs)
{
	ev_add(regs->vector);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_LOWER));
	GUEST_ASSERT(!xapic_vec_bit(APIC_ISR, NEST_LOW));
	GUEST_ASSERT_EQ(xapic_ppr(), NEST_LOWER);
	xapic_write_reg(APIC_EOI, 0);
	GUEST_ASSERT(xapic_isr_empty());
}

static void nest_low_handler(struct ex_regs *regs)
{
	ev_add(regs->vector);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_LOW));
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, NEST_LOW));
	GUEST_ASSERT_EQ(xapic_ppr(), NEST_LOW);

	guest_sti();
	/* A higher class nests at once... */
	self_ipi(NEST_HIGH);
	GUEST_ASSERT_EQ(READ_ONCE(ev_n), 2);
	GUEST_ASSERT(xapic_vec_bit(APIC_ISR, NEST_LOW));
	GUEST_ASSERT_EQ(xapic_ppr(), NEST_LOW);

	/* ... a lower one waits for our EOI, then nests (IF is 1). */
	self_ipi(NEST_LOWER);
	GUEST_ASSERT_EQ(READ_ONCE(ev_n), 2);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, NEST_LOWER));
	xapic_write_reg(APIC_EOI, 0);
	if (READ_ONCE(ev_n) != 3)
		GUEST_ASSERT_EQ_CTX(READ_ONCE(ev_n), 3,
				    guest_wait_u32(&ev_n, 3, 100));
	guest_cli();
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_ASSERT_EQ(xapic_ppr(), 0);
	ev_add(EV_EXIT | regs->vector);
}

static void guest_nested(void)
{
	xapic_enable();
	guest_sti();
	self_ipi(NEST_LOW);
	GUEST_ASSERT_EQ(READ_ONCE(ev_n), 4);
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_DONE();
}

/* ISR and PPR in nested handlers; EOI retires the highest ISR bit. */
TEST_F_TIMEOUT(irq, eoi_order_nested, 60)
{
	static const u32 want[] = {
		NEST_LOW, NEST_HIGH, NEST_LOWER, EV_EXIT | NEST_LOW,
	};
	unsigned int i;

	part_install_irq_handler(self->part, NEST_LOW, nest_low_handler);
	part_install_irq_handler(self->part, NEST_HIGH, nest_high_handler);
	part_install_irq_handler(self->part, NEST_LOWER, nest_lower_handler);
	self->vp = vp_add(self->part, 0, guest_nested);
	vp_expect_done(self->vp);
	ASSERT_EQ(ARRAY_SIZE(want), *guest_ptr(self->part, ev_n));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		EXPECT_EQ(want[i], guest_ptr(self->part, ev)[0][i])
			TH_LOG("event #%u", i);
}

/* NMIs: entry 2n and exit 2n + 1 of NMI number n in ev[]. */
static u32 nmi_n;
static u32 nmi_nest;		/* the first handler sends two more */
static u32 nmi_seen_inside;	/* nmi_n at the end of the first handler */
static u64 nmi_rflags[4];
static u64 nmi_rip[4];

static void send_nmi_self(void)
{
	xapic_send_ipi(xapic_read_reg(APIC_ID) >> 24, APIC_DM_NMI |
		       APIC_INT_ASSERT);
}

static void nmi_handler(struct ex_regs *regs)
{
	u32 n = READ_ONCE(nmi_n) + 1;
	unsigned int i;

	WRITE_ONCE(nmi_n, n);
	if (n <= ARRAY_SIZE(nmi_rflags)) {
		nmi_rflags[n - 1] = regs->rflags;
		nmi_rip[n - 1] = regs->rip;
	}
	ev_add(2 * n);
	if (n == 1 && READ_ONCE(nmi_nest)) {
		send_nmi_self();
		send_nmi_self();
		for (i = 0; i < 2000; i++)
			asm volatile("pause" : : : "memory");
		WRITE_ONCE(nmi_seen_inside, READ_ONCE(nmi_n));
	}
	ev_add(2 * n + 1);
}

static void guest_nmi_ipi(void)
{
	xapic_enable();
	WRITE_ONCE(nmi_nest, 1);
	guest_cli();
	send_nmi_self();
	/*
	 * Taken with IF=0; the two sent inside make one more, taken right
	 * after the IRET (context on failure: the count a little later).
	 */
	if (READ_ONCE(nmi_n) != 2)
		GUEST_ASSERT_EQ_CTX(READ_ONCE(nmi_n), 2,
				    guest_wait_u32(&nmi_n, 2, 100));
	guest_sti();
	GUEST_DONE();
}

/*
 * An NMI is taken with IF=0; NMIs sent while its handler runs are held
 * until its IRET, and only one of them stays pending.
 */
TEST_F_TIMEOUT(irq, nmi_blocking, 60)
{
	struct vhv_partition *part = self->part;
	unsigned int i;

	part_install_exception_handler(part, 2, nmi_handler);
	self->vp = vp_add(part, 0, guest_nmi_ipi);
	vp_expect_done(self->vp);
	EXPECT_EQ(2U, *guest_ptr(part, nmi_n));
	EXPECT_EQ(1U, *guest_ptr(part, nmi_seen_inside));
	ASSERT_EQ(4U, *guest_ptr(part, ev_n));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(i + 2, guest_ptr(part, ev)[0][i]);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0ULL, guest_ptr(part, nmi_rflags)[0][i] &
			  X86_FLAGS_IF) TH_LOG("NMI #%u", i + 1);
	EXPECT_EQ(0U, host_irq_n(part));
}

/* Injector thread: waits for a guest flag, then requests an interrupt. */
struct injector {
	struct vhv_partition *part;
	u32 *flag;			/* in guest RAM */
	u32 want;
	unsigned int delay_ms;
	struct vhv_interrupt irq;
	pthread_t thread;
};

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *injector_fn(void *arg)
{
	struct injector *inj = arg;
	unsigned int i;
	int ret;

	for (i = 0; READ_ONCE(*inj->flag) != inj->want; i++) {
		TEST_ASSERT(i < 120000, "the guest never set its flag to %u",
			    inj->want);
		sleep_ms(1);
	}
	sleep_ms(inj->delay_ms);
	ret = __part_request_interrupt(inj->part, &inj->irq);
	TEST_ASSERT(!ret, "VHV_REQUEST_INTERRUPT failed: %d", ret);
	return NULL;
}

static void injector_start(struct injector *inj, struct vhv_partition *part,
			   u32 *flag, u32 want, unsigned int delay_ms,
			   u32 type, u32 vector, u32 dest, u32 flags)
{
	memset(inj, 0, sizeof(*inj));
	inj->part = part;
	inj->flag = flag;
	inj->want = want;
	inj->delay_ms = delay_ms;
	inj->irq.type = type;
	inj->irq.vector = vector;
	inj->irq.destination = dest;
	inj->irq.flags = flags;
	TEST_ASSERT(!pthread_create(&inj->thread, NULL, injector_fn, inj),
		    "pthread_create failed");
}

static void injector_join(struct injector *inj)
{
	TEST_ASSERT(!pthread_join(inj->thread, NULL), "pthread_join failed");
}

static u32 halt_phase;
static u64 halt_after[4];

static void guest_nmi_vmm(void)
{
	u64 after;

	xapic_enable();
	guest_cli();
	GUEST_SYNC(1);
	/* The VMM's NMI came in at the end of the ucall, IF=0. */
	GUEST_ASSERT_EQ(READ_ONCE(nmi_n), 1);

	/* An NMI ends a HLT with IF=0. */
	WRITE_ONCE(halt_phase, 1);
	asm volatile("hlt\n\t"
		     "1: lea 1b(%%rip), %0" : "=r"(after) : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(nmi_n), 2);
	halt_after[0] = after;
	guest_sti();
	GUEST_DONE();
}

/*
 * An NMI whose delivery faults: the stack is a page nobody has touched,
 * so pushing the frame misses in the second-level tables and the NMI is
 * delivered again after the fault is fixed (on VMX that re-injection
 * must not find virtual-NMI blocking set).  The second NMI checks that
 * blocking ended at the handler's IRET.
 */
#define FRESH_STACK_TOP		(GUEST_SCRATCH_GPA + 0x100000)

static void guest_nmi_fresh_stack(void)
{
	u64 i;

	xapic_enable();
	guest_cli();
	for (i = 1; i <= 2; i++) {
		asm volatile("mov %%rsp, %%rbx\n\t"
			     "mov %0, %%rsp\n\t"
			     "movl %1, (%2)\n\t"
			     "mov %%rbx, %%rsp"
			     : : "r"(FRESH_STACK_TOP - (i - 1) * 0x10000),
			       "r"(APIC_DEST_SELF | APIC_DM_NMI | APIC_INT_ASSERT),
			       "r"(APIC_BASE_GPA + APIC_ICR)
			     : "rbx", "memory");
		GUEST_ASSERT_EQ(READ_ONCE(nmi_n), i);
	}
	guest_sti();
	GUEST_DONE();
}

TEST_F_TIMEOUT(irq, nmi_fresh_stack, 60)
{
	struct vhv_partition *part = self->part;

	part_install_exception_handler(part, 2, nmi_handler);
	self->vp = vp_add(part, 0, guest_nmi_fresh_stack);
	vp_expect_done(self->vp);
	EXPECT_EQ(2U, *guest_ptr(part, nmi_n));
}

/* NMIs from the VMM: with IF=0, and waking a HLT with IF=0. */
TEST_F_TIMEOUT(irq, nmi_from_vmm, 60)
{
	struct vhv_partition *part = self->part;
	struct injector inj;
	u64 after;

	part_install_exception_handler(part, 2, nmi_handler);
	self->vp = vp_add(part, 0, guest_nmi_vmm);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	/* The vector is ignored for NMIs. */
	part_request_interrupt(part, VHV_INTERRUPT_NMI, 0x77, 0, 0);
	injector_start(&inj, part, guest_ptr(part, halt_phase), 1, 100,
		       VHV_INTERRUPT_NMI, 0, 0, 0);
	vp_expect_done(self->vp);
	injector_join(&inj);
	EXPECT_EQ(2U, *guest_ptr(part, nmi_n));
	EXPECT_EQ(0ULL, guest_ptr(part, nmi_rflags)[0][0] & X86_FLAGS_IF);
	EXPECT_EQ(0ULL, guest_ptr(part, nmi_rflags)[0][1] & X86_FLAGS_IF);
	/* The second NMI returns after the HLT. */
	after = guest_ptr(part, halt_after)[0][0];
	EXPECT_NE(0ULL, after);
	EXPECT_EQ(after, guest_ptr(part, nmi_rip)[0][1]);
	EXPECT_EQ(0U, host_irq_n(part));
}

#define LOGICAL_ID	0x04
#define HALT_VEC_PHYS	0x71
#define HALT_VEC_LOG	0x72

static void guest_halted(void)
{
	u32 phase;
	u64 after;

	xapic_enable();
	xapic_write_reg(APIC_DFR, 0xffffffff);
	xapic_write_reg(APIC_LDR, LOGICAL_ID << 24);
	for (phase = 1; phase <= 2; phase++) {
		guest_cli();
		WRITE_ONCE(halt_phase, phase);
		asm volatile("sti; hlt\n\t"
			     "1: cli\n\t"
			     "lea 1b(%%rip), %0" : "=r"(after) : : "memory");
		GUEST_ASSERT_EQ(READ_ONCE(irq_n), phase);
		halt_after[phase - 1] = after;
		guest_sti();
		GUEST_SYNC(phase);
	}
	GUEST_DONE();
}

/*
 * Another thread requests fixed interrupts (physical, then logical)
 * while the VP sleeps in HLT: the interrupt wakes it and the handler
 * returns after the HLT.
 */
TEST_F_TIMEOUT(irq, vmm_interrupt_while_halted, 60)
{
	struct vhv_partition *part = self->part;
	struct injector inj;
	unsigned int i;

	self->vp = vp_add(part, 0, guest_halted);
	injector_start(&inj, part, guest_ptr(part, halt_phase), 1, 100,
		       VHV_INTERRUPT_FIXED, HALT_VEC_PHYS, 0, 0);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	injector_join(&inj);
	injector_start(&inj, part, guest_ptr(part, halt_phase), 2, 100,
		       VHV_INTERRUPT_FIXED, HALT_VEC_LOG, LOGICAL_ID,
		       VHV_INTERRUPT_LOGICAL);
	EXPECT_EQ(2ULL, vp_expect_sync(self->vp));
	injector_join(&inj);
	vp_expect_done(self->vp);

	ASSERT_EQ(2U, host_irq_n(part));
	EXPECT_EQ((u32)HALT_VEC_PHYS, host_irq_vec(part, 0));
	EXPECT_EQ((u32)HALT_VEC_LOG, host_irq_vec(part, 1));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(guest_ptr(part, halt_after)[0][i],
			  guest_ptr(part, irq_rip)[0][i]) TH_LOG("phase %u", i);
		EXPECT_EQ(0U, guest_ptr(part, irq_tmr)[0][i]);
	}
}

static u32 busy_phase;

static void guest_busy(void)
{
	u64 end, spins = 0;

	xapic_enable();
	guest_sti();
	end = guest_deadline(WAIT_MS);
	WRITE_ONCE(busy_phase, 1);
	while (!READ_ONCE(irq_n)) {
		GUEST_ASSERT_EQ_CTX(guest_rdtsc() < end, 1, spins);
		spins++;
	}
	GUEST_SYNC(spins);
	GUEST_DONE();
}

/* The VP spins in the guest: the request kicks it out and delivers. */
TEST_F_TIMEOUT(irq, vmm_interrupt_while_running, 60)
{
	struct vhv_partition *part = self->part;
	struct injector inj;

	self->vp = vp_add(part, 0, guest_busy);
	injector_start(&inj, part, guest_ptr(part, busy_phase), 1, 50,
		       VHV_INTERRUPT_FIXED, 0x66, 0, 0);
	vp_expect_sync(self->vp);
	injector_join(&inj);
	vp_expect_done(self->vp);
	ASSERT_EQ(1U, host_irq_n(part));
	EXPECT_EQ(0x66U, host_irq_vec(part, 0));
	EXPECT_NE(0ULL, guest_ptr(part, irq_rflags)[0][0] & X86_FLAGS_IF);
}

static void guest_no_match(void)
{
	xapic_enable();
	guest_sti();
	GUEST_SYNC(1);
	GUEST_ASSERT(!xapic_vec_bit(APIC_IRR, 0x60));
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 0);
	GUEST_DONE();
}

/* Bad requests fail with EINVAL; one that matches no APIC succeeds. */
TEST_F_TIMEOUT(irq, vmm_interrupt_invalid_and_unmatched, 60)
{
	static const struct vhv_interrupt bad[] = {
		{ .type = VHV_INTERRUPT_FIXED, .vector = 15 },
		{ .type = VHV_INTERRUPT_FIXED, .vector = 0 },
		{ .type = VHV_INTERRUPT_LOWEST, .vector = 3 },
		{ .type = 2, .vector = 0x40 },
		{ .type = 3, .vector = 0x40 },
		{ .type = 8, .vector = 0x40 },
		{ .type = VHV_INTERRUPT_FIXED, .vector = 0x40, .flags = 0x4 },
		{ .type = VHV_INTERRUPT_FIXED, .vector = 0x40, .reserved = 1 },
	};
	struct vhv_partition *part = self->part;
	struct vhv_interrupt irq;
	unsigned int i;
	int ret;

	self->vp = vp_add(part, 0, guest_no_match);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		irq = bad[i];
		ret = __part_request_interrupt(part, &irq);
		EXPECT_EQ(-1, ret) TH_LOG("request #%u", i);
		EXPECT_EQ(EINVAL, errno) TH_LOG("request #%u", i);
	}
	/* No APIC with ID 7, nor logical ID 0x80. */
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, 0x60, 7, 0);
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, 0x60, 0x80,
			       VHV_INTERRUPT_LOGICAL);
	vp_expect_done(self->vp);
	EXPECT_EQ(0U, host_irq_n(part));
}

/* EOI of a level vector registered for EOI exits. */
#define LEVEL_VEC	0x70
#define LEVEL_VEC2	0x71

static u64 eoi_next_rip;

static void level_handler(struct ex_regs *regs)
{
	irq_record(regs);
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, %0\n\t"
		     "movl $0, (%1)\n\t"
		     "1:"
		     : "=m"(eoi_next_rip)
		     : "r"(APIC_BASE_GPA + APIC_EOI)
		     : "rax", "memory");
}

static void guest_level(void)
{
	xapic_enable();
	guest_sti();
	GUEST_SYNC(1);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 1);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 2);
	GUEST_SYNC(3);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 3);
	GUEST_SYNC(4);
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 4);
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_DONE();
}

/*
 * Level-triggered and registered: VHV_EXIT_EOI with the vector, RIP past
 * the EOI write, and the next RUN continues.  Level but unregistered,
 * edge but registered, and level after the bitmap is cleared: no exit.
 */
TEST_F_TIMEOUT(irq, level_eoi_exit, 60)
{
	struct vhv_partition *part = self->part;
	struct vhv_vp *vp;
	u64 bitmap[4] = { 0 };
	struct vhv_regs regs;
	u64 next;

	part_install_irq_handler(part, LEVEL_VEC, level_handler);
	part_install_irq_handler(part, LEVEL_VEC2, level_handler);
	vp = vp_add(part, 0, guest_level);
	self->vp = vp;
	bitmap[LEVEL_VEC / 64] |= 1ULL << (LEVEL_VEC % 64);
	part_set_eoi_exits(part, bitmap);

	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LEVEL_VEC, 0,
			       VHV_INTERRUPT_LEVEL);
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_EOI);
	EXPECT_EQ((u32)LEVEL_VEC, vp->run->eoi.vector);
	next = *guest_ptr(part, eoi_next_rip);
	EXPECT_NE(0ULL, next);
	EXPECT_EQ(next, vp->run->rip);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(next, regs.rip);
	EXPECT_EQ(2ULL, vp_expect_sync(vp));

	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LEVEL_VEC2, 0,
			       VHV_INTERRUPT_LEVEL);
	EXPECT_EQ(3ULL, vp_expect_sync(vp));

	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LEVEL_VEC, 0, 0);
	EXPECT_EQ(4ULL, vp_expect_sync(vp));

	memset(bitmap, 0, sizeof(bitmap));
	part_set_eoi_exits(part, bitmap);
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, LEVEL_VEC, 0,
			       VHV_INTERRUPT_LEVEL);
	vp_expect_done(vp);

	ASSERT_EQ(4U, host_irq_n(part));
	EXPECT_EQ((u32)LEVEL_VEC, host_irq_vec(part, 0));
	EXPECT_EQ((u32)LEVEL_VEC2, host_irq_vec(part, 1));
	EXPECT_EQ((u32)LEVEL_VEC, host_irq_vec(part, 2));
	EXPECT_EQ((u32)LEVEL_VEC, host_irq_vec(part, 3));
	EXPECT_EQ(1U, guest_ptr(part, irq_tmr)[0][0]);
	EXPECT_EQ(1U, guest_ptr(part, irq_tmr)[0][1]);
	EXPECT_EQ(0U, guest_ptr(part, irq_tmr)[0][2]);
	EXPECT_EQ(1U, guest_ptr(part, irq_tmr)[0][3]);
}

#define EXTINT_VEC	0x31
#define EXTINT_FIXED	0x32

/* An ExtINT has no ISR bit and needs no EOI. */
static void extint_handler(struct ex_regs *regs)
{
	irq_record(regs);
}

static void guest_extint(void)
{
	xapic_enable();
	xapic_write_reg(APIC_TASKPRI, 0xf0);
	guest_cli();
	GUEST_SYNC(1);
	/* IF=0 holds both. */
	GUEST_ASSERT_EQ(READ_ONCE(irq_n), 0);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, EXTINT_FIXED));
	asm volatile("sti; nop; cli" : : : "memory");
	/* The ExtINT ignores the TPR; the fixed one does not. */
	GUEST_ASSERT_TAKEN(1);
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_ASSERT_EQ(xapic_ppr(), 0xf0);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, EXTINT_FIXED));
	xapic_write_reg(APIC_TASKPRI, 0);
	asm volatile("sti; nop; cli" : : : "memory");
	GUEST_ASSERT_TAKEN(2);
	GUEST_ASSERT(xapic_isr_empty());
	guest_sti();
	GUEST_DONE();
}

/* ExtINT: like an 8259's INTR, held by IF only, outside ISR/EOI. */
TEST_F_TIMEOUT(irq, extint_delivery, 60)
{
	struct vhv_partition *part = self->part;

	part_install_irq_handler(part, EXTINT_VEC, extint_handler);
	self->vp = vp_add(part, 0, guest_extint);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	part_request_interrupt(part, VHV_INTERRUPT_EXTINT, EXTINT_VEC, 0, 0);
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, EXTINT_FIXED, 0, 0);
	vp_expect_done(self->vp);
	ASSERT_EQ(2U, host_irq_n(part));
	EXPECT_EQ((u32)EXTINT_VEC, host_irq_vec(part, 0));
	EXPECT_EQ(0U, guest_ptr(part, irq_isr)[0][0]);
	EXPECT_EQ(0U, guest_ptr(part, irq_irr)[0][0]);
	EXPECT_EQ((u32)EXTINT_FIXED, host_irq_vec(part, 1));
	EXPECT_EQ(1U, guest_ptr(part, irq_isr)[0][1]);
	EXPECT_EQ(0U, guest_ptr(part, irq_irr)[0][1]);
}

#define SHADOW_VEC	0x50
static u64 shadow_expect[3];

static void guest_sti_shadow(void)
{
	u64 after;

	xapic_enable();

	/* Pending at STI: taken after the next instruction, a NOP. */
	guest_cli();
	self_ipi(SHADOW_VEC);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, SHADOW_VEC));
	asm volatile("sti\n\t"
		     "nop\n\t"
		     "1: cli\n\t"
		     "lea 1b(%%rip), %0" : "=r"(after) : : "memory");
	shadow_expect[0] = after;
	GUEST_ASSERT_TAKEN(1);

	/* The instruction in the shadow exits (an emulated APIC read). */
	self_ipi(SHADOW_VEC);
	asm volatile("sti\n\t"
		     "mov (%1), %%eax\n\t"
		     "1: cli\n\t"
		     "lea 1b(%%rip), %0"
		     : "=r"(after) : "r"(APIC_BASE_GPA + APIC_ID)
		     : "rax", "memory");
	shadow_expect[1] = after;
	GUEST_ASSERT_TAKEN(2);

	/* Requested by the VMM while the VP was out at a ucall. */
	GUEST_SYNC(1);
	GUEST_ASSERT(xapic_vec_bit(APIC_IRR, SHADOW_VEC));
	asm volatile("sti\n\t"
		     "nop\n\t"
		     "1: cli\n\t"
		     "lea 1b(%%rip), %0" : "=r"(after) : : "memory");
	shadow_expect[2] = after;
	GUEST_ASSERT_TAKEN(3);
	guest_sti();
	GUEST_DONE();
}

/* The STI interrupt shadow: the handler's frame shows where it hit. */
TEST_F_TIMEOUT(irq, sti_interrupt_shadow, 60)
{
	struct vhv_partition *part = self->part;
	unsigned int i;

	self->vp = vp_add(part, 0, guest_sti_shadow);
	EXPECT_EQ(1ULL, vp_expect_sync(self->vp));
	part_request_interrupt(part, VHV_INTERRUPT_FIXED, SHADOW_VEC, 0, 0);
	vp_expect_done(self->vp);
	ASSERT_EQ(3U, host_irq_n(part));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ((u32)SHADOW_VEC, host_irq_vec(part, i));
		EXPECT_EQ(guest_ptr(part, shadow_expect)[0][i],
			  guest_ptr(part, irq_rip)[0][i]) TH_LOG("case %u", i);
	}
}

TEST_HARNESS_MAIN
