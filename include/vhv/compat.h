/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels vhv builds on (6.1 to current), kept
 * in one place.  The code uses the names on the left.
 */
#ifndef _VHV_COMPAT_H
#define _VHV_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <asm/msr.h>

/* 6.16 renamed the 64-bit MSR accessors (both are macros). */
#ifdef rdmsrq
#define vhv_rdmsr(msr, val)	rdmsrq(msr, val)
#define vhv_wrmsr(msr, val)	wrmsrq(msr, val)
#else
#define vhv_rdmsr(msr, val)	rdmsrl(msr, val)
#define vhv_wrmsr(msr, val)	wrmsrl(msr, val)
#endif

/*
 * 6.13 added hrtimer_setup(); hrtimer_init() went away later.  Kbuild
 * defines VHV_HAVE_HRTIMER_SETUP when the headers have it.
 */
static inline void
vhv_hrtimer_setup(struct hrtimer *t,
		  enum hrtimer_restart (*fn)(struct hrtimer *),
		  clockid_t clock, enum hrtimer_mode mode)
{
#ifdef VHV_HAVE_HRTIMER_SETUP
	hrtimer_setup(t, fn, clock, mode);
#else
	hrtimer_init(t, clock, mode);
	t->function = fn;
#endif
}

/* 6.3 made vm_flags read-only outside vm_flags_set(). */
static inline void vhv_vm_flags_set(struct vm_area_struct *vma,
				    unsigned long flags)
{
#ifdef VHV_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

#endif /* _VHV_COMPAT_H */
