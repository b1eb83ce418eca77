// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the local APIC: MP state, interrupt requests, the APIC
 * register page, EOI exits and the TSC frequency.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "apic.h"

int __vp_get_mp_state(struct vhv_vp *vp, struct vhv_mp_state *mp)
{
	return ioctl(vp->fd, VHV_GET_MP_STATE, mp);
}

int __vp_set_mp_state(struct vhv_vp *vp, const struct vhv_mp_state *mp)
{
	return ioctl(vp->fd, VHV_SET_MP_STATE, mp);
}

void vp_set_mp_state(struct vhv_vp *vp, u32 state)
{
	struct vhv_mp_state mp = { .state = state };
	int ret = __vp_set_mp_state(vp, &mp);

	TEST_ASSERT(!ret, "VHV_SET_MP_STATE(%u) on VP %u failed: %d", state,
		    vp->index, ret);
}

u32 vp_get_mp_state(struct vhv_vp *vp)
{
	struct vhv_mp_state mp;
	int ret;

	memset(&mp, 0xaa, sizeof(mp));
	ret = __vp_get_mp_state(vp, &mp);
	TEST_ASSERT(!ret, "VHV_GET_MP_STATE on VP %u failed: %d", vp->index,
		    ret);
	return mp.state;
}

int __part_request_interrupt(struct vhv_partition *part,
			     const struct vhv_interrupt *irq)
{
	return ioctl(part->fd, VHV_REQUEST_INTERRUPT, irq);
}

void part_request_interrupt(struct vhv_partition *part, u32 type, u32 vector,
			    u32 dest, u32 flags)
{
	struct vhv_interrupt irq = {
		.type = type,
		.vector = vector,
		.destination = dest,
		.flags = flags,
	};
	int ret = __part_request_interrupt(part, &irq);

	TEST_ASSERT(!ret,
		    "VHV_REQUEST_INTERRUPT type %u vector 0x%x dest 0x%x flags 0x%x: %d",
		    type, vector, dest, flags, ret);
}

int __vp_get_lapic(struct vhv_vp *vp, struct vhv_lapic_state *s)
{
	return ioctl(vp->fd, VHV_GET_LAPIC, s);
}

void vp_get_lapic(struct vhv_vp *vp, struct vhv_lapic_state *s)
{
	int ret = __vp_get_lapic(vp, s);

	TEST_ASSERT(!ret, "VHV_GET_LAPIC on VP %u failed: %d", vp->index, ret);
}

int __vp_set_lapic(struct vhv_vp *vp, const struct vhv_lapic_state *s)
{
	return ioctl(vp->fd, VHV_SET_LAPIC, s);
}

void vp_set_lapic(struct vhv_vp *vp, const struct vhv_lapic_state *s)
{
	int ret = __vp_set_lapic(vp, s);

	TEST_ASSERT(!ret, "VHV_SET_LAPIC on VP %u failed: %d", vp->index, ret);
}

int __part_set_eoi_exits(struct vhv_partition *part, const u64 bitmap[4])
{
	struct vhv_eoi_exits e;

	memcpy(e.bitmap, bitmap, sizeof(e.bitmap));
	return ioctl(part->fd, VHV_SET_EOI_EXITS, &e);
}

void part_set_eoi_exits(struct vhv_partition *part, const u64 bitmap[4])
{
	int ret = __part_set_eoi_exits(part, bitmap);

	TEST_ASSERT(!ret, "VHV_SET_EOI_EXITS failed: %d", ret);
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((u64)hi << 32);
}

u64 host_tsc_khz(void)
{
	static u64 cached;
	unsigned int eax, ebx, ecx, edx;
	u64 t0, c0, t1, c1;

	if (cached)
		return cached;
	/* CPUID 0x15: TSC = crystal (ECX Hz) * EBX / EAX. */
	if (__get_cpuid_max(0, NULL) >= 0x15) {
		__cpuid(0x15, eax, ebx, ecx, edx);
		if (eax && ebx && ecx) {
			cached = (u64)ecx * ebx / eax / 1000;
			return cached;
		}
	}
	/* Measure over ~50 ms of CLOCK_MONOTONIC. */
	t0 = now_ns();
	c0 = rdtsc();
	do {
		t1 = now_ns();
		c1 = rdtsc();
	} while (t1 - t0 < 50 * 1000 * 1000ULL);
	cached = (c1 - c0) * 1000000ULL / (t1 - t0);
	(void)edx;
	return cached;
}
