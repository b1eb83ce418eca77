// SPDX-License-Identifier: GPL-2.0
/*
 * MMIO exits: which accesses each decoded instruction form makes, with
 * what address, length and data, and what the guest registers hold after
 * the host completed the reads.  The device is a byte array served by
 * mmio_dev_handle() at GUEST_MMIO_GPA.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define MMIO		GUEST_MMIO_GPA

struct mmio_test {
	struct vhv_partition *part;
	struct vhv_vp *vp;
	struct mmio_dev dev;
};

static void mmio_test_init(struct mmio_test *t, void (*guest)(void))
{
	t->part = part_create(VHV_DEFAULT_RAM);
	t->vp = vp_add(t->part, 0, guest);
	mmio_dev_init(&t->dev, MMIO);
}

/* Run to the next GUEST_SYNC, serving MMIO; the log starts empty. */
static void run_phase(struct mmio_test *t, u64 phase)
{
	struct ucall uc;

	mmio_dev_clear_log(&t->dev);
	TEST_ASSERT(vp_run_mmio(t->vp, &t->dev, &uc) == UCALL_SYNC,
		    "expected GUEST_SYNC(%llu)", (unsigned long long)phase);
	TEST_ASSERT(uc.args[0] == phase, "expected GUEST_SYNC(%llu), got %llu",
		    (unsigned long long)phase,
		    (unsigned long long)uc.args[0]);
}

static void run_done(struct mmio_test *t)
{
	struct ucall uc;

	mmio_dev_clear_log(&t->dev);
	TEST_ASSERT(vp_run_mmio(t->vp, &t->dev, &uc) == UCALL_DONE,
		    "expected GUEST_DONE");
	part_free(t->part);
}

static void dev_put(struct mmio_test *t, u64 off, u64 val, unsigned int len)
{
	memcpy(&t->dev.mem[off], &val, len);
}

/* The exit reports the right GPA and the RIP of the instruction (R8). */
static void guest_mmio_rip(void)
{
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: movl %%eax, (%%rsi)"
		     : : "a"(0x12345678), "S"(MMIO + 0x10) : "r8", "memory");
	GUEST_DONE();
}

TEST(mmio_exit_fields)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_mmio_rip);
	struct vhv_regs regs;
	u32 data;

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(MMIO + 0x10, vp->run->mmio.gpa);
	EXPECT_EQ(4U, vp->run->mmio.len);
	EXPECT_EQ(1, vp->run->mmio.is_write);
	memcpy(&data, vp->run->mmio.data, 4);
	EXPECT_EQ(0x12345678U, data);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(regs.r8, vp->run->rip);
	vp_expect_done(vp);
	part_free(part);
}

static void guest_mov_store(void)
{
	u64 p = MMIO;

	asm volatile("movb %b0, 0x10(%1)" : : "q"(0x11), "r"(p) : "memory");
	asm volatile("movw %w0, 0x20(%1)" : : "r"(0x2233), "r"(p) : "memory");
	asm volatile("movl %k0, 0x30(%1)" : : "r"(0x44556677), "r"(p)
		     : "memory");
	asm volatile("movq %0, 0x40(%1)" : : "r"(0x8899aabbccddeeffULL),
		     "r"(p) : "memory");
	/* SIB addressing and a register needing REX. */
	asm volatile("mov $0xa5a5a5a5, %%r9d\n\t"
		     "movl %%r9d, 0x8(%0,%%rcx,4)"
		     : : "r"(p), "c"(0x12) : "r9", "memory");
	GUEST_SYNC(1);
	GUEST_DONE();
}

TEST(mmio_mov_store)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_mov_store);
	run_phase(&t, 1);
	ASSERT_EQ(5U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x10, 1, true, 0x11);
	mmio_dev_check(&t.dev, 1, MMIO + 0x20, 2, true, 0x2233);
	mmio_dev_check(&t.dev, 2, MMIO + 0x30, 4, true, 0x44556677);
	mmio_dev_check(&t.dev, 3, MMIO + 0x40, 8, true, 0x8899aabbccddeeffULL);
	mmio_dev_check(&t.dev, 4, MMIO + 0x50, 4, true, 0xa5a5a5a5);
	run_done(&t);
}

/* Loads: 8- and 16-bit keep the rest of the register, 32-bit zero-extends. */
static void guest_mov_load(void)
{
	u64 p = MMIO, r;

	r = ~0ULL;
	asm volatile("movb 0x10(%1), %b0" : "+q"(r) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffffff11ULL);
	r = ~0ULL;
	asm volatile("movw 0x20(%1), %w0" : "+r"(r) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffff2233ULL);
	r = ~0ULL;
	asm volatile("movl 0x30(%1), %k0" : "+r"(r) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(r, 0x44556677ULL);
	asm volatile("movq 0x40(%1), %0" : "=r"(r) : "r"(p) : "memory");
	GUEST_ASSERT_EQ(r, 0x8899aabbccddeeffULL);
	/* A high register as destination needs REX.R: R12. */
	asm volatile("movq 0x40(%1), %%r12\n\t"
		     "mov %%r12, %0"
		     : "=r"(r) : "r"(p) : "r12", "memory");
	GUEST_ASSERT_EQ(r, 0x8899aabbccddeeffULL);
	GUEST_DONE();
}

TEST(mmio_mov_load)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_mov_load);
	dev_put(&t, 0x10, 0x11, 1);
	dev_put(&t, 0x20, 0x2233, 2);
	dev_put(&t, 0x30, 0x44556677, 4);
	dev_put(&t, 0x40, 0x8899aabbccddeeffULL, 8);
	run_done(&t);
	ASSERT_EQ(5U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x10, 1, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO + 0x20, 2, false, 0);
	mmio_dev_check(&t.dev, 2, MMIO + 0x30, 4, false, 0);
	mmio_dev_check(&t.dev, 3, MMIO + 0x40, 8, false, 0);
	mmio_dev_check(&t.dev, 4, MMIO + 0x40, 8, false, 0);
}

/* AH/BH/CH/DH as source and destination (no REX prefix). */
static void guest_high8(void)
{
	u64 rbx = 0x1111111111111111ULL, rax = 0xc3d2;

	asm volatile("movb 0x50(%%rsi), %%bh" : "+b"(rbx) : "S"(MMIO)
		     : "memory");
	GUEST_ASSERT_EQ(rbx, 0x1111111111115a11ULL);
	asm volatile("movb %%ah, 0x60(%%rsi)" : : "a"(rax), "S"(MMIO)
		     : "memory");
	asm volatile("movb %%ch, 0x61(%%rsi)" : : "c"(0x7f00), "S"(MMIO)
		     : "memory");
	asm volatile("movb 0x50(%%rsi), %%dh" : "+d"(rax) : "S"(MMIO)
		     : "memory");
	GUEST_ASSERT_EQ(rax, 0x5ad2);
	GUEST_DONE();
}

TEST(mmio_high8_registers)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_high8);
	dev_put(&t, 0x50, 0x5a, 1);
	run_done(&t);
	ASSERT_EQ(4U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x50, 1, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO + 0x60, 1, true, 0xc3);
	mmio_dev_check(&t.dev, 2, MMIO + 0x61, 1, true, 0x7f);
	mmio_dev_check(&t.dev, 3, MMIO + 0x50, 1, false, 0);
}

/* C6/C7: immediate to memory; REX.W C7 sign-extends imm32. */
static void guest_mov_imm(void)
{
	asm volatile("movb $0x5a, (%%rsi)\n\t"
		     "movw $0x1234, 0x2(%%rsi)\n\t"
		     "movl $0x89abcdef, 0x4(%%rsi)\n\t"
		     "movq $-2, 0x8(%%rsi)\n\t"
		     "movq $0x7fffffff, 0x10(%%rsi)\n\t"
		     "movl $7, 0x20(%%rsi,%%rcx,4)"
		     : : "S"(MMIO), "c"(2) : "memory");
	GUEST_DONE();
}

TEST(mmio_mov_imm)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_mov_imm);
	run_done(&t);
	ASSERT_EQ(6U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 1, true, 0x5a);
	mmio_dev_check(&t.dev, 1, MMIO + 2, 2, true, 0x1234);
	mmio_dev_check(&t.dev, 2, MMIO + 4, 4, true, 0x89abcdef);
	mmio_dev_check(&t.dev, 3, MMIO + 8, 8, true, 0xfffffffffffffffeULL);
	mmio_dev_check(&t.dev, 4, MMIO + 0x10, 8, true, 0x7fffffff);
	mmio_dev_check(&t.dev, 5, MMIO + 0x28, 4, true, 7);
}

/* A0-A3: MOV with a 64-bit absolute address (moffs). */
static void guest_moffs(void)
{
	u64 r;

	asm volatile("movabs %%al, 0xd0000100" : : "a"(0x11) : "memory");
	asm volatile("movabs %%ax, 0xd0000102" : : "a"(0x2233) : "memory");
	asm volatile("movabs %%eax, 0xd0000104" : : "a"(0x44556677)
		     : "memory");
	asm volatile("movabs %%rax, 0xd0000108" : : "a"(0x8899aabbccddeeffULL)
		     : "memory");
	r = ~0ULL;
	asm volatile("movabs 0xd0000110, %%al" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffffffa1ULL);
	asm volatile("movabs 0xd0000110, %%ax" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0xffffffffffffb2a1ULL);
	asm volatile("movabs 0xd0000110, %%eax" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0xd4c3b2a1ULL);
	asm volatile("movabs 0xd0000110, %%rax" : "+a"(r) : : "memory");
	GUEST_ASSERT_EQ(r, 0x18f7e6d5d4c3b2a1ULL);
	GUEST_DONE();
}

TEST(mmio_moffs)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_moffs);
	dev_put(&t, 0x110, 0x18f7e6d5d4c3b2a1ULL, 8);
	run_done(&t);
	ASSERT_EQ(8U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x100, 1, true, 0x11);
	mmio_dev_check(&t.dev, 1, MMIO + 0x102, 2, true, 0x2233);
	mmio_dev_check(&t.dev, 2, MMIO + 0x104, 4, true, 0x44556677);
	mmio_dev_check(&t.dev, 3, MMIO + 0x108, 8, true, 0x8899aabbccddeeffULL);
	mmio_dev_check(&t.dev, 4, MMIO + 0x110, 1, false, 0);
	mmio_dev_check(&t.dev, 5, MMIO + 0x110, 2, false, 0);
	mmio_dev_check(&t.dev, 6, MMIO + 0x110, 4, false, 0);
	mmio_dev_check(&t.dev, 7, MMIO + 0x110, 8, false, 0);
}

#define LOAD(insn, init, expect)					\
	do {								\
		u64 __r = (init);					\
		asm volatile(insn : "+r"(__r) : "S"(MMIO) : "memory");	\
		GUEST_ASSERT_EQ(__r, expect);				\
	} while (0)

/* MOVZX, MOVSX and MOVSXD with all their source and destination sizes. */
static void guest_movzx_movsx(void)
{
	const u64 junk = 0x1111111111111111ULL;

	LOAD("movzbl (%%rsi), %k0", junk, 0x80ULL);
	LOAD("movzbw (%%rsi), %w0", junk, 0x1111111111110080ULL);
	LOAD("movzbq (%%rsi), %q0", junk, 0x80ULL);
	LOAD("movzwl 0x2(%%rsi), %k0", junk, 0x8001ULL);
	LOAD("movzwq 0x2(%%rsi), %q0", junk, 0x8001ULL);
	LOAD("movsbl (%%rsi), %k0", junk, 0xffffff80ULL);
	LOAD("movsbw (%%rsi), %w0", junk, 0x111111111111ff80ULL);
	LOAD("movsbq (%%rsi), %q0", junk, 0xffffffffffffff80ULL);
	LOAD("movswl 0x2(%%rsi), %k0", junk, 0xffff8001ULL);
	LOAD("movswq 0x2(%%rsi), %q0", junk, 0xffffffffffff8001ULL);
	LOAD("movslq 0x4(%%rsi), %q0", junk, 0xffffffff80000001ULL);
	LOAD("movsbl 0x8(%%rsi), %k0", junk, 0x7fULL);
	LOAD("movslq 0xc(%%rsi), %q0", junk, 0x7fffffffULL);
	GUEST_DONE();
}

TEST(mmio_movzx_movsx)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_movzx_movsx);
	dev_put(&t, 0, 0x80, 1);
	dev_put(&t, 2, 0x8001, 2);
	dev_put(&t, 4, 0x80000001, 4);
	dev_put(&t, 8, 0x7f, 1);
	dev_put(&t, 0xc, 0x7fffffff, 4);
	run_done(&t);
	ASSERT_EQ(13U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 1, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO, 1, false, 0);
	mmio_dev_check(&t.dev, 3, MMIO + 2, 2, false, 0);
	mmio_dev_check(&t.dev, 10, MMIO + 4, 4, false, 0);
}

/* STOS, single and REP: one write exit per item; RDI and RCX advance. */
static void guest_stos(void)
{
	u64 rdi = MMIO + 0x100, rcx;

	asm volatile("stosb" : "+D"(rdi) : "a"(0x1122334455667788ULL)
		     : "memory");
	GUEST_ASSERT_EQ(rdi, MMIO + 0x101);
	asm volatile("stosw" : "+D"(rdi) : "a"(0x1122334455667788ULL)
		     : "memory");
	GUEST_ASSERT_EQ(rdi, MMIO + 0x103);
	asm volatile("stosl" : "+D"(rdi) : "a"(0x1122334455667788ULL)
		     : "memory");
	GUEST_ASSERT_EQ(rdi, MMIO + 0x107);
	asm volatile("stosq" : "+D"(rdi) : "a"(0x1122334455667788ULL)
		     : "memory");
	GUEST_ASSERT_EQ(rdi, MMIO + 0x10f);
	GUEST_SYNC(1);

	rdi = MMIO + 0x200;
	rcx = 4;
	asm volatile("rep stosl" : "+D"(rdi), "+c"(rcx) : "a"(0xcafebabe)
		     : "memory");
	GUEST_ASSERT_EQ(rcx, 0);
	GUEST_ASSERT_EQ(rdi, MMIO + 0x210);
	GUEST_SYNC(2);

	rdi = MMIO + 0x300;
	rcx = 3;
	asm volatile("rep stosq" : "+D"(rdi), "+c"(rcx)
		     : "a"(0x0102030405060708ULL) : "memory");
	GUEST_ASSERT_EQ(rcx, 0);
	GUEST_ASSERT_EQ(rdi, MMIO + 0x318);
	GUEST_SYNC(3);
	GUEST_DONE();
}

TEST(mmio_stos)
{
	struct mmio_test t;
	unsigned int i;

	mmio_test_init(&t, guest_stos);
	run_phase(&t, 1);
	ASSERT_EQ(4U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x100, 1, true, 0x88);
	mmio_dev_check(&t.dev, 1, MMIO + 0x101, 2, true, 0x7788);
	mmio_dev_check(&t.dev, 2, MMIO + 0x103, 4, true, 0x55667788);
	mmio_dev_check(&t.dev, 3, MMIO + 0x107, 8, true,
		       0x1122334455667788ULL);
	run_phase(&t, 2);
	ASSERT_EQ(4U, t.dev.nlog);
	for (i = 0; i < 4; i++)
		mmio_dev_check(&t.dev, i, MMIO + 0x200 + 4 * i, 4, true,
			       0xcafebabe);
	run_phase(&t, 3);
	ASSERT_EQ(3U, t.dev.nlog);
	for (i = 0; i < 3; i++)
		mmio_dev_check(&t.dev, i, MMIO + 0x300 + 8 * i, 8, true,
			       0x0102030405060708ULL);
	run_done(&t);
}

static u8 guest_ram_buf[64];

/* MOVS between RAM and MMIO, both directions, single and REP. */
static void guest_movs(void)
{
	u64 rsi, rdi, rcx;
	unsigned int i;

	for (i = 0; i < 8; i++)
		guest_ram_buf[i] = 'A' + i;
	rsi = (u64)guest_ram_buf;
	rdi = MMIO + 0x300;
	rcx = 8;
	asm volatile("rep movsb" : "+S"(rsi), "+D"(rdi), "+c"(rcx)
		     : : "memory");
	GUEST_ASSERT_EQ(rcx, 0);
	GUEST_ASSERT_EQ(rsi, (u64)guest_ram_buf + 8);
	GUEST_ASSERT_EQ(rdi, MMIO + 0x308);
	GUEST_SYNC(1);

	rsi = MMIO + 0x400;
	rdi = (u64)guest_ram_buf + 16;
	rcx = 4;
	asm volatile("rep movsl" : "+S"(rsi), "+D"(rdi), "+c"(rcx)
		     : : "memory");
	GUEST_ASSERT_EQ(rcx, 0);
	GUEST_ASSERT_EQ(rsi, MMIO + 0x410);
	GUEST_ASSERT_EQ(rdi, (u64)guest_ram_buf + 32);
	for (i = 0; i < 16; i++)
		GUEST_ASSERT_EQ_CTX(guest_ram_buf[16 + i], 0x40 + i, i);
	GUEST_SYNC(2);

	rsi = (u64)guest_ram_buf;
	rdi = MMIO + 0x500;
	asm volatile("movsq" : "+S"(rsi), "+D"(rdi) : : "memory");
	GUEST_ASSERT_EQ(rdi, MMIO + 0x508);
	rsi = MMIO + 0x400;
	rdi = (u64)guest_ram_buf + 40;
	asm volatile("movsw" : "+S"(rsi), "+D"(rdi) : : "memory");
	GUEST_ASSERT_EQ(rsi, MMIO + 0x402);
	GUEST_ASSERT_EQ(guest_ram_buf[40], 0x40);
	GUEST_ASSERT_EQ(guest_ram_buf[41], 0x41);
	GUEST_SYNC(3);
	GUEST_DONE();
}

TEST(mmio_movs)
{
	struct mmio_test t;
	unsigned int i;

	mmio_test_init(&t, guest_movs);
	for (i = 0; i < 16; i++)
		t.dev.mem[0x400 + i] = 0x40 + i;
	run_phase(&t, 1);
	ASSERT_EQ(8U, t.dev.nlog);
	for (i = 0; i < 8; i++)
		mmio_dev_check(&t.dev, i, MMIO + 0x300 + i, 1, true, 'A' + i);
	run_phase(&t, 2);
	ASSERT_EQ(4U, t.dev.nlog);
	for (i = 0; i < 4; i++)
		mmio_dev_check(&t.dev, i, MMIO + 0x400 + 4 * i, 4, false, 0);
	run_phase(&t, 3);
	ASSERT_EQ(2U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO + 0x500, 8, true, 0x4847464544434241ULL);
	mmio_dev_check(&t.dev, 1, MMIO + 0x400, 2, false, 0);
	run_done(&t);
}

/*
 * Read-modify-write forms read then write; CMP and TEST only read;
 * ALU with a memory source only reads; XCHG reads then writes.
 */
static void guest_alu_exits(void)
{
	u64 r;

	asm volatile("addl $5, (%%rsi)" : : "S"(MMIO) : "memory", "cc");
	GUEST_SYNC(1);
	asm volatile("cmpl $3, (%%rsi)" : : "S"(MMIO) : "memory", "cc");
	asm volatile("testl %%eax, (%%rsi)" : : "a"(1), "S"(MMIO)
		     : "memory", "cc");
	GUEST_SYNC(2);
	r = 100;
	asm volatile("addq (%%rsi), %0" : "+r"(r) : "S"(MMIO)
		     : "memory", "cc");
	GUEST_ASSERT_EQ(r, 115);
	GUEST_SYNC(3);
	r = 0xabcd;
	asm volatile("xchgl %k0, (%%rsi)" : "+r"(r) : "S"(MMIO) : "memory");
	GUEST_ASSERT_EQ(r, 15);
	r = 0x77;
	asm volatile("xchgb %b0, 0x8(%%rsi)" : "+q"(r) : "S"(MMIO) : "memory");
	GUEST_ASSERT_EQ(r, 0x99);
	GUEST_SYNC(4);
	GUEST_DONE();
}

TEST(mmio_rmw_exit_sequence)
{
	struct mmio_test t;

	mmio_test_init(&t, guest_alu_exits);
	dev_put(&t, 0, 10, 8);
	dev_put(&t, 8, 0x99, 1);
	run_phase(&t, 1);
	ASSERT_EQ(2U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 4, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO, 4, true, 15);
	run_phase(&t, 2);
	ASSERT_EQ(2U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 4, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO, 4, false, 0);
	run_phase(&t, 3);
	ASSERT_EQ(1U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 8, false, 0);
	run_phase(&t, 4);
	ASSERT_EQ(4U, t.dev.nlog);
	mmio_dev_check(&t.dev, 0, MMIO, 4, false, 0);
	mmio_dev_check(&t.dev, 1, MMIO, 4, true, 0xabcd);
	mmio_dev_check(&t.dev, 2, MMIO + 8, 1, false, 0);
	mmio_dev_check(&t.dev, 3, MMIO + 8, 1, true, 0x77);
	run_done(&t);
}

/* A guest store to a read-only mapping is an MMIO write exit. */
static void guest_ro_write(u64 gpa)
{
	u64 v = READ_ONCE(*(u64 *)gpa);

	asm volatile("movq %0, 8(%1)" : : "r"(v + 1), "r"(gpa) : "memory");
	GUEST_SYNC(v);
	GUEST_SYNC(READ_ONCE(*(u64 *)(gpa + 8)));
	GUEST_DONE();
}

TEST(mmio_write_to_readonly_mapping)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_ro_write));
	u64 gpa = 0x10000000, v = 0;
	u64 *mem = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 0x1000;
	mem[1] = 0x2000;
	part_map(part, gpa, PAGE_SIZE, mem, VHV_MAP_READ);
	vp_args_set(vp, 1, gpa);
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(gpa + 8, vp->run->mmio.gpa);
	EXPECT_EQ(8U, vp->run->mmio.len);
	EXPECT_EQ(1, vp->run->mmio.is_write);
	memcpy(&v, vp->run->mmio.data, 8);
	EXPECT_EQ(0x1001ULL, v);
	EXPECT_EQ(0x1000ULL, vp_expect_sync(vp));
	/* The write did not reach memory. */
	EXPECT_EQ(0x2000ULL, vp_expect_sync(vp));
	EXPECT_EQ(0x2000ULL, mem[1]);
	vp_expect_done(vp);
	part_free(part);
	munmap(mem, PAGE_SIZE);
}

TEST_HARNESS_MAIN
