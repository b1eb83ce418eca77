// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: IN/OUT of 1, 2 and 4 bytes through DX and an immediate
 * port, and the string forms INS/OUTS, with and without REP.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define PORT_B		0x5000
#define PORT_W		0x5002
#define PORT_L		0x5004
#define PORT_IMM	0xe8
#define PORT_STR	0x5010

/* R8 holds the address of the instruction that exits. */
static void guest_out(void)
{
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: outb %%al, %%dx"
		     : : "a"(0x11), "d"(PORT_B) : "r8", "memory");
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: outw %%ax, %%dx"
		     : : "a"(0x2233), "d"(PORT_W) : "r8", "memory");
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: outl %%eax, %%dx"
		     : : "a"(0x44556677), "d"(PORT_L) : "r8", "memory");
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: outb %%al, %0"
		     : : "i"(PORT_IMM), "a"(0x88) : "r8", "memory");
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: outl %%eax, %0"
		     : : "i"(PORT_IMM), "a"(0x99aabbcc) : "r8", "memory");
	GUEST_DONE();
}

static void check_out(struct __test_metadata *_metadata, struct vhv_vp *vp,
		      u16 port, u8 size, u32 value)
{
	struct vhv_regs regs;
	u32 data = 0;

	vp_run(vp);
	assert_io_exit(vp, port, size, VHV_IO_OUT, false);
	EXPECT_EQ(0, vp->run->io.rep);
	EXPECT_EQ(1U, vp->run->io.count);
	memcpy(&data, vp_io_data(vp), size);
	EXPECT_EQ(value, data);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(regs.r8, vp->run->rip);
}

TEST(io_out_sizes)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_out);

	check_out(_metadata, vp, PORT_B, 1, 0x11);
	check_out(_metadata, vp, PORT_W, 2, 0x2233);
	check_out(_metadata, vp, PORT_L, 4, 0x44556677);
	check_out(_metadata, vp, PORT_IMM, 1, 0x88);
	check_out(_metadata, vp, PORT_IMM, 4, 0x99aabbcc);
	vp_expect_done(vp);
	part_free(part);
}

/*
 * IN writes AL or AX and keeps the rest of RAX; IN EAX zero-extends.
 * Other registers are untouched.
 */
static void guest_in(void)
{
	u64 rax, rbx = 0x0123456789abcdefULL;

	rax = 0x1122334455667788ULL;
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: inb %%dx, %%al"
		     : "+a"(rax), "+b"(rbx) : "d"(PORT_B) : "r8", "memory");
	GUEST_ASSERT_EQ(rax, 0x11223344556677abULL);
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: inw %%dx, %%ax"
		     : "+a"(rax), "+b"(rbx) : "d"(PORT_W) : "r8", "memory");
	GUEST_ASSERT_EQ(rax, 0x112233445566cdefULL);
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: inl %%dx, %%eax"
		     : "+a"(rax), "+b"(rbx) : "d"(PORT_L) : "r8", "memory");
	GUEST_ASSERT_EQ(rax, 0xdeadbeefULL);
	rax = ~0ULL;
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: inb %1, %%al"
		     : "+a"(rax) : "i"(PORT_IMM) : "r8", "memory");
	GUEST_ASSERT_EQ(rax, 0xffffffffffffff5aULL);
	asm volatile("lea 1f(%%rip), %%r8\n\t"
		     "1: inw %1, %%ax"
		     : "+a"(rax) : "i"(PORT_IMM) : "r8", "memory");
	GUEST_ASSERT_EQ(rax, 0xffffffffffff1234ULL);
	GUEST_ASSERT_EQ(rbx, 0x0123456789abcdefULL);
	GUEST_DONE();
}

static void do_in(struct __test_metadata *_metadata, struct vhv_vp *vp,
		  u16 port, u8 size, u32 value)
{
	struct vhv_regs regs;

	vp_run(vp);
	assert_io_exit(vp, port, size, VHV_IO_IN, false);
	EXPECT_EQ(1U, vp->run->io.count);
	EXPECT_EQ(0, vp->run->io.rep);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(regs.r8, vp->run->rip);
	memcpy(vp_io_data(vp), &value, size);
}

TEST(io_in_sizes)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_in);

	do_in(_metadata, vp, PORT_B, 1, 0xab);
	do_in(_metadata, vp, PORT_W, 2, 0xcdef);
	do_in(_metadata, vp, PORT_L, 4, 0xdeadbeef);
	do_in(_metadata, vp, PORT_IMM, 1, 0x5a);
	do_in(_metadata, vp, PORT_IMM, 2, 0x1234);
	vp_expect_done(vp);
	part_free(part);
}

#define STR_ITEMS	64U

static u8 guest_str_buf[STR_ITEMS * 4 + 16];

static u8 out_pattern(unsigned int i)
{
	return i * 7 + 3;
}

static u8 in_pattern(unsigned int i)
{
	return i * 13 + 5;
}

/* REP OUTSB/OUTSW/OUTSD of STR_ITEMS items each; sync(size) after each. */
static void guest_rep_outs(void)
{
	unsigned int size, i;

	for (i = 0; i < sizeof(guest_str_buf); i++)
		guest_str_buf[i] = out_pattern(i);
	for (size = 1; size <= 4; size *= 2) {
		u64 rsi = (u64)guest_str_buf, rcx = STR_ITEMS;

		if (size == 1)
			asm volatile("rep outsb"
				     : "+S"(rsi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		else if (size == 2)
			asm volatile("rep outsw"
				     : "+S"(rsi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		else
			asm volatile("rep outsl"
				     : "+S"(rsi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		GUEST_ASSERT_EQ(rcx, 0);
		GUEST_ASSERT_EQ(rsi, (u64)guest_str_buf + STR_ITEMS * size);
		GUEST_SYNC(size);
	}
	GUEST_DONE();
}

/* Collect the data of string OUT exits until a ucall. */
static unsigned int collect_outs(struct __test_metadata *_metadata,
				 struct vhv_vp *vp, u8 size, bool rep,
				 u8 *buf, unsigned int items)
{
	unsigned int got = 0;

	for (;;) {
		struct vhv_run *run = vp->run;

		vp_run(vp);
		if (run->exit_reason == VHV_EXIT_IO &&
		    run->io.port == UCALL_PORT)
			return got;
		assert_io_exit(vp, PORT_STR, size, VHV_IO_OUT, true);
		EXPECT_EQ(rep, run->io.rep);
		ASSERT_LE(got + run->io.count, items)
			TH_LOG("too many items: %s", vp_exit_str(vp));
		memcpy(buf + got * size, vp_io_data(vp),
		       run->io.count * size);
		got += run->io.count;
	}
}

TEST(io_rep_outs)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_rep_outs);
	u8 buf[STR_ITEMS * 4], want[STR_ITEMS * 4];
	unsigned int size, i;
	struct ucall uc;

	for (i = 0; i < sizeof(want); i++)
		want[i] = out_pattern(i);
	for (size = 1; size <= 4; size *= 2) {
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(STR_ITEMS, collect_outs(_metadata, vp, size, true,
						  buf, STR_ITEMS));
		EXPECT_EQ(0, memcmp(buf, want, STR_ITEMS * size))
			TH_LOG("size %u", size);
		ASSERT_EQ((u64)UCALL_SYNC, vp_check_ucall(vp, &uc));
		EXPECT_EQ((u64)size, uc.args[0]);
	}
	vp_expect_done(vp);
	part_free(part);
}

/* REP INSB/INSW/INSD into the guest's buffer. */
static void guest_rep_ins(void)
{
	unsigned int size, i;

	for (size = 1; size <= 4; size *= 2) {
		u64 rdi = (u64)guest_str_buf, rcx = STR_ITEMS;

		for (i = 0; i < sizeof(guest_str_buf); i++)
			guest_str_buf[i] = 0xee;
		if (size == 1)
			asm volatile("rep insb"
				     : "+D"(rdi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		else if (size == 2)
			asm volatile("rep insw"
				     : "+D"(rdi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		else
			asm volatile("rep insl"
				     : "+D"(rdi), "+c"(rcx) : "d"(PORT_STR)
				     : "memory");
		GUEST_ASSERT_EQ(rcx, 0);
		GUEST_ASSERT_EQ(rdi, (u64)guest_str_buf + STR_ITEMS * size);
		for (i = 0; i < STR_ITEMS * size; i++)
			GUEST_ASSERT_EQ_CTX(guest_str_buf[i], in_pattern(i), i);
		/* Nothing written past the end. */
		GUEST_ASSERT_EQ(guest_str_buf[STR_ITEMS * size], 0xee);
		GUEST_SYNC(size);
	}
	GUEST_DONE();
}

TEST(io_rep_ins)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_rep_ins);
	unsigned int size, i;
	struct ucall uc;

	for (size = 1; size <= 4; size *= 2) {
		unsigned int got = 0;
		u8 *mem;

		for (;;) {
			struct vhv_run *run = vp->run;
			u8 *data;

			vp_run(vp);
			if (run->exit_reason == VHV_EXIT_IO &&
			    run->io.port == UCALL_PORT)
				break;
			assert_io_exit(vp, PORT_STR, size, VHV_IO_IN, true);
			EXPECT_EQ(1, run->io.rep);
			ASSERT_LE(got + run->io.count, STR_ITEMS)
				TH_LOG("too many items: %s", vp_exit_str(vp));
			data = vp_io_data(vp);
			for (i = 0; i < run->io.count * size; i++)
				data[i] = in_pattern(got * size + i);
			got += run->io.count;
		}
		EXPECT_EQ(STR_ITEMS, got);
		ASSERT_EQ((u64)UCALL_SYNC, vp_check_ucall(vp, &uc));
		EXPECT_EQ((u64)size, uc.args[0]);
		/* The host sees the data in guest memory too. */
		mem = addr_gva2hva(part, (u64)guest_str_buf);
		for (i = 0; i < STR_ITEMS * size; i++) {
			u8 want = in_pattern(i);

			ASSERT_EQ(want, mem[i]) TH_LOG("byte %u", i);
		}
	}
	vp_expect_done(vp);
	part_free(part);
}

/* Single OUTSW and INSD, without REP. */
static void guest_single_string(void)
{
	u64 rsi = (u64)guest_str_buf, rdi = (u64)guest_str_buf + 8;

	guest_str_buf[0] = 0x34;
	guest_str_buf[1] = 0x12;
	asm volatile("outsw" : "+S"(rsi) : "d"(PORT_STR) : "memory");
	GUEST_ASSERT_EQ(rsi, (u64)guest_str_buf + 2);
	asm volatile("insl" : "+D"(rdi) : "d"(PORT_STR) : "memory");
	GUEST_ASSERT_EQ(rdi, (u64)guest_str_buf + 12);
	GUEST_ASSERT_EQ(guest_str_buf[8] | guest_str_buf[9] << 8 |
			(u32)guest_str_buf[10] << 16 |
			(u32)guest_str_buf[11] << 24, 0xcafef00d);
	GUEST_DONE();
}

TEST(io_string_single)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_single_string);
	u32 v = 0xcafef00d;
	u16 w = 0;

	vp_run(vp);
	assert_io_exit(vp, PORT_STR, 2, VHV_IO_OUT, true);
	EXPECT_EQ(0, vp->run->io.rep);
	EXPECT_EQ(1U, vp->run->io.count);
	memcpy(&w, vp_io_data(vp), 2);
	EXPECT_EQ(0x1234, w);
	vp_run(vp);
	assert_io_exit(vp, PORT_STR, 4, VHV_IO_IN, true);
	EXPECT_EQ(0, vp->run->io.rep);
	EXPECT_EQ(1U, vp->run->io.count);
	memcpy(vp_io_data(vp), &v, 4);
	vp_expect_done(vp);
	part_free(part);
}

/* REP with RCX = 0 does nothing and causes no I/O exit. */
static void guest_rep_zero(void)
{
	u64 rsi = (u64)guest_str_buf, rdi = (u64)guest_str_buf, rcx = 0;

	asm volatile("rep outsb" : "+S"(rsi), "+c"(rcx) : "d"(PORT_STR)
		     : "memory");
	asm volatile("rep insw" : "+D"(rdi), "+c"(rcx) : "d"(PORT_STR)
		     : "memory");
	GUEST_ASSERT_EQ(rsi, (u64)guest_str_buf);
	GUEST_ASSERT_EQ(rdi, (u64)guest_str_buf);
	GUEST_DONE();
}

TEST(io_rep_zero_count)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_rep_zero);

	vp_expect_done(vp);
	part_free(part);
}

/* With EFLAGS.DF set, REP OUTSB walks the buffer backwards. */
static void guest_rep_outs_df(void)
{
	u64 rsi = (u64)guest_str_buf + STR_ITEMS - 1, rcx = STR_ITEMS;
	unsigned int i;

	for (i = 0; i < sizeof(guest_str_buf); i++)
		guest_str_buf[i] = out_pattern(i);
	asm volatile("std\n\t"
		     "rep outsb\n\t"
		     "cld"
		     : "+S"(rsi), "+c"(rcx) : "d"(PORT_STR) : "memory", "cc");
	GUEST_ASSERT_EQ(rcx, 0);
	GUEST_ASSERT_EQ(rsi, (u64)guest_str_buf - 1);
	GUEST_SYNC(1);
	GUEST_DONE();
}

TEST(io_rep_outs_backwards)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_rep_outs_df);
	u8 buf[STR_ITEMS];
	struct ucall uc;
	unsigned int i;

	EXPECT_EQ(STR_ITEMS, collect_outs(_metadata, vp, 1, true, buf,
					  STR_ITEMS));
	for (i = 0; i < STR_ITEMS; i++) {
		EXPECT_EQ(out_pattern(STR_ITEMS - 1 - i), buf[i])
			TH_LOG("item %u", i);
	}
	ASSERT_EQ((u64)UCALL_SYNC, vp_check_ucall(vp, &uc));
	EXPECT_EQ(1ULL, uc.args[0]);
	vp_expect_done(vp);
	part_free(part);
}

TEST_HARNESS_MAIN
