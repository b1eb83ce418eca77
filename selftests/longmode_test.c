// SPDX-License-Identifier: GPL-2.0
/*
 * 64-bit guests: C code running in long mode, its state, its arguments,
 * SSE, exceptions and many ucalls.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

static u64 fib(u64 n)
{
	u64 a = 0, b = 1;

	while (n--) {
		u64 t = a + b;

		a = b;
		b = t;
	}
	return a;
}

static u64 sum_squares(u64 n)
{
	u64 i, s = 0;

	for (i = 0; i < n; i++)
		s += i * i;
	return s;
}

static u64 mix(u64 x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return (x ^ (x >> 33)) / 7 % 1000003;
}

static void guest_arith(u64 n_fib, u64 n_sum)
{
	GUEST_SYNC(fib(n_fib));
	GUEST_SYNC(sum_squares(n_sum));
	GUEST_SYNC(mix(n_fib * n_sum));
	GUEST_DONE();
}

TEST(long_mode_arith)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_arith));

	vp_args_set(vp, 2, 90ULL, 10000ULL);
	EXPECT_EQ(fib(90), vp_expect_sync(vp));
	EXPECT_EQ(sum_squares(10000), vp_expect_sync(vp));
	EXPECT_EQ(mix(90 * 10000), vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

static void guest_state(void)
{
	u16 cs, ss;

	asm volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
	GUEST_SYNC_ARGS(guest_read_cr0(), guest_read_cr4(), guest_read_cr3(),
			guest_rdmsr(MSR_EFER));
	GUEST_SYNC_ARGS(cs, ss, guest_read_flags(), 0);
	GUEST_DONE();
}

TEST(long_mode_state)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_state);
	struct ucall uc;

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(GUEST_CR0, uc.args[0] & GUEST_CR0);
	EXPECT_EQ(X86_CR0_PE | X86_CR0_PG, uc.args[0] & (X86_CR0_PE | X86_CR0_PG));
	EXPECT_EQ(GUEST_CR4, uc.args[1] & GUEST_CR4);
	EXPECT_EQ(GUEST_PT_GPA, uc.args[2] & ~0xfffUL);
	EXPECT_EQ(GUEST_EFER, uc.args[3]);

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ((u64)GDT_CODE_SEL, uc.args[0]);
	EXPECT_EQ((u64)GDT_DATA_SEL, uc.args[1]);
	/* The flags vp_add() gives: the fixed bit and IF. */
	EXPECT_EQ(X86_FLAGS_FIXED | X86_FLAGS_IF, uc.args[2] & ~X86_FLAGS_ARITH);
	vp_expect_done(vp);
	part_free(part);
}

static void guest_args(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
	GUEST_SYNC_ARGS(a + b + c + d + e + f, a * f, b ^ e, c - d);
	GUEST_DONE();
}

TEST(long_mode_args)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_args));
	struct ucall uc;

	vp_args_set(vp, 6, 1ULL, 20ULL, 300ULL, 4000ULL, 50000ULL, 600000ULL);
	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	EXPECT_EQ(654321ULL, uc.args[0]);
	EXPECT_EQ(600000ULL, uc.args[1]);
	EXPECT_EQ(20ULL ^ 50000ULL, uc.args[2]);
	EXPECT_EQ((u64)(300 - 4000), uc.args[3]);
	vp_expect_done(vp);
	part_free(part);
}

static void guest_sse(void)
{
	u64 in[4] = { 0x0000000100000002ULL, 0x0000000300000004ULL,
		      0x1000000020000000ULL, 0x3000000040000000ULL };
	u64 out[2], v;

	asm volatile("movdqu (%1), %%xmm0\n\t"
		     "movdqu 16(%1), %%xmm1\n\t"
		     "paddd %%xmm1, %%xmm0\n\t"
		     "pshufd $0x1b, %%xmm0, %%xmm0\n\t"
		     "movdqu %%xmm0, (%0)\n\t"
		     : : "r"(out), "r"(in) : "xmm0", "xmm1", "memory");
	GUEST_SYNC_ARGS(out[0], out[1], 0, 0);

	/* An XMM register survives an exit to the host and back. */
	asm volatile("movq %1, %%xmm2\n\t"
		     "outb %%al, $0xe0\n\t"
		     "movq %%xmm2, %0"
		     : "=r"(v) : "r"(0x1122334455667788ULL), "a"(0)
		     : "xmm2", "memory");
	GUEST_ASSERT_EQ(v, 0x1122334455667788ULL);
	GUEST_DONE();
}

TEST(long_mode_sse)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_sse);
	u8 junk[4096];
	struct ucall uc;

	ASSERT_EQ((u64)UCALL_SYNC, vp_run_ucall(vp, &uc));
	/* Dwords 0..3 = 0x30000003, 0x40000004, 0x10000001, 0x20000002. */
	EXPECT_EQ(0x4000000430000003ULL, uc.args[0]);
	EXPECT_EQ(0x2000000210000001ULL, uc.args[1]);
	vp_run(vp);
	assert_io_exit(vp, 0xe0, 1, VHV_IO_OUT, false);
	/* Use the host's vector registers meanwhile. */
	memset(junk, 0x5a, sizeof(junk));
	asm volatile("pcmpeqd %%xmm2, %%xmm2" : : : "xmm2");
	EXPECT_EQ(0x5a, (int)junk[sizeof(junk) - 1]);
	vp_expect_done(vp);
	part_free(part);
}

static u64 guest_fault_rip;

static void guest_ud(void)
{
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, %0\n\t"
		     "1: ud2"
		     : "=m"(guest_fault_rip) : : "rax", "memory");
}

static void guest_pf(void)
{
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, %0\n\t"
		     "1: mov (%1), %%rax"
		     : "=m"(guest_fault_rip) : "r"(GUEST_IDENTITY_SIZE + 0x1238)
		     : "rax", "memory");
}

static void guest_de(void)
{
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, %0\n\t"
		     "xor %%edx, %%edx\n\t"
		     "xor %%ecx, %%ecx\n\t"
		     "1: divl %%ecx"
		     : "=m"(guest_fault_rip) : : "rax", "rcx", "rdx", "memory");
}

/* Unhandled exceptions come back as UCALL_UNHANDLED from the IDT stubs. */
TEST(exception_unhandled_reported)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct {
		void (*fn)(void);
		u64 vector, error_code, cr2;
	} cases[] = {
		{ guest_ud, UD_VECTOR, 0, 0 },
		{ guest_pf, PF_VECTOR, 0, GUEST_IDENTITY_SIZE + 0x1238 },
		{ guest_de, DE_VECTOR, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vhv_vp *vp = vp_add(part, i, cases[i].fn);
		struct ucall uc;

		vp_run(vp);
		ASSERT_EQ((u64)UCALL_UNHANDLED, get_ucall(vp, &uc))
			TH_LOG("case %u: exit %s", i, vp_exit_str(vp));
		EXPECT_EQ(cases[i].vector, uc.args[0]);
		/* #PF: not present, read, supervisor. */
		EXPECT_EQ(cases[i].error_code, uc.args[1]);
		EXPECT_EQ(*guest_ptr(part, guest_fault_rip), uc.args[2]);
		EXPECT_EQ(cases[i].cr2, uc.args[3]);
	}
	part_free(part);
}

static u64 guest_bp_count;

static void guest_bp_handler(struct ex_regs *regs)
{
	/* #BP is a trap: RIP is already past the INT3. */
	WRITE_ONCE(guest_bp_count, READ_ONCE(guest_bp_count) + 1);
	regs->rax += 1;
}

static void guest_ud_handler(struct ex_regs *regs)
{
	regs->rip += 2;		/* skip UD2 */
	regs->rbx = 0x600d;
}

static void guest_handled(void)
{
	u64 rax = 100, rbx = 0;

	asm volatile("int3\n\tint3\n\tint3" : "+a"(rax) : : "memory");
	GUEST_ASSERT_EQ(rax, 103);
	asm volatile("ud2" : "+b"(rbx) : : "memory");
	GUEST_ASSERT_EQ(rbx, 0x600d);
	GUEST_SYNC(READ_ONCE(guest_bp_count));
	GUEST_DONE();
}

/* Exceptions delivered through the guest IDT, handled, and IRETQ back. */
TEST(exception_handled_resumes)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_handled);

	part_install_exception_handler(part, BP_VECTOR, guest_bp_handler);
	part_install_exception_handler(part, UD_VECTOR, guest_ud_handler);
	EXPECT_EQ(3ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

static void guest_many_ucalls(void)
{
	u64 i;

	for (i = 0; i < 1000; i++)
		GUEST_SYNC(i * 3 + 1);
	GUEST_DONE();
}

TEST(many_exits_in_sequence)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_many_ucalls);
	u64 i;

	for (i = 0; i < 1000; i++) {
		u64 v = vp_expect_sync(vp);

		ASSERT_EQ(i * 3 + 1, v);
	}
	vp_expect_done(vp);
	part_free(part);
}

static const char guest_rodata_string[] = "vhv guest image";
static u64 guest_data_value = 0x1234abcd;
static u64 guest_bss_value;

static void guest_image(void)
{
	const char *s = guest_rodata_string;
	unsigned int i;

	/* Hide the string from the optimizer: read the image's copy. */
	asm volatile("" : "+r"(s));
	for (i = 0; i < sizeof(guest_rodata_string); i++)
		GUEST_ASSERT_EQ(s[i], "vhv guest image"[i]);
	GUEST_ASSERT_EQ(READ_ONCE(guest_data_value), 0x1234abcd);
	GUEST_ASSERT_EQ(READ_ONCE(guest_bss_value), 0);
	WRITE_ONCE(guest_bss_value, 0x5555);
	GUEST_SYNC(0);
	GUEST_SYNC(READ_ONCE(guest_data_value));
	GUEST_DONE();
}

/* Guest globals are a copy of the image, separate from the host's. */
TEST(guest_image_is_a_copy)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_image);

	guest_data_value = 1;
	EXPECT_EQ(0ULL, vp_expect_sync(vp));
	EXPECT_EQ(0x5555ULL, *guest_ptr(part, guest_bss_value));
	EXPECT_EQ(0ULL, guest_bss_value);
	*guest_ptr(part, guest_data_value) = 0x7777;
	EXPECT_EQ(0x7777ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

static void guest_return(void)
{
}

TEST(guest_return_is_reported)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_return);
	struct ucall uc;

	vp_run(vp);
	ASSERT_EQ((u64)UCALL_ABORT, get_ucall(vp, &uc))
		TH_LOG("exit %s", vp_exit_str(vp));
	part_free(part);
}

TEST_HARNESS_MAIN
