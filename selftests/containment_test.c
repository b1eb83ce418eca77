// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-fault containment: whatever a guest does, or whatever state the
 * VMM loads, the host stays healthy (the lane checks its kernel log),
 * the VMM gets a defined exit and the guest a correct fault.
 *
 *  - triple faults, in long and real mode, from an exception or an event
 *    delivery: VHV_EXIT_SHUTDOWN, the power-on state, and the VP runs
 *    again;
 *  - invalid state through VHV_SET_REGS/VHV_SET_SREGS: EINVAL where
 *    Documentation/api.rst says so (nothing changed), else a defined
 *    exit of VHV_RUN (FAIL_ENTRY, SHUTDOWN, an exception, ...);
 *  - interrupt floods from the VMM and the guest, the shortest periodic
 *    timer, a TSC-deadline storm and exception storms: bounded, and the
 *    VMM can always stop the run;
 *  - every VMX and SVM instruction and other privileged ones, in ring 0
 *    and ring 3: the fault the architecture and vhv document;
 *  - the APIC page written at a high rate;
 *  - every kind of GPA hole: MMIO for data, VHV_INTERNAL_FETCH for code,
 *    a guest #PF where the guest's page tables say so.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

#define STR_(x)		#x
#define STR(x)		STR_(x)

#define NO_EXC		32	/* outcome: no exception */
#define DB_VECTOR	1
#define NMI_VECTOR	2
#define AC_VECTOR	17

#define X86_FLAGS_TF	BIT(8)
#define X86_FLAGS_AC	BIT(18)
#define X86_CR0_TS	BIT(3)
#define X86_CR0_AM	BIT(18)
#define X86_CR0_NW	BIT(29)
#define X86_CR0_CD	BIT(30)

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)

#define PF_ERR_P	BIT(0)
#define PF_ERR_W	BIT(1)
#define PF_ERR_RSVD	BIT(3)
#define PF_ERR_I	BIT(4)

/* ---------------------------------------------------------------------
 * Shared guest helpers: a recording exception handler that resumes at
 * a given address, code snippets with labels, and ring 3.
 */
u64 ex_n, ex_vector, ex_error, ex_rip, ex_cr2, ex_resume;

static void ex_reset(u64 resume)
{
	WRITE_ONCE(ex_n, 0);
	WRITE_ONCE(ex_vector, NO_EXC);
	WRITE_ONCE(ex_error, 0);
	WRITE_ONCE(ex_rip, 0);
	WRITE_ONCE(ex_cr2, 0);
	WRITE_ONCE(ex_resume, resume);
}

static void rec_handler(struct ex_regs *regs)
{
	u64 n = READ_ONCE(ex_n);

	if (!n) {
		WRITE_ONCE(ex_vector, regs->vector);
		WRITE_ONCE(ex_error, regs->error_code);
		WRITE_ONCE(ex_rip, regs->rip);
		if (regs->vector == PF_VECTOR) {
			u64 cr2;

			asm volatile("mov %%cr2, %0" : "=r"(cr2));
			WRITE_ONCE(ex_cr2, cr2);
		}
	}
	WRITE_ONCE(ex_n, n + 1);
	if (!READ_ONCE(ex_resume))
		ucall_assert("exception without a resume address", __FILE__,
			     __LINE__, regs->vector, regs->rip, regs->error_code);
	regs->rip = READ_ONCE(ex_resume);
}

static void install_rec_handlers(struct vhv_partition *part)
{
	unsigned int v;

	for (v = 0; v < VHV_NR_EXC_VECTORS; v++)
		if (v != NMI_VECTOR)
			part_install_exception_handler(part, v, rec_handler);
}

/*
 * SNIP(name, setup, insn, after) and SNIP_DECL(name): a function "name"
 * that runs setup,
 * then insn (at label name_insn), then after, and returns (from label
 * name_end, where rec_handler resumes after a fault).  It may clobber
 * RAX, RCX, RDX and R8-R11 only.
 */
typedef void snip_fn(void);

#define SNIP(name, setup, insn, after)					\
	asm(".pushsection .text\n"					\
	    ".type " #name ", @function\n"				\
	    #name ":\n\t"						\
	    setup "\n"							\
	    #name "_insn:\n\t"						\
	    insn "\n\t"							\
	    after "\n"							\
	    #name "_end:\n\t"						\
	    "ret\n"							\
	    ".popsection")

/* The C names of a snippet's labels. */
#define SNIP_DECL(name)	snip_fn name, name##_insn, name##_end

u8 snip_buf[4096] __attribute__((aligned(4096)));

/* Ring 3: a user code and data segment, U pages, RSP0, gate 0x80. */
#define USER_DS			0x2b	/* GDT entry 5, RPL 3 */
#define USER_CS			0x33	/* GDT entry 6, RPL 3 */
#define USER_STACK_TOP		0x2100000
#define RSP0_TOP		0x2200000
#define USER_EXIT_VECTOR	0x80
#define USER_PORT		0x5000	/* outside the TSS I/O bitmap */

u64 user_kernel_rsp;

/* run_user(fn, rflags): call fn in ring 3; it comes back with INT 0x80. */
asm(".pushsection .text\n"
	".type run_user, @function\n"
	"run_user:\n\t"
	"push %rbx\n\t"
	"push %rbp\n\t"
	"push %r12\n\t"
	"push %r13\n\t"
	"push %r14\n\t"
	"push %r15\n\t"
	"mov %rsp, user_kernel_rsp(%rip)\n\t"
	"pushq $" STR(USER_DS) "\n\t"
	"pushq $" STR(USER_STACK_TOP) "\n\t"
	"push %rsi\n\t"
	"pushq $" STR(USER_CS) "\n\t"
	"lea user_tramp(%rip), %rax\n\t"
	"push %rax\n\t"
	"iretq\n"
	"user_tramp:\n\t"
	"call *%rdi\n\t"
	"int $" STR(USER_EXIT_VECTOR) "\n"
	"user_back:\n\t"
	"mov user_kernel_rsp(%rip), %rsp\n\t"
	"pop %r15\n\t"
	"pop %r14\n\t"
	"pop %r13\n\t"
	"pop %r12\n\t"
	"pop %rbp\n\t"
	"pop %rbx\n\t"
	"ret\n"
	".popsection");
typedef void run_user_fn(const void *fn, u64 rflags);
run_user_fn run_user;
snip_fn user_back;

static void user_exit_handler(struct ex_regs *regs)
{
	regs->cs = GDT_CODE_SEL;
	regs->ss = GDT_DATA_SEL;
	regs->rip = (u64)user_back;
	regs->rsp = READ_ONCE(user_kernel_rsp);
	regs->rflags = X86_FLAGS_FIXED | X86_FLAGS_IF;
}

static void user_setup(struct vhv_partition *part)
{
	u64 *gdt = addr_gpa2hva(part, GUEST_GDT_GPA);
	u64 *idt = addr_gpa2hva(part, GUEST_IDT_GPA);
	u64 *pt = addr_gpa2hva(part, GUEST_PT_GPA);
	u8 *tss = addr_gpa2hva(part, GUEST_TSS_GPA);
	u64 rsp0 = RSP0_TOP;
	u16 iomap = 0x68;
	unsigned int i;

	gdt[USER_DS >> 3] = 0x00cff3000000ffffULL;	/* data, DPL 3 */
	gdt[USER_CS >> 3] = 0x00affb000000ffffULL;	/* 64-bit code, DPL 3 */
	/* PML4, PDPT and the 4 PDs of the identity map: user pages. */
	pt[0] |= PTE_US;
	for (i = 0; i < 4; i++)
		pt[512 + i] |= PTE_US;
	for (i = 0; i < 4 * 512; i++)
		pt[1024 + i] |= PTE_US;
	memcpy(tss + 4, &rsp0, sizeof(rsp0));
	memcpy(tss + 0x66, &iomap, sizeof(iomap));	/* no I/O bitmap */
	idt[USER_EXIT_VECTOR * 2] |= 3ULL << 45;	/* DPL 3 */
	part_install_irq_handler(part, USER_EXIT_VECTOR, user_exit_handler);
}

static void guest_done(void)
{
	GUEST_DONE();
}

/* ---------------------------------------------------------------------
 * Host helpers.
 */

/* This harness has timeouts for fixture tests only: an empty fixture. */
FIXTURE(slow) {
};

FIXTURE_SETUP(slow)
{
}

FIXTURE_TEARDOWN(slow)
{
}

#define TEST_TIMEOUT(name, secs)	TEST_F_TIMEOUT(slow, name, secs)

static void noop_handler(int sig)
{
}

static void install_handler(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(sig, &sa, NULL), "sigaction failed");
}

static void set_itimer_us(long us, bool repeat)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = 0, .tv_usec = repeat ? us : 0 },
		.it_value = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 },
	};

	TEST_ASSERT(!setitimer(ITIMER_REAL, &it, NULL), "setitimer failed");
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * QEMU's TCG (the svm lane) departs from the hardware in ways these
 * tests meet; they accept its behaviour there only, and say so.
 */
static bool host_is_tcg(void)
{
	unsigned int eax, ebx, ecx, edx;
	char sig[13];

	__cpuid(1, eax, ebx, ecx, edx);
	if (!(ecx & BIT(31)))
		return false;
	__cpuid(0x40000000, eax, ebx, ecx, edx);
	memcpy(sig, &ebx, 4);
	memcpy(sig + 4, &ecx, 4);
	memcpy(sig + 8, &edx, 4);
	sig[12] = 0;
	return !strcmp(sig, "TCGTCGTCGTCG");
}

/* The Bochs lanes boot with vhv_lane.sync=1 (scripts/lane.sh). */
static bool host_is_bochs(void)
{
	char line[1024] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	return strstr(line, "vhv_lane.sync=1");
}

static bool backend_is_vmx(void)
{
	return vhv_check_cap(VHV_CAP_BACKEND) == VHV_BACKEND_VMX;
}

/* The documented FAIL_ENTRY hardware reasons. */
static bool fail_entry_reason_ok(struct vhv_vp *vp, bool vmx)
{
	u64 r = vp->run->fail_entry.hardware_reason;

	if (!vmx)
		return r == ~0ULL;
	return r < 0x80000000ULL || r == 0x80000021ULL ||
	       r == 0x80000022ULL || r == 0x80000029ULL;
}

/* ---------------------------------------------------------------------
 * Triple faults.
 */
#define RESET_GPA	0xffff0000UL	/* 64 KiB of RAM up to 4 GiB */
#define STOP_PORT	0xf4

/* RAM under the reset vector with "out %al, $0xf4" at 0xfffffff0. */
static void map_reset_page(struct vhv_partition *part)
{
	u8 *ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const u8 code[] = { 0xe6, STOP_PORT, 0xf4, 0xeb, 0xfd };

	TEST_ASSERT(ram != MAP_FAILED, "mmap failed");
	memcpy(ram + 0xfff0, code, sizeof(code));
	part_map(part, RESET_GPA, 0x10000, ram,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
}

static void unmap_reset_page(struct vhv_partition *part)
{
	void *ram = addr_gpa2hva(part, RESET_GPA);

	part_unmap(part, RESET_GPA, 0x10000);
	munmap(ram, 0x10000);
}

u64 tf_rip;

#define TF_MARK(insn)							\
	asm volatile("lea 1f(%%rip), %%rax\n\t"				\
		     "mov %%rax, tf_rip(%%rip)\n\t"			\
		     "1: " insn : : : "rax", "memory")

static void lidt_zero(void)
{
	u64 idtr[2] = { 0, 0 };

	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

static void guest_tf_ud(void)
{
	/* A busy APIC too: the shutdown must reset it. */
	xapic_enable();
	xapic_write_reg(APIC_TASKPRI, 0x20);
	xapic_write_reg(APIC_TDCR, 0xb);
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | 0x40);
	xapic_write_reg(APIC_TMICT, 1000000000);
	lidt_zero();
	TF_MARK("ud2");
	GUEST_DONE();
}

static void guest_tf_int3(void)
{
	lidt_zero();
	TF_MARK("int3");
	GUEST_DONE();
}

static void guest_tf_de(void)
{
	lidt_zero();
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, tf_rip(%%rip)\n\t"
		     "xor %%edx, %%edx\n\t"
		     "xor %%ecx, %%ecx\n\t"
		     "1: divl %%ecx" : : : "rax", "rcx", "rdx", "memory");
	GUEST_DONE();
}

/* #PF whose delivery faults: the stack is outside the page tables. */
static void guest_tf_stack(void)
{
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, tf_rip(%%rip)\n\t"
		     "mov %0, %%rsp\n\t"
		     "1: mov (%%rsp), %%rax"
		     : : "r"(GUEST_IDENTITY_SIZE + 0x10000) : "rax", "memory");
	GUEST_DONE();
}

/* The delivery of a fixed self-IPI meets an IDT of limit 0. */
static void guest_tf_irq(void)
{
	xapic_enable();
	guest_cli();
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_INT_ASSERT | 0x50);
	lidt_zero();
	TF_MARK("sti; nop");
	GUEST_DONE();
}

/* The same with an NMI, taken whatever IF is. */
static void guest_tf_nmi(void)
{
	xapic_enable();
	lidt_zero();
	xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_INT_ASSERT |
			APIC_DM_NMI);
	GUEST_DONE();
}

/* The same from ring 3: #GP for HLT, with an IDT of limit 0. */
SNIP(user_hlt_tf, "", "hlt", "");
SNIP_DECL(user_hlt_tf);

static void guest_tf_user(void)
{
	lidt_zero();
	run_user(user_hlt_tf, X86_FLAGS_FIXED | X86_FLAGS_IF);
	GUEST_DONE();
}

/* The power-on state of section 9 of Documentation/api.rst. */
static void check_reset_state(struct __test_metadata *_metadata,
			      struct vhv_vp *vp)
{
	struct vhv_lapic_state lapic;
	struct vhv_sregs sregs;
	struct vhv_regs regs;

	vp_regs_get(vp, &regs);
	EXPECT_EQ(0xfff0ULL, regs.rip);
	EXPECT_EQ(0x2ULL, regs.rflags);
	EXPECT_EQ(0x600ULL, regs.rdx);
	EXPECT_EQ(0ULL, regs.rax);
	EXPECT_EQ(0ULL, regs.rsp);
	vp_sregs_get(vp, &sregs);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000ULL, sregs.cs.base);
	EXPECT_EQ(0xffffU, sregs.cs.limit);
	EXPECT_EQ(0ULL, sregs.ss.base);
	EXPECT_EQ(0x60000010ULL, sregs.cr0);
	EXPECT_EQ(0ULL, sregs.cr3);
	EXPECT_EQ(0ULL, sregs.cr4);
	EXPECT_EQ(0ULL, sregs.cr8);
	EXPECT_EQ(0ULL, sregs.efer);
	EXPECT_EQ(0ULL, sregs.idt.base);
	EXPECT_EQ(0xffff, sregs.idt.limit);
	EXPECT_EQ(0xffff, sregs.gdt.limit);
	EXPECT_EQ(0xfee00800ULL | (vp->index ? 0 : APICBASE_BSP),
		  sregs.apic_base);
	EXPECT_EQ((u32)VHV_MP_RUNNABLE, vp_get_mp_state(vp));
	vp_get_lapic(vp, &lapic);
	EXPECT_EQ(vp->index << 24, lapic_state_reg(&lapic, APIC_ID));
	EXPECT_EQ(0xffU, lapic_state_reg(&lapic, APIC_SPIV));
	EXPECT_EQ(0U, lapic_state_reg(&lapic, APIC_TASKPRI));
	EXPECT_EQ((u32)APIC_LVT_MASKED, lapic_state_reg(&lapic, APIC_LVTT));
	EXPECT_EQ(0U, lapic_state_reg(&lapic, APIC_TMICT));
	EXPECT_EQ(0U, lapic_state_reg(&lapic, APIC_TMCCT));
	EXPECT_EQ(0U, lapic_state_reg(&lapic, APIC_IRR + 0x20));
}

/*
 * Each way of triple faulting, in turn on one VP: SHUTDOWN with run.rip
 * at the instruction, the power-on state, the reset vector runs, and a
 * new state loaded by the VMM runs to the end.
 */
TEST_TIMEOUT(triple_fault_long_mode_then_reuse, 120)
{
	static const struct {
		const char *name;
		void (*fn)(void);
		bool check_rip;
	} cases[] = {
		{ "ud2", guest_tf_ud, true },
		{ "int3", guest_tf_int3, false },
		{ "div0", guest_tf_de, true },
		{ "stack", guest_tf_stack, true },
		{ "irq", guest_tf_irq, false },
		{ "nmi", guest_tf_nmi, false },
		{ "user", guest_tf_user, false },
	};
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	unsigned int i, round;

	user_setup(part);
	map_reset_page(part);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < ARRAY_SIZE(cases); i++) {
			*guest_ptr(part, tf_rip) = 0;
			vp_setup_long_mode(vp, cases[i].fn);
			vp_run(vp);
			ASSERT_EQ((u32)VHV_EXIT_SHUTDOWN, vp->run->exit_reason)
				TH_LOG("%s: %s", cases[i].name,
				       vp_exit_str(vp));
			if (cases[i].check_rip)
				EXPECT_EQ(*guest_ptr(part, tf_rip),
					  vp->run->rip)
					TH_LOG("%s", cases[i].name);
			check_reset_state(_metadata, vp);
			/* From the reset vector... */
			vp_run(vp);
			assert_io_exit(vp, STOP_PORT, 1, VHV_IO_OUT, false);
			EXPECT_EQ(0xfff0ULL, vp->run->rip);
			/* ... or from a state the VMM loads. */
			vp_setup_long_mode(vp, guest_done);
			vp_expect_done(vp);
		}
	}
	unmap_reset_page(part);
	part_free(part);
}

/* An application processor: after SHUTDOWN it is runnable (not WAIT_SIPI). */
TEST_TIMEOUT(triple_fault_ap, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp;

	map_reset_page(part);
	vp_create(part, 0);
	vp = vp_add(part, 1, guest_tf_int3);
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_SHUTDOWN);
	check_reset_state(_metadata, vp);
	vp_run(vp);
	assert_io_exit(vp, STOP_PORT, 1, VHV_IO_OUT, false);
	vp_setup_long_mode(vp, guest_done);
	vp_expect_done(vp);
	unmap_reset_page(part);
	part_free(part);
}

/* A VP that triple faults again and again; the other VP keeps working. */
TEST_TIMEOUT(triple_fault_repeated, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_vp *other = vp_add(part, 1, guest_done);
	unsigned int i;

	for (i = 0; i < 100; i++) {
		vp_setup_long_mode(vp, i & 1 ? guest_tf_int3 : guest_tf_stack);
		vp_run(vp);
		ASSERT_EQ((u32)VHV_EXIT_SHUTDOWN, vp->run->exit_reason)
			TH_LOG("round %u: %s", i, vp_exit_str(vp));
	}
	vp_expect_done(other);
	vp_setup_long_mode(vp, guest_done);
	vp_expect_done(vp);
	part_free(part);
}

/* Real mode: code at 0x1000 (CS 0x100) in 64 KiB of RAM. */
#define RM_RAM		0x10000UL
#define RM_CODE		0x1000UL

static struct vhv_vp *real_mode_vp(struct vhv_partition **pp)
{
	struct vhv_partition *part = part_create_empty();
	void *ram = mmap(NULL, RM_RAM, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(ram != MAP_FAILED, "mmap failed");
	part->ram = ram;
	part->ram_size = RM_RAM;
	part_map(part, 0, RM_RAM, ram,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
	*pp = part;
	return vp_create(part, 0);
}

static void real_mode_idt_limit(struct vhv_vp *vp, u16 limit)
{
	struct vhv_sregs sregs;

	vp_sregs_get(vp, &sregs);
	sregs.idt.base = 0;
	sregs.idt.limit = limit;
	vp_sregs_set(vp, &sregs);
}

TEST_TIMEOUT(triple_fault_real_mode, 120)
{
	static const u8 ud[] = { 0x0f, 0x0b };			/* ud2 */
	static const u8 intn[] = { 0xcd, 0x21 };		/* int $0x21 */
	static const u8 stop[] = { 0xe6, STOP_PORT };		/* out */
	static const u8 lidt0[] = {
		0x0f, 0x01, 0x1e, 0x00, 0x12,	/* lidt 0x1200 */
		0xcc,				/* int3 */
	};
	struct {
		const u8 *code;
		size_t len;
		u16 limit;
	} cases[] = {
		{ ud, sizeof(ud), 0 },
		{ intn, sizeof(intn), 0x1f },	/* 0x21, 13 and 8 past it */
		{ lidt0, sizeof(lidt0), 0x3ff },
	};
	struct vhv_partition *part;
	struct vhv_vp *vp = real_mode_vp(&part);
	unsigned int i;

	memset(addr_gpa2hva(part, 0x1200), 0, 6);	/* limit 0, base 0 */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		part_write(part, RM_CODE, cases[i].code, cases[i].len);
		vp_set_real_mode_entry(vp, RM_CODE >> 4, 0);
		real_mode_idt_limit(vp, cases[i].limit);
		vp_run(vp);
		ASSERT_EQ((u32)VHV_EXIT_SHUTDOWN, vp->run->exit_reason)
			TH_LOG("case %u: %s", i, vp_exit_str(vp));
		check_reset_state(_metadata, vp);
		/* Usable again. */
		part_write(part, RM_CODE, stop, sizeof(stop));
		vp_set_real_mode_entry(vp, RM_CODE >> 4, 0);
		real_mode_idt_limit(vp, 0x3ff);
		vp_run(vp);
		assert_io_exit(vp, STOP_PORT, 1, VHV_IO_OUT, false);
		EXPECT_EQ(0ULL, vp->run->rip);
	}
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Invalid state through the set-registers ioctls.
 */
static void good_long_mode_state(struct vhv_vp *vp, struct vhv_sregs *sregs,
				 struct vhv_regs *regs)
{
	vp_setup_long_mode(vp, guest_done);
	vp_sregs_get(vp, sregs);
	vp_regs_get(vp, regs);
}

static unsigned int host_phys_bits(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid_max(0x80000000, NULL) < 0x80000008)
		return 36;
	__cpuid(0x80000008, eax, ebx, ecx, edx);
	return eax & 0xff;
}

enum sregs_bad {
	BAD_CR0_HI, BAD_CR0_PG_NO_PE, BAD_CR0_NW_NO_CD,
	BAD_CR4_BIT,		/* + the bit in the case */
	BAD_EFER_BIT, BAD_EFER_LMA_CLEAR, BAD_EFER_LMA_NO_LME,
	BAD_CR8, BAD_LM_NO_PAE, BAD_LM_CS_L_D, BAD_LM_CR3,
	BAD_APIC_BASE,
};

/* VHV_SET_SREGS refuses these (api.rst 5.3) and changes nothing. */
TEST_TIMEOUT(set_sregs_rejected, 120)
{
	static const struct {
		const char *name;
		enum sregs_bad kind;
		u64 arg;
	} cases[] = {
		{ "cr0 bit 32", BAD_CR0_HI, 32 },
		{ "cr0 bit 63", BAD_CR0_HI, 63 },
		{ "cr0 PG without PE", BAD_CR0_PG_NO_PE, 0 },
		{ "cr0 NW without CD", BAD_CR0_NW_NO_CD, 0 },
		{ "cr4 LA57", BAD_CR4_BIT, 12 },
		{ "cr4 VMXE", BAD_CR4_BIT, 13 },
		{ "cr4 SMXE", BAD_CR4_BIT, 14 },
		{ "cr4 bit 15", BAD_CR4_BIT, 15 },
		{ "cr4 OSXSAVE", BAD_CR4_BIT, 18 },
		{ "cr4 bit 19", BAD_CR4_BIT, 19 },
		{ "cr4 PKE", BAD_CR4_BIT, 22 },
		{ "cr4 CET", BAD_CR4_BIT, 23 },
		{ "cr4 PKS", BAD_CR4_BIT, 24 },
		{ "cr4 bit 31", BAD_CR4_BIT, 31 },
		{ "cr4 bit 63", BAD_CR4_BIT, 63 },
		{ "efer bit 1", BAD_EFER_BIT, 1 },
		{ "efer bit 9", BAD_EFER_BIT, 9 },
		{ "efer SVME", BAD_EFER_BIT, 12 },
		{ "efer LMSLE", BAD_EFER_BIT, 13 },
		{ "efer FFXSR", BAD_EFER_BIT, 14 },
		{ "efer TCE", BAD_EFER_BIT, 15 },
		{ "efer bit 63", BAD_EFER_BIT, 63 },
		{ "efer LMA clear in long mode", BAD_EFER_LMA_CLEAR, 0 },
		{ "efer LMA without LME", BAD_EFER_LMA_NO_LME, 0 },
		{ "cr8 16", BAD_CR8, 16 },
		{ "cr8 ~0", BAD_CR8, ~0ULL },
		{ "long mode without PAE", BAD_LM_NO_PAE, 0 },
		{ "long mode CS L and D", BAD_LM_CS_L_D, 0 },
		{ "long mode cr3 bit 62", BAD_LM_CR3, 62 },
		{ "long mode cr3 bit 63", BAD_LM_CR3, 63 },
		{ "long mode cr3 at phys bits", BAD_LM_CR3, 0 },
		{ "apic base bit 0", BAD_APIC_BASE, 0xfee00901 },
		{ "apic base bit 9", BAD_APIC_BASE, 0xfee00b00 },
		{ "apic base bit 63", BAD_APIC_BASE, 0x80000000fee00900ULL },
		{ "apic base EXTD without EN", BAD_APIC_BASE, 0xfee00500 },
		{ "apic base EXTD, no x2APIC", BAD_APIC_BASE, 0xfee00d00 },
	};
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_sregs good, bad, after;
	struct vhv_regs regs;
	unsigned int i, pbits = host_phys_bits();

	good_long_mode_state(vp, &good, &regs);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 arg = cases[i].arg;

		bad = good;
		switch (cases[i].kind) {
		case BAD_CR0_HI:
			bad.cr0 |= 1ULL << arg;
			break;
		case BAD_CR0_PG_NO_PE:
			bad.cr0 &= ~X86_CR0_PE;
			break;
		case BAD_CR0_NW_NO_CD:
			bad.cr0 = (bad.cr0 | X86_CR0_NW) & ~X86_CR0_CD;
			break;
		case BAD_CR4_BIT:
			bad.cr4 |= 1ULL << arg;
			break;
		case BAD_EFER_BIT:
			bad.efer |= 1ULL << arg;
			break;
		case BAD_EFER_LMA_CLEAR:
			bad.efer &= ~EFER_LMA;
			break;
		case BAD_EFER_LMA_NO_LME:
			bad.efer &= ~EFER_LME;
			break;
		case BAD_CR8:
			bad.cr8 = arg;
			break;
		case BAD_LM_NO_PAE:
			bad.cr4 &= ~X86_CR4_PAE;
			break;
		case BAD_LM_CS_L_D:
			bad.cs.db = 1;
			break;
		case BAD_LM_CR3:
			if (!arg) {
				if (pbits >= 52)
					continue;
				arg = pbits;
			}
			bad.cr3 |= 1ULL << arg;
			break;
		case BAD_APIC_BASE:
			bad.apic_base = arg;
			break;
		}
		errno = 0;
		EXPECT_EQ(-1, __vp_sregs_set(vp, &bad)) TH_LOG("%s accepted",
							       cases[i].name);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", cases[i].name);
		vp_sregs_get(vp, &after);
		EXPECT_EQ(0, memcmp(&good, &after, sizeof(good)))
			TH_LOG("%s changed the state", cases[i].name);
	}
	/* Still good. */
	vp_sregs_set(vp, &good);
	vp_regs_set(vp, &regs);
	vp_expect_done(vp);
	part_free(part);
}

/* RFLAGS outside 0x3f7fd7 is refused; bit 1 is always set. */
TEST_TIMEOUT(set_regs_rflags, 120)
{
	static const unsigned int bad_bits[] = { 3, 5, 15, 22, 31, 32, 63 };
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_done);
	struct vhv_regs good, regs, after;
	unsigned int i;

	vp_regs_get(vp, &good);
	for (i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		regs = good;
		regs.rflags |= 1ULL << bad_bits[i];
		errno = 0;
		EXPECT_EQ(-1, ioctl(vp->fd, VHV_SET_REGS, &regs))
			TH_LOG("RFLAGS bit %u accepted", bad_bits[i]);
		EXPECT_EQ(EINVAL, errno);
		vp_regs_get(vp, &after);
		EXPECT_EQ(0, memcmp(&good, &after, sizeof(good)))
			TH_LOG("RFLAGS bit %u changed the state", bad_bits[i]);
	}
	regs = good;
	regs.rflags = X86_FLAGS_IF;
	vp_regs_set(vp, &regs);
	vp_regs_get(vp, &after);
	EXPECT_EQ(X86_FLAGS_IF | X86_FLAGS_FIXED, after.rflags);
	vp_expect_done(vp);
	part_free(part);
}

enum outcome {
	OUT_DONE,		/* the guest got to GUEST_DONE */
	OUT_GUEST_EXC,		/* the guest took an exception it reported */
	OUT_FAIL_ENTRY,
	OUT_SHUTDOWN,
	OUT_INTERNAL,
	OUT_INTR,		/* still running when the timer stopped it */
	OUT_ABORT,
};

static const char * const outcome_names[] = {
	"done", "guest exception", "FAIL_ENTRY", "SHUTDOWN",
	"INTERNAL_ERROR", "stopped by a signal", "guest assert",
};

/*
 * Run a VP whose state may be anything, for at most 300 ms and 200
 * exits: every exit must be one of the defined ones.
 */
static u64 run_leaked_rip;

static enum outcome run_defined(struct vhv_vp *vp, char *what, size_t len)
{
	enum outcome out = OUT_INTR;
	struct ucall uc;
	unsigned int n;
	int ret;

	install_handler(SIGALRM);
	set_itimer_us(300000, false);
	for (n = 0; n < 200; n++) {
		errno = 0;
		ret = __vp_run(vp);
		if (ret) {
			TEST_ASSERT(ret == -1 && errno == EINTR &&
				    vp->run->exit_reason == VHV_EXIT_INTR,
				    "VHV_RUN: %d errno %d, %s", ret, errno,
				    vp_exit_str(vp));
			break;
		}
		snprintf(what, len, "%s", vp_exit_str(vp));
		/* No guest RIP of these runs is up there: a host address. */
		if (vp->run->rip >= 0xffff800000000000ULL)
			run_leaked_rip = vp->run->rip;
		switch (vp->run->exit_reason) {
		case VHV_EXIT_IO:
			switch (get_ucall(vp, &uc)) {
			case UCALL_DONE:
				out = OUT_DONE;
				goto out;
			case UCALL_UNHANDLED:
				snprintf(what, len, "vector %llu error %#llx rip %#llx",
					 (unsigned long long)uc.args[0],
					 (unsigned long long)uc.args[1],
					 (unsigned long long)uc.args[2]);
				out = OUT_GUEST_EXC;
				goto out;
			case UCALL_ABORT:
				out = OUT_ABORT;
				goto out;
			}
			if (vp->run->io.direction == VHV_IO_IN)
				memset(vp_io_data(vp), 0, vp->run->io.count *
				       vp->run->io.size);
			continue;
		case VHV_EXIT_MMIO:
			memset(vp->run->mmio.data, 0, 8);
			continue;
		case VHV_EXIT_EOI:
			continue;
		case VHV_EXIT_FAIL_ENTRY:
			out = OUT_FAIL_ENTRY;
			goto out;
		case VHV_EXIT_SHUTDOWN:
			out = OUT_SHUTDOWN;
			goto out;
		case VHV_EXIT_INTERNAL_ERROR:
			out = OUT_INTERNAL;
			goto out;
		default:
			TEST_FAIL("undefined exit: %s", vp_exit_str(vp));
		}
	}
out:
	set_itimer_us(0, false);
	if (out == OUT_INTR && n == 200)
		snprintf(what, len, "200 exits");
	return out;
}

enum bad_state {
	BS_CS_DATA, BS_CS_SYSTEM, BS_CS_NOT_PRESENT, BS_CS_DPL3, BS_SS_DPL3,
	BS_CS_COMPAT16, BS_CS_COMPAT32, BS_CS_LIMIT_G, BS_DS_EXEC_ONLY,
	BS_SS_CODE, BS_DS_SYSTEM, BS_TR_TYPE0, BS_TR_UNUSABLE, BS_TR_S,
	BS_TR_16BIT, BS_LDT_BAD_TYPE, BS_LDT_NONCANON, BS_FS_NONCANON,
	BS_GS_NONCANON, BS_TR_NONCANON, BS_GDT_NONCANON, BS_IDT_NONCANON,
	BS_RIP_NONCANON, BS_RIP_HIGH_32BIT, BS_RFLAGS_VM, BS_RFLAGS_VM_PM,
	BS_RFLAGS_TF, BS_RFLAGS_RF_NT_AC, BS_REAL_MODE_LME, BS_PM_NOPAGING,
	BS_PAE_BAD_PDPTE, BS_PAE_CR3_HOLE, BS_32BIT_PAGING_CR3_HIGH,
	BS_CR0_CD_NW, BS_CR4_ALL, BS_EFER_NO_NXE, BS_CR3_HOLE,
	BS_SS_UNUSABLE, BS_ALL_NOT_PRESENT, BS_GDT_IDT_ZERO,
};

/*
 * States VHV_SET_SREGS/VHV_SET_REGS accept although they are wrong:
 * nothing but a defined exit may come of them (FAIL_ENTRY with the
 * documented hardware reason, SHUTDOWN, INTERNAL_ERROR, a guest
 * exception, the guest running, or still running when stopped), a
 * FAIL_ENTRY repeats itself, and the VP runs again once a good state
 * is loaded.
 */
TEST_TIMEOUT(set_state_accepted_but_bad, 120)
{
	static const struct {
		const char *name;
		enum bad_state kind;
	} cases[] = {
		{ "CS data", BS_CS_DATA },
		{ "CS system", BS_CS_SYSTEM },
		{ "CS not present", BS_CS_NOT_PRESENT },
		{ "CS DPL 3", BS_CS_DPL3 },
		{ "SS DPL 3", BS_SS_DPL3 },
		{ "CS 16-bit compat", BS_CS_COMPAT16 },
		{ "CS 32-bit compat", BS_CS_COMPAT32 },
		{ "CS limit/G mismatch", BS_CS_LIMIT_G },
		{ "DS execute-only", BS_DS_EXEC_ONLY },
		{ "SS code", BS_SS_CODE },
		{ "DS system", BS_DS_SYSTEM },
		{ "TR type 0", BS_TR_TYPE0 },
		{ "TR unusable", BS_TR_UNUSABLE },
		{ "TR S=1", BS_TR_S },
		{ "TR 16-bit busy", BS_TR_16BIT },
		{ "LDT type 5", BS_LDT_BAD_TYPE },
		{ "LDT base non-canonical", BS_LDT_NONCANON },
		{ "FS base non-canonical", BS_FS_NONCANON },
		{ "GS base non-canonical", BS_GS_NONCANON },
		{ "TR base non-canonical", BS_TR_NONCANON },
		{ "GDT base non-canonical", BS_GDT_NONCANON },
		{ "IDT base non-canonical", BS_IDT_NONCANON },
		{ "RIP non-canonical", BS_RIP_NONCANON },
		{ "RIP above 4G, 32-bit", BS_RIP_HIGH_32BIT },
		{ "RFLAGS.VM in long mode", BS_RFLAGS_VM },
		{ "RFLAGS.VM, protected mode", BS_RFLAGS_VM_PM },
		{ "RFLAGS.TF", BS_RFLAGS_TF },
		{ "RFLAGS RF NT AC", BS_RFLAGS_RF_NT_AC },
		{ "real mode with LME", BS_REAL_MODE_LME },
		{ "protected mode, no paging", BS_PM_NOPAGING },
		{ "PAE, reserved PDPTE bits", BS_PAE_BAD_PDPTE },
		{ "PAE, CR3 in a hole", BS_PAE_CR3_HOLE },
		{ "32-bit paging, CR3 high bits", BS_32BIT_PAGING_CR3_HIGH },
		{ "CR0 CD NW", BS_CR0_CD_NW },
		{ "CR4 every allowed bit", BS_CR4_ALL },
		{ "EFER without NXE", BS_EFER_NO_NXE },
		{ "CR3 in a hole", BS_CR3_HOLE },
		{ "SS unusable", BS_SS_UNUSABLE },
		{ "all segments not present", BS_ALL_NOT_PRESENT },
		{ "GDT and IDT limit 0", BS_GDT_IDT_ZERO },
	};

	/*
	 * Bochs's SVM CPU breaks down on some of these states: it reports
	 * "VM is set in long mode" and the emulated host stops a few cases
	 * later, with no console output.  Run them on QEMU and on Bochs's
	 * VMX; the svm-strict lane skips them (an open item of issue 5).
	 */
	if (host_is_bochs() && !backend_is_vmx())
		SKIP(return, "Bochs's SVM CPU breaks down on these states");
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	bool vmx = backend_is_vmx();
	struct vhv_sregs good, s;
	struct vhv_regs gregs, r;
	unsigned int i, counts[OUT_ABORT + 1] = { 0 };
	const u64 noncanon = 0x8000000000000000ULL;
	char what[300];
	struct ucall uc;
	u64 *pdpte = addr_gpa2hva(part, GUEST_SCRATCH_GPA);

	/* PAE PDPTEs with reserved bits (RW and bit 8) for one case. */
	pdpte[0] = 0x100000 | PTE_P | PTE_RW | BIT_ULL(8);
	good_long_mode_state(vp, &good, &gregs);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum outcome out;
		int ret;

		s = good;
		r = gregs;
		switch (cases[i].kind) {
		case BS_CS_DATA:
			s.cs.type = 3;
			break;
		case BS_CS_SYSTEM:
			s.cs.s = 0;
			break;
		case BS_CS_NOT_PRESENT:
			s.cs.present = 0;
			break;
		case BS_CS_DPL3:
			s.cs.dpl = 3;
			break;
		case BS_SS_DPL3:
			s.ss.dpl = 3;
			break;
		case BS_CS_COMPAT16:
			s.cs.l = 0;
			break;
		case BS_CS_COMPAT32:
			s.cs.l = 0;
			s.cs.db = 1;
			break;
		case BS_CS_LIMIT_G:
			s.cs.limit = 0xfff00;
			s.cs.g = 1;
			break;
		case BS_DS_EXEC_ONLY:
			s.ds.type = 0x8;
			break;
		case BS_SS_CODE:
			s.ss.type = 0xb;
			break;
		case BS_DS_SYSTEM:
			s.ds.s = 0;
			s.ds.type = 0x2;
			break;
		case BS_TR_TYPE0:
			s.tr.type = 0;
			break;
		case BS_TR_UNUSABLE:
			s.tr.unusable = 1;
			break;
		case BS_TR_S:
			s.tr.s = 1;
			break;
		case BS_TR_16BIT:
			s.tr.type = 3;
			break;
		case BS_LDT_BAD_TYPE:
			s.ldt.type = 5;
			s.ldt.present = 1;
			s.ldt.unusable = 0;
			s.ldt.selector = 0x28;
			break;
		case BS_LDT_NONCANON:
			s.ldt.type = 2;
			s.ldt.present = 1;
			s.ldt.unusable = 0;
			s.ldt.base = noncanon;
			s.ldt.selector = 0x28;
			break;
		case BS_FS_NONCANON:
			s.fs.base = noncanon;
			break;
		case BS_GS_NONCANON:
			s.gs.base = 0x0000800000000000ULL;
			break;
		case BS_TR_NONCANON:
			s.tr.base = noncanon | GUEST_TSS_GPA;
			break;
		case BS_GDT_NONCANON:
			s.gdt.base = noncanon | GUEST_GDT_GPA;
			break;
		case BS_IDT_NONCANON:
			s.idt.base = noncanon | GUEST_IDT_GPA;
			break;
		case BS_RIP_NONCANON:
			r.rip = 0x0000800000000000ULL;
			break;
		case BS_RIP_HIGH_32BIT:
			s.cs.l = 0;
			s.cs.db = 1;
			s.efer &= ~(EFER_LME | EFER_LMA);
			s.cr0 &= ~X86_CR0_PG;
			r.rip = 0x100001000ULL;
			break;
		case BS_RFLAGS_VM:
			r.rflags |= BIT(17);
			break;
		case BS_RFLAGS_VM_PM:
			s.cs.l = 0;
			s.cs.db = 1;
			s.efer &= ~(EFER_LME | EFER_LMA);
			s.cr0 &= ~X86_CR0_PG;
			r.rflags |= BIT(17);
			break;
		case BS_RFLAGS_TF:
			r.rflags |= X86_FLAGS_TF;
			break;
		case BS_RFLAGS_RF_NT_AC:
			r.rflags |= BIT(16) | BIT(14) | X86_FLAGS_AC;
			break;
		case BS_REAL_MODE_LME:
			s.cr0 &= ~(X86_CR0_PG | X86_CR0_PE);
			s.efer &= ~EFER_LMA;
			break;
		case BS_PM_NOPAGING:
			s.cr0 &= ~X86_CR0_PG;
			s.efer &= ~EFER_LMA;
			break;
		case BS_PAE_BAD_PDPTE:
			s.efer &= ~(EFER_LME | EFER_LMA);
			s.cs.l = 0;
			s.cs.db = 1;
			s.cr3 = GUEST_SCRATCH_GPA;
			break;
		case BS_PAE_CR3_HOLE:
			s.efer &= ~(EFER_LME | EFER_LMA);
			s.cs.l = 0;
			s.cs.db = 1;
			s.cr3 = GUEST_MMIO_GPA;
			break;
		case BS_32BIT_PAGING_CR3_HIGH:
			s.efer &= ~(EFER_LME | EFER_LMA);
			s.cr4 &= ~X86_CR4_PAE;
			s.cs.l = 0;
			s.cs.db = 1;
			s.cr3 = 0xfffff00000000000ULL;
			break;
		case BS_CR0_CD_NW:
			s.cr0 |= X86_CR0_CD | X86_CR0_NW;
			break;
		case BS_CR4_ALL:
			s.cr4 = 0x3707ff;
			break;
		case BS_EFER_NO_NXE:
			s.efer &= ~EFER_NXE;
			break;
		case BS_CR3_HOLE:
			s.cr3 = GUEST_MMIO_GPA;
			break;
		case BS_SS_UNUSABLE:
			s.ss.unusable = 1;
			break;
		case BS_ALL_NOT_PRESENT:
			s.ds.present = 0;
			s.es.present = 0;
			s.fs.present = 0;
			s.gs.present = 0;
			s.ss.present = 0;
			s.tr.present = 0;
			break;
		case BS_GDT_IDT_ZERO:
			s.gdt.limit = 0;
			s.idt.limit = 0;
			break;
		}
		ret = __vp_sregs_set(vp, &s);
		if (ret) {
			/* Refused: only with EINVAL. */
			EXPECT_EQ(EINVAL, errno) TH_LOG("%s", cases[i].name);
			TH_LOG("%-32s refused by VHV_SET_SREGS", cases[i].name);
			continue;
		}
		vp_regs_set(vp, &r);
		what[0] = 0;
		out = run_defined(vp, what, sizeof(what));
		counts[out]++;
		TH_LOG("%-32s %s: %s", cases[i].name, outcome_names[out],
		       what);
		EXPECT_NE((int)OUT_ABORT, (int)out) TH_LOG("%s", cases[i].name);
		EXPECT_EQ(0ULL, run_leaked_rip)
			TH_LOG("%s: run.rip %#llx is a host address",
			       cases[i].name,
			       (unsigned long long)run_leaked_rip);
		run_leaked_rip = 0;
		if (out == OUT_FAIL_ENTRY) {
			EXPECT_TRUE(fail_entry_reason_ok(vp, vmx))
				TH_LOG("%s: %s", cases[i].name,
				       vp_exit_str(vp));
			/*
			 * Nothing was changed: it fails again.  QEMU's TCG
			 * writes its own state into the VMCB's save area on
			 * a failed VMRUN (hardware leaves the guest's), so
			 * there the second run is anything defined.
			 */
			vp_run(vp);
			if (host_is_tcg() &&
			    vp->run->exit_reason != VHV_EXIT_FAIL_ENTRY)
				TH_LOG("%s again (TCG): %s", cases[i].name,
				       vp_exit_str(vp));
			else
				EXPECT_EQ((u32)VHV_EXIT_FAIL_ENTRY,
					  vp->run->exit_reason)
					TH_LOG("%s again: %s", cases[i].name,
					       vp_exit_str(vp));
		}
		/* A good state runs (the guest may have written anywhere). */
		guest_load_image(part);
		guest_setup_tables(part);
		pdpte[0] = 0x100000 | PTE_P | PTE_RW | BIT_ULL(8);
		vp_sregs_set(vp, &good);
		vp_regs_set(vp, &gregs);
		vp_set_mp_state(vp, VHV_MP_RUNNABLE);
		vp_run(vp);
		if (get_ucall(vp, &uc) == UCALL_UNHANDLED) {
			/*
			 * An event of the bad state still pending (api.rst
			 * 10.8: no ioctl clears it): once more.
			 */
			TH_LOG("%-32s left vector %llu pending", cases[i].name,
			       (unsigned long long)uc.args[0]);
			vp_sregs_set(vp, &good);
			vp_regs_set(vp, &gregs);
			vp_run(vp);
		}
		EXPECT_EQ((u64)UCALL_DONE, get_ucall(vp, &uc))
			TH_LOG("%s: the good state: %s", cases[i].name,
			       vp_exit_str(vp));
	}
	TH_LOG("%u done, %u guest exception, %u FAIL_ENTRY, %u SHUTDOWN, %u internal, %u stopped",
	       counts[OUT_DONE], counts[OUT_GUEST_EXC], counts[OUT_FAIL_ENTRY],
	       counts[OUT_SHUTDOWN], counts[OUT_INTERNAL], counts[OUT_INTR]);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Interrupt floods.
 */
#define FLOOD_N			2000	/* requests per phase */
#define FLOOD_NMI_EVERY		8
#define FIRST_VEC		0x20
#define NR_VECS			(256 - FIRST_VEC)

u64 fl_irqs, fl_nmis, fl_progress;
u32 fl_phase, fl_stop, fl_stop2, fl_done;

static void fl_irq_handler(struct ex_regs *regs)
{
	WRITE_ONCE(fl_irqs, READ_ONCE(fl_irqs) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void fl_nmi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(fl_nmis, READ_ONCE(fl_nmis) + 1);
}

static u32 xapic_irr_count(void)
{
	u32 i, n = 0;

	for (i = 0; i < 8; i++)
		n += __builtin_popcount(xapic_read_reg(APIC_IRR + i * 0x10));
	return n;
}

/* Wait (bounded, IF as it is) until *p reaches want. */
static u64 wait_u64(u64 *p, u64 want, u64 ms)
{
	u64 end = guest_deadline(ms);
	u64 v;

	while ((v = READ_ONCE(*p)) < want && guest_rdtsc() < end)
		asm volatile("pause" : : : "memory");
	return v;
}

static void guest_flood(void)
{
	u64 irqs, pending;

	xapic_enable();
	guest_sti();
	WRITE_ONCE(fl_phase, 1);
	while (!READ_ONCE(fl_stop))
		WRITE_ONCE(fl_progress, READ_ONCE(fl_progress) + 1);
	GUEST_SYNC_ARGS(1, READ_ONCE(fl_irqs), READ_ONCE(fl_nmis),
			READ_ONCE(fl_progress));

	/* IF=0: fixed interrupts wait in IRR, NMIs end each HLT. */
	guest_cli();
	irqs = READ_ONCE(fl_irqs);
	WRITE_ONCE(fl_phase, 2);
	while (!READ_ONCE(fl_stop2))
		asm volatile("hlt" : : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs), irqs);
	pending = xapic_irr_count();
	WRITE_ONCE(fl_done, 1);
	guest_sti();
	wait_u64(&fl_irqs, irqs + pending, 1000);
	GUEST_SYNC_ARGS(2, READ_ONCE(fl_irqs) - irqs, pending,
			READ_ONCE(fl_nmis));

	/* The APIC still works. */
	GUEST_ASSERT(xapic_isr_empty());
	irqs = READ_ONCE(fl_irqs);
	self_ipi(0x33);
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs), irqs + 1);
	GUEST_DONE();
}

struct flood {
	struct vhv_partition *part;
	u64 fixed[2], nmis[2];
	pthread_t thread;
};

static void wait_guest_u32(u32 *p, u32 want)
{
	unsigned int i;

	for (i = 0; READ_ONCE(*p) != want; i++) {
		TEST_ASSERT(i < 60000, "the guest never set its flag to %u",
			    want);
		sleep_ms(1);
	}
}

static void flood_send(struct flood *f, unsigned int phase)
{
	struct vhv_interrupt irq;
	unsigned int i;

	for (i = 0; i < FLOOD_N; i++) {
		memset(&irq, 0, sizeof(irq));
		if (!(i % FLOOD_NMI_EVERY)) {
			irq.type = VHV_INTERRUPT_NMI;
			f->nmis[phase]++;
		} else {
			irq.type = VHV_INTERRUPT_FIXED;
			irq.vector = FIRST_VEC + (i * 7) % NR_VECS;
			f->fixed[phase]++;
		}
		TEST_ASSERT(!__part_request_interrupt(f->part, &irq),
			    "VHV_REQUEST_INTERRUPT failed");
	}
}

static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	struct vhv_partition *part = f->part;
	unsigned int i;

	wait_guest_u32(guest_ptr(part, fl_phase), 1);
	flood_send(f, 0);
	WRITE_ONCE(*guest_ptr(part, fl_stop), 1);

	wait_guest_u32(guest_ptr(part, fl_phase), 2);
	flood_send(f, 1);
	WRITE_ONCE(*guest_ptr(part, fl_stop2), 1);
	/* NMIs until the guest saw the flag (it may be in HLT). */
	for (i = 0; !READ_ONCE(*guest_ptr(part, fl_done)); i++) {
		TEST_ASSERT(i < 20000, "the guest never finished its HLT loop");
		part_request_interrupt(part, VHV_INTERRUPT_NMI, 0, 0, 0);
		f->nmis[1]++;
		sleep_ms(1);
	}
	return NULL;
}

/*
 * Another thread floods the VP with fixed interrupts and NMIs while it
 * spins with IF=1, then while it halts with IF=0: it makes progress,
 * takes at most what was sent, and with IF=0 keeps the fixed ones in
 * IRR (merged per vector) until STI.
 */
TEST_TIMEOUT(vmm_interrupt_flood, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_flood);
	struct flood f = { .part = part };
	struct ucall uc;
	unsigned int v;

	for (v = FIRST_VEC; v < VHV_NR_VECTORS; v++)
		part_install_irq_handler(part, v, fl_irq_handler);
	part_install_exception_handler(part, NMI_VECTOR, fl_nmi_handler);
	ASSERT_EQ(0, pthread_create(&f.thread, NULL, flood_thread, &f));

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	ASSERT_EQ(1ULL, uc.args[0]);
	TH_LOG("IF=1: %llu of %llu fixed, %llu of %llu NMIs, progress %llu",
	       (unsigned long long)uc.args[1],
	       (unsigned long long)f.fixed[0],
	       (unsigned long long)uc.args[2],
	       (unsigned long long)f.nmis[0],
	       (unsigned long long)uc.args[3]);
	EXPECT_GE(uc.args[1], 1ULL);
	EXPECT_LE(uc.args[1], f.fixed[0]);
	EXPECT_GE(uc.args[2], 1ULL);
	EXPECT_LE(uc.args[2], f.nmis[0]);
	EXPECT_GT(uc.args[3], 0ULL);

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	ASSERT_EQ(2ULL, uc.args[0]);
	ASSERT_EQ(0, pthread_join(f.thread, NULL));
	TH_LOG("IF=0: %llu pending, %llu taken after STI, %llu NMIs in all",
	       (unsigned long long)uc.args[2],
	       (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[3]);
	EXPECT_GE(uc.args[2], 1ULL);
	EXPECT_LE(uc.args[2], (u64)NR_VECS);
	EXPECT_EQ(uc.args[2], uc.args[1]);
	EXPECT_LE(uc.args[3], f.nmis[0] + f.nmis[1]);
	vp_expect_done(vp);
	part_free(part);
}

static void guest_self_ipi_storm(u64 n)
{
	u64 i, base, pending;

	xapic_enable();
	guest_sti();

	/* IF=1: each one is taken as soon as it is sent. */
	base = READ_ONCE(fl_irqs);
	for (i = 0; i < n; i++)
		self_ipi(FIRST_VEC + i % NR_VECS);
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs) - base, n);

	/* IF=0: they merge in IRR, one per vector. */
	guest_cli();
	base = READ_ONCE(fl_irqs);
	for (i = 0; i < n; i++)
		self_ipi(FIRST_VEC + (i * 13) % NR_VECS);
	pending = xapic_irr_count();
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs), base);
	GUEST_ASSERT_EQ(pending, n < NR_VECS ? n : NR_VECS);
	guest_sti();
	wait_u64(&fl_irqs, base + pending, 1000);
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs) - base, pending);
	GUEST_ASSERT(xapic_isr_empty());

	/* Illegal vectors: not sent, ESR bit 5. */
	base = READ_ONCE(fl_irqs);
	xapic_write_reg(APIC_ESR, 0);
	for (i = 0; i < n / 4; i++)
		self_ipi(i % 16);
	xapic_write_reg(APIC_ESR, 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ESR) & 0x20, 0x20);
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs), base);

	/* NMIs: each one taken. */
	base = READ_ONCE(fl_nmis);
	for (i = 0; i < n / 4; i++)
		xapic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_INT_ASSERT |
				APIC_DM_NMI);
	GUEST_ASSERT_EQ(READ_ONCE(fl_nmis) - base, n / 4);

	/* The all-including shorthand reaches us too. */
	base = READ_ONCE(fl_irqs);
	for (i = 0; i < n / 4; i++)
		xapic_write_reg(APIC_ICR, APIC_DEST_ALLINC | APIC_INT_ASSERT |
				0x40);
	GUEST_ASSERT_EQ(READ_ONCE(fl_irqs) - base, n / 4);
	GUEST_SYNC_ARGS(READ_ONCE(fl_irqs), READ_ONCE(fl_nmis), 0, 0);
	GUEST_DONE();
}

/* A guest sending itself thousands of IPIs, with IF=1 and IF=0. */
TEST_TIMEOUT(self_ipi_storm, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_self_ipi_storm));
	unsigned int v;
	struct ucall uc;

	for (v = FIRST_VEC; v < VHV_NR_VECTORS; v++)
		part_install_irq_handler(part, v, fl_irq_handler);
	part_install_exception_handler(part, NMI_VECTOR, fl_nmi_handler);
	vp_args_set(vp, 1, 4000ULL);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	TH_LOG("%llu interrupts, %llu NMIs", (unsigned long long)uc.args[0],
	       (unsigned long long)uc.args[1]);
	vp_expect_done(vp);
	part_free(part);
}

/* The timer at its shortest period, and a TSC-deadline storm. */
#define TIMER_VEC	0x40
#define TIMER_TICKS	100

u64 tm_ticks, tm_progress;
u32 tm_phase, tm_stop;

static void tm_handler(struct ex_regs *regs)
{
	WRITE_ONCE(tm_ticks, READ_ONCE(tm_ticks) + 1);
	if (!READ_ONCE(tm_stop) && (xapic_read_reg(APIC_LVTT) &
				    APIC_LVT_TIMER_TSCDEADLINE))
		guest_wrmsr(MSR_IA32_TSC_DEADLINE, 1);	/* long past */
	xapic_write_reg(APIC_EOI, 0);
}

static void guest_timer_min(void)
{
	u64 t0, t1;

	xapic_enable();
	xapic_write_reg(APIC_TDCR, 0xb);		/* divide by 1 */
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | TIMER_VEC);
	t0 = guest_rdtsc();
	xapic_write_reg(APIC_TMICT, 1);			/* 1 ns */
	guest_sti();
	while (READ_ONCE(tm_ticks) < TIMER_TICKS)
		asm volatile("hlt" : : : "memory");
	t1 = guest_rdtsc();
	GUEST_SYNC_ARGS(1, READ_ONCE(tm_ticks), t1 - t0, guest_tsc_khz());

	/* Spin while it fires: only the VMM can stop this. */
	WRITE_ONCE(tm_phase, 1);
	while (!READ_ONCE(tm_stop))
		WRITE_ONCE(tm_progress, READ_ONCE(tm_progress) + 1);
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED);
	xapic_write_reg(APIC_TMICT, 0);
	GUEST_SYNC_ARGS(2, READ_ONCE(tm_ticks), READ_ONCE(tm_progress), 0);
	GUEST_DONE();
}

static void guest_deadline_storm(void)
{
	xapic_enable();
	xapic_write_reg(APIC_LVTT, APIC_LVT_TIMER_TSCDEADLINE | TIMER_VEC);
	guest_sti();
	WRITE_ONCE(tm_phase, 1);
	guest_wrmsr(MSR_IA32_TSC_DEADLINE, 1);
	while (!READ_ONCE(tm_stop))
		WRITE_ONCE(tm_progress, READ_ONCE(tm_progress) + 1);
	/* The last one fired or will: the MSR then reads 0. */
	wait_u64(&tm_ticks, READ_ONCE(tm_ticks) + 1, 100);
	GUEST_SYNC_ARGS(READ_ONCE(tm_ticks), READ_ONCE(tm_progress),
			guest_rdmsr(MSR_IA32_TSC_DEADLINE), 0);
	GUEST_DONE();
}

/*
 * Signals, then immediate_exit, stop a guest that spins while its timer
 * fires; each stop is EINTR/VHV_EXIT_INTR and the guest goes on.
 */
static void stop_storm(struct __test_metadata *_metadata,
		       struct vhv_vp *vp, u64 *count, u64 *progress)
{
	u64 last = 0, prog = 0;
	int i, ret;

	install_handler(SIGALRM);
	for (i = 0; i < 4; i++) {
		set_itimer_us(30000, false);
		errno = 0;
		ret = __vp_run(vp);
		set_itimer_us(0, false);
		ASSERT_EQ(-1, ret) TH_LOG("exit %s", vp_exit_str(vp));
		ASSERT_EQ(EINTR, errno);
		EXPECT_EQ((u32)VHV_EXIT_INTR, vp->run->exit_reason);
		if (i) {
			EXPECT_GT(READ_ONCE(*count), last)
				TH_LOG("no interrupt in stop %d", i);
		}
		last = READ_ONCE(*count);
		prog = READ_ONCE(*progress);
	}
	vp->run->immediate_exit = 1;
	errno = 0;
	EXPECT_EQ(-1, __vp_run(vp));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(prog, READ_ONCE(*progress));
	vp->run->immediate_exit = 0;
}

TEST_TIMEOUT(timer_min_period, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_timer_min);
	u64 ticks, us;
	struct ucall uc;

	part_install_irq_handler(part, TIMER_VEC, tm_handler);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	ASSERT_EQ(1ULL, uc.args[0]);
	ticks = uc.args[1];
	us = uc.args[3] ? uc.args[2] * 1000 / uc.args[3] : 0;
	TH_LOG("%llu ticks in %llu us", (unsigned long long)ticks,
	       (unsigned long long)us);
	EXPECT_GE(ticks, (u64)TIMER_TICKS);
	/* The 200 us floor from the second period on (10% for the TSC). */
	if (us)
		EXPECT_GE(us * 10, (ticks - 1) * 200 * 9);

	stop_storm(_metadata, vp, guest_ptr(part, tm_ticks),
		   guest_ptr(part, tm_progress));
	EXPECT_EQ(1U, *guest_ptr(part, tm_phase));
	WRITE_ONCE(*guest_ptr(part, tm_stop), 1);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(2ULL, uc.args[0]);
	EXPECT_GT(uc.args[2], 0ULL);
	vp_expect_done(vp);
	part_free(part);
}

/* Each interrupt re-arms a deadline already passed. */
TEST_TIMEOUT(tsc_deadline_storm, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_deadline_storm);
	struct ucall uc;

	part_install_irq_handler(part, TIMER_VEC, tm_handler);
	stop_storm(_metadata, vp, guest_ptr(part, tm_ticks),
		   guest_ptr(part, tm_progress));
	EXPECT_EQ(1U, *guest_ptr(part, tm_phase));
	WRITE_ONCE(*guest_ptr(part, tm_stop), 1);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	TH_LOG("%llu interrupts, progress %llu",
	       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
	EXPECT_GT(uc.args[0], 10ULL);
	EXPECT_EQ(0ULL, uc.args[2]);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Exception storms.
 */
u64 st_count, st_limit, st_depth, st_max_depth, st_bad;
u32 st_phase, st_release;

#define UNMAPPED_GVA	0x140000000ULL	/* 5 GiB: no page tables there */

SNIP(gp_noncanon, "movabs $0x8000000000000000, %rax", "mov (%rax), %rcx", "");
SNIP_DECL(gp_noncanon);
SNIP(pf_unmapped, "movabs $0x140000000, %rax", "mov (%rax), %rcx", "");
SNIP_DECL(pf_unmapped);

static void st_ud_handler(struct ex_regs *regs)
{
	WRITE_ONCE(st_count, READ_ONCE(st_count) + 1);
	regs->rip += 2;
}

/* Returns to the faulting instruction st_limit - 1 times. */
static void st_refault_handler(struct ex_regs *regs)
{
	u64 n = READ_ONCE(st_count) + 1;

	WRITE_ONCE(st_count, n);
	if (regs->vector == PF_VECTOR) {
		u64 cr2;

		asm volatile("mov %%cr2, %0" : "=r"(cr2));
		if (cr2 != UNMAPPED_GVA || regs->error_code != 0 ||
		    regs->rip != (u64)pf_unmapped_insn)
			WRITE_ONCE(st_bad, READ_ONCE(st_bad) + 1);
	} else if (regs->error_code != 0 ||
		   regs->rip != (u64)gp_noncanon_insn) {
		WRITE_ONCE(st_bad, READ_ONCE(st_bad) + 1);
	}
	if (n >= READ_ONCE(st_limit))
		regs->rip = READ_ONCE(ex_resume);
}

/* Faults again inside itself, st_limit deep. */
static void st_nested_handler(struct ex_regs *regs)
{
	u64 d = READ_ONCE(st_depth) + 1;

	WRITE_ONCE(st_depth, d);
	WRITE_ONCE(st_count, READ_ONCE(st_count) + 1);
	if (d > READ_ONCE(st_max_depth))
		WRITE_ONCE(st_max_depth, d);
	if (d < READ_ONCE(st_limit))
		pf_unmapped();
	WRITE_ONCE(st_depth, d - 1);
	regs->rip = (u64)pf_unmapped_end;
}

static void guest_exc_storm(u64 n)
{
	u64 i;

	vhv_guest_exc_handlers[UD_VECTOR] = st_ud_handler;
	for (i = 0; i < n; i++)
		asm volatile("ud2" : : : "memory");
	GUEST_ASSERT_EQ(READ_ONCE(st_count), n);

	vhv_guest_exc_handlers[GP_VECTOR] = st_refault_handler;
	vhv_guest_exc_handlers[PF_VECTOR] = st_refault_handler;
	WRITE_ONCE(st_count, 0);
	WRITE_ONCE(st_limit, n / 2);
	ex_resume = (u64)gp_noncanon_end;
	gp_noncanon();
	GUEST_ASSERT_EQ(READ_ONCE(st_count), n / 2);
	WRITE_ONCE(st_count, 0);
	ex_resume = (u64)pf_unmapped_end;
	pf_unmapped();
	GUEST_ASSERT_EQ(READ_ONCE(st_count), n / 2);
	GUEST_ASSERT_EQ(READ_ONCE(st_bad), 0);

	vhv_guest_exc_handlers[PF_VECTOR] = st_nested_handler;
	WRITE_ONCE(st_count, 0);
	WRITE_ONCE(st_limit, 24);
	pf_unmapped();
	GUEST_ASSERT_EQ(READ_ONCE(st_max_depth), 24);
	GUEST_ASSERT_EQ(READ_ONCE(st_depth), 0);
	GUEST_DONE();
}

/*
 * Thousands of #UD, a #GP and a #PF handler that return to the faulting
 * instruction thousands of times, and a #PF handler that faults again
 * inside itself, 24 deep.
 */
TEST_TIMEOUT(exception_storm, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_exc_storm));

	vp_args_set(vp, 1, 10000ULL);
	vp_expect_done(vp);
	part_free(part);
}

static void st_endless_handler(struct ex_regs *regs)
{
	WRITE_ONCE(st_count, READ_ONCE(st_count) + 1);
	if (READ_ONCE(st_release))
		regs->rip += 2;
}

static void guest_endless_ud(void)
{
	WRITE_ONCE(st_phase, 1);
	asm volatile("ud2" : : : "memory");
	GUEST_SYNC(READ_ONCE(st_count));
	GUEST_DONE();
}

/* A #UD handler that never gets past the UD2: the VMM stops it. */
TEST_TIMEOUT(exception_storm_endless, 60)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_endless_ud);
	u64 *count = guest_ptr(part, st_count);

	part_install_exception_handler(part, UD_VECTOR, st_endless_handler);
	stop_storm(_metadata, vp, count, count);
	EXPECT_EQ(1U, *guest_ptr(part, st_phase));
	WRITE_ONCE(*guest_ptr(part, st_release), 1);
	EXPECT_GT(vp_expect_sync(vp), 100ULL);
	vp_expect_done(vp);
	part_free(part);
}

/* Single-stepping: one #DB (intercepted, re-injected) per instruction. */
u64 ss_count, ss_limit, ss_dr6_bad, ss_last_dr6;

static void ss_handler(struct ex_regs *regs)
{
	u64 n = READ_ONCE(ss_count) + 1, dr6;

	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	if (!(dr6 & BIT(14))) {
		WRITE_ONCE(ss_dr6_bad, READ_ONCE(ss_dr6_bad) + 1);
		WRITE_ONCE(ss_last_dr6, dr6);
	}
	asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0UL));
	WRITE_ONCE(ss_count, n);
	if (n >= READ_ONCE(ss_limit))
		regs->rflags &= ~X86_FLAGS_TF;
}

static void guest_single_step(u64 n)
{
	WRITE_ONCE(ss_limit, n);
	asm volatile("mov %0, %%rcx\n\t"
		     "pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "1: dec %%rcx\n\t"
		     "jnz 1b" : : "r"(n) : "rcx", "memory", "cc");
	GUEST_SYNC_ARGS(READ_ONCE(ss_count), READ_ONCE(ss_dr6_bad),
			READ_ONCE(ss_last_dr6), 0);
	GUEST_DONE();
}

TEST_TIMEOUT(single_step_storm, 60)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_single_step));
	struct ucall uc;

	part_install_exception_handler(part, DB_VECTOR, ss_handler);
	vp_args_set(vp, 1, 2000ULL);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(2000ULL, uc.args[0]);
	/* The #DB handler sees DR6.BS, as for any single-step trap. */
	EXPECT_EQ(0ULL, uc.args[1])
		TH_LOG("%llu #DB without DR6.BS, last DR6 %#llx",
		       (unsigned long long)uc.args[1],
		       (unsigned long long)uc.args[2]);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * Instructions the guest does not have, or may not use in its ring.
 */
#define LEA_BUF		"lea snip_buf(%rip), %rax"

/* VMX: the backend's exits give #UD; other CPUs have no such opcode. */
SNIP(vmxon, LEA_BUF, "vmxon (%rax)", "");
SNIP_DECL(vmxon);
SNIP(vmxoff, "", "vmxoff", "");
SNIP_DECL(vmxoff);
SNIP(vmclear, LEA_BUF, "vmclear (%rax)", "");
SNIP_DECL(vmclear);
SNIP(vmptrld, LEA_BUF, "vmptrld (%rax)", "");
SNIP_DECL(vmptrld);
SNIP(vmptrst, LEA_BUF, "vmptrst (%rax)", "");
SNIP_DECL(vmptrst);
SNIP(vmread, "xor %eax, %eax", "vmread %rax, %rcx", "");
SNIP_DECL(vmread);
SNIP(vmwrite, "xor %eax, %eax; xor %ecx, %ecx", "vmwrite %rax, %rcx", "");
SNIP_DECL(vmwrite);
SNIP(vmlaunch, "", "vmlaunch", "");
SNIP_DECL(vmlaunch);
SNIP(vmresume, "", "vmresume", "");
SNIP_DECL(vmresume);
SNIP(vmcall, "xor %eax, %eax", "vmcall", "");
SNIP_DECL(vmcall);
SNIP(invept, LEA_BUF "; mov $1, %ecx", "invept (%rax), %rcx", "");
SNIP_DECL(invept);
SNIP(invvpid, LEA_BUF "; mov $1, %ecx", "invvpid (%rax), %rcx", "");
SNIP_DECL(invvpid);
SNIP(vmfunc, "xor %eax, %eax; xor %ecx, %ecx", "vmfunc", "");
SNIP_DECL(vmfunc);

/* SVM: intercepted, #UD; #UD on Intel. */
SNIP(vmrun, LEA_BUF, "vmrun", "");
SNIP_DECL(vmrun);
SNIP(vmmcall, "xor %eax, %eax", "vmmcall", "");
SNIP_DECL(vmmcall);
SNIP(vmload, LEA_BUF, "vmload", "");
SNIP_DECL(vmload);
SNIP(vmsave, LEA_BUF, "vmsave", "");
SNIP_DECL(vmsave);
SNIP(stgi, "", "stgi", "");
SNIP_DECL(stgi);
SNIP(clgi, "", "clgi", "");
SNIP_DECL(clgi);
SNIP(skinit, LEA_BUF, "skinit", "");
SNIP_DECL(skinit);
SNIP(invlpga, LEA_BUF "; xor %ecx, %ecx", "invlpga", "");
SNIP_DECL(invlpga);
SNIP(rdpru, "xor %ecx, %ecx", "rdpru", "");
SNIP_DECL(rdpru);

/* Others. */
SNIP(rdtscp, "", "rdtscp", "");
SNIP_DECL(rdtscp);
SNIP(xsetbv, "xor %ecx, %ecx; mov $1, %eax; xor %edx, %edx", "xsetbv", "");
SNIP_DECL(xsetbv);
SNIP(monitor, LEA_BUF "; xor %ecx, %ecx; xor %edx, %edx", "monitor", "");
SNIP_DECL(monitor);
SNIP(mwait, "xor %eax, %eax; xor %ecx, %ecx", "mwait", "");
SNIP_DECL(mwait);
SNIP(monitorx, LEA_BUF "; xor %ecx, %ecx; xor %edx, %edx", "monitorx", "");
SNIP_DECL(monitorx);
SNIP(mwaitx, "xor %eax, %eax; xor %ecx, %ecx", "mwaitx", "");
SNIP_DECL(mwaitx);
SNIP(invd, "", "invd", "");
SNIP_DECL(invd);
SNIP(wbinvd, "", "wbinvd", "");
SNIP_DECL(wbinvd);
SNIP(rdpmc_bad, "mov $0x12345, %ecx", "rdpmc", "");
SNIP_DECL(rdpmc_bad);
SNIP(getsec, "xor %eax, %eax", "getsec", "");
SNIP_DECL(getsec);
SNIP(encls, "xor %eax, %eax", "encls", "");
SNIP_DECL(encls);
SNIP(invpcid, LEA_BUF "; mov $4, %ecx", "invpcid (%rax), %rcx", "");
SNIP_DECL(invpcid);
#define SET_TS		"mov %cr0, %rax; or $8, %rax; mov %rax, %cr0"
#define CHECK_TS_CLEAR	"mov %cr0, %rax; test $8, %al; jz 1f; ud2; 1:"
SNIP(clts, SET_TS, "clts", CHECK_TS_CLEAR);
SNIP_DECL(clts);
SNIP(ud2, "", "ud2", "");
SNIP_DECL(ud2);
SNIP(icebp, "", ".byte 0xf1", "");
SNIP_DECL(icebp);
#define SNIP_RDMSR(name, msr) SNIP(name, "mov $" msr ", %ecx", "rdmsr", "")
#define SNIP_WRMSR(name, msr, lo, hi)					\
	SNIP(name, "mov $" msr ", %ecx; mov $" lo ", %eax; mov $" hi ", %edx", \
	     "wrmsr", "")
SNIP_RDMSR(rdmsr_0, "0");
SNIP_DECL(rdmsr_0);
SNIP_RDMSR(rdmsr_feature_control, "0x3a");
SNIP_DECL(rdmsr_feature_control);
SNIP_RDMSR(rdmsr_spec_ctrl, "0x48");
SNIP_DECL(rdmsr_spec_ctrl);
SNIP_RDMSR(rdmsr_debugctl, "0x1d9");
SNIP_DECL(rdmsr_debugctl);
SNIP_RDMSR(rdmsr_vmx_basic, "0x480");
SNIP_DECL(rdmsr_vmx_basic);
SNIP_RDMSR(rdmsr_x2apic_id, "0x802");
SNIP_DECL(rdmsr_x2apic_id);
SNIP_RDMSR(rdmsr_hv, "0x40000000");
SNIP_DECL(rdmsr_hv);
SNIP_RDMSR(rdmsr_vm_cr, "0xc0010114");
SNIP_DECL(rdmsr_vm_cr);
SNIP_RDMSR(rdmsr_hsave, "0xc0010117");
SNIP_DECL(rdmsr_hsave);
SNIP_RDMSR(rdmsr_ffffffff, "0xffffffff");
SNIP_DECL(rdmsr_ffffffff);
SNIP_WRMSR(wrmsr_feature_control, "0x3a", "5", "0");
SNIP_DECL(wrmsr_feature_control);
SNIP_WRMSR(wrmsr_pred_cmd, "0x49", "1", "0");
SNIP_DECL(wrmsr_pred_cmd);
SNIP_WRMSR(wrmsr_vm_cr, "0xc0010114", "0x10", "0");
SNIP_DECL(wrmsr_vm_cr);
SNIP_WRMSR(wrmsr_hsave, "0xc0010117", "0", "0");
SNIP_DECL(wrmsr_hsave);
SNIP_WRMSR(wrmsr_pat_bad, "0x277", "0x02020202", "0x02020202");
SNIP_DECL(wrmsr_pat_bad);
SNIP_WRMSR(wrmsr_lstar_noncanon, "0xc0000082", "0", "0x80000000");
SNIP_DECL(wrmsr_lstar_noncanon);
SNIP_WRMSR(wrmsr_apicbase_rsvd, "0x1b", "0xfee00901", "0");
SNIP_DECL(wrmsr_apicbase_rsvd);
SNIP_WRMSR(wrmsr_apicbase_extd, "0x1b", "0xfee00d00", "0");
SNIP_DECL(wrmsr_apicbase_extd);
SNIP_WRMSR(wrmsr_tsc_aux_hi, "0xc0000103", "0", "1");
SNIP_DECL(wrmsr_tsc_aux_hi);
SNIP_WRMSR(wrmsr_x2apic_eoi, "0x80b", "0", "0");
SNIP_DECL(wrmsr_x2apic_eoi);
SNIP(wrmsr_efer_svme, "mov $0xc0000080, %ecx; rdmsr; or $0x1000, %eax", "wrmsr", "");
SNIP_DECL(wrmsr_efer_svme);
SNIP(cr4_vmxe, "mov %cr4, %rax; or $0x2000, %rax", "mov %rax, %cr4", "");
SNIP_DECL(cr4_vmxe);
SNIP(cr4_smxe, "mov %cr4, %rax; or $0x4000, %rax", "mov %rax, %cr4", "");
SNIP_DECL(cr4_smxe);
SNIP(cr4_bit31, "mov %cr4, %rax; bts $31, %rax", "mov %rax, %cr4", "");
SNIP_DECL(cr4_bit31);
SNIP(cr0_bit32, "mov %cr0, %rax; bts $32, %rax", "mov %rax, %cr0", "");
SNIP_DECL(cr0_bit32);
SNIP(cr0_no_pe, "mov %cr0, %rax; btr $0, %rax", "mov %rax, %cr0", "");
SNIP_DECL(cr0_no_pe);
SNIP(cr0_nw_no_cd, "mov %cr0, %rax; bts $29, %rax; btr $30, %rax", "mov %rax, %cr0", "");
SNIP_DECL(cr0_nw_no_cd);
SNIP(cr8_16, "mov $16, %eax", "mov %rax, %cr8", "");
SNIP_DECL(cr8_16);

/* Ring 3. */
SNIP(u_hlt, "", "hlt", "");
SNIP_DECL(u_hlt);
SNIP(u_lgdt, LEA_BUF, "lgdt (%rax)", "");
SNIP_DECL(u_lgdt);
SNIP(u_lidt, LEA_BUF, "lidt (%rax)", "");
SNIP_DECL(u_lidt);
SNIP(u_ltr, "mov $0x18, %eax", "ltr %ax", "");
SNIP_DECL(u_ltr);
SNIP(u_clts, "", "clts", "");
SNIP_DECL(u_clts);
SNIP(u_rdmsr, "mov $0x10, %ecx", "rdmsr", "");
SNIP_DECL(u_rdmsr);
SNIP(u_wrmsr, "mov $0xc0000103, %ecx; xor %eax, %eax; xor %edx, %edx", "wrmsr", "");
SNIP_DECL(u_wrmsr);
SNIP(u_invd, "", "invd", "");
SNIP_DECL(u_invd);
SNIP(u_wbinvd, "", "wbinvd", "");
SNIP_DECL(u_wbinvd);
SNIP(u_invlpg, LEA_BUF, "invlpg (%rax)", "");
SNIP_DECL(u_invlpg);
SNIP(u_rdpmc, "xor %ecx, %ecx", "rdpmc", "");
SNIP_DECL(u_rdpmc);
SNIP(u_mov_cr0, "", "mov %cr0, %rax", "");
SNIP_DECL(u_mov_cr0);
SNIP(u_mov_cr3, "xor %eax, %eax", "mov %rax, %cr3", "");
SNIP_DECL(u_mov_cr3);
SNIP(u_mov_dr7, "xor %eax, %eax", "mov %rax, %dr7", "");
SNIP_DECL(u_mov_dr7);
SNIP(u_swapgs, "", "swapgs", "");
SNIP_DECL(u_swapgs);
SNIP(u_cli, "", "cli", "sti");
SNIP_DECL(u_cli);
SNIP(u_out, "mov $" STR(USER_PORT) ", %edx; xor %eax, %eax", "out %al, (%dx)", "");
SNIP_DECL(u_out);
SNIP(u_in, "mov $" STR(USER_PORT) ", %edx", "in (%dx), %al", "");
SNIP_DECL(u_in);
SNIP(u_int3, "", "int3", "");
SNIP_DECL(u_int3);
SNIP(u_int80, "", "int $0x81", "");
SNIP_DECL(u_int80);
SNIP(u_vmcall, "", "vmcall", "");
SNIP_DECL(u_vmcall);
SNIP(u_vmmcall, "", "vmmcall", "");
SNIP_DECL(u_vmmcall);
SNIP(u_vmxon, LEA_BUF, "vmxon (%rax)", "");
SNIP_DECL(u_vmxon);
SNIP(u_vmread, "xor %eax, %eax", "vmread %rax, %rcx", "");
SNIP_DECL(u_vmread);
SNIP(u_rdtscp, "", "rdtscp", "");
SNIP_DECL(u_rdtscp);
SNIP(u_monitor, LEA_BUF "; xor %ecx, %ecx; xor %edx, %edx", "monitor", "");
SNIP_DECL(u_monitor);
SNIP(u_xsetbv, "xor %ecx, %ecx; mov $1, %eax; xor %edx, %edx", "xsetbv", "");
SNIP_DECL(u_xsetbv);
SNIP(u_ud2, "", "ud2", "");
SNIP_DECL(u_ud2);
#define SET_AC		"pushfq; orl $0x40000, (%rsp); popfq"
#define CLEAR_AC	"pushfq; andl $~0x40000, (%rsp); popfq"
SNIP(u_ac, SET_AC "; lea -7(%rsp), %rax", "mov (%rax), %ecx", CLEAR_AC);
SNIP_DECL(u_ac);
SNIP(u_cpuid, "push %rbx; xor %eax, %eax; xor %ecx, %ecx", "cpuid", "pop %rbx");
SNIP_DECL(u_cpuid);
SNIP(u_rdtsc, "", "rdtsc", "");
SNIP_DECL(u_rdtsc);
SNIP(u_out_iopl3, "mov $" STR(USER_PORT) ", %edx; mov $0x5a, %eax", "out %al, (%dx)", "");
SNIP_DECL(u_out_iopl3);
SNIP(u_cli_iopl3, "", "cli", "sti");
SNIP_DECL(u_cli_iopl3);

#define W(v)		BIT_ULL(v)
#define W_NONE		BIT_ULL(NO_EXC)
#define ERR_ANY		0xffffffffU

struct insn_case {
	const char *name;
	const char *start, *insn, *end;
	u8 ring, iopl;
	bool trap;		/* the exception's RIP is past the instruction */
	bool io;		/* an I/O exit to USER_PORT comes first */
	u64 want;		/* outcomes allowed: W(vector) or W_NONE */
	u32 err;		/* the error code, when the vector has one */
	u64 tcg;		/* also allowed under QEMU's TCG */
};

/*
 * TCG accepts CR4.VMXE, CR4.SMXE, CR4 bit 31, CR0 bit 32 (and, it seems,
 * CR0 without PE or with NW but not CD) on its SVM CPU, whose next VMRUN
 * then fails: not run there.
 */
#define TCG_SKIP	~0ULL

u64 insn_skip;		/* bit i: case i not run */

#define C0(nm, w, e)	C0T(nm, w, e, 0)
#define C3(nm, w, e)	C3T(nm, w, e, 0)
/* TCG: checks the RDTSC intercept for RDTSCP, has no #AC, ICEBP is #UD. */
#define SNIP_PTRS(nm)	(const char *)nm, (const char *)nm##_insn,	\
			(const char *)nm##_end
#define C0T(nm, w, e, t) { #nm, SNIP_PTRS(nm), 0, 0, false, false, w, e, t }
#define C3T(nm, w, e, t) { #nm, SNIP_PTRS(nm), 3, 0, false, false, w, e, t }

static const struct insn_case vmx_cases[] = {
	C0(vmxon, W(UD_VECTOR), 0),
	C0(vmxoff, W(UD_VECTOR), 0),
	C0(vmclear, W(UD_VECTOR), 0),
	C0(vmptrld, W(UD_VECTOR), 0),
	C0(vmptrst, W(UD_VECTOR), 0),
	C0(vmread, W(UD_VECTOR), 0),
	C0(vmwrite, W(UD_VECTOR), 0),
	C0(vmlaunch, W(UD_VECTOR), 0),
	C0(vmresume, W(UD_VECTOR), 0),
	C0(vmcall, W(UD_VECTOR), 0),
	C0(invept, W(UD_VECTOR), 0),
	C0(invvpid, W(UD_VECTOR), 0),
	C0(vmfunc, W(UD_VECTOR), 0),
	C3(u_vmcall, W(UD_VECTOR), 0),
	C3(u_vmxon, W(UD_VECTOR), 0),
	C3(u_vmread, W(UD_VECTOR), 0),
};

static const struct insn_case svm_cases[] = {
	C0(vmrun, W(UD_VECTOR), 0),
	C0(vmmcall, W(UD_VECTOR), 0),
	C0(vmload, W(UD_VECTOR), 0),
	C0(vmsave, W(UD_VECTOR), 0),
	C0(stgi, W(UD_VECTOR), 0),
	C0(clgi, W(UD_VECTOR), 0),
	C0(skinit, W(UD_VECTOR), 0),
	C0(invlpga, W(UD_VECTOR), 0),
	C0(rdpru, W(UD_VECTOR), 0),
	C3(u_vmmcall, W(UD_VECTOR), 0),
};

static const struct insn_case priv_cases[] = {
	C0T(rdtscp, W(UD_VECTOR), 0, W_NONE),
	C0(xsetbv, W(UD_VECTOR), 0),
	C0(monitor, W(UD_VECTOR), 0),
	C0(mwait, W(UD_VECTOR), 0),
	C0(monitorx, W(UD_VECTOR), 0),
	C0(mwaitx, W(UD_VECTOR), 0),
	C0(invd, W_NONE, 0),
	C0(wbinvd, W_NONE, 0),
	/*
	 * Not intercepted: #GP for a counter that does not exist (QEMU's
	 * TCG has no RDPMC and raises #UD).
	 */
	C0(rdpmc_bad, W(GP_VECTOR) | W(UD_VECTOR), 0),
	C0(getsec, W(UD_VECTOR), 0),
	C0(encls, W(UD_VECTOR), 0),
	/*
	 * Not offered in CPUID: #UD, but an SVM host with INVPCID runs it
	 * (and type 4 is #GP there).
	 */
	C0(invpcid, W(UD_VECTOR) | W(GP_VECTOR), 0),
	C0(clts, W_NONE, 0),
	C0(ud2, W(UD_VECTOR), 0),
	{ "icebp", SNIP_PTRS(icebp), 0, 0, true, false,
	  W(DB_VECTOR), 0, W(UD_VECTOR) },
	C0(rdmsr_0, W(GP_VECTOR), 0),
	C0(rdmsr_feature_control, W(GP_VECTOR), 0),
	C0(rdmsr_spec_ctrl, W(GP_VECTOR), 0),
	C0(rdmsr_debugctl, W(GP_VECTOR), 0),
	C0(rdmsr_vmx_basic, W(GP_VECTOR), 0),
	C0(rdmsr_x2apic_id, W(GP_VECTOR), 0),
	C0(rdmsr_hv, W(GP_VECTOR), 0),
	C0(rdmsr_vm_cr, W(GP_VECTOR), 0),
	C0(rdmsr_hsave, W(GP_VECTOR), 0),
	C0(rdmsr_ffffffff, W(GP_VECTOR), 0),
	C0(wrmsr_feature_control, W(GP_VECTOR), 0),
	C0(wrmsr_pred_cmd, W(GP_VECTOR), 0),
	C0(wrmsr_vm_cr, W(GP_VECTOR), 0),
	C0(wrmsr_hsave, W(GP_VECTOR), 0),
	C0(wrmsr_pat_bad, W(GP_VECTOR), 0),
	C0(wrmsr_lstar_noncanon, W(GP_VECTOR), 0),
	C0(wrmsr_apicbase_rsvd, W(GP_VECTOR), 0),
	C0(wrmsr_apicbase_extd, W(GP_VECTOR), 0),
	C0(wrmsr_tsc_aux_hi, W(GP_VECTOR), 0),
	C0(wrmsr_x2apic_eoi, W(GP_VECTOR), 0),
	C0(wrmsr_efer_svme, W(GP_VECTOR), 0),
	C0T(cr4_vmxe, W(GP_VECTOR), 0, TCG_SKIP),
	C0T(cr4_smxe, W(GP_VECTOR), 0, TCG_SKIP),
	C0T(cr4_bit31, W(GP_VECTOR), 0, TCG_SKIP),
	C0T(cr0_bit32, W(GP_VECTOR), 0, TCG_SKIP),
	/* Bochs's SVM CPU does not refuse it (not intercepted there). */
	C0T(cr0_no_pe, W(GP_VECTOR) | W_NONE, 0, TCG_SKIP),
	C0T(cr0_nw_no_cd, W(GP_VECTOR), 0, TCG_SKIP),
	/* Not intercepted on SVM; TCG drops the high bits without #GP. */
	C0T(cr8_16, W(GP_VECTOR), 0, W_NONE),
};

static const struct insn_case user_cases[] = {
	C3(u_hlt, W(GP_VECTOR), 0),
	C3(u_lgdt, W(GP_VECTOR), 0),
	C3(u_lidt, W(GP_VECTOR), 0),
	C3(u_ltr, W(GP_VECTOR), 0),
	C3(u_clts, W(GP_VECTOR), 0),
	C3(u_rdmsr, W(GP_VECTOR), 0),
	C3(u_wrmsr, W(GP_VECTOR), 0),
	C3(u_invd, W(GP_VECTOR), 0),
	C3(u_wbinvd, W(GP_VECTOR), 0),
	C3(u_invlpg, W(GP_VECTOR), 0),
	C3(u_rdpmc, W(GP_VECTOR), 0),
	C3(u_mov_cr0, W(GP_VECTOR), 0),
	C3(u_mov_cr3, W(GP_VECTOR), 0),
	C3(u_mov_dr7, W(GP_VECTOR), 0),
	C3(u_swapgs, W(GP_VECTOR), 0),
	C3(u_cli, W(GP_VECTOR), 0),
	C3(u_out, W(GP_VECTOR), 0),
	C3(u_in, W(GP_VECTOR), 0),
	/*
	 * A DPL 0 gate: #GP with the IDT vector in the error code (TCG
	 * puts twice the vector there: ERR_ANY).
	 */
	C3(u_int3, W(GP_VECTOR), ERR_ANY),
	C3(u_int80, W(GP_VECTOR), ERR_ANY),
	C3T(u_rdtscp, W(UD_VECTOR), 0, W_NONE),
	C3(u_monitor, W(UD_VECTOR), 0),
	/* CR4.OSXSAVE clear is #UD, CPL 3 #GP: the SDM orders neither. */
	C3(u_xsetbv, W(UD_VECTOR) | W(GP_VECTOR), 0),
	C3(u_ud2, W(UD_VECTOR), 0),
	C3T(u_ac, W(AC_VECTOR), 0, W_NONE),
	C3(u_cpuid, W_NONE, 0),
	C3(u_rdtsc, W_NONE, 0),
	{ "u_out_iopl3", SNIP_PTRS(u_out_iopl3), 3, 3,
	  false, true, W_NONE, 0, 0 },
	{ "u_cli_iopl3", SNIP_PTRS(u_cli_iopl3), 3, 3,
	  false, false, W_NONE, 0, 0 },
};

static void guest_insns(const struct insn_case *cases, u64 n)
{
	u64 i;

	/* For #AC in ring 3. */
	asm volatile("mov %%cr0, %%rax\n\t"
		     "or %0, %%rax\n\t"
		     "mov %%rax, %%cr0" : : "i"(X86_CR0_AM) : "rax", "memory");
	for (i = 0; i < n; i++) {
		const struct insn_case *c = &cases[i];

		if (READ_ONCE(insn_skip) & BIT_ULL(i)) {
			GUEST_SYNC_ARGS(i, NO_EXC, 0, 0);
			continue;
		}
		ex_reset((u64)c->end);
		if (c->ring == 3)
			run_user(c->start, X86_FLAGS_FIXED | X86_FLAGS_IF |
				 (u64)c->iopl << 12);
		else
			((void (*)(void))c->start)();
		WRITE_ONCE(ex_resume, 0);
		GUEST_SYNC_ARGS(i, READ_ONCE(ex_n) ? READ_ONCE(ex_vector) :
				NO_EXC, READ_ONCE(ex_error), READ_ONCE(ex_rip));
	}
	GUEST_DONE();
}

static bool vector_has_error(u64 v)
{
	return v == DF_VECTOR || (v >= 10 && v <= 14) || v == AC_VECTOR;
}

static void run_insn_cases(struct __test_metadata *_metadata,
			   const struct insn_case *cases, unsigned int n)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_insns));
	unsigned int i, bad = 0;
	bool tcg = host_is_tcg();
	struct ucall uc;

	install_rec_handlers(part);
	user_setup(part);
	vp_args_set(vp, 2, (u64)cases, (u64)n);
	TEST_ASSERT(n <= 64, "too many cases");
	for (i = 0; i < n; i++) {
		if (tcg && cases[i].tcg == TCG_SKIP) {
			*guest_ptr(part, insn_skip) |= BIT_ULL(i);
			TH_LOG("%s: not run under TCG", cases[i].name);
		}
	}
	for (i = 0; i < n; i++) {
		const struct insn_case *c = &cases[i];
		bool io = false;
		u64 v;

		for (;;) {
			vp_run(vp);
			if (vp->run->exit_reason != VHV_EXIT_IO ||
			    vp->run->io.port != USER_PORT)
				break;
			io = true;
			if (vp->run->io.direction == VHV_IO_OUT)
				EXPECT_EQ(0x5a, *(u8 *)vp_io_data(vp));
		}
		ASSERT_EQ((u64)UCALL_SYNC, vp_check_ucall(vp, &uc));
		ASSERT_EQ((u64)i, uc.args[0]);
		v = uc.args[1];
		if (*guest_ptr(part, insn_skip) & BIT_ULL(i))
			continue;
		if (tcg && v <= NO_EXC && (c->tcg & W(v)) && !(c->want & W(v))) {
			TH_LOG("%s (ring %u): vector %llu under TCG, not %#llx",
			       c->name, c->ring, (unsigned long long)v,
			       (unsigned long long)c->want);
			continue;
		}
		if (v > NO_EXC || !(c->want & W(v))) {
			bad++;
			TH_LOG("%s (ring %u): vector %llu error %#llx rip %#llx, want %#llx",
			       c->name, c->ring, (unsigned long long)v,
			       (unsigned long long)uc.args[2],
			       (unsigned long long)uc.args[3],
			       (unsigned long long)c->want);
			continue;
		}
		if (v != NO_EXC && vector_has_error(v) && c->err != ERR_ANY &&
		    uc.args[2] != c->err) {
			bad++;
			TH_LOG("%s: vector %llu error code %#llx, expected %#x",
			       c->name, (unsigned long long)v,
			       (unsigned long long)uc.args[2], c->err);
		}
		if (v != NO_EXC &&
		    uc.args[3] != (u64)(c->trap ? c->end : c->insn)) {
			bad++;
			TH_LOG("%s: vector %llu at rip %#llx, expected %#llx",
			       c->name, (unsigned long long)v,
			       (unsigned long long)uc.args[3],
			       (unsigned long long)(c->trap ? c->end : c->insn));
		}
		if (io != c->io) {
			bad++;
			TH_LOG("%s: I/O exit %s", c->name,
			       io ? "not expected" : "missing");
		}
	}
	vp_expect_done(vp);
	EXPECT_EQ(0U, bad);
	part_free(part);
}

TEST_TIMEOUT(vmx_instructions, 120)
{
	run_insn_cases(_metadata, vmx_cases, ARRAY_SIZE(vmx_cases));
}

TEST_TIMEOUT(svm_instructions, 120)
{
	run_insn_cases(_metadata, svm_cases, ARRAY_SIZE(svm_cases));
}

TEST_TIMEOUT(privileged_instructions, 120)
{
	run_insn_cases(_metadata, priv_cases, ARRAY_SIZE(priv_cases));
}

TEST_TIMEOUT(ring3_instructions, 120)
{
	run_insn_cases(_metadata, user_cases, ARRAY_SIZE(user_cases));
}

/* ---------------------------------------------------------------------
 * The APIC page at a high rate.
 */
#define STORM_IPI_VEC	0x50
#define STORM_TIMER_VEC	0x51

u64 as_ipis, as_timer;

static void as_ipi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(as_ipis, READ_ONCE(as_ipis) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static void as_timer_handler(struct ex_regs *regs)
{
	WRITE_ONCE(as_timer, READ_ONCE(as_timer) + 1);
	xapic_write_reg(APIC_EOI, 0);
}

static const u16 as_reserved[] = {
	0x000, 0x010, 0x040, 0x050, 0x060, 0x070, 0x290, 0x2a0, 0x2f0,
	0x3a0, 0x3f0, 0x400, 0x800, 0xff0,
};

static const u16 as_readonly[] = {
	APIC_LVR, APIC_PROCPRI, APIC_ISR, APIC_ISR + 0x70, APIC_TMR,
	APIC_IRR + 0x30, APIC_TMCCT, APIC_ARBPRI, 0xc0,
};

static void guest_apic_storm(u64 n, u64 ms)
{
	u8 *page = (u8 *)APIC_BASE_GPA;
	u64 end = guest_deadline(ms), i, sent = 0, esr;

	xapic_enable();
	xapic_write_reg(APIC_LVTERR, APIC_LVT_MASKED | 0xfe);
	xapic_write_reg(APIC_ESR, 0);
	guest_sti();
	for (i = 0; i < n && guest_rdtsc() < end; i++) {
		u32 x = (u32)(i * 2654435761U);

		switch (i % 16) {
		case 0:
			xapic_write_reg(APIC_TASKPRI, x & 0x2f);
			break;
		case 1:
			xapic_write_reg(APIC_EOI, 0);	/* nothing in service */
			break;
		case 2:
			xapic_write_reg(as_reserved[x % ARRAY_SIZE(as_reserved)],
					x);
			break;
		case 3:
			self_ipi(STORM_IPI_VEC);
			sent++;
			break;
		case 4:
			xapic_write_reg(APIC_LVTT, (x & 1 ? APIC_LVT_MASKED : 0) |
					(x & 2 ? APIC_LVT_TIMER_PERIODIC : 0) |
					STORM_TIMER_VEC);
			xapic_write_reg(APIC_TMICT, x & 0xfffff);
			break;
		case 5:
			(void)xapic_read_reg(APIC_TMCCT);
			break;
		case 6:
			xapic_write_reg(APIC_LVT0 + (x % 3) * 0x10,
					APIC_LVT_MASKED | (x & 0x7ff));
			break;
		case 7:
			xapic_write_reg(APIC_ESR, x);
			break;
		case 8:
			xapic_write_reg(APIC_LDR, x);
			xapic_write_reg(APIC_DFR, x | 0x0fffffff);
			break;
		case 9:
			xapic_write_reg(APIC_SPIV, APIC_SPIV_APIC_ENABLED |
					(x & 0x200) | 0xff);
			break;
		case 10:	/* not a 32-bit aligned write: ignored */
			WRITE_ONCE(page[APIC_TASKPRI + (x & 3)], 0xff);
			break;
		case 11:
			WRITE_ONCE(*(u32 *)(page + APIC_TASKPRI + 4 + (x & 7)),
				   x);
			break;
		case 12:
			WRITE_ONCE(*(u64 *)(page + APIC_TMICT), ~0ULL);
			break;
		case 13:
			xapic_write_reg(as_readonly[x % ARRAY_SIZE(as_readonly)],
					x);
			break;
		case 14:
			xapic_write_reg(APIC_TDCR, x & 0xb);
			break;
		case 15:
			xapic_write_reg(APIC_ICR2, x);
			break;
		}
	}
	/* Quiet again; what is pending arrives. */
	xapic_write_reg(APIC_LVTT, APIC_LVT_MASKED);
	xapic_write_reg(APIC_TMICT, 0);
	xapic_write_reg(APIC_TASKPRI, 0);
	wait_u64(&as_ipis, sent, 1000);
	GUEST_ASSERT_EQ(READ_ONCE(as_ipis), sent);
	GUEST_ASSERT(xapic_isr_empty());
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_PROCPRI), 0);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_LVR), 0x00050014);
	GUEST_ASSERT_EQ(xapic_read_reg(APIC_ID), 0);
	xapic_write_reg(0x010, 0);		/* illegal register address */
	xapic_write_reg(APIC_ESR, 0);
	esr = xapic_read_reg(APIC_ESR);
	self_ipi(STORM_IPI_VEC);
	GUEST_ASSERT_EQ(READ_ONCE(as_ipis), sent + 1);
	GUEST_SYNC_ARGS(i, sent, READ_ONCE(as_timer), esr);
	GUEST_DONE();
}

/*
 * Up to 100000 writes (or 1 s of guest time) to every kind of APIC
 * register, reserved and read-only offsets, odd sizes, self-IPIs, EOIs
 * with nothing in service and the timer reprogrammed: each self-IPI is
 * taken once, the APIC is still consistent afterwards.
 */
TEST_TIMEOUT(apic_page_storm, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_apic_storm));
	struct ucall uc;

	part_install_irq_handler(part, STORM_IPI_VEC, as_ipi_handler);
	part_install_irq_handler(part, STORM_TIMER_VEC, as_timer_handler);
	vp_args_set(vp, 2, 100000ULL, 1000ULL);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	TH_LOG("%llu accesses, %llu self-IPIs, %llu timer interrupts, ESR %#llx",
	       (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
	       (unsigned long long)uc.args[2], (unsigned long long)uc.args[3]);
	EXPECT_GE(uc.args[0], 1000ULL);
	/* Illegal register addresses were written. */
	EXPECT_EQ(0x80ULL, uc.args[3] & 0x80);
	vp_expect_done(vp);
	part_free(part);
}

/* ---------------------------------------------------------------------
 * GPA holes.
 *
 * RAM: 64 MiB at 0 (part_create), RAM2 2 MiB at 96 MiB, RO 64 KiB at
 * 100 MiB (read, exec), NOEXEC 64 KiB at 104 MiB (read, write).  A
 * window of 2 MiB pages at GVA 4 GiB (its own PD, PDPT entry 4) reaches
 * GPAs above 4 GiB.
 */
#define RAM2_GPA	0x6000000ULL
#define RAM2_SIZE	0x200000ULL
#define RO_GPA		0x6400000ULL
#define NOEXEC_GPA	0x6800000ULL
#define SMALL_SIZE	0x10000ULL
#define WIN_PD_GPA	(GUEST_SCRATCH_GPA + 0x300000)
#define WIN_GVA		0x100000000ULL
#define PDE_2M		(PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS)
#define MAX_HOLES	32

static u64 hole_pattern(u64 gpa)
{
	return (gpa * 0x9e3779b97f4a7c15ULL) ^ 0x5ca1ab1edeadbeefULL;
}

/* Map the 2 MiB page of gpa at window slot; returns the GVA of gpa. */
static u64 win_map(unsigned int slot, u64 gpa, u64 flags)
{
	u64 *pd = (u64 *)WIN_PD_GPA;
	u64 va = WIN_GVA + slot * LARGE_PAGE_SIZE +
		 (gpa & (LARGE_PAGE_SIZE - 1));

	WRITE_ONCE(pd[slot], (gpa & ~(LARGE_PAGE_SIZE - 1)) | flags);
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
	return va;
}

static u64 gpa_to_va(u64 gpa)
{
	return gpa < GUEST_IDENTITY_SIZE ? gpa : win_map(0, gpa, PDE_2M);
}

SNIP(hole_read, "", "mov (%rdi), %eax", "");
SNIP_DECL(hole_read);
SNIP(hole_write, "", "mov %esi, (%rdi)", "");
SNIP_DECL(hole_write);
SNIP(hole_jmp, "", "jmp *%rdi", "");
SNIP_DECL(hole_jmp);

/* The snippets take arguments: call them through a matching type. */
static u32 call_hole_read(u64 va)
{
	u32 (*fn)(u64) = (void *)(uintptr_t)hole_read;

	return fn(va);
}

static void call_hole_write(u64 va, u32 v)
{
	void (*fn)(u64, u32) = (void *)(uintptr_t)hole_write;

	fn(va, v);
}

static void call_hole_jmp(u64 va)
{
	void (*fn)(u64) = (void *)(uintptr_t)hole_jmp;

	fn(va);
}

u64 hole_gpas[MAX_HOLES];

#define EXC_WORD()	(READ_ONCE(ex_n) ? READ_ONCE(ex_vector) << 32 |	\
			 READ_ONCE(ex_error) : (u64)NO_EXC << 32)

static void guest_holes_data(u64 n)
{
	u64 i;

	for (i = 0; i < n; i++) {
		u64 gpa = hole_gpas[i], va = gpa_to_va(gpa);
		u32 v;

		ex_reset((u64)hole_read_end);
		v = call_hole_read(va);
		GUEST_SYNC_ARGS(i, v, EXC_WORD(), READ_ONCE(ex_cr2));
		ex_reset((u64)hole_write_end);
		call_hole_write(va, ~(u32)hole_pattern(gpa));
		GUEST_SYNC_ARGS(i, 0, EXC_WORD(), READ_ONCE(ex_cr2));
	}
	GUEST_DONE();
}

struct mmio_rec {
	u64 gpa, data;
	u32 len;
	bool is_write;
};

/* Run, answering MMIO reads with hole_pattern(), until a ucall. */
static u64 run_serving(struct vhv_vp *vp, struct mmio_rec *log,
		       unsigned int *nlog, unsigned int max, struct ucall *uc)
{
	*nlog = 0;
	for (;;) {
		struct vhv_run *run = vp->run;
		u64 p;

		vp_run(vp);
		if (run->exit_reason != VHV_EXIT_MMIO)
			return vp_check_ucall(vp, uc);
		TEST_ASSERT(*nlog < max, "too many MMIO exits: %s",
			    vp_exit_str(vp));
		TEST_ASSERT(run->mmio.len == 1 || run->mmio.len == 2 ||
			    run->mmio.len == 4 || run->mmio.len == 8,
			    "bad MMIO length: %s", vp_exit_str(vp));
		log[*nlog].gpa = run->mmio.gpa;
		log[*nlog].len = run->mmio.len;
		log[*nlog].is_write = run->mmio.is_write;
		log[*nlog].data = 0;
		if (run->mmio.is_write) {
			memcpy(&log[*nlog].data, run->mmio.data, run->mmio.len);
		} else {
			p = hole_pattern(run->mmio.gpa);
			memcpy(run->mmio.data, &p, run->mmio.len);
		}
		(*nlog)++;
	}
}

static struct vhv_partition *holes_partition(void)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	u64 *pdpt = addr_gpa2hva(part, GUEST_PT_GPA + PAGE_SIZE);
	u8 *ram2, *ro, *nx;
	u64 i;

	ram2 = mmap(NULL, RAM2_SIZE + 2 * SMALL_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ram2 != MAP_FAILED, "mmap failed");
	ro = ram2 + RAM2_SIZE;
	nx = ro + SMALL_SIZE;
	for (i = 0; i < SMALL_SIZE; i += 8) {
		u64 p = hole_pattern(RO_GPA + i);

		memcpy(ro + i, &p, 8);
	}
	/* mov $42, %eax; ret */
	memcpy(ro + 0x1000, "\xb8\x2a\x00\x00\x00\xc3", 6);
	memcpy(nx + 0x1000, "\xb8\x2a\x00\x00\x00\xc3", 6);
	part_map(part, RAM2_GPA, RAM2_SIZE, ram2,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
	part_map(part, RO_GPA, SMALL_SIZE, ro, VHV_MAP_READ | VHV_MAP_EXEC);
	part_map(part, NOEXEC_GPA, SMALL_SIZE, nx,
		 VHV_MAP_READ | VHV_MAP_WRITE);
	memset(addr_gpa2hva(part, WIN_PD_GPA), 0, PAGE_SIZE);
	pdpt[WIN_GVA >> 30] = WIN_PD_GPA | PTE_P | PTE_RW | PTE_A;
	install_rec_handlers(part);
	return part;
}

static void holes_partition_free(struct vhv_partition *part)
{
	void *ram2 = addr_gpa2hva(part, RAM2_GPA);

	part_free(part);
	munmap(ram2, RAM2_SIZE + 2 * SMALL_SIZE);
}

/*
 * Reads and writes at GPAs that are not RAM, all over the space: MMIO
 * exits with the GPA, length and data, the value read reaching the
 * guest; GPAs the guest's page tables cannot hold (at or above the
 * CPU's physical-address width) are a guest #PF with RSVD instead.
 */
TEST_TIMEOUT(gpa_holes_data, 120)
{
	struct vhv_partition *part = holes_partition();
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_holes_data));
	unsigned int pbits = host_phys_bits(), n = 0, i, nlog;
	u64 *gpas = *guest_ptr(part, hole_gpas);
	bool tcg = host_is_tcg();
	struct mmio_rec log[4];
	struct ucall uc;
	u64 limit;

	TH_LOG("host physical-address width %u", pbits);
	if (pbits > 52)
		pbits = 52;
	limit = 1ULL << pbits;
	gpas[n++] = VHV_DEFAULT_RAM;			/* just above RAM */
	gpas[n++] = VHV_DEFAULT_RAM + 0xffc;
	gpas[n++] = 0x5000000;				/* between RAMs */
	gpas[n++] = RAM2_GPA - 4;			/* just below RAM2 */
	gpas[n++] = RAM2_GPA + RAM2_SIZE;		/* just above RAM2 */
	gpas[n++] = RO_GPA + SMALL_SIZE;
	gpas[n++] = NOEXEC_GPA + SMALL_SIZE + 0x100;
	gpas[n++] = GUEST_MMIO_GPA;
	gpas[n++] = 0xfec00000;				/* an I/O APIC's */
	gpas[n++] = 0xfed00000;				/* an HPET's */
	gpas[n++] = 0xfffffffc;				/* last below 4 GiB */
	gpas[n++] = 0x100000000ULL;
	gpas[n++] = 0x7ffffff000ULL;
	gpas[n++] = limit - 4;			/* the highest the CPU has */
	if (pbits < 52)
		gpas[n++] = limit;		/* beyond it: RSVD */
	gpas[n++] = VHV_MAX_GPA - 4;
	if (pbits < 52) {
		gpas[n++] = VHV_MAX_GPA;
		gpas[n++] = (1ULL << 51) + 0x1000;
	}
	vp_args_set(vp, 1, (u64)n);

	for (i = 0; i < 2 * n; i++) {
		u64 gpa = gpas[i / 2], exc, want;
		bool write = i & 1, mmio = gpa < limit;

		ASSERT_EQ((u64)UCALL_SYNC, run_serving(vp, log, &nlog, 4, &uc));
		ASSERT_EQ((u64)i / 2, uc.args[0]);
		exc = uc.args[2];
		if (mmio) {
			EXPECT_EQ((u64)NO_EXC << 32, exc)
				TH_LOG("%s %#llx: exception %llu error %#llx",
				       write ? "write" : "read",
				       (unsigned long long)gpa,
				       (unsigned long long)(exc >> 32),
				       (unsigned long long)(u32)exc);
			EXPECT_EQ(1U, nlog) TH_LOG("gpa %#llx",
						   (unsigned long long)gpa);
			if (nlog != 1)
				continue;
			EXPECT_EQ(gpa, log[0].gpa);
			EXPECT_EQ(4U, log[0].len);
			EXPECT_EQ(write, log[0].is_write);
			want = write ? (u32)~hole_pattern(gpa) :
				       (u32)hole_pattern(gpa);
			EXPECT_EQ(want, write ? log[0].data : uc.args[1])
				TH_LOG("%s %#llx", write ? "write" : "read",
				       (unsigned long long)gpa);
		} else {
			want = (u64)PF_VECTOR << 32 | PF_ERR_P | PF_ERR_RSVD |
			       (write ? PF_ERR_W : 0);
			/* TCG leaves P clear for a reserved-bit fault. */
			if (tcg && exc == (want & ~(u64)PF_ERR_P))
				exc = want;
			EXPECT_EQ(want, exc)
				TH_LOG("%s %#llx: exception %llu error %#llx, MMIO exits %u",
				       write ? "write" : "read",
				       (unsigned long long)gpa,
				       (unsigned long long)(exc >> 32),
				       (unsigned long long)(u32)exc, nlog);
			EXPECT_EQ(0U, nlog);
			EXPECT_EQ(WIN_GVA + (gpa & (LARGE_PAGE_SIZE - 1)),
				  uc.args[3]);
		}
	}
	vp_expect_done(vp);
	holes_partition_free(part);
}

static u64 gpa_to_va_host(u64 gpa)
{
	return gpa < GUEST_IDENTITY_SIZE ? gpa :
	       WIN_GVA + (gpa & (LARGE_PAGE_SIZE - 1));
}

static void guest_exec_at(u64 gpa)
{
	ex_reset((u64)hole_jmp_end);
	call_hole_jmp(gpa_to_va(gpa));
	GUEST_SYNC_ARGS(EXC_WORD(), READ_ONCE(ex_cr2), 0, 0);
	GUEST_DONE();
}

/*
 * Code fetches from holes: VHV_INTERNAL_FETCH with the raw nested page
 * fault, or a guest #PF (RSVD, fetch) where the page tables cannot hold
 * the GPA; the VP runs again after the VMM loads a state.
 */
TEST_TIMEOUT(gpa_holes_fetch, 120)
{
	struct vhv_partition *part = holes_partition();
	struct vhv_vp *vp = vp_create(part, 0);
	unsigned int pbits = host_phys_bits(), n = 0, i;
	bool vmx = backend_is_vmx(), tcg = host_is_tcg();
	u64 targets[16], limit;
	struct ucall uc;

	if (pbits > 52)
		pbits = 52;
	limit = 1ULL << pbits;
	targets[n++] = VHV_DEFAULT_RAM;
	targets[n++] = 0x5000000;
	targets[n++] = NOEXEC_GPA + 0x1000;	/* RAM without exec */
	targets[n++] = GUEST_MMIO_GPA;
	targets[n++] = 0xfec00000;
	targets[n++] = APIC_BASE_GPA;		/* the APIC page */
	targets[n++] = 0xfffff000;
	targets[n++] = 0x100000000ULL;
	targets[n++] = limit - 0x1000;
	if (pbits < 52)
		targets[n++] = limit + 0x1000;
	for (i = 0; i < n; i++) {
		u64 gpa = targets[i];
		struct vhv_run *run = vp->run;

		vp_setup_long_mode(vp, GUEST_CODE(guest_exec_at));
		vp_args_set(vp, 1, gpa);
		vp_run(vp);
		if (gpa < limit) {
			ASSERT_EQ((u32)VHV_EXIT_INTERNAL_ERROR,
				  run->exit_reason)
				TH_LOG("%#llx: %s", (unsigned long long)gpa,
				       vp_exit_str(vp));
			EXPECT_EQ((u32)VHV_INTERNAL_FETCH,
				  run->internal.suberror)
				TH_LOG("%#llx: %s", (unsigned long long)gpa,
				       vp_exit_str(vp));
			EXPECT_EQ(vmx ? 48ULL : 0x400ULL, run->internal.code)
				TH_LOG("%#llx: %s", (unsigned long long)gpa,
				       vp_exit_str(vp));
			EXPECT_EQ(gpa, run->internal.info[1] & ~0xfffULL)
				TH_LOG("%#llx: %s", (unsigned long long)gpa,
				       vp_exit_str(vp));
			EXPECT_EQ(gpa_to_va_host(gpa), run->rip);
		} else {
			u64 want = (u64)PF_VECTOR << 32 | PF_ERR_P |
				   PF_ERR_RSVD | PF_ERR_I;

			ASSERT_EQ((u64)UCALL_SYNC, vp_check_ucall(vp, &uc));
			/* TCG leaves P clear for a reserved-bit fault. */
			if (tcg && uc.args[0] == (want & ~(u64)PF_ERR_P))
				uc.args[0] = want;
			EXPECT_EQ(want, uc.args[0])
				TH_LOG("%#llx", (unsigned long long)gpa);
			vp_expect_done(vp);
		}
	}
	/* Still usable. */
	vp_setup_long_mode(vp, guest_done);
	vp_expect_done(vp);
	holes_partition_free(part);
}

/* Guest #PF from its own page tables, in and out of holes. */
static void guest_holes_paging(void)
{
	u64 va;
	u32 v;

	/* Read-only RAM: reads from memory, writes are MMIO exits. */
	GUEST_ASSERT_EQ(READ_ONCE(*(u64 *)(RO_GPA + 0x808)),
			hole_pattern(RO_GPA + 0x808));
	WRITE_ONCE(*(u32 *)(RO_GPA + 0x810), 0x12345678);
	GUEST_ASSERT_EQ(READ_ONCE(*(u64 *)(RO_GPA + 0x810)),
			hole_pattern(RO_GPA + 0x810));
	/* Executable. */
	GUEST_ASSERT_EQ(((u32 (*)(void))(RO_GPA + 0x1000))(), 42);
	/* Not executable, but readable and writable. */
	WRITE_ONCE(*(u32 *)(NOEXEC_GPA + 0x20), 0xabcdef01);
	GUEST_ASSERT_EQ(READ_ONCE(*(u32 *)(NOEXEC_GPA + 0x20)), 0xabcdef01);
	GUEST_SYNC(1);

	/* A hole behind a not-present PDE: #PF, no MMIO. */
	va = win_map(1, GUEST_MMIO_GPA, PDE_2M & ~PTE_P);
	ex_reset((u64)hole_read_end);
	v = call_hole_read(va);
	GUEST_SYNC_ARGS(2, v, EXC_WORD(), READ_ONCE(ex_cr2));
	ex_reset((u64)hole_write_end);
	call_hole_write(va, 1);
	GUEST_SYNC_ARGS(3, 0, EXC_WORD(), READ_ONCE(ex_cr2));
	ex_reset((u64)hole_jmp_end);
	call_hole_jmp(va);
	GUEST_SYNC_ARGS(4, 0, EXC_WORD(), READ_ONCE(ex_cr2));
	/* A read-only PDE on a hole: reads are MMIO, writes #PF. */
	va = win_map(2, GUEST_MMIO_GPA, PDE_2M & ~PTE_RW);
	ex_reset((u64)hole_read_end);
	v = call_hole_read(va);
	GUEST_SYNC_ARGS(5, v, EXC_WORD(), READ_ONCE(ex_cr2));
	ex_reset((u64)hole_write_end);
	call_hole_write(va, 1);
	GUEST_SYNC_ARGS(6, 0, EXC_WORD(), READ_ONCE(ex_cr2));
	/* NX on RAM that the mapping lets execute: #PF. */
	va = win_map(3, RO_GPA, PDE_2M | PTE_NX) + 0x1000;
	ex_reset((u64)hole_jmp_end);
	call_hole_jmp(va);
	GUEST_SYNC_ARGS(7, 0, EXC_WORD(), READ_ONCE(ex_cr2));
	GUEST_DONE();
}

/* What VHV_INTERNAL_EMULATION is documented for. */
static void guest_hole_page_table(void)
{
	/* PDE (not PS) pointing at a page table in a hole. */
	u64 va = win_map(4, GUEST_MMIO_GPA, PTE_P | PTE_RW | PTE_A);

	(void)READ_ONCE(*(u32 *)va);
	GUEST_DONE();
}

static void guest_hole_stack(void)
{
	asm volatile("mov %0, %%rsp\n\t"
		     "ud2" : : "r"(GUEST_MMIO_GPA + 0x1000) : "memory");
	GUEST_DONE();
}

static void guest_hole_idt(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = { 0xfff, GUEST_MMIO_GPA };

	asm volatile("lidt %0\n\t"
		     "ud2" : : "m"(idtr) : "memory");
	GUEST_DONE();
}

static void guest_hole_sse(void)
{
	asm volatile("movdqu (%0), %%xmm0"
		     : : "r"(GUEST_MMIO_GPA + 0x40) : "xmm0", "memory");
	GUEST_DONE();
}

static void guest_hole_cross(void)
{
	(void)READ_ONCE(*(u32 *)(GUEST_MMIO_GPA + 0xffe));
	GUEST_DONE();
}

TEST_TIMEOUT(gpa_holes_mappings_and_paging, 120)
{
	static const struct {
		void (*fn)(void);
		const char *name;
	} emu[] = {
		{ guest_hole_page_table, "page table in a hole" },
		{ guest_hole_stack, "stack in a hole" },
		{ guest_hole_idt, "IDT in a hole" },
		{ guest_hole_sse, "MOVDQU from a hole" },
		{ guest_hole_cross, "access across two hole pages" },
	};
	struct vhv_partition *part = holes_partition();
	struct vhv_vp *vp = vp_add(part, 0, guest_holes_paging);
	u64 win = WIN_GVA, va, pat = hole_pattern(GUEST_MMIO_GPA);
	struct mmio_rec log[4];
	unsigned int nlog, i;
	struct ucall uc;

	ASSERT_EQ((u64)UCALL_SYNC, run_serving(vp, log, &nlog, 4, &uc));
	EXPECT_EQ(1ULL, uc.args[0]);
	ASSERT_EQ(1U, nlog);
	EXPECT_EQ(RO_GPA + 0x810, log[0].gpa);
	EXPECT_EQ(true, log[0].is_write);
	EXPECT_EQ(4U, log[0].len);
	EXPECT_EQ(0x12345678ULL, log[0].data);
	EXPECT_EQ(hole_pattern(RO_GPA + 0x810),
		  *(u64 *)addr_gpa2hva(part, RO_GPA + 0x810));
	EXPECT_EQ(0xabcdef01U, *(u32 *)addr_gpa2hva(part, NOEXEC_GPA + 0x20));

	/* Not present: read, write, fetch. */
	va = win + LARGE_PAGE_SIZE + (GUEST_MMIO_GPA & 0x1fffff);
	for (i = 2; i <= 4; i++) {
		static const u32 err[] = { 0, PF_ERR_W, PF_ERR_I };

		ASSERT_EQ((u64)UCALL_SYNC,
			  run_serving(vp, log, &nlog, 4, &uc));
		EXPECT_EQ((u64)i, uc.args[0]);
		EXPECT_EQ(0U, nlog);
		EXPECT_EQ((u64)PF_VECTOR << 32 | err[i - 2], uc.args[2])
			TH_LOG("case %u", i);
		EXPECT_EQ(va, uc.args[3]);
	}
	/* Read-only: the read is MMIO, the write #PF. */
	va = win + 2 * LARGE_PAGE_SIZE + (GUEST_MMIO_GPA & 0x1fffff);
	ASSERT_EQ((u64)UCALL_SYNC, run_serving(vp, log, &nlog, 4, &uc));
	EXPECT_EQ(5ULL, uc.args[0]);
	EXPECT_EQ((u64)NO_EXC << 32, uc.args[2]);
	ASSERT_EQ(1U, nlog);
	EXPECT_EQ(GUEST_MMIO_GPA, log[0].gpa);
	EXPECT_EQ((u32)pat, uc.args[1]);
	ASSERT_EQ((u64)UCALL_SYNC, run_serving(vp, log, &nlog, 4, &uc));
	EXPECT_EQ(6ULL, uc.args[0]);
	EXPECT_EQ(0U, nlog);
	EXPECT_EQ((u64)PF_VECTOR << 32 | PF_ERR_P | PF_ERR_W, uc.args[2]);
	EXPECT_EQ(va, uc.args[3]);
	/* NX. */
	ASSERT_EQ((u64)UCALL_SYNC, run_serving(vp, log, &nlog, 4, &uc));
	EXPECT_EQ(7ULL, uc.args[0]);
	EXPECT_EQ((u64)PF_VECTOR << 32 | PF_ERR_P | PF_ERR_I, uc.args[2]);
	vp_expect_done(vp);

	for (i = 0; i < ARRAY_SIZE(emu); i++) {
		/*
		 * A new VP each time: an event whose delivery met the hole
		 * stays queued for re-injection into whatever state the VMM
		 * loads next (api.rst 10.8: no ioctl clears it).
		 */
		vp_free(vp);
		vp = vp_add(part, 0, emu[i].fn);
		vp_run(vp);
		if (get_ucall(vp, &uc) != UCALL_NONE)
			TH_LOG("%s: ucall %llu line %llu args %#llx %#llx %#llx %#llx",
			       emu[i].name, (unsigned long long)uc.cmd,
			       (unsigned long long)uc.line,
			       (unsigned long long)uc.args[0],
			       (unsigned long long)uc.args[1],
			       (unsigned long long)uc.args[2],
			       (unsigned long long)uc.args[3]);
		EXPECT_EQ((u32)VHV_EXIT_INTERNAL_ERROR, vp->run->exit_reason)
			TH_LOG("%s: %s", emu[i].name, vp_exit_str(vp));
		if (vp->run->exit_reason != VHV_EXIT_INTERNAL_ERROR)
			continue;
		EXPECT_EQ((u32)VHV_INTERNAL_EMULATION,
			  vp->run->internal.suberror)
			TH_LOG("%s: %s", emu[i].name, vp_exit_str(vp));
		if (emu[i].fn == guest_hole_sse) {
			/* The bytes fetched: F3 0F 6F. */
			EXPECT_GE(vp->run->internal.insn_len, 3U);
			EXPECT_EQ(0xf3, vp->run->internal.insn[0]);
			EXPECT_EQ(0x0f, vp->run->internal.insn[1]);
			EXPECT_EQ(0x6f, vp->run->internal.insn[2]);
		}
	}
	vp_setup_long_mode(vp, guest_done);
	vp_expect_done(vp);
	holes_partition_free(part);
}

/* The xAPIC page is a hole while the APIC is disabled or moved away. */
static void guest_apic_hole(void)
{
	u64 base = guest_rdmsr(MSR_IA32_APICBASE);
	u32 *ver = (u32 *)(APIC_BASE_GPA + APIC_LVR);
	u32 *moved = (u32 *)(0xfed00000UL + APIC_LVR);

	GUEST_ASSERT_EQ(READ_ONCE(*ver), 0x00050014);
	GUEST_SYNC(1);
	guest_wrmsr(MSR_IA32_APICBASE, base & ~APICBASE_ENABLE);
	GUEST_SYNC_ARGS(2, READ_ONCE(*ver), 0, 0);
	WRITE_ONCE(*ver, 0x11223344);
	GUEST_SYNC(3);
	guest_wrmsr(MSR_IA32_APICBASE, base);
	GUEST_ASSERT_EQ(READ_ONCE(*ver), 0x00050014);
	GUEST_SYNC(4);
	guest_wrmsr(MSR_IA32_APICBASE, 0xfed00000UL | (base & 0xfff));
	GUEST_ASSERT_EQ(READ_ONCE(*moved), 0x00050014);
	GUEST_SYNC_ARGS(5, READ_ONCE(*ver), 0, 0);
	guest_wrmsr(MSR_IA32_APICBASE, base);
	GUEST_ASSERT_EQ(READ_ONCE(*ver), 0x00050014);
	GUEST_SYNC(6);
	GUEST_DONE();
}

TEST_TIMEOUT(gpa_hole_apic_disabled, 120)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_apic_hole);
	u64 ver = APIC_BASE_GPA + APIC_LVR;
	static const unsigned int want_n[] = { 0, 1, 1, 0, 1, 0 };
	struct mmio_rec log[4];
	unsigned int nlog, i;
	struct ucall uc;

	for (i = 0; i < 6; i++) {
		ASSERT_EQ((u64)UCALL_SYNC,
			  run_serving(vp, log, &nlog, 4, &uc));
		ASSERT_EQ((u64)i + 1, uc.args[0]);
		ASSERT_EQ(want_n[i], nlog) TH_LOG("step %u", i + 1);
		if (!nlog)
			continue;
		EXPECT_EQ(ver, log[0].gpa) TH_LOG("step %u", i + 1);
		EXPECT_EQ(4U, log[0].len);
		EXPECT_EQ(log[0].is_write ? 0x11223344ULL :
			  (u32)hole_pattern(ver),
			  log[0].is_write ? log[0].data : uc.args[1]);
	}
	vp_expect_done(vp);
	part_free(part);
}

TEST_HARNESS_MAIN
