/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhv selftest library, in the style of KVM's selftests.
 *
 * The host side creates partitions and VPs through /dev/vhv.  Guest code
 * is plain C in the test binary: part_create() copies the binary's own
 * PT_LOAD segments into guest RAM at GPA == their link address and builds
 * identity page tables, a GDT, a TSS and an IDT, so a VP can start at any
 * function of the binary in 64-bit mode.  The guest talks to the host
 * through a "ucall": an OUT to UCALL_PORT with RDI holding the address of
 * a struct ucall in guest memory.
 *
 * Guest memory is a copy of the binary: a global seen by guest code is
 * not the host's global of the same name.  Use addr_gva2hva() (or
 * guest_ptr()) to reach the guest's copy from the host.
 */
#ifndef SELFTEST_VHV_UTIL_H
#define SELFTEST_VHV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/types.h>
#include <linux/vhv.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

#ifndef BIT
#define BIT(n)			(1UL << (n))
#endif
#ifndef BIT_ULL
#define BIT_ULL(n)		(1ULL << (n))
#endif
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __noreturn		__attribute__((noreturn))

#define VHV_DEV_PATH		"/dev/vhv"
#define PAGE_SIZE		4096UL
#define LARGE_PAGE_SIZE		(2UL << 20)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* Relaxed atomics: plain loads and stores the compiler cannot elide. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * Guest physical (and, through the identity page tables, virtual) layout
 * set up by part_create().  The test binary itself links at 0x400000.
 */
#define VHV_DEFAULT_RAM		(64UL << 20)
#define GUEST_GDT_GPA		0x1000UL
#define GUEST_IDT_GPA		0x2000UL
#define GUEST_TSS_GPA		0x3000UL
#define GUEST_PT_GPA		0x10000UL	/* PML4, PDPT, then 4 PDs */
#define GUEST_STACK_GPA		0x100000UL
#define GUEST_STACK_SIZE	0x8000UL	/* per VP index */
#define GUEST_IMAGE_MIN		0x400000UL	/* nothing of ours from here */
#define GUEST_SCRATCH_GPA	0x2000000UL	/* free for tests to RAM end */
#define GUEST_IDENTITY_SIZE	(4ULL << 30)	/* GVA == GPA below this */
#define GUEST_MMIO_GPA		0xd0000000UL	/* never backed by RAM */

#define GDT_CODE_SEL		0x08
#define GDT_DATA_SEL		0x10
#define GDT_TSS_SEL		0x18

/* Architectural bits used by the tests. */
#define X86_CR0_PE		BIT(0)
#define X86_CR0_MP		BIT(1)
#define X86_CR0_ET		BIT(4)
#define X86_CR0_NE		BIT(5)
#define X86_CR0_WP		BIT(16)
#define X86_CR0_PG		BIT(31)
#define X86_CR4_PAE		BIT(5)
#define X86_CR4_OSFXSR		BIT(9)
#define X86_CR4_OSXMMEXCPT	BIT(10)
#define EFER_SCE		BIT(0)
#define EFER_LME		BIT(8)
#define EFER_LMA		BIT(10)
#define EFER_NXE		BIT(11)

#define X86_FLAGS_FIXED		BIT(1)
#define X86_FLAGS_IF		BIT(9)
#define X86_FLAGS_CF		BIT(0)
#define X86_FLAGS_PF		BIT(2)
#define X86_FLAGS_AF		BIT(4)
#define X86_FLAGS_ZF		BIT(6)
#define X86_FLAGS_SF		BIT(7)
#define X86_FLAGS_DF		BIT(10)
#define X86_FLAGS_OF		BIT(11)
#define X86_FLAGS_ARITH		(X86_FLAGS_CF | X86_FLAGS_PF | X86_FLAGS_AF | \
				 X86_FLAGS_ZF | X86_FLAGS_SF | X86_FLAGS_OF)

#define GUEST_CR0	(X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | \
			 X86_CR0_WP | X86_CR0_PG)
#define GUEST_CR4	(X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define GUEST_EFER	(EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE)

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_APICBASE	0x0000001b
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_CR_PAT		0x00000277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

#define DE_VECTOR		0
#define BP_VECTOR		3
#define UD_VECTOR		6
#define DF_VECTOR		8
#define GP_VECTOR		13
#define PF_VECTOR		14
#define VHV_NR_EXC_VECTORS	32
#define VHV_NR_VECTORS		256	/* every IDT entry has a stub */

/* ---------------------------------------------------------------------
 * Host-side assertions.  They print and abort(), which the kselftest
 * harness reports as a failed test; they are safe in any thread.
 */
void __noreturn __printf(4, 5)
test_assert_fail(const char *file, int line, const char *cond,
		 const char *fmt, ...);

#define TEST_ASSERT(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			test_assert_fail(__FILE__, __LINE__, #cond,	\
					 fmt, ##__VA_ARGS__);		\
	} while (0)

#define TEST_FAIL(fmt, ...)						\
	test_assert_fail(__FILE__, __LINE__, "failure", fmt, ##__VA_ARGS__)

/* ---------------------------------------------------------------------
 * Objects.
 */
#define PART_MAX_REGIONS	32

struct vhv_region {
	u64 gpa;
	u64 size;
	void *hva;
	u32 flags;
};

struct vhv_vp;

struct vhv_partition {
	int fd;
	size_t run_size;
	void *ram;		/* RAM at GPA 0, or NULL */
	size_t ram_size;
	bool image_loaded;	/* the 64-bit guest environment is there */
	unsigned int nregions;
	struct vhv_region regions[PART_MAX_REGIONS];
	struct vhv_vp *vps[VHV_MAX_VPS];
};

struct vhv_vp {
	struct vhv_partition *part;
	int fd;
	u32 index;
	struct vhv_run *run;
	size_t run_size;
	char exit_str[256];
};

/* /dev/vhv */
int vhv_open(void);
int vhv_check_cap(unsigned long cap);
int vhv_run_page_size(void);

/* Partitions and memory */
struct vhv_partition *part_create_empty(void);
struct vhv_partition *part_create(size_t ram_bytes);
/* As above, with VHV_PARTITION_* flags for VHV_CREATE_PARTITION. */
struct vhv_partition *part_create_empty_flags(unsigned long flags);
struct vhv_partition *part_create_flags(size_t ram_bytes, unsigned long flags);
void part_free(struct vhv_partition *part);
int __part_map(struct vhv_partition *part, u64 gpa, u64 size, void *hva,
	       u32 flags);
void part_map(struct vhv_partition *part, u64 gpa, u64 size, void *hva,
	      u32 flags);
int __part_unmap(struct vhv_partition *part, u64 gpa, u64 size);
void part_unmap(struct vhv_partition *part, u64 gpa, u64 size);
void *addr_gpa2hva(struct vhv_partition *part, u64 gpa);
void *addr_gva2hva(struct vhv_partition *part, u64 gva);
void part_write(struct vhv_partition *part, u64 gpa, const void *src,
		size_t len);

/* The guest's copy of a global of the test binary. */
#define guest_ptr(part, var)						\
	((__typeof__(var) *)addr_gva2hva(part, (uintptr_t)(void *)&(var)))
#define sync_global_to_guest(part, var)					\
	(*guest_ptr(part, var) = (var))
#define sync_global_from_guest(part, var)				\
	((var) = *guest_ptr(part, var))

/* VPs */
#define GUEST_CODE(fn)		((void (*)(void))(fn))

struct vhv_vp *vp_create(struct vhv_partition *part, u32 index);
struct vhv_vp *vp_add(struct vhv_partition *part, u32 index,
		      void (*guest_code)(void));
void vp_free(struct vhv_vp *vp);
void vp_setup_long_mode(struct vhv_vp *vp, void (*guest_code)(void));
void vp_set_real_mode_entry(struct vhv_vp *vp, u16 cs, u16 ip);
void vp_args_set(struct vhv_vp *vp, unsigned int nargs, ...);
u64 vp_stack_top(u32 index);

int __vp_run(struct vhv_vp *vp);
void vp_run(struct vhv_vp *vp);
void vp_regs_get(struct vhv_vp *vp, struct vhv_regs *regs);
void vp_regs_set(struct vhv_vp *vp, const struct vhv_regs *regs);
void vp_sregs_get(struct vhv_vp *vp, struct vhv_sregs *sregs);
void vp_sregs_set(struct vhv_vp *vp, const struct vhv_sregs *sregs);
int __vp_sregs_set(struct vhv_vp *vp, const struct vhv_sregs *sregs);
u64 vp_get_msr(struct vhv_vp *vp, u32 index);
void vp_set_msr(struct vhv_vp *vp, u32 index, u64 value);
int __vp_msrs(struct vhv_vp *vp, unsigned long ioctl_nr,
	      struct vhv_msr_entry *entries, u32 n);
int __vp_set_cpuid(struct vhv_vp *vp, const struct vhv_cpuid_entry *entries,
		   u32 n);
void vp_set_cpuid(struct vhv_vp *vp, const struct vhv_cpuid_entry *entries,
		  u32 n);

/* Data area of the current I/O exit. */
static inline void *vp_io_data(struct vhv_vp *vp)
{
	return (u8 *)vp->run + vp->run->io.data_offset;
}

const char *exit_reason_str(u32 reason);
const char *vp_exit_str(struct vhv_vp *vp);

#define TEST_ASSERT_EXIT(vp, reason)					\
	do {								\
		u32 __want = (reason);					\
		TEST_ASSERT((vp)->run->exit_reason == __want,		\
			    "expected exit %s, got %s",			\
			    exit_reason_str(__want), vp_exit_str(vp));	\
	} while (0)

/* Check the current exit is port I/O with these parameters. */
void assert_io_exit(struct vhv_vp *vp, u16 port, u8 size, u8 direction,
		    bool string);

/* ---------------------------------------------------------------------
 * ucall
 */
#define UCALL_PORT		0x7f00
#define UCALL_MAX_ARGS		4

enum {
	UCALL_NONE,
	UCALL_SYNC,
	UCALL_DONE,
	UCALL_ABORT,		/* GUEST_ASSERT failed */
	UCALL_UNHANDLED,	/* exception with no handler installed */
};

struct ucall {
	u64 cmd;
	u64 args[UCALL_MAX_ARGS];
	u64 expr;		/* UCALL_ABORT: GVAs of strings, line */
	u64 file;
	u64 line;
};

/* Guest side. */
void ucall(u64 cmd, u64 a0, u64 a1, u64 a2, u64 a3);
void __noreturn
ucall_assert(const char *expr, const char *file, u64 line, u64 a, u64 b,
	     u64 ctx);

#define GUEST_SYNC(arg)		ucall(UCALL_SYNC, (u64)(arg), 0, 0, 0)
#define GUEST_SYNC_ARGS(a0, a1, a2, a3)					\
	ucall(UCALL_SYNC, (u64)(a0), (u64)(a1), (u64)(a2), (u64)(a3))
#define GUEST_DONE()		ucall(UCALL_DONE, 0, 0, 0, 0)

#define GUEST_ASSERT(cond)						\
	do {								\
		if (!(cond))						\
			ucall_assert(#cond, __FILE__, __LINE__, 0, 0, 0); \
	} while (0)

#define GUEST_ASSERT_EQ_CTX(a, b, ctx)					\
	do {								\
		u64 __ga = (u64)(a), __gb = (u64)(b);			\
		if (__ga != __gb)					\
			ucall_assert(#a " == " #b, __FILE__, __LINE__,	\
				     __ga, __gb, (u64)(ctx));		\
	} while (0)

#define GUEST_ASSERT_EQ(a, b)	GUEST_ASSERT_EQ_CTX(a, b, 0)

/*
 * Host side.  get_ucall() only decodes the current exit: it returns
 * UCALL_NONE unless it is the guest's OUT to UCALL_PORT.
 */
u64 get_ucall(struct vhv_vp *vp, struct ucall *uc);
/* Decode a ucall; abort on guest asserts, exceptions and other exits. */
u64 vp_check_ucall(struct vhv_vp *vp, struct ucall *uc);
u64 vp_run_ucall(struct vhv_vp *vp, struct ucall *uc);
/* Run; the exit must be GUEST_SYNC; returns its first argument. */
u64 vp_expect_sync(struct vhv_vp *vp);
/* Run; the exit must be GUEST_DONE. */
void vp_expect_done(struct vhv_vp *vp);

/* ---------------------------------------------------------------------
 * Guest exceptions and interrupts.  All 256 vectors enter
 * vhv_guest_exception() with this frame (error_code is 0 for vectors
 * that push none); a handler installed with
 * part_install_exception_handler() (vectors 0-31) or
 * part_install_irq_handler() (apic.h, any vector) may change it (e.g. rip)
 * and the stub returns with IRETQ.  Without one the guest reports
 * UCALL_UNHANDLED (vector, error code, RIP, CR2).
 */
struct ex_regs {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

typedef void (*vhv_exc_handler_fn)(struct ex_regs *regs);

extern u8 vhv_exc_stubs[];	/* 16 bytes per vector, 256 vectors */
extern u8 vhv_guest_return_trap[];
extern vhv_exc_handler_fn vhv_guest_exc_handlers[VHV_NR_VECTORS];

void vhv_guest_exception(struct ex_regs *regs);
void vhv_guest_returned(void);
void part_install_exception_handler(struct vhv_partition *part,
				    unsigned int vector,
				    vhv_exc_handler_fn handler);

/* Build the GDT, IDT, TSS and page tables of part_create(). */
void guest_setup_tables(struct vhv_partition *part);
/* Copy the PT_LOAD segments of /proc/self/exe into guest RAM. */
void guest_load_image(struct vhv_partition *part);
/* Descriptor helpers shared by the setup code and tests. */
void guest_code64_segment(struct vhv_segment *seg);
void guest_data_segment(struct vhv_segment *seg);
void guest_tss_segment(struct vhv_segment *seg);
void guest_sregs_long_mode(struct vhv_sregs *sregs);

/* ---------------------------------------------------------------------
 * Guest-side instruction helpers.
 */
static inline void guest_cpuid(u32 leaf, u32 subleaf, u32 *eax, u32 *ebx,
			       u32 *ecx, u32 *edx)
{
	asm volatile("cpuid"
		     : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx)
		     : "a"(leaf), "c"(subleaf)
		     : "memory");
}

static inline u64 guest_rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return lo | ((u64)hi << 32);
}

static inline void guest_wrmsr(u32 msr, u64 val)
{
	asm volatile("wrmsr"
		     : : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32))
		     : "memory");
}

static inline u64 guest_rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | ((u64)hi << 32);
}

static inline u64 guest_read_cr0(void)
{
	u64 v;

	asm volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline u64 guest_read_cr4(void)
{
	u64 v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline u64 guest_read_cr3(void)
{
	u64 v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline u64 guest_read_flags(void)
{
	u64 v;

	asm volatile("pushfq\n\tpop %0" : "=r"(v) : : "memory");
	return v;
}

/* ---------------------------------------------------------------------
 * A simple MMIO device for the host: a byte array at [base, base + size)
 * that MMIO reads and writes hit, with a log of the accesses.
 */
#define MMIO_DEV_SIZE		0x1000
#define MMIO_LOG_MAX		64

struct mmio_access {
	u64 gpa;
	u64 data;		/* little-endian value, len bytes */
	u64 rip;		/* run->rip */
	u32 len;
	bool is_write;
};

struct mmio_dev {
	u64 base;
	unsigned int nlog;	/* may exceed MMIO_LOG_MAX; extra not kept */
	struct mmio_access log[MMIO_LOG_MAX];
	u8 mem[MMIO_DEV_SIZE];
};

void mmio_dev_init(struct mmio_dev *dev, u64 base);
/* Serve the current exit, which must be MMIO inside the device. */
void mmio_dev_handle(struct vhv_vp *vp, struct mmio_dev *dev);
/* Run, serving MMIO exits, until a ucall (checked as vp_check_ucall). */
u64 vp_run_mmio(struct vhv_vp *vp, struct mmio_dev *dev, struct ucall *uc);
void mmio_dev_clear_log(struct mmio_dev *dev);
/* Check log entry i. */
void mmio_dev_check(struct mmio_dev *dev, unsigned int i, u64 gpa, u32 len,
		    bool is_write, u64 data);

#endif /* SELFTEST_VHV_UTIL_H */
