// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-VP partitions, one host thread per VP: IPIs in every destination
 * mode and shorthand, INIT/SIPI bring-up of APs in real mode, 64 VPs,
 * VPs added while others run, and a VP closed while it receives IPIs.
 *
 * The IPI tests share one guest: every VP enables its APIC (xAPIC or
 * x2APIC), programs the DFR/LDR/TPR the host chose, and waits in HLT;
 * the sender VP sends a list of IPIs, each with its own vector, and
 * waits until as many have arrived as the host expects.  Handlers count
 * per receiving VP and vector; the host compares every count with the
 * recipients it computes from the destination rules.
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

#define WAIT_MS		10000	/* guest-side bound of a wait, in TSC ms */
#define MAX_IPI_VPS	8
#define MAX_SENDS	16
#define WAKE_VEC	0xfe	/* the host's "look at the done flag" */
#define NMI_VECTOR	2
#define ESR_SEND_ILLEGAL	0x20

struct ipi_send {
	u32 dest;		/* xAPIC: 8-bit ID or logical; x2APIC: 32-bit */
	u32 icr;		/* ICR low: vector, mode, shorthand, ... */
};

struct ipi_cfg {
	u32 x2apic;
	u32 sender;		/* VP index */
	u32 nr;
	u32 ids[MAX_IPI_VPS];	/* VP indexes, ascending */
	u32 dfr;		/* xAPIC DFR to set, 0: leave the default */
	u32 ldr[VHV_MAX_VPS];	/* xAPIC LDR to set, 0: leave it */
	u32 tpr[VHV_MAX_VPS];
	u32 nr_sends;
	struct ipi_send sends[MAX_SENDS];
	u32 expected_total;	/* handler calls the sender waits for */
};

/* ---------------------------------------------------------------------
 * Guest side.
 */
static struct ipi_cfg ipi_cfg;
static u32 ipi_ready;
static u32 ipi_done;
static u32 ipi_total;
static u8 ipi_count[VHV_MAX_VPS][256];
static u32 ipi_esr[MAX_SENDS];
static u32 ipi_ldr_seen[VHV_MAX_VPS];
static u32 ipi_id_seen[VHV_MAX_VPS];

static bool guest_x2(void)
{
	return READ_ONCE(ipi_cfg.x2apic);
}

static u32 apic_rd(u32 reg)
{
	return guest_x2() ? (u32)x2apic_read_reg(reg) : xapic_read_reg(reg);
}

static void apic_wr(u32 reg, u32 val)
{
	if (guest_x2())
		x2apic_write_reg(reg, val);
	else
		xapic_write_reg(reg, val);
}

static u32 apic_id(void)
{
	return guest_x2() ? (u32)x2apic_read_reg(APIC_ID) :
			    xapic_read_reg(APIC_ID) >> 24;
}

static void send_ipi(u32 dest, u32 icr)
{
	if (guest_x2())
		x2apic_send_ipi(dest, icr);
	else
		xapic_send_ipi(dest, icr);
}

/* Wait (bounded) until *p >= want; returns the last value read. */
static u32 guest_wait_ge(u32 *p, u32 want, u64 ms)
{
	u64 end = guest_deadline(ms);
	u32 v;

	while ((v = __atomic_load_n(p, __ATOMIC_ACQUIRE)) < want &&
	       guest_rdtsc() < end)
		asm volatile("pause" : : : "memory");
	return v;
}

/* HLT with interrupts on until *flag is set; no wake-up can be lost. */
static void guest_halt_until(u32 *flag)
{
	for (;;) {
		guest_cli();
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			break;
		guest_sti_hlt();
	}
	guest_sti();
}

static void ipi_count_vec(u32 vec)
{
	u32 id = apic_id();

	if (id < VHV_MAX_VPS)
		ipi_count[id][vec & 0xff]++;
	__atomic_add_fetch(&ipi_total, 1, __ATOMIC_SEQ_CST);
}

static void ipi_handler(struct ex_regs *regs)
{
	ipi_count_vec(regs->vector);
	apic_wr(APIC_EOI, 0);
}

static void ipi_nmi_handler(struct ex_regs *regs)
{
	ipi_count_vec(NMI_VECTOR);
}

static void wake_handler(struct ex_regs *regs)
{
	apic_wr(APIC_EOI, 0);
}

static void guest_ipi_vp(u64 index)
{
	struct ipi_cfg *c = &ipi_cfg;
	u32 i, total;

	if (c->x2apic)
		x2apic_enable();
	else
		xapic_enable();
	ipi_id_seen[index] = apic_id();
	if (!c->x2apic) {
		if (c->dfr)
			xapic_write_reg(APIC_DFR, c->dfr);
		if (c->ldr[index])
			xapic_write_reg(APIC_LDR, c->ldr[index]);
	}
	ipi_ldr_seen[index] = apic_rd(APIC_LDR);
	apic_wr(APIC_TASKPRI, c->tpr[index]);
	guest_sti();
	__atomic_add_fetch(&ipi_ready, 1, __ATOMIC_SEQ_CST);

	if (index == c->sender) {
		GUEST_ASSERT_EQ(guest_wait_ge(&ipi_ready, c->nr, WAIT_MS),
				c->nr);
		for (i = 0; i < c->nr_sends; i++) {
			apic_wr(APIC_ESR, 0);
			send_ipi(c->sends[i].dest, c->sends[i].icr);
			apic_wr(APIC_ESR, 0);
			ipi_esr[i] = apic_rd(APIC_ESR);
		}
		total = guest_wait_ge(&ipi_total, c->expected_total, WAIT_MS);
		GUEST_ASSERT_EQ_CTX(total >= c->expected_total, 1,
				    (u64)total << 32 | c->expected_total);
		GUEST_DONE();
	}
	guest_halt_until(&ipi_done);
	GUEST_DONE();
}

/* ---------------------------------------------------------------------
 * Host side.
 */
FIXTURE(smp) {
	int unused;
};

FIXTURE_SETUP(smp)
{
	/*
	 * This harness runs the test body after a SKIP in the setup: end
	 * the test's process here instead, with the harness's skip status.
	 */
	if (!vhv_check_cap(VHV_CAP_LAPIC))
		SKIP(_exit(255), "no in-kernel local APIC");
}

FIXTURE_TEARDOWN(smp)
{
}

static void *run_done(void *arg)
{
	vp_expect_done(arg);
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void noop_signal(int sig)
{
}

static void install_sigusr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_signal;
	sa.sa_flags = 0;		/* no SA_RESTART: VHV_RUN gets EINTR */
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction failed");
}

/* Signal a thread until *done is set: it may not be in VHV_RUN yet. */
static void kick_until_done(pthread_t thread, u32 *done)
{
	unsigned int i;

	for (i = 0; !__atomic_load_n(done, __ATOMIC_ACQUIRE); i++) {
		TEST_ASSERT(i < 3000, "a VP thread does not leave VHV_RUN");
		pthread_kill(thread, SIGUSR1);
		sleep_ms(20);
	}
}

static u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1U << (id & 15));
}

/* Does a message with this destination reach the APIC of VP id? */
static bool ipi_dest_match(const struct ipi_cfg *c, u32 dest, bool logical,
			   u32 id)
{
	u32 ldr;

	if (c->x2apic) {
		if (dest == 0xffffffff)
			return true;
		if (!logical)
			return dest == id;
		ldr = x2apic_ldr(id);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	dest &= 0xff;
	if (!logical)
		return dest == 0xff || dest == id;
	ldr = c->ldr[id] >> 24;
	if (c->dfr == 0x0fffffff)	/* cluster */
		return ((dest >> 4) == 15 || (dest >> 4) == (ldr >> 4)) &&
		       (dest & ldr & 0xf);
	return dest & ldr;		/* flat */
}

/* expected[VP index][vector], the handler calls and the ESR per send. */
static u32 ipi_expect(const struct ipi_cfg *c,
		      u8 expected[VHV_MAX_VPS][256], u32 *esr)
{
	u32 i, j, total = 0;

	memset(expected, 0, VHV_MAX_VPS * 256);
	for (i = 0; i < c->nr_sends; i++) {
		const struct ipi_send *s = &c->sends[i];
		u32 mode = s->icr & 0x700, vec = s->icr & 0xff;
		u32 shorthand = s->icr & APIC_DEST_ALLBUT;
		bool logical = s->icr & APIC_DEST_LOGICAL;
		bool hit[MAX_IPI_VPS];
		int best = -1;

		esr[i] = 0;
		if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) &&
		    vec < 16) {
			esr[i] = ESR_SEND_ILLEGAL;
			continue;
		}
		for (j = 0; j < c->nr; j++) {
			u32 id = c->ids[j];

			switch (shorthand) {
			case APIC_DEST_SELF:
				hit[j] = id == c->sender;
				break;
			case APIC_DEST_ALLINC:
				hit[j] = true;
				break;
			case APIC_DEST_ALLBUT:
				hit[j] = id != c->sender;
				break;
			default:
				hit[j] = ipi_dest_match(c, s->dest, logical,
							id);
			}
		}
		if (mode == APIC_DM_LOWEST) {
			/* Lowest TPR (= PPR here); ties: lowest index. */
			for (j = 0; j < c->nr; j++) {
				if (!hit[j])
					continue;
				if (best < 0 ||
				    c->tpr[c->ids[j]] < c->tpr[c->ids[best]])
					best = j;
			}
			for (j = 0; j < c->nr; j++)
				hit[j] = (int)j == best;
		}
		if (mode == APIC_DM_NMI)
			vec = NMI_VECTOR;
		for (j = 0; j < c->nr; j++) {
			if (!hit[j])
				continue;
			expected[c->ids[j]][vec]++;
			total++;
		}
	}
	return total;
}

static void run_ipi_case(struct __test_metadata *_metadata,
			 struct ipi_cfg *cfg)
{
	static u8 expected[VHV_MAX_VPS][256];
	struct vhv_partition *part;
	pthread_t threads[MAX_IPI_VPS];
	u32 esr[MAX_SENDS];
	unsigned int i, v, sender_slot = 0;
	u8 (*count)[256];

	TEST_ASSERT(cfg->nr <= MAX_IPI_VPS && cfg->nr_sends <= MAX_SENDS,
		    "bad test case");
	cfg->expected_total = ipi_expect(cfg, expected, esr);

	part = part_create_flags(VHV_DEFAULT_RAM,
				 cfg->x2apic ? VHV_PARTITION_X2APIC : 0);
	/* Vectors 16-31 are legal IPIs too (they reach exception gates). */
	for (v = 16; v < VHV_NR_VECTORS; v++)
		part_install_irq_handler(part, v, ipi_handler);
	part_install_irq_handler(part, WAKE_VEC, wake_handler);
	part_install_exception_handler(part, NMI_VECTOR, ipi_nmi_handler);
	*guest_ptr(part, ipi_cfg) = *cfg;

	for (i = 0; i < cfg->nr; i++) {
		struct vhv_vp *vp = vp_add(part, cfg->ids[i],
					   GUEST_CODE(guest_ipi_vp));

		vp_args_set(vp, 1, (u64)cfg->ids[i]);
		if (cfg->ids[i] == cfg->sender)
			sender_slot = i;
	}
	for (i = 0; i < cfg->nr; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_done,
					    part->vps[cfg->ids[i]]));

	/* The sender is done when everything expected has arrived. */
	ASSERT_EQ(0, pthread_join(threads[sender_slot], NULL));
	__atomic_store_n(guest_ptr(part, ipi_done), 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < cfg->nr; i++)
		if (i != sender_slot)
			part_request_interrupt(part, VHV_INTERRUPT_FIXED,
					       WAKE_VEC, cfg->ids[i], 0);
	for (i = 0; i < cfg->nr; i++)
		if (i != sender_slot)
			ASSERT_EQ(0, pthread_join(threads[i], NULL));

	count = *guest_ptr(part, ipi_count);
	for (i = 0; i < cfg->nr; i++) {
		u32 id = cfg->ids[i];

		EXPECT_EQ(id, guest_ptr(part, ipi_id_seen)[0][id]);
		if (cfg->x2apic) {
			EXPECT_EQ(x2apic_ldr(id),
				  guest_ptr(part, ipi_ldr_seen)[0][id])
				TH_LOG("x2APIC LDR of VP %u", id);
		} else if (cfg->ldr[id]) {
			EXPECT_EQ(cfg->ldr[id],
				  guest_ptr(part, ipi_ldr_seen)[0][id])
				TH_LOG("LDR of VP %u", id);
		}
		for (v = 0; v < 256; v++) {
			if (v == WAKE_VEC || count[id][v] == expected[id][v])
				continue;
			EXPECT_EQ(expected[id][v], count[id][v])
				TH_LOG("VP %u, vector 0x%x", id, v);
		}
	}
	for (i = 0; i < cfg->nr_sends; i++)
		EXPECT_EQ(esr[i], guest_ptr(part, ipi_esr)[0][i])
			TH_LOG("ESR after send #%u (icr 0x%x dest 0x%x)", i,
			       cfg->sends[i].icr, cfg->sends[i].dest);
	part_free(part);
}

static void cfg_init(struct ipi_cfg *c, u32 nr, u32 sender)
{
	u32 i;

	memset(c, 0, sizeof(*c));
	c->nr = nr;
	c->sender = sender;
	for (i = 0; i < nr; i++)
		c->ids[i] = i;
}

static void cfg_send(struct ipi_cfg *c, u32 dest, u32 icr)
{
	TEST_ASSERT(c->nr_sends < MAX_SENDS, "too many sends");
	c->sends[c->nr_sends].dest = dest;
	c->sends[c->nr_sends].icr = icr | APIC_INT_ASSERT;
	c->nr_sends++;
}

/* Physical destinations: each VP, the broadcast ID, an absent ID. */
TEST_F_TIMEOUT(smp, ipi_physical, 60)
{
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 0);
	for (i = 0; i < 4; i++)
		cfg_send(&c, i, APIC_DM_FIXED | (0x40 + i));
	cfg_send(&c, 0xff, APIC_DM_FIXED | 0x50);
	cfg_send(&c, 9, APIC_DM_FIXED | 0x51);
	run_ipi_case(_metadata, &c);
}

/* Logical flat: dest & LDR[31:24]; VP 3 has two LDR bits. */
TEST_F_TIMEOUT(smp, ipi_logical_flat, 60)
{
	static const u32 ldr[] = { 0x01, 0x02, 0x04, 0x0a };
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 1);
	c.dfr = 0xffffffff;
	for (i = 0; i < 4; i++)
		c.ldr[i] = ldr[i] << 24;
	cfg_send(&c, 0x01, APIC_DEST_LOGICAL | 0x41);
	cfg_send(&c, 0x06, APIC_DEST_LOGICAL | 0x42);
	cfg_send(&c, 0x08, APIC_DEST_LOGICAL | 0x43);
	cfg_send(&c, 0x10, APIC_DEST_LOGICAL | 0x44);
	cfg_send(&c, 0x0f, APIC_DEST_LOGICAL | 0x45);
	run_ipi_case(_metadata, &c);
}

/* Logical cluster: dest[7:4] == cluster (15: all), dest[3:0] & LDR. */
TEST_F_TIMEOUT(smp, ipi_logical_cluster, 60)
{
	static const u32 ldr[] = { 0x01, 0x02, 0x11, 0x12 };
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 2);
	c.dfr = 0x0fffffff;
	for (i = 0; i < 4; i++)
		c.ldr[i] = ldr[i] << 24;
	cfg_send(&c, 0x01, APIC_DEST_LOGICAL | 0x41);
	cfg_send(&c, 0x03, APIC_DEST_LOGICAL | 0x42);
	cfg_send(&c, 0x11, APIC_DEST_LOGICAL | 0x43);
	cfg_send(&c, 0x13, APIC_DEST_LOGICAL | 0x44);
	cfg_send(&c, 0xf1, APIC_DEST_LOGICAL | 0x45);
	cfg_send(&c, 0x21, APIC_DEST_LOGICAL | 0x46);
	cfg_send(&c, 0x12, APIC_DEST_LOGICAL | 0x47);
	run_ipi_case(_metadata, &c);
}

/* x2APIC physical: 32-bit IDs and the 0xffffffff broadcast. */
TEST_F_TIMEOUT(smp, ipi_x2apic_physical, 60)
{
	struct ipi_cfg c;
	u32 i;

	if (!vhv_check_cap(VHV_CAP_X2APIC))
		SKIP(return, "no x2APIC");
	cfg_init(&c, 4, 0);
	c.x2apic = 1;
	for (i = 0; i < 4; i++)
		cfg_send(&c, i, APIC_DM_FIXED | (0x40 + i));
	cfg_send(&c, 0xffffffff, APIC_DM_FIXED | 0x50);
	cfg_send(&c, 0xff, APIC_DM_FIXED | 0x51);	/* not a broadcast */
	cfg_send(&c, 0x100, APIC_DM_FIXED | 0x52);
	cfg_send(&c, 0, APIC_DEST_ALLBUT | 0x53);
	run_ipi_case(_metadata, &c);
}

/* x2APIC logical: cluster = ID[31:4], bit 1 << ID[3:0]; VP 17 is in 1. */
TEST_F_TIMEOUT(smp, ipi_x2apic_logical, 60)
{
	struct ipi_cfg c;

	if (!vhv_check_cap(VHV_CAP_X2APIC))
		SKIP(return, "no x2APIC");
	cfg_init(&c, 4, 0);
	c.x2apic = 1;
	c.ids[3] = 17;
	cfg_send(&c, 0x00000005, APIC_DEST_LOGICAL | 0x41);
	cfg_send(&c, 0x00000002, APIC_DEST_LOGICAL | 0x42);
	cfg_send(&c, 0x00010002, APIC_DEST_LOGICAL | 0x43);
	cfg_send(&c, 0x00010001, APIC_DEST_LOGICAL | 0x44);
	cfg_send(&c, 0x0000ffff, APIC_DEST_LOGICAL | 0x45);
	cfg_send(&c, 0xffffffff, APIC_DEST_LOGICAL | 0x46);
	run_ipi_case(_metadata, &c);
}

/* Self, all including self, all excluding self (sender VP 1). */
TEST_F_TIMEOUT(smp, ipi_shorthands, 60)
{
	struct ipi_cfg c;

	cfg_init(&c, 4, 1);
	cfg_send(&c, 0, APIC_DEST_SELF | 0x60);
	cfg_send(&c, 0, APIC_DEST_ALLINC | 0x61);
	cfg_send(&c, 0, APIC_DEST_ALLBUT | 0x62);
	/* The destination field is ignored with a shorthand. */
	cfg_send(&c, 3, APIC_DEST_SELF | 0x63);
	run_ipi_case(_metadata, &c);
}

/* Lowest priority: exactly one VP, the one with the lowest TPR. */
TEST_F_TIMEOUT(smp, ipi_lowest_priority, 60)
{
	static const u32 tpr[] = { 0x20, 0x30, 0x10, 0x30 };
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 0);
	c.dfr = 0xffffffff;
	for (i = 0; i < 4; i++) {
		c.ldr[i] = (1U << i) << 24;
		c.tpr[i] = tpr[i];
	}
	cfg_send(&c, 0x0f, APIC_DEST_LOGICAL | APIC_DM_LOWEST | 0x90);
	cfg_send(&c, 0x0b, APIC_DEST_LOGICAL | APIC_DM_LOWEST | 0x91);
	cfg_send(&c, 0x0a, APIC_DEST_LOGICAL | APIC_DM_LOWEST | 0x92);
	cfg_send(&c, 0x03, APIC_DM_LOWEST | 0x93);	/* physical */
	run_ipi_case(_metadata, &c);
}

/* NMI IPIs, physical and logical, to others and to the sender itself. */
TEST_F_TIMEOUT(smp, ipi_nmi, 60)
{
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 0);
	c.dfr = 0xffffffff;
	for (i = 0; i < 4; i++)
		c.ldr[i] = (1U << i) << 24;
	cfg_send(&c, 1, APIC_DM_NMI);
	cfg_send(&c, 0, APIC_DM_NMI);
	cfg_send(&c, 0x0c, APIC_DEST_LOGICAL | APIC_DM_NMI);
	run_ipi_case(_metadata, &c);
}

/* Vectors 0-15 in fixed/lowest mode are not sent and set ESR bit 5. */
TEST_F_TIMEOUT(smp, ipi_illegal_vector, 60)
{
	struct ipi_cfg c;
	u32 i;

	cfg_init(&c, 4, 0);
	c.dfr = 0xffffffff;
	for (i = 0; i < 4; i++)
		c.ldr[i] = (1U << i) << 24;
	cfg_send(&c, 1, APIC_DM_FIXED | 0x05);
	cfg_send(&c, 1, APIC_DM_FIXED | 0x40);	/* fine: ESR clear again */
	cfg_send(&c, 0, APIC_DEST_ALLBUT | APIC_DM_FIXED | 0x00);
	cfg_send(&c, 0x06, APIC_DEST_LOGICAL | APIC_DM_LOWEST | 0x0f);
	cfg_send(&c, 2, APIC_DM_FIXED | 0x10);	/* 16 is legal */
	run_ipi_case(_metadata, &c);
}

/* ---------------------------------------------------------------------
 * INIT/SIPI: the BSP (VP 0, long mode) starts 8 APs in real mode.
 */
#define NR_APS		8
#define SIPI_VEC	0x09
#define SIPI_PORT	0x5050
#define SIPI_DATA	0x5a

/* At SIPI_VEC << 12; the offsets are IP values. */
static const u8 sipi_code[] = {
	0xb0, SIPI_DATA,		/* 0: mov $0x5a, %al */
	0xba, 0x50, 0x50,		/* 2: mov $0x5050, %dx */
	0xee,				/* 5: out %al, (%dx) */
	0xf4,				/* 6: hlt */
	0xeb, 0xfd,			/* 7: jmp 6 */
};

#define SIPI_OUT_IP	5
#define SIPI_HLT_IP	6
#define SIPI_END_IP	9

static void guest_sipi_bsp(u64 nr_aps)
{
	u32 i;

	xapic_enable();
	for (i = 1; i <= nr_aps; i++)
		xapic_send_ipi(i, APIC_DM_INIT | APIC_INT_ASSERT |
			       APIC_INT_LEVELTRIG);
	/* INIT de-assert, to everyone as of old: ignored. */
	xapic_send_ipi(0, APIC_DEST_ALLINC | APIC_DM_INIT |
		       APIC_INT_LEVELTRIG);
	xapic_send_ipi(0, APIC_DEST_ALLBUT | APIC_DM_STARTUP | SIPI_VEC);
	GUEST_SYNC(1);
	/* All APs run: a second SIPI, and one to the BSP, are ignored. */
	xapic_send_ipi(0, APIC_DEST_ALLBUT | APIC_DM_STARTUP | SIPI_VEC);
	xapic_send_ipi(0, APIC_DM_STARTUP | SIPI_VEC);
	GUEST_SYNC(2);
	GUEST_DONE();
}

struct ap_thread {
	struct vhv_vp *vp;
	pthread_t thread;
	u32 started;		/* reported its first exit */
	u32 done;
	u32 *nr_started;
};

static void *ap_run(void *arg)
{
	struct ap_thread *ap = arg;
	struct vhv_vp *vp = ap->vp;
	struct vhv_sregs sregs;
	struct vhv_regs regs;
	int ret;

	/* Blocks in the kernel until INIT and SIPI. */
	vp_run(vp);
	assert_io_exit(vp, SIPI_PORT, 1, VHV_IO_OUT, false);
	TEST_ASSERT(*(u8 *)vp_io_data(vp) == SIPI_DATA,
		    "AP %u: wrote 0x%x", vp->index, *(u8 *)vp_io_data(vp));
	TEST_ASSERT(vp->run->rip == SIPI_OUT_IP, "AP %u: exit at RIP 0x%llx",
		    vp->index, (unsigned long long)vp->run->rip);
	vp_sregs_get(vp, &sregs);
	TEST_ASSERT(sregs.cs.selector == SIPI_VEC << 8 &&
		    sregs.cs.base == SIPI_VEC << 12,
		    "AP %u: CS selector 0x%x base 0x%llx", vp->index,
		    sregs.cs.selector, (unsigned long long)sregs.cs.base);
	TEST_ASSERT(!(sregs.cr0 & X86_CR0_PE), "AP %u: CR0 0x%llx",
		    vp->index, (unsigned long long)sregs.cr0);
	TEST_ASSERT(vp_get_mp_state(vp) == VHV_MP_RUNNABLE,
		    "AP %u: MP state %u after the SIPI", vp->index,
		    vp_get_mp_state(vp));
	__atomic_store_n(&ap->started, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(ap->nr_started, 1, __ATOMIC_SEQ_CST);

	/*
	 * Now it halts.  Later SIPIs must not restart it: the only way out
	 * is the host's signal.
	 */
	ret = __vp_run(vp);
	TEST_ASSERT(ret == -1 && errno == EINTR,
		    "AP %u: VHV_RUN returned %d errno %d, exit %s", vp->index,
		    ret, errno, vp_exit_str(vp));
	TEST_ASSERT_EXIT(vp, VHV_EXIT_INTR);
	vp_regs_get(vp, &regs);
	vp_sregs_get(vp, &sregs);
	TEST_ASSERT(regs.rip >= SIPI_HLT_IP && regs.rip < SIPI_END_IP &&
		    sregs.cs.selector == SIPI_VEC << 8,
		    "AP %u: at %x:%llx after the signal", vp->index,
		    sregs.cs.selector, (unsigned long long)regs.rip);
	TEST_ASSERT(vp_get_mp_state(vp) == VHV_MP_HALTED,
		    "AP %u: MP state %u in HLT", vp->index,
		    vp_get_mp_state(vp));
	__atomic_store_n(&ap->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(smp, init_sipi_bringup, 90)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct ap_thread aps[NR_APS + 1];
	u32 nr_started = 0;
	struct vhv_vp *bsp;
	unsigned int i;

	install_sigusr1();
	part_write(part, SIPI_VEC << 12, sipi_code, sizeof(sipi_code));
	bsp = vp_add(part, 0, GUEST_CODE(guest_sipi_bsp));
	vp_args_set(bsp, 1, (u64)NR_APS);
	EXPECT_EQ((u32)VHV_MP_RUNNABLE, vp_get_mp_state(bsp));
	memset(aps, 0, sizeof(aps));
	for (i = 1; i <= NR_APS; i++) {
		aps[i].vp = vp_create(part, i);
		aps[i].nr_started = &nr_started;
		EXPECT_EQ((u32)VHV_MP_WAIT_SIPI, vp_get_mp_state(aps[i].vp))
			TH_LOG("AP %u", i);
	}
	for (i = 1; i <= NR_APS; i++)
		ASSERT_EQ(0, pthread_create(&aps[i].thread, NULL, ap_run,
					    &aps[i]));
	/* No AP may run before its SIPI. */
	sleep_ms(100);
	EXPECT_EQ(0U, __atomic_load_n(&nr_started, __ATOMIC_SEQ_CST));

	EXPECT_EQ(1ULL, vp_expect_sync(bsp));
	for (i = 0; __atomic_load_n(&nr_started, __ATOMIC_SEQ_CST) < NR_APS;
	     i++) {
		ASSERT_LT(i, 6000U) TH_LOG("%u of %u APs started", nr_started,
					   NR_APS);
		sleep_ms(10);
	}
	EXPECT_EQ(2ULL, vp_expect_sync(bsp));
	vp_expect_done(bsp);
	/* Give a wrongly accepted SIPI time to show. */
	sleep_ms(200);
	for (i = 1; i <= NR_APS; i++) {
		kick_until_done(aps[i].thread, &aps[i].done);
		ASSERT_EQ(0, pthread_join(aps[i].thread, NULL));
	}
	part_free(part);
}

/* ---------------------------------------------------------------------
 * 64 VPs: each says hello with a ucall and an IPI to VP 0.
 */
#define MANY_VEC	0x40
static u32 many_hello;
static u32 many_hits;

static void many_handler(struct ex_regs *regs)
{
	WRITE_ONCE(many_hits, READ_ONCE(many_hits) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_many_bsp(u64 nr)
{
	xapic_enable();
	GUEST_SYNC(0);
	for (;;) {
		guest_cli();
		if (__atomic_load_n(&many_hello, __ATOMIC_ACQUIRE) == nr - 1)
			break;
		guest_sti_hlt();
	}
	/* Past the STI shadow: a pending IPI is taken by now. */
	asm volatile("sti; nop" : : : "memory");
	GUEST_ASSERT(READ_ONCE(many_hits) >= 1);
	GUEST_DONE();
}

static void guest_many_ap(u64 index)
{
	xapic_enable();
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID) >> 24, index);
	GUEST_SYNC(index);
	__atomic_add_fetch(&many_hello, 1, __ATOMIC_SEQ_CST);
	xapic_send_ipi(0, APIC_DM_FIXED | APIC_INT_ASSERT | MANY_VEC);
	GUEST_DONE();
}

static void *run_many_ap(void *arg)
{
	struct vhv_vp *vp = arg;
	u64 got = vp_expect_sync(vp);

	TEST_ASSERT(got == vp->index, "VP %u synced %llu", vp->index,
		    (unsigned long long)got);
	vp_expect_done(vp);
	return NULL;
}

TEST_F_TIMEOUT(smp, vps_64_start_and_teardown, 120)
{
	struct vhv_partition *part;
	pthread_t threads[VHV_MAX_VPS];
	unsigned int i, nr;
	u32 hits;

	nr = vhv_check_cap(VHV_CAP_MAX_VPS);
	ASSERT_GE(nr, 64U);
	nr = 64;
	part = part_create(VHV_DEFAULT_RAM);
	part_install_irq_handler(part, MANY_VEC, many_handler);
	vp_args_set(vp_add(part, 0, GUEST_CODE(guest_many_bsp)), 1,
		    (u64)nr);
	for (i = 1; i < nr; i++)
		vp_args_set(vp_add(part, i, GUEST_CODE(guest_many_ap)), 1,
			    (u64)i);
	/* VP 0's APIC is on before anyone sends to it. */
	EXPECT_EQ(0ULL, vp_expect_sync(part->vps[0]));
	ASSERT_EQ(0, pthread_create(&threads[0], NULL, run_done,
				    part->vps[0]));
	for (i = 1; i < nr; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_many_ap,
					    part->vps[i]));
	for (i = 0; i < nr; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	EXPECT_EQ(nr - 1, *guest_ptr(part, many_hello));
	hits = *guest_ptr(part, many_hits);
	EXPECT_GE(hits, 1U);
	EXPECT_LE(hits, nr - 1);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Dynamic processor addition: VP 3 is created while VPs 0-2 run, then
 * it and VP 0 exchange IPIs.
 */
#define DYN_NR		3
#define DYN_VEC_BSP	0x41	/* new VP -> VP 0 */
#define DYN_VEC_NEW	0x42	/* VP 0 -> new VP */
static u32 dyn_started;
static u32 dyn_new_ready;
static u32 dyn_bsp_got;
static u32 dyn_new_got;

static void dyn_handler(struct ex_regs *regs)
{
	ipi_count_vec(regs->vector);
	if (regs->vector == DYN_VEC_BSP)
		__atomic_store_n(&dyn_bsp_got, 1, __ATOMIC_RELEASE);
	if (regs->vector == DYN_VEC_NEW)
		__atomic_store_n(&dyn_new_got, 1, __ATOMIC_RELEASE);
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_dyn_bsp(u64 new_index)
{
	xapic_enable();
	guest_sti();
	__atomic_store_n(&dyn_started, 1, __ATOMIC_RELEASE);
	guest_halt_until(&dyn_bsp_got);
	GUEST_ASSERT_EQ(READ_ONCE(dyn_new_ready), 1);
	xapic_send_ipi(new_index, APIC_DM_FIXED | APIC_INT_ASSERT |
		       DYN_VEC_NEW);
	GUEST_DONE();
}

static void guest_dyn_idle(void)
{
	xapic_enable();
	guest_sti();
	guest_halt_until(&ipi_done);
	GUEST_DONE();
}

static void guest_dyn_new(u64 index)
{
	xapic_enable();
	guest_sti();
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID) >> 24, index);
	__atomic_store_n(&dyn_new_ready, 1, __ATOMIC_RELEASE);
	xapic_send_ipi(0, APIC_DM_FIXED | APIC_INT_ASSERT | DYN_VEC_BSP);
	guest_halt_until(&dyn_new_got);
	GUEST_DONE();
}

TEST_F_TIMEOUT(smp, dynamic_vp_addition, 60)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	pthread_t threads[DYN_NR + 1];
	struct vhv_vp *vp;
	unsigned int i;
	u8 (*count)[256];

	part_install_irq_handler(part, DYN_VEC_BSP, dyn_handler);
	part_install_irq_handler(part, DYN_VEC_NEW, dyn_handler);
	part_install_irq_handler(part, WAKE_VEC, wake_handler);
	vp = vp_add(part, 0, GUEST_CODE(guest_dyn_bsp));
	vp_args_set(vp, 1, (u64)DYN_NR);
	for (i = 1; i < DYN_NR; i++)
		vp_add(part, i, guest_dyn_idle);
	for (i = 0; i < DYN_NR; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_done,
					    part->vps[i]));
	for (i = 0; !__atomic_load_n(guest_ptr(part, dyn_started),
				     __ATOMIC_ACQUIRE); i++) {
		ASSERT_LT(i, 6000U);
		sleep_ms(10);
	}
	sleep_ms(20);

	vp = vp_add(part, DYN_NR, GUEST_CODE(guest_dyn_new));
	vp_args_set(vp, 1, (u64)DYN_NR);
	ASSERT_EQ(0, pthread_create(&threads[DYN_NR], NULL, run_done, vp));
	ASSERT_EQ(0, pthread_join(threads[DYN_NR], NULL));
	ASSERT_EQ(0, pthread_join(threads[0], NULL));

	__atomic_store_n(guest_ptr(part, ipi_done), 1, __ATOMIC_SEQ_CST);
	for (i = 1; i < DYN_NR; i++)
		part_request_interrupt(part, VHV_INTERRUPT_FIXED, WAKE_VEC, i,
				       0);
	for (i = 1; i < DYN_NR; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));

	count = *guest_ptr(part, ipi_count);
	EXPECT_EQ(1, count[0][DYN_VEC_BSP]);
	EXPECT_EQ(1, count[DYN_NR][DYN_VEC_NEW]);
	for (i = 1; i < DYN_NR; i++) {
		EXPECT_EQ(0, count[i][DYN_VEC_BSP]);
		EXPECT_EQ(0, count[i][DYN_VEC_NEW]);
	}
	part_free(part);
}

/* ---------------------------------------------------------------------
 * VP 1 is closed while VP 0 keeps sending it IPIs.
 */
#define STORM_VEC	0x44
static u32 storm_started;
static u32 storm_stop;

static void storm_handler(struct ex_regs *regs)
{
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_storm(void)
{
	u64 sent = 0;

	xapic_enable();
	guest_sti();
	__atomic_store_n(&storm_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&storm_stop, __ATOMIC_ACQUIRE)) {
		xapic_send_ipi(1, APIC_DM_FIXED | APIC_INT_ASSERT |
			       STORM_VEC);
		if (sent % 4 == 3)
			xapic_send_ipi(0, APIC_DEST_ALLBUT | APIC_DM_NMI |
				       APIC_INT_ASSERT);
		sent++;
	}
	GUEST_SYNC(sent);
	GUEST_DONE();
}

static void guest_storm_target(void)
{
	xapic_enable();
	for (;;)
		guest_sti_hlt();
}

struct target_run {
	int fd;
	int ret;
	int err;
	u32 done;
};

static void *run_target(void *arg)
{
	struct target_run *t = arg;

	t->ret = ioctl(t->fd, VHV_RUN, 0);
	t->err = errno;
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void nmi_ignore(struct ex_regs *regs)
{
}

static void *run_storm_sender(void *arg)
{
	struct vhv_vp *vp = arg;
	u64 sent = vp_expect_sync(vp);

	TEST_ASSERT(sent > 0, "VP 0 sent no IPI");
	vp_expect_done(vp);
	return NULL;
}

TEST_F_TIMEOUT(smp, close_vp_during_ipis, 60)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	u32 *started = guest_ptr(part, storm_started);
	pthread_t sender_thread, target_thread;
	struct target_run t = { 0 };
	struct vhv_vp *sender, *target;
	unsigned int i;

	install_sigusr1();
	part_install_irq_handler(part, STORM_VEC, storm_handler);
	part_install_exception_handler(part, NMI_VECTOR, nmi_ignore);
	sender = vp_add(part, 0, guest_storm);
	target = vp_add(part, 1, guest_storm_target);
	t.fd = target->fd;
	ASSERT_EQ(0, pthread_create(&target_thread, NULL, run_target, &t));
	ASSERT_EQ(0, pthread_create(&sender_thread, NULL, run_storm_sender,
				    sender));
	for (i = 0; !__atomic_load_n(started, __ATOMIC_ACQUIRE); i++) {
		ASSERT_LT(i, 6000U);
		sleep_ms(10);
	}
	sleep_ms(50);

	/* Close the target's fd and run page while it is in VHV_RUN. */
	munmap(target->run, target->run_size);
	close(target->fd);
	sleep_ms(20);
	kick_until_done(target_thread, &t.done);
	ASSERT_EQ(0, pthread_join(target_thread, NULL));
	part->vps[1] = NULL;
	free(target);
	/* The sender keeps sending to the closed VP for a while. */
	sleep_ms(100);

	__atomic_store_n(guest_ptr(part, storm_stop), 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(sender_thread, NULL));
	part_free(part);
}

TEST_HARNESS_MAIN
