/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Local APIC helpers for the vhv selftests: register definitions, guest
 * accessors (xAPIC MMIO at APIC_BASE_GPA, x2APIC MSRs), interrupt
 * handlers and the host-side ioctls of the in-kernel APIC.
 *
 * Interrupt handlers get the struct ex_regs frame of exception handlers
 * and must EOI themselves (xapic_write_reg(APIC_EOI, 0) or
 * x2apic_write_reg(APIC_EOI, 0)).
 */
#ifndef SELFTEST_VHV_APIC_H
#define SELFTEST_VHV_APIC_H

#include "vhv_util.h"

#define APIC_BASE_GPA		0xfee00000UL

/* xAPIC register offsets. */
#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_TASKPRI		0x80
#define APIC_ARBPRI		0x90
#define APIC_PROCPRI		0xa0
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SPIV		0xf0
#define APIC_ISR		0x100
#define APIC_TMR		0x180
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define APIC_LVTT		0x320
#define APIC_LVTTHMR		0x330
#define APIC_LVTPC		0x340
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_LVTERR		0x370
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define APIC_SELF_IPI		0x3f0

#define APIC_X2APIC_MSR(reg)	(0x800 + ((reg) >> 4))

/* ICR */
#define APIC_DM_FIXED		0x0
#define APIC_DM_LOWEST		0x100
#define APIC_DM_SMI		0x200
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_DEST_LOGICAL	0x800
#define APIC_INT_ASSERT		0x4000
#define APIC_INT_LEVELTRIG	0x8000
#define APIC_DEST_SELF		0x40000
#define APIC_DEST_ALLINC	0x80000
#define APIC_DEST_ALLBUT	0xc0000

/* SVR */
#define APIC_SPIV_APIC_ENABLED	0x100

/* LVT */
#define APIC_LVT_MASKED			0x10000
#define APIC_LVT_TIMER_ONESHOT		0x0
#define APIC_LVT_TIMER_PERIODIC		0x20000
#define APIC_LVT_TIMER_TSCDEADLINE	0x40000

#define MSR_IA32_TSC_DEADLINE	0x000006e0

/* IA32_APIC_BASE (MSR_IA32_APICBASE) */
#define APICBASE_BSP		BIT(8)
#define APICBASE_EXTD		BIT(10)
#define APICBASE_ENABLE		BIT(11)

/* CPUID leaf with the TSC (EAX) and APIC timer (EBX) frequencies in kHz. */
#define VHV_CPUID_TIMING_LEAF	0x40000010

/* ---------------------------------------------------------------------
 * Guest side: no libc.
 */
/* One 32-bit MOV each: READ_ONCE/WRITE_ONCE cannot be split or elided. */
static inline u32 xapic_read_reg(u32 reg)
{
	return READ_ONCE(*(u32 *)(APIC_BASE_GPA + reg));
}

static inline void xapic_write_reg(u32 reg, u32 val)
{
	WRITE_ONCE(*(u32 *)(APIC_BASE_GPA + reg), val);
}

static inline u64 x2apic_read_reg(u32 reg)
{
	return guest_rdmsr(APIC_X2APIC_MSR(reg));
}

static inline void x2apic_write_reg(u32 reg, u64 val)
{
	guest_wrmsr(APIC_X2APIC_MSR(reg), val);
}

static inline void xapic_enable(void)
{
	xapic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED | 0xff);
}

static inline void x2apic_enable(void)
{
	guest_wrmsr(MSR_IA32_APICBASE, guest_rdmsr(MSR_IA32_APICBASE) |
		    APICBASE_EXTD | APICBASE_ENABLE);
	x2apic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED | 0xff);
}

/* No vector in service (xAPIC). */
static inline bool xapic_isr_empty(void)
{
	u32 i, any = 0;

	for (i = 0; i < 8; i++)
		any |= xapic_read_reg(APIC_ISR + i * 0x10);
	return !any;
}

/* A fixed self-IPI through the xAPIC ICR. */
static inline void self_ipi(u32 vec)
{
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_INT_ASSERT | vec);
}

static inline void xapic_send_ipi(u32 dest, u32 icr_low)
{
	xapic_write_reg(APIC_ICR2, dest << 24);
	xapic_write_reg(APIC_ICR, icr_low);
}

static inline void x2apic_send_ipi(u32 dest, u32 icr_low)
{
	x2apic_write_reg(APIC_ICR, ((u64)dest << 32) | icr_low);
}

static inline u32 guest_tsc_khz(void)
{
	u32 eax, ebx, ecx, edx;

	guest_cpuid(VHV_CPUID_TIMING_LEAF, 0, &eax, &ebx, &ecx, &edx);
	return eax;
}

/* The guest's TSC @ms milliseconds from now (1 GHz if CPUID says 0). */
static inline u64 guest_deadline(u64 ms)
{
	u64 khz = guest_tsc_khz();

	if (!khz)
		khz = 1000000;
	return guest_rdtsc() + khz * ms;
}

static inline void guest_sti_hlt(void)
{
	asm volatile("sti; hlt" : : : "memory");
}

static inline void guest_cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void guest_sti(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void guest_nop_pause(void)
{
	asm volatile("pause" : : : "memory");
}

/* ---------------------------------------------------------------------
 * Interrupt handlers: any vector 0-255 (the handler EOIs itself).
 */
void part_install_irq_handler(struct vhv_partition *part, unsigned int vector,
			      vhv_exc_handler_fn handler);

/* ---------------------------------------------------------------------
 * Host side.
 */
/* part_create_flags() is in vhv_util.h: part_create() with flags. */

int __vp_get_mp_state(struct vhv_vp *vp, struct vhv_mp_state *mp);
int __vp_set_mp_state(struct vhv_vp *vp, const struct vhv_mp_state *mp);
void vp_set_mp_state(struct vhv_vp *vp, u32 state);
u32 vp_get_mp_state(struct vhv_vp *vp);

/* VHV_REQUEST_INTERRUPT: the ioctl's result, or asserted to succeed. */
int __part_request_interrupt(struct vhv_partition *part,
			     const struct vhv_interrupt *irq);
void part_request_interrupt(struct vhv_partition *part, u32 type, u32 vector,
			    u32 dest, u32 flags);

int __vp_get_lapic(struct vhv_vp *vp, struct vhv_lapic_state *s);
void vp_get_lapic(struct vhv_vp *vp, struct vhv_lapic_state *s);
int __vp_set_lapic(struct vhv_vp *vp, const struct vhv_lapic_state *s);
void vp_set_lapic(struct vhv_vp *vp, const struct vhv_lapic_state *s);

static inline u32 lapic_state_reg(const struct vhv_lapic_state *s, u32 reg)
{
	return *(const u32 *)&s->regs[reg];
}

static inline void lapic_state_set_reg(struct vhv_lapic_state *s, u32 reg,
				       u32 val)
{
	*(u32 *)&s->regs[reg] = val;
}

/* Bit vec of the 256-bit ISR, TMR or IRR (base APIC_ISR etc.). */
static inline bool lapic_state_vec_bit(const struct vhv_lapic_state *s,
				       u32 base, u32 vec)
{
	return lapic_state_reg(s, base + (vec / 32) * 0x10) &
	       (1U << (vec % 32));
}

int __part_set_eoi_exits(struct vhv_partition *part, const u64 bitmap[4]);
void part_set_eoi_exits(struct vhv_partition *part, const u64 bitmap[4]);

/* The host's TSC frequency in kHz: CPUID 0x15, else measured. */
u64 host_tsc_khz(void);

#endif /* SELFTEST_VHV_APIC_H */
