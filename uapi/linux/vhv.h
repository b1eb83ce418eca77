/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhv: a small x86 hypervisor driver.  Userspace ABI, version 1.
 *
 * Objects are file descriptors: /dev/vhv creates partitions, a partition
 * fd maps memory and creates virtual processors (VPs), a VP fd runs.
 * Documentation/api.rst describes every ioctl, structure and exit.
 */
#ifndef _UAPI_LINUX_VHV_H
#define _UAPI_LINUX_VHV_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VHV_API_VERSION		1
#define VHVIO			0xB9

/* Limits, also reported by VHV_CHECK_CAP. */
#define VHV_MAX_VPS		64
#define VHV_MAX_MAPPINGS	128
#define VHV_MAX_CPUID_ENTRIES	128
#define VHV_MAX_MSR_ENTRIES	256
#define VHV_MAX_GPA		0x1000000000000ULL
#define VHV_RUN_PAGE_SIZE	4096

/* ioctls on /dev/vhv */
#define VHV_GET_API_VERSION	_IO(VHVIO, 0x00)
#define VHV_CHECK_CAP		_IO(VHVIO, 0x01)	/* arg: VHV_CAP_* */
#define VHV_CREATE_PARTITION	_IO(VHVIO, 0x02)	/* arg: VHV_PARTITION_*; returns fd */
#define VHV_GET_RUN_PAGE_SIZE	_IO(VHVIO, 0x03)

/* Capabilities: VHV_CHECK_CAP returns the value, 0 when absent. */
#define VHV_CAP_BACKEND		0	/* VHV_BACKEND_* */
#define VHV_CAP_MAX_VPS		1
#define VHV_CAP_MAX_MAPPINGS	2
#define VHV_CAP_IMMEDIATE_EXIT	3
#define VHV_CAP_MAX_CPUID	4
#define VHV_CAP_MAX_MSRS	5
#define VHV_CAP_MAX_GPA_BITS	6
#define VHV_CAP_READONLY_MEM	7
#define VHV_CAP_LAPIC		8	/* in-kernel local APIC: 1 */
#define VHV_CAP_X2APIC		9	/* VHV_PARTITION_X2APIC works: 1 */
#define VHV_CAP_TSC_DEADLINE	10	/* TSC-deadline timer mode: 1 */
#define VHV_CAP_APIC_BUS_HZ	11	/* APIC timer input clock */

/* VHV_CREATE_PARTITION flags */
#define VHV_PARTITION_X2APIC	0x1	/* offer x2APIC mode to the guest */

#define VHV_BACKEND_SVM		1
#define VHV_BACKEND_VMX		2

/* ioctls on a partition fd */
#define VHV_MAP_GPA		_IOW(VHVIO, 0x10, struct vhv_map_gpa)
#define VHV_UNMAP_GPA		_IOW(VHVIO, 0x11, struct vhv_unmap_gpa)
#define VHV_CREATE_VP		_IO(VHVIO, 0x12)	/* arg: VP index; returns fd */
#define VHV_REQUEST_INTERRUPT	_IOW(VHVIO, 0x13, struct vhv_interrupt)
#define VHV_SET_EOI_EXITS	_IOW(VHVIO, 0x14, struct vhv_eoi_exits)

#define VHV_MAP_READ		0x1
#define VHV_MAP_WRITE		0x2
#define VHV_MAP_EXEC		0x4

struct vhv_map_gpa {
	__u64 gpa;		/* guest-physical start, page aligned */
	__u64 size;		/* bytes, page aligned, non-zero */
	__u64 uaddr;		/* VMM virtual address, page aligned */
	__u32 flags;		/* VHV_MAP_*; READ is required */
	__u32 reserved;		/* must be zero */
};

struct vhv_unmap_gpa {
	__u64 gpa;
	__u64 size;
};

/* Interrupt types: the local APIC delivery modes. */
#define VHV_INTERRUPT_FIXED	0
#define VHV_INTERRUPT_LOWEST	1
#define VHV_INTERRUPT_NMI	4
#define VHV_INTERRUPT_INIT	5
#define VHV_INTERRUPT_SIPI	6
#define VHV_INTERRUPT_EXTINT	7

#define VHV_INTERRUPT_LOGICAL	0x1	/* logical destination mode */
#define VHV_INTERRUPT_LEVEL	0x2	/* level-triggered (sets TMR) */

/* An interrupt message, as an MSI or an I/O APIC sends it. */
struct vhv_interrupt {
	__u32 type;		/* VHV_INTERRUPT_* */
	__u32 vector;		/* FIXED, LOWEST, SIPI, EXTINT: 0-255 */
	__u32 destination;	/* APIC ID or logical destination */
	__u32 flags;		/* VHV_INTERRUPT_LOGICAL, _LEVEL */
	__u64 reserved;		/* must be zero */
};

/* Vectors whose EOI, when level-triggered, exits with VHV_EXIT_EOI. */
struct vhv_eoi_exits {
	__u64 bitmap[4];
};

/* ioctls on a VP fd */
#define VHV_RUN			_IO(VHVIO, 0x20)
#define VHV_GET_REGS		_IOR(VHVIO, 0x21, struct vhv_regs)
#define VHV_SET_REGS		_IOW(VHVIO, 0x22, struct vhv_regs)
#define VHV_GET_SREGS		_IOR(VHVIO, 0x23, struct vhv_sregs)
#define VHV_SET_SREGS		_IOW(VHVIO, 0x24, struct vhv_sregs)
#define VHV_GET_MSRS		_IOWR(VHVIO, 0x25, struct vhv_msrs)
#define VHV_SET_MSRS		_IOW(VHVIO, 0x26, struct vhv_msrs)
#define VHV_SET_CPUID		_IOW(VHVIO, 0x27, struct vhv_cpuid)
#define VHV_GET_LAPIC		_IOR(VHVIO, 0x28, struct vhv_lapic_state)
#define VHV_SET_LAPIC		_IOW(VHVIO, 0x29, struct vhv_lapic_state)
#define VHV_GET_MP_STATE	_IOR(VHVIO, 0x2a, struct vhv_mp_state)
#define VHV_SET_MP_STATE	_IOW(VHVIO, 0x2b, struct vhv_mp_state)

/* General registers, in the order of their x86 encoding. */
struct vhv_regs {
	__u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct vhv_segment {
	__u64 base;
	__u32 limit;		/* in bytes, already scaled by g */
	__u16 selector;
	__u8 type;
	__u8 present, dpl, db, s, l, g, avl;
	__u8 unusable;
	__u8 reserved;
};

struct vhv_dtable {
	__u64 base;
	__u16 limit;
	__u16 reserved[3];
};

struct vhv_sregs {
	struct vhv_segment cs, ds, es, fs, gs, ss;
	struct vhv_segment tr, ldt;
	struct vhv_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
};

struct vhv_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

/* Returns the number of entries processed; it stops at the first bad MSR. */
struct vhv_msrs {
	__u32 nmsrs;
	__u32 reserved;
	struct vhv_msr_entry entries[];
};

#define VHV_CPUID_FLAG_INDEX	0x1	/* index (ECX) is significant */

struct vhv_cpuid_entry {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 reserved;
};

struct vhv_cpuid {
	__u32 nent;
	__u32 reserved;
	struct vhv_cpuid_entry entries[];
};

/* The local APIC registers, at their xAPIC offsets (0x000-0x3f0). */
struct vhv_lapic_state {
	__u8 regs[1024];
};

#define VHV_MP_RUNNABLE		0
#define VHV_MP_HALTED		1	/* HLT: waits for an interrupt */
#define VHV_MP_WAIT_SIPI	2	/* after INIT: waits for a SIPI */

struct vhv_mp_state {
	__u32 state;		/* VHV_MP_* */
	__u32 reserved;		/* must be zero */
};

/* Exit reasons, in vhv_run.exit_reason */
#define VHV_EXIT_NONE		0
#define VHV_EXIT_IO		1
#define VHV_EXIT_MMIO		2
#define VHV_EXIT_HLT		3	/* not used: HLT waits in the kernel */
#define VHV_EXIT_SHUTDOWN	4
#define VHV_EXIT_FAIL_ENTRY	5
#define VHV_EXIT_INTERNAL_ERROR	6
#define VHV_EXIT_INTR		7
#define VHV_EXIT_EOI		8

/* vhv_run.internal.suberror */
#define VHV_INTERNAL_UNKNOWN_EXIT	1	/* code: raw hardware exit */
#define VHV_INTERNAL_EMULATION		2	/* insn: the bytes not emulated */
#define VHV_INTERNAL_FETCH		3	/* code fetch outside RAM */
#define VHV_INTERNAL_MEMORY		4	/* the VMM's memory went away */

#define VHV_IO_IN		0
#define VHV_IO_OUT		1

#define VHV_RUN_DATA_OFFSET	1024	/* string I/O data area in the page */

struct vhv_run {
	/* in */
	__u8 immediate_exit;
	__u8 reserved0[7];
	/* out */
	__u32 exit_reason;
	__u32 reserved1;
	__u64 rip;		/* guest RIP at the exit */
	union {
		/* VHV_EXIT_IO */
		struct {
			__u16 port;
			__u8 direction;	/* VHV_IO_IN or VHV_IO_OUT */
			__u8 size;	/* 1, 2 or 4 bytes per item */
			__u8 string;	/* INS/OUTS */
			__u8 rep;	/* REP prefix */
			__u16 reserved;
			__u32 count;	/* items at data_offset */
			__u32 data_offset;	/* from the start of this page */
		} io;
		/* VHV_EXIT_MMIO */
		struct {
			__u64 gpa;
			__u8 data[8];
			__u32 len;	/* 1, 2, 4 or 8 */
			__u8 is_write;
			__u8 reserved[3];
		} mmio;
		/* VHV_EXIT_EOI */
		struct {
			__u32 vector;
			__u32 reserved;
		} eoi;
		/* VHV_EXIT_FAIL_ENTRY */
		struct {
			__u64 hardware_reason;
			__u32 cpu;
			__u32 reserved;
		} fail_entry;
		/* VHV_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;	/* VHV_INTERNAL_* */
			__u32 insn_len;
			__u64 code;	/* raw exit code */
			__u64 info[2];	/* raw exit information */
			__u8 insn[16];
		} internal;
		__u8 padding[256];
	};
};

#endif /* _UAPI_LINUX_VHV_H */
