// SPDX-License-Identifier: GPL-2.0
/*
 * The local APIC of each VP (Intel SDM vol. 3 chapter 11, AMD APM vol. 2
 * chapter 16): the xAPIC page and the x2APIC MSRs, the timer, IPIs with
 * INIT and SIPI, and the choice of the next event to inject.
 *
 * Locking is described at struct vhv_lapic: the VP's thread owns the
 * registers, other threads set IRR/TMR bits and event bits atomically
 * and then kick the VP.  Routing walks p->vps[] under p->vps_lock.
 */
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/rcuwait.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/tsc.h>

#include "vhv/vhv.h"
#include "vhv/compat.h"

#define LAPIC_VERSION		(0x14 | (5 << 16))	/* max LVT entry 5 */
#define APICBASE_EXTD		X2APIC_ENABLE
#define APICBASE_EN		MSR_IA32_APICBASE_ENABLE
/* The periodic timer's floor, KVM's default: no hrtimer storm. */
#define MIN_PERIOD_NS		200000ULL
/* TSC deadlines further ahead than this wait this long (~10 years). */
#define MAX_DEADLINE_S		(3650ULL * 86400)

enum { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_DEADLINE };
enum { SH_NONE, SH_SELF, SH_ALL, SH_OTHERS };	/* ICR shorthands */

static const u32 lvt_regs[] = {
	APIC_LVTT, APIC_LVTTHMR, APIC_LVTPC, APIC_LVT0, APIC_LVT1, APIC_LVTERR,
};

static struct vhv_vp *lapic_vp(struct vhv_lapic *l)
{
	return container_of(l, struct vhv_vp, lapic);
}

static u32 lget(struct vhv_lapic *l, u32 off)
{
	return READ_ONCE(l->regs[off >> 2]);
}

static void lset(struct vhv_lapic *l, u32 off, u32 val)
{
	WRITE_ONCE(l->regs[off >> 2], val);
}

/* The word of a 256-bit register (ISR, TMR, IRR) that holds @vec. */
static unsigned long *vec_word(struct vhv_lapic *l, u32 base, u8 vec)
{
	return (unsigned long *)&l->regs[(base + (vec >> 5) * 0x10) >> 2];
}

static int highest_vec(struct vhv_lapic *l, u32 base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = lget(l, base + i * 0x10);

		if (w)
			return i * 32 + __fls(w);
	}
	return -1;
}

static bool x2apic_mode(struct vhv_vp *vp)
{
	return READ_ONCE(vp->apic_base) & APICBASE_EXTD;
}

static bool hw_enabled(struct vhv_vp *vp)
{
	return READ_ONCE(vp->apic_base) & APICBASE_EN;
}

static bool sw_enabled(struct vhv_lapic *l)
{
	return lget(l, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

/* PPR, given the highest vector in service (or -1). */
static u32 ppr_of(struct vhv_lapic *l, int isr)
{
	u32 tpr = lget(l, APIC_TASKPRI) & 0xff;
	u32 isrv = isr < 0 ? 0 : isr & 0xf0;

	return (tpr & 0xf0) >= isrv ? tpr : isrv;
}

static u32 ppr(struct vhv_lapic *l)
{
	return ppr_of(l, highest_vec(l, APIC_ISR));
}

u8 vhv_lapic_tpr(struct vhv_vp *vp)
{
	return lget(&vp->lapic, APIC_TASKPRI);
}

void vhv_lapic_set_tpr(struct vhv_vp *vp, u8 tpr)
{
	lset(&vp->lapic, APIC_TASKPRI, tpr);
}

/* ---- waking a VP ---- */

/*
 * Make @vp look at its APIC soon: wake it if it waits (HLT, SIPI), and
 * take it out of the guest if it runs there.  The caller has set the
 * bit that says why; the barrier orders that store before the load of
 * in_guest, against the VP's store of in_guest before it looks.
 */
void vhv_kick(struct vhv_vp *vp)
{
	int cpu, me;

	/* Order the caller's atomic bit store before the in_guest load. */
	smp_mb__after_atomic();
	rcuwait_wake_up(&vp->wait);
	me = get_cpu();
	cpu = READ_ONCE(vp->cpu);
	if (READ_ONCE(vp->in_guest) && cpu != me && cpu_online(cpu))
		smp_send_reschedule(cpu);
	put_cpu();
}

/* Make @vec pending in IRR; any thread. */
static void set_irr(struct vhv_vp *vp, u8 vec, bool level)
{
	struct vhv_lapic *l = &vp->lapic;

	if (level)
		set_bit(vec & 31, vec_word(l, APIC_TMR, vec));
	else
		clear_bit(vec & 31, vec_word(l, APIC_TMR, vec));
	set_bit(vec & 31, vec_word(l, APIC_IRR, vec));
	vhv_kick(vp);
}

/* Record an error (APIC_ESR_*) and raise the error LVT; any thread. */
static void lapic_error(struct vhv_vp *vp, u32 esr)
{
	struct vhv_lapic *l = &vp->lapic;
	u32 lvt = lget(l, APIC_LVTERR);

	set_bit(__ffs(esr), &l->esr_pending);
	if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		set_irr(vp, lvt & 0xff, false);
}

/* An LVT fires: deliver its vector (fixed mode) if it is not masked. */
static void lvt_fire(struct vhv_vp *vp, u32 lvt)
{
	if (lvt & APIC_LVT_MASKED)
		return;
	if ((lvt & 0xff) < 16)
		lapic_error(vp, APIC_ESR_RECVILL);
	else
		set_irr(vp, lvt & 0xff, false);
}

/* ---- the timer ---- */

static u32 timer_mode(struct vhv_lapic *l)
{
	return (lget(l, APIC_LVTT) >> 17) & 3;
}

static u32 tdcr_divide(u32 tdcr)
{
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	return v == 7 ? 1 : 2 << v;
}

static enum hrtimer_restart timer_fn(struct hrtimer *t)
{
	struct vhv_lapic *l = container_of(t, struct vhv_lapic, timer);

	atomic_inc(&l->fired);
	vhv_kick(lapic_vp(l));
	if (!l->period_ns) {
		WRITE_ONCE(l->deadline, 0);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(t, ns_to_ktime(l->period_ns));
	return HRTIMER_RESTART;
}

static void timer_cancel(struct vhv_lapic *l)
{
	hrtimer_cancel(&l->timer);
	l->period_ns = 0;
}

/* A TMICT write (or a restored state) starts a one-shot/periodic count. */
static void timer_start(struct vhv_lapic *l)
{
	u32 count = lget(l, APIC_TMICT);
	u64 ns;

	timer_cancel(l);
	l->divide = tdcr_divide(lget(l, APIC_TDCR));
	if (!count || timer_mode(l) == TIMER_DEADLINE)
		return;
	/* The timer clock is VHV_APIC_BUS_HZ, 1 GHz: a count is a ns. */
	ns = (u64)count * l->divide;
	if (timer_mode(l) == TIMER_PERIODIC)
		l->period_ns = max(ns, MIN_PERIOD_NS);
	hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

static u32 timer_current(struct vhv_lapic *l)
{
	u32 initial = lget(l, APIC_TMICT);
	s64 left;

	if (!initial || timer_mode(l) == TIMER_DEADLINE ||
	    !hrtimer_active(&l->timer))
		return 0;
	left = ktime_to_ns(hrtimer_get_remaining(&l->timer));
	if (left <= 0)
		return 0;
	return min_t(u64, div_u64(left, l->divide), initial);
}

static void deadline_set(struct vhv_vp *vp, u64 tsc)
{
	struct vhv_lapic *l = &vp->lapic;
	u64 now, ns;

	timer_cancel(l);
	WRITE_ONCE(l->deadline, tsc);
	if (!tsc)
		return;
	if (!tsc_khz || vhv_ops->get_msr(vp, MSR_IA32_TSC, &now) ||
	    tsc <= now) {
		WRITE_ONCE(l->deadline, 0);
		atomic_inc(&l->fired);
		return;
	}
	/* Clamp first: the conversion must not overflow (#DE). */
	ns = min_t(u64, tsc - now, (u64)tsc_khz * 1000 * MAX_DEADLINE_S);
	/* Rounded up: never before the guest's TSC reaches the deadline. */
	ns = mul_u64_u32_div(ns, 1000000, tsc_khz) + 1;
	hrtimer_start(&l->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* Turn counted expiries into a pending timer interrupt; VP thread. */
static void timer_fold(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;

	if (atomic_read(&l->fired) && atomic_xchg(&l->fired, 0))
		lvt_fire(vp, lget(l, APIC_LVTT));
}

/* ---- reset ---- */

static void set_x2apic_id(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;

	lset(l, APIC_ID, vp->index);
	lset(l, APIC_LDR, ((vp->index >> 4) << 16) | BIT(vp->index & 15));
}

/*
 * The power-up state of the registers (SDM 11.4.7.1), with xAPIC ID @id;
 * INIT and a disable keep the ID (SDM 11.4.7.3).
 */
static void reset_regs(struct vhv_vp *vp, u32 id)
{
	struct vhv_lapic *l = &vp->lapic;
	unsigned int i;

	timer_cancel(l);
	atomic_set(&l->fired, 0);
	l->deadline = 0;
	memset(l->regs, 0, PAGE_SIZE);
	lset(l, APIC_ID, id);
	lset(l, APIC_LVR, LAPIC_VERSION);
	lset(l, APIC_DFR, 0xffffffff);
	lset(l, APIC_SPIV, 0xff);
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		lset(l, lvt_regs[i], APIC_LVT_MASKED);
	l->divide = 2;
	l->esr_pending = 0;
	l->eoi_exit = -1;
	if (x2apic_mode(vp))
		set_x2apic_id(vp);
}

/* The xAPIC ID to keep: in x2APIC mode the register holds the x2APIC ID. */
static u32 kept_id(struct vhv_vp *vp)
{
	return x2apic_mode(vp) ? vp->index << 24 :
	       lget(&vp->lapic, APIC_ID) & 0xff000000;
}

/*
 * INIT (keeping the ID) or power-on: the registers and any event not
 * yet taken.
 */
void vhv_lapic_reset(struct vhv_vp *vp, bool init)
{
	clear_bit(VHV_EV_NMI, &vp->lapic.events);
	clear_bit(VHV_EV_EXTINT, &vp->lapic.events);
	reset_regs(vp, init ? kept_id(vp) : vp->index << 24);
}

int vhv_lapic_init(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;

	l->regs = (u32 *)get_zeroed_page(VHV_GFP);
	if (!l->regs)
		return -ENOMEM;
	vhv_hrtimer_setup(&l->timer, timer_fn, CLOCK_MONOTONIC,
			  HRTIMER_MODE_ABS_HARD);
	reset_regs(vp, vp->index << 24);
	return 0;
}

void vhv_lapic_free(struct vhv_vp *vp)
{
	hrtimer_cancel(&vp->lapic.timer);
	free_page((unsigned long)vp->lapic.regs);
}

/* ---- delivery ---- */

/* @vp's APIC receives a message; any thread. */
static void accept(struct vhv_vp *vp, const struct vhv_apic_msg *m)
{
	struct vhv_lapic *l = &vp->lapic;

	if (m->type == VHV_INTERRUPT_EXTINT) {
		WRITE_ONCE(l->extint_vector, m->vector);
		/* The vector before the bit: see vhv_lapic_inject(). */
		smp_mb__before_atomic();
		set_bit(VHV_EV_EXTINT, &l->events);
		vhv_kick(vp);
		return;
	}
	if (!hw_enabled(vp))
		return;
	switch (m->type) {
	case VHV_INTERRUPT_FIXED:
	case VHV_INTERRUPT_LOWEST:
		if (!sw_enabled(l))
			return;
		if (m->vector < 16)
			lapic_error(vp, APIC_ESR_RECVILL);
		else
			set_irr(vp, m->vector, m->level);
		return;
	case VHV_INTERRUPT_NMI:
		set_bit(VHV_EV_NMI, &l->events);
		break;
	case VHV_INTERRUPT_INIT:
		set_bit(VHV_EV_INIT, &l->events);
		break;
	case VHV_INTERRUPT_SIPI:
		WRITE_ONCE(l->sipi_vector, m->vector);
		/* The vector before the bit: see vhv_lapic_accept_events(). */
		smp_mb__before_atomic();
		set_bit(VHV_EV_SIPI, &l->events);
		break;
	default:
		return;
	}
	vhv_kick(vp);
}

/* Does @vp's APIC answer to destination @dest (SDM 11.6.2)? */
static bool dest_match(struct vhv_vp *vp, u32 dest, bool logical)
{
	struct vhv_lapic *l = &vp->lapic;
	u32 ldr = lget(l, APIC_LDR);

	if (x2apic_mode(vp)) {
		if (dest == 0xffffffff)
			return true;
		if (!logical)
			return dest == vp->index;
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	if (dest == 0xffffffff)
		dest = 0xff;
	if (dest > 0xff)
		return false;
	if (!logical)
		return dest == 0xff || dest == lget(l, APIC_ID) >> 24;
	ldr >>= 24;
	if (lget(l, APIC_DFR) >> 28 == 0xf)		/* flat */
		return dest & ldr;
	return ((dest >> 4) == 0xf || (dest >> 4) == (ldr >> 4)) &&	/* cluster */
	       (dest & ldr & 0xf);
}

void vhv_apic_deliver(struct vhv_partition *p, const struct vhv_apic_msg *m,
		      struct vhv_vp *sender, unsigned int shorthand)
{
	struct vhv_vp *vp, *best = NULL;
	u32 best_ppr = U32_MAX;
	unsigned int i;

	if (shorthand == SH_SELF) {
		accept(sender, m);
		return;
	}
	read_lock(&p->vps_lock);
	for (i = 0; i < VHV_MAX_VPS; i++) {
		vp = p->vps[i];
		if (!vp || (shorthand == SH_OTHERS && vp == sender))
			continue;
		if (shorthand == SH_NONE && !dest_match(vp, m->dest, m->logical))
			continue;
		if (m->type != VHV_INTERRUPT_LOWEST) {
			accept(vp, m);
		} else if (hw_enabled(vp) && sw_enabled(&vp->lapic) &&
			   ppr(&vp->lapic) < best_ppr) {
			best = vp;
			best_ppr = ppr(&vp->lapic);
		}
	}
	if (best)
		accept(best, m);
	read_unlock(&p->vps_lock);
}

/* A write of the ICR's low half sends (SDM 11.6.1). */
static void send_ipi(struct vhv_vp *vp, u32 icr, u32 dest)
{
	struct vhv_apic_msg m = {
		.type = (icr >> 8) & 7,
		.vector = icr & 0xff,
		.dest = dest,
		.logical = icr & APIC_DEST_LOGICAL,
	};

	switch (m.type) {
	case VHV_INTERRUPT_FIXED:
	case VHV_INTERRUPT_LOWEST:
		if (m.vector < 16) {
			lapic_error(vp, APIC_ESR_SENDILL);
			return;
		}
		break;
	case VHV_INTERRUPT_INIT:
		/* INIT level de-assert only synchronised arbitration IDs. */
		if ((icr & APIC_INT_LEVELTRIG) && !(icr & APIC_INT_ASSERT))
			return;
		break;
	case VHV_INTERRUPT_NMI:
	case VHV_INTERRUPT_SIPI:
		break;
	default:			/* SMI and the reserved modes */
		return;
	}
	vhv_apic_deliver(vp->part, &m, vp, (icr >> 18) & 3);
}

static void eoi(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;
	int vec = highest_vec(l, APIC_ISR);

	if (vec < 0)
		return;
	clear_bit(vec & 31, vec_word(l, APIC_ISR, vec));
	if (test_bit(vec & 31, vec_word(l, APIC_TMR, vec)) &&
	    test_bit(vec, vp->part->eoi_exits))
		l->eoi_exit = vec;
}

/* ---- registers ---- */

static bool reg_exists(u32 off, bool x2apic)
{
	switch (off) {
	case APIC_ARBPRI:
	case APIC_RRR:
	case APIC_DFR:
	case APIC_ICR2:
		return !x2apic;
	case APIC_SELF_IPI:
		return x2apic;
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_PROCPRI:
	case APIC_EOI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT ... APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	}
	/* ISR, TMR, IRR; the callers pass 16-byte aligned offsets. */
	return off >= APIC_ISR && off < APIC_ESR;
}

static u32 reg_read(struct vhv_vp *vp, u32 off)
{
	struct vhv_lapic *l = &vp->lapic;

	switch (off) {
	case APIC_PROCPRI:
		return ppr(l);
	case APIC_TMCCT:
		return timer_current(l);
	case APIC_ICR:
		return lget(l, APIC_ICR) & ~APIC_ICR_BUSY;
	case APIC_EOI:
	case APIC_SELF_IPI:
		return 0;
	}
	return lget(l, off);
}

static void write_svr(struct vhv_vp *vp, u32 val)
{
	struct vhv_lapic *l = &vp->lapic;
	unsigned int i;

	lset(l, APIC_SPIV, val & 0x3ff);
	if (val & APIC_SPIV_APIC_ENABLED)
		return;
	/* Software disable masks every LVT entry (SDM 11.4.7.2). */
	for (i = 0; i < ARRAY_SIZE(lvt_regs); i++)
		lset(l, lvt_regs[i], lget(l, lvt_regs[i]) | APIC_LVT_MASKED);
}

static void write_lvt(struct vhv_vp *vp, u32 off, u32 val)
{
	struct vhv_lapic *l = &vp->lapic;
	u32 mask;

	switch (off) {
	case APIC_LVTT:
		mask = 0x600ff;		/* vector, mode */
		break;
	case APIC_LVT0:
	case APIC_LVT1:
		mask = 0xa7ff;		/* vector, delivery, polarity, trigger */
		break;
	case APIC_LVTERR:
		mask = 0xff;
		break;
	default:			/* thermal, performance */
		mask = 0x7ff;
	}
	val = (val & (mask | APIC_LVT_MASKED)) |
	      (sw_enabled(l) ? 0 : APIC_LVT_MASKED);
	if (off == APIC_LVTT && ((val ^ lget(l, off)) >> 17) & 3) {
		/* A new timer mode disarms the timer (SDM 11.5.4.1). */
		timer_cancel(l);
		lset(l, APIC_TMICT, 0);
		WRITE_ONCE(l->deadline, 0);
	}
	lset(l, off, val);
}

static void reg_write(struct vhv_vp *vp, u32 off, u32 val)
{
	struct vhv_lapic *l = &vp->lapic;
	bool x2 = x2apic_mode(vp);

	switch (off) {
	case APIC_ID:
		if (!x2)
			lset(l, off, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		lset(l, off, val & 0xff);
		break;
	case APIC_EOI:
		eoi(vp);
		break;
	case APIC_LDR:
		if (!x2)
			lset(l, off, val & 0xff000000);
		break;
	case APIC_DFR:
		lset(l, off, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		write_svr(vp, val);
		break;
	case APIC_ESR:
		lset(l, off, xchg(&l->esr_pending, 0));
		break;
	case APIC_ICR:
		lset(l, off, val & ~APIC_ICR_BUSY);
		send_ipi(vp, val, x2 ? lget(l, APIC_ICR2) :
			 lget(l, APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		lset(l, off, val & 0xff000000);
		break;
	case APIC_LVTT ... APIC_LVTERR:
		write_lvt(vp, off, val);
		break;
	case APIC_TMICT:
		if (timer_mode(l) != TIMER_DEADLINE) {
			lset(l, off, val);
			timer_start(l);
		}
		break;
	case APIC_TDCR:
		lset(l, off, val & 0xb);
		break;
	case APIC_SELF_IPI:
		send_ipi(vp, (val & 0xff) | APIC_DEST_SELF, 0);
		break;
	}
}

/* The xAPIC page; false if @gpa is not in it (or the APIC is off). */
bool vhv_lapic_mmio(struct vhv_vp *vp, u64 gpa, void *data, u32 len,
		    bool write)
{
	u64 base = READ_ONCE(vp->apic_base);
	u32 off = gpa & ~PAGE_MASK, reg = off & ~15, val;

	if ((base & (APICBASE_EN | APICBASE_EXTD)) != APICBASE_EN ||
	    (gpa & PAGE_MASK) != (base & PAGE_MASK & GENMASK_ULL(51, 0)))
		return false;
	if (!reg_exists(reg, false)) {
		lapic_error(vp, APIC_ESR_ILLREGA);
		if (!write)
			memset(data, 0, len);
		return true;
	}
	if (write) {
		/* Only aligned 32-bit writes reach a register. */
		if (len == 4 && off == reg)
			reg_write(vp, reg, *(u32 *)data);
		return true;
	}
	memset(data, 0, len);
	if ((off & 15) + len <= 4) {
		val = reg_read(vp, reg) >> ((off & 15) * 8);
		memcpy(data, &val, len);
	}
	return true;
}

/* ---- MSRs: IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC ---- */

enum { MODE_OFF, MODE_INVALID, MODE_XAPIC, MODE_X2APIC };

static int base_mode(u64 base)
{
	return (base & APICBASE_EN ? 2 : 0) | (base & APICBASE_EXTD ? 1 : 0);
}

/* IA32_APIC_BASE and its mode transitions (SDM 11.12.5). */
static int set_base(struct vhv_vp *vp, u64 val, bool host)
{
	u64 valid = GENMASK_ULL(boot_cpu_data.x86_phys_bits - 1, 12) |
		    MSR_IA32_APICBASE_BSP | APICBASE_EN | APICBASE_EXTD;
	int old = base_mode(vp->apic_base), new = base_mode(val);
	u32 id;

	if (val & ~valid || new == MODE_INVALID)
		return -EINVAL;
	if ((val & APICBASE_EXTD) &&
	    !(vp->part->flags & VHV_PARTITION_X2APIC))
		return -EINVAL;
	if (!host && (((val ^ vp->apic_base) & MSR_IA32_APICBASE_BSP) ||
		      (old == MODE_X2APIC && new == MODE_XAPIC) ||
		      (old == MODE_OFF && new == MODE_X2APIC)))
		return -EINVAL;
	if (new == old) {
		WRITE_ONCE(vp->apic_base, val);
		return 0;
	}
	if (new == MODE_X2APIC && old == MODE_XAPIC) {
		WRITE_ONCE(vp->apic_base, val);
		set_x2apic_id(vp);
		return 0;
	}
	/* Off, or x2APIC to xAPIC (the VMM only): the power-up state. */
	id = kept_id(vp);
	WRITE_ONCE(vp->apic_base, val);
	reset_regs(vp, id);
	return 0;
}

int vhv_lapic_get_msr(struct vhv_vp *vp, u32 index, u64 *data)
{
	struct vhv_lapic *l = &vp->lapic;
	u32 off = (index - APIC_BASE_MSR) << 4;

	if (index == MSR_IA32_TSC_DEADLINE) {
		*data = timer_mode(l) == TIMER_DEADLINE ?
			READ_ONCE(l->deadline) : 0;
		return 0;
	}
	if (!x2apic_mode(vp) || !reg_exists(off, true) || off == APIC_EOI ||
	    off == APIC_SELF_IPI)
		return -EINVAL;
	*data = reg_read(vp, off);
	if (off == APIC_ICR)
		*data |= (u64)lget(l, APIC_ICR2) << 32;
	return 0;
}

int vhv_lapic_set_msr(struct vhv_vp *vp, u32 index, u64 data, bool host)
{
	struct vhv_lapic *l = &vp->lapic;
	u32 off = (index - APIC_BASE_MSR) << 4;

	if (index == MSR_IA32_APICBASE)
		return set_base(vp, data, host);
	if (index == MSR_IA32_TSC_DEADLINE) {
		if (timer_mode(l) == TIMER_DEADLINE)
			deadline_set(vp, data);
		return 0;
	}
	if (!x2apic_mode(vp))
		return -EINVAL;
	/* The VMM restores registers: it does not send or acknowledge. */
	if (host && (off == APIC_ICR || off == APIC_EOI ||
		     off == APIC_SELF_IPI)) {
		if (off == APIC_ICR) {
			lset(l, APIC_ICR2, data >> 32);
			lset(l, APIC_ICR, (u32)data & ~APIC_ICR_BUSY);
		}
		return 0;
	}
	switch (off) {
	case APIC_ICR:
		lset(l, APIC_ICR2, data >> 32);
		reg_write(vp, off, data);
		return 0;
	case APIC_EOI:
	case APIC_ESR:
		if (data)
			return -EINVAL;
		break;
	case APIC_SELF_IPI:
		if (data & ~0xffULL)
			return -EINVAL;
		break;
	case APIC_TASKPRI:
	case APIC_SPIV:
	case APIC_LVTT ... APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		if (data >> 32)
			return -EINVAL;
		break;
	default:			/* read-only or not a register */
		return -EINVAL;
	}
	reg_write(vp, off, data);
	return 0;
}

/* ---- events for the guest ---- */

/*
 * Choose what the next entry delivers: an NMI, an interrupt from the
 * VMM's 8259 (ExtINT), or the highest IRR vector above PPR, which moves
 * to ISR.  What cannot go in now asks the backend for an exit when it
 * can.  Runs in the VP's thread with interrupts off, just before entry.
 */
void vhv_lapic_inject(struct vhv_vp *vp)
{
	const struct vhv_backend_ops *ops = vhv_ops;
	struct vhv_lapic *l = &vp->lapic;
	unsigned int win = 0;
	u8 tpr_class = 0;
	int vec, isr;
	bool busy;

	timer_fold(vp);
	vec = highest_vec(l, APIC_IRR);
	/* The usual entry: nothing pending, no window. */
	if (vec < 0 && !READ_ONCE(l->events)) {
		ops->set_windows(vp, 0, 0);
		return;
	}
	busy = ops->event_queued(vp);
	if (test_bit(VHV_EV_NMI, &l->events)) {
		if (busy || ops->nmi_blocked(vp)) {
			win |= VHV_WIN_NMI;
		} else {
			clear_bit(VHV_EV_NMI, &l->events);
			ops->inject_nmi(vp);
			busy = true;
		}
	}
	if (test_bit(VHV_EV_EXTINT, &l->events)) {
		if (busy || ops->irq_blocked(vp)) {
			win |= VHV_WIN_IRQ;
		} else {
			clear_bit(VHV_EV_EXTINT, &l->events);
			/* Pairs with the barrier in accept(). */
			smp_mb__after_atomic();
			ops->inject_irq(vp, READ_ONCE(l->extint_vector));
			busy = true;
		}
	}
	if (vec >= 0) {
		isr = highest_vec(l, APIC_ISR);
		if ((vec & 0xf0) <= (ppr_of(l, isr) & 0xf0)) {
			/* Held by TPR alone: exit when the guest lowers it. */
			if (isr < 0 || (vec & 0xf0) > (isr & 0xf0))
				tpr_class = vec >> 4;
		} else if (busy || ops->irq_blocked(vp)) {
			win |= VHV_WIN_IRQ;
		} else {
			clear_bit(vec & 31, vec_word(l, APIC_IRR, vec));
			set_bit(vec & 31, vec_word(l, APIC_ISR, vec));
			ops->inject_irq(vp, vec);
		}
	}
	ops->set_windows(vp, win, tpr_class);
}

/*
 * Should a halted (or SIPI-waiting) VP look at its APIC again?  The
 * wait condition of the run loop, in the VP's thread: no side effects.
 * A timer expiry counts even if its LVT is masked; the loop folds it
 * and goes back to sleep.
 */
bool vhv_lapic_has_work(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;
	int vec;

	if (test_bit(VHV_EV_INIT, &l->events) ||
	    test_bit(VHV_EV_SIPI, &l->events))
		return true;
	if (vp->mp_state == VHV_MP_WAIT_SIPI)
		return false;
	if (test_bit(VHV_EV_NMI, &l->events) && !vhv_ops->nmi_blocked(vp))
		return true;
	if (!(vp->regs[VHV_REG_RFLAGS] & X86_EFLAGS_IF))
		return false;
	if (test_bit(VHV_EV_EXTINT, &l->events) || atomic_read(&l->fired))
		return true;
	vec = highest_vec(l, APIC_IRR);
	return vec >= 0 && (vec & 0xf0) > (ppr(l) & 0xf0);
}

/* INIT: the VP's INIT state; the BSP runs on, the others wait for SIPI. */
static void do_init(struct vhv_vp *vp)
{
	u64 base = vp->apic_base;

	vhv_reset_regs(vp);
	vp->apic_base = base;
	vhv_ops->vp_reset(vp);
	vhv_lapic_reset(vp, true);
	vp->mp_state = base & MSR_IA32_APICBASE_BSP ? VHV_MP_RUNNABLE :
		       VHV_MP_WAIT_SIPI;
}

/* SIPI: real mode at vector << 12 (SDM 9.4.4). */
static void do_sipi(struct vhv_vp *vp, u8 vector)
{
	struct vhv_sregs s;

	memset(&s, 0, sizeof(s));
	vhv_ops->get_sregs(vp, &s);
	s.cs.selector = vector << 8;
	s.cs.base = (u64)vector << 12;
	vhv_ops->set_sregs(vp, &s);
	vp->regs[VHV_REG_RIP] = 0;
	vp->mp_state = VHV_MP_RUNNABLE;
}

/*
 * Take INIT and SIPI (a SIPI to a VP not waiting for one is dropped),
 * turn timer expiries into interrupts, and leave HLT when there is a
 * reason to.
 */
void vhv_lapic_accept_events(struct vhv_vp *vp)
{
	struct vhv_lapic *l = &vp->lapic;

	if (test_and_clear_bit(VHV_EV_INIT, &l->events))
		do_init(vp);
	if (test_and_clear_bit(VHV_EV_SIPI, &l->events) &&
	    vp->mp_state == VHV_MP_WAIT_SIPI)
		do_sipi(vp, READ_ONCE(l->sipi_vector));
	timer_fold(vp);
	if (vp->mp_state == VHV_MP_HALTED && vhv_lapic_has_work(vp))
		vp->mp_state = VHV_MP_RUNNABLE;
}

/* ---- ioctls ---- */

int vhv_request_interrupt(struct vhv_partition *p, void __user *arg)
{
	struct vhv_interrupt irq;
	struct vhv_apic_msg m;

	if (copy_from_user(&irq, arg, sizeof(irq)))
		return -EFAULT;
	if (irq.reserved ||
	    irq.flags & ~(VHV_INTERRUPT_LOGICAL | VHV_INTERRUPT_LEVEL))
		return -EINVAL;
	switch (irq.type) {
	case VHV_INTERRUPT_FIXED:
	case VHV_INTERRUPT_LOWEST:
		if (irq.vector < 16 || irq.vector > 255)
			return -EINVAL;
		break;
	case VHV_INTERRUPT_SIPI:
	case VHV_INTERRUPT_EXTINT:
		if (irq.vector > 255)
			return -EINVAL;
		break;
	case VHV_INTERRUPT_NMI:
	case VHV_INTERRUPT_INIT:
		break;
	default:
		return -EINVAL;
	}
	m = (struct vhv_apic_msg) {
		.type = irq.type,
		.vector = irq.vector,
		.dest = irq.destination,
		.logical = irq.flags & VHV_INTERRUPT_LOGICAL,
		.level = irq.flags & VHV_INTERRUPT_LEVEL,
	};
	vhv_apic_deliver(p, &m, NULL, SH_NONE);
	return 0;
}

int vhv_get_lapic(struct vhv_vp *vp, void __user *arg)
{
	struct vhv_lapic *l = &vp->lapic;
	struct vhv_lapic_state *s;
	int r = 0;

	s = kmalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	memcpy(s->regs, l->regs, sizeof(s->regs));
	*(u32 *)&s->regs[APIC_PROCPRI] = ppr(l);
	*(u32 *)&s->regs[APIC_TMCCT] = timer_current(l);
	if (copy_to_user(arg, s, sizeof(*s)))
		r = -EFAULT;
	kfree(s);
	return r;
}

int vhv_set_lapic(struct vhv_vp *vp, const void __user *arg)
{
	struct vhv_lapic *l = &vp->lapic;
	struct vhv_lapic_state *s;
	u32 svr;

	s = memdup_user(arg, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	if (x2apic_mode(vp) && *(u32 *)&s->regs[APIC_ID] != vp->index) {
		kfree(s);
		return -EINVAL;
	}
	timer_cancel(l);
	atomic_set(&l->fired, 0);
	memcpy(l->regs, s->regs, sizeof(s->regs));
	kfree(s);
	/* Vectors 0-15 are never pending nor in service. */
	lset(l, APIC_ISR, lget(l, APIC_ISR) & ~0xffffU);
	lset(l, APIC_TMR, lget(l, APIC_TMR) & ~0xffffU);
	lset(l, APIC_IRR, lget(l, APIC_IRR) & ~0xffffU);
	lset(l, APIC_LVR, LAPIC_VERSION);
	lset(l, APIC_ICR, lget(l, APIC_ICR) & ~APIC_ICR_BUSY);
	svr = lget(l, APIC_SPIV);
	write_svr(vp, svr);
	if (x2apic_mode(vp))
		set_x2apic_id(vp);
	l->esr_pending = 0;
	l->eoi_exit = -1;
	/* TSC-deadline mode stays disarmed until IA32_TSC_DEADLINE is set. */
	WRITE_ONCE(l->deadline, 0);
	timer_start(l);
	return 0;
}
