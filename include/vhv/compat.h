/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels vhv builds on (6.1 to current), kept
 * in one place.  The code uses the names on the left.
 */
#ifndef _VHV_COMPAT_H
#define _VHV_COMPAT_H

#include <asm/msr.h>

/* 6.16 renamed the 64-bit MSR accessors (both are macros). */
#ifdef rdmsrq
#define vhv_rdmsr(msr, val)	rdmsrq(msr, val)
#define vhv_wrmsr(msr, val)	wrmsrq(msr, val)
#else
#define vhv_rdmsr(msr, val)	rdmsrl(msr, val)
#define vhv_wrmsr(msr, val)	wrmsrl(msr, val)
#endif

#endif /* _VHV_COMPAT_H */
