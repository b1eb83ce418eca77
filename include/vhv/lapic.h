/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel local APIC of a VP (src/lapic.c).
 */
#ifndef _VHV_LAPIC_H
#define _VHV_LAPIC_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/types.h>

struct vhv_vp;
struct vhv_partition;

/* Bits of vhv_lapic.events: what other threads ask of the VP. */
enum {
	VHV_EV_NMI,
	VHV_EV_INIT,
	VHV_EV_SIPI,		/* vector in sipi_vector */
	VHV_EV_EXTINT,		/* vector in extint_vector */
};

/* A message for the APICs: an IPI, or an interrupt from the VMM. */
struct vhv_apic_msg {
	u32 type;		/* VHV_INTERRUPT_* (the delivery mode) */
	u32 vector;
	u32 dest;
	bool logical;
	bool level;
};

struct vhv_lapic {
	/*
	 * The registers, in xAPIC layout (one page).  No lock: the VP's
	 * thread, holding vp->mutex, owns them.  Other threads only set
	 * IRR and TMR bits with atomic bit operations, and read ID, LDR,
	 * DFR, SVR, TPR and ISR to route (a racy read there is as good as
	 * the hardware's, which arbitrates on the bus).
	 */
	u32 *regs;
	/* Set by any thread with atomic bit operations: VHV_EV_*. */
	unsigned long events;
	unsigned long esr_pending;	/* errors since the last ESR write */
	u8 sipi_vector;			/* written before VHV_EV_SIPI is set */
	u8 extint_vector;		/* likewise for VHV_EV_EXTINT */
	int eoi_exit;			/* vector for VHV_EXIT_EOI, or -1 */

	/*
	 * The timer.  Its configuration changes only in the VP's thread
	 * and only with the hrtimer cancelled, so the callback, which
	 * counts expiries in @fired and reloads a periodic timer, never
	 * sees it change.
	 */
	struct hrtimer timer;
	atomic_t fired;
	u64 period_ns;			/* periodic mode: the reload */
	u32 divide;			/* at the last TMICT write */
	u64 deadline;			/* TSC-deadline mode: IA32_TSC_DEADLINE */
};

int vhv_lapic_init(struct vhv_vp *vp);
void vhv_lapic_free(struct vhv_vp *vp);
void vhv_lapic_reset(struct vhv_vp *vp, bool init);

/* Registers, from the emulator and the MSR code. */
bool vhv_lapic_mmio(struct vhv_vp *vp, u64 gpa, void *data, u32 len,
		    bool write);
int vhv_lapic_get_msr(struct vhv_vp *vp, u32 index, u64 *data);
int vhv_lapic_set_msr(struct vhv_vp *vp, u32 index, u64 data, bool host);
u8 vhv_lapic_tpr(struct vhv_vp *vp);
void vhv_lapic_set_tpr(struct vhv_vp *vp, u8 tpr);

/* Events: the run loop, HLT and INIT/SIPI. */
void vhv_lapic_inject(struct vhv_vp *vp);
void vhv_lapic_accept_events(struct vhv_vp *vp);
bool vhv_lapic_has_work(struct vhv_vp *vp);
void vhv_kick(struct vhv_vp *vp);

/* Delivery to the partition's APICs; sender is NULL for the VMM. */
void vhv_apic_deliver(struct vhv_partition *p, const struct vhv_apic_msg *m,
		      struct vhv_vp *sender, unsigned int shorthand);

/* ioctls */
int vhv_request_interrupt(struct vhv_partition *p, void __user *arg);
int vhv_get_lapic(struct vhv_vp *vp, void __user *arg);
int vhv_set_lapic(struct vhv_vp *vp, const void __user *arg);

#endif /* _VHV_LAPIC_H */
