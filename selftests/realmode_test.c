// SPDX-License-Identifier: GPL-2.0
/*
 * Real-mode guests: raw 16-bit code at GPA 0x1000 (CS = 0x100, IP = 0)
 * in a partition with 64 KiB of RAM at GPA 0.
 */
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define RAM_SIZE	0x10000UL
#define CODE_GPA	0x1000UL
#define PORT		0x5010
#define STR_PORT	0x5020
#define STOP_PORT	0xf4		/* OUT %al, $0xf4 ends a test */

/* Offsets are IP values of the instructions. */
static const u8 code_io[] = {
	0xba, 0x10, 0x50,		/* 0x00: mov $0x5010, %dx */
	0xb0, 0x41,			/* 0x03: mov $0x41, %al */
	0xee,				/* 0x05: out %al, (%dx) */
	0xec,				/* 0x06: in (%dx), %al */
	0x88, 0xc3,			/* 0x07: mov %al, %bl */
	0xb8, 0x34, 0x12,		/* 0x09: mov $0x1234, %ax */
	0x01, 0xd8,			/* 0x0c: add %bx, %ax */
	0xef,				/* 0x0e: out %ax, (%dx) */
	0xe6, STOP_PORT,		/* 0x0f: out %al, $STOP_PORT */
	0xb1, 0x99,			/* 0x11: mov $0x99, %cl */
	0xe6, STOP_PORT,		/* 0x13: out %al, $STOP_PORT */
};

static const u8 code_mmio[] = {
	0xb8, 0x00, 0x20,		/* mov $0x2000, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds */
	0xc6, 0x06, 0x10, 0x00, 0x77,	/* movb $0x77, 0x10 */
	0x8a, 0x0e, 0x20, 0x00,		/* mov 0x20, %cl */
	0xc7, 0x06, 0x40, 0x00, 0xef, 0xbe, /* movw $0xbeef, 0x40 */
	0x66, 0xbb, 0x78, 0x56, 0x34, 0x12, /* mov $0x12345678, %ebx */
	0x66, 0x89, 0x1e, 0x50, 0x00,	/* mov %ebx, 0x50 */
	0x66, 0x8b, 0x16, 0x60, 0x00,	/* mov 0x60, %edx */
	0xe6, STOP_PORT,		/* out %al, $STOP_PORT */
};

static const u8 code_string[] = {
	0x31, 0xc0,			/* xor %ax, %ax */
	0x8e, 0xd8,			/* mov %ax, %ds */
	0x8e, 0xc0,			/* mov %ax, %es */
	0xbe, 0x00, 0x11,		/* mov $0x1100, %si */
	0xb9, 0x10, 0x00,		/* mov $16, %cx */
	0xba, 0x20, 0x50,		/* mov $0x5020, %dx */
	0xfc,				/* cld */
	0xf3, 0x6e,			/* rep outsb */
	0xbf, 0x00, 0x12,		/* mov $0x1200, %di */
	0xb9, 0x08, 0x00,		/* mov $8, %cx */
	0xf3, 0x6d,			/* rep insw */
	0xe6, STOP_PORT,		/* out %al, $STOP_PORT */
};

static struct vhv_vp *real_mode_vp(const u8 *code, size_t len)
{
	struct vhv_partition *part = part_create_empty();
	void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vhv_vp *vp;
	struct vhv_regs regs;

	TEST_ASSERT(ram != MAP_FAILED, "mmap failed");
	part->ram = ram;
	part->ram_size = RAM_SIZE;
	part_map(part, 0, RAM_SIZE, ram,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
	part_write(part, CODE_GPA, code, len);

	vp = vp_create(part, 0);
	vp_set_real_mode_entry(vp, CODE_GPA >> 4, 0);
	vp_regs_get(vp, &regs);
	regs.rax = 0;
	regs.rbx = 0;
	regs.rcx = 0;
	regs.rdx = 0;
	vp_regs_set(vp, &regs);
	return vp;
}

/*
 * HLT no longer exits (it waits in the kernel for an interrupt): an OUT
 * to STOP_PORT marks the end of a test.  It exits with the guest's RIP
 * still at the OUT.
 */
static void assert_stop(struct vhv_vp *vp, u64 ip)
{
	assert_io_exit(vp, STOP_PORT, 1, VHV_IO_OUT, false);
	TEST_ASSERT(vp->run->rip == ip, "stop at IP 0x%llx, expected 0x%llx",
		    (unsigned long long)vp->run->rip,
		    (unsigned long long)ip);
}

TEST(real_mode_io)
{
	struct vhv_vp *vp = real_mode_vp(code_io, sizeof(code_io));
	struct vhv_regs regs;
	u16 w = 0;

	vp_run(vp);
	assert_io_exit(vp, PORT, 1, VHV_IO_OUT, false);
	EXPECT_EQ(0x41, *(u8 *)vp_io_data(vp));
	EXPECT_EQ(0x05ULL, vp->run->rip);

	vp_run(vp);
	assert_io_exit(vp, PORT, 1, VHV_IO_IN, false);
	EXPECT_EQ(0x06ULL, vp->run->rip);
	*(u8 *)vp_io_data(vp) = 0x5a;

	vp_run(vp);
	assert_io_exit(vp, PORT, 2, VHV_IO_OUT, false);
	memcpy(&w, vp_io_data(vp), 2);
	EXPECT_EQ(0x1234 + 0x5a, w);

	vp_run(vp);
	assert_stop(vp, 0x0f);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(0x5aULL, regs.rbx);
	EXPECT_EQ(0ULL, regs.rcx);

	vp_run(vp);
	assert_stop(vp, 0x13);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(0x99ULL, regs.rcx);
	part_free(vp->part);
}

/* DS = 0x2000 points above the 64 KiB of RAM: every access is MMIO. */
TEST(real_mode_mmio)
{
	struct vhv_vp *vp = real_mode_vp(code_mmio, sizeof(code_mmio));
	struct vhv_run *run = vp->run;
	struct vhv_regs regs;
	u64 v = 0;

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(0x20010ULL, run->mmio.gpa);
	EXPECT_EQ(1U, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	EXPECT_EQ(0x77, run->mmio.data[0]);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(0x20020ULL, run->mmio.gpa);
	EXPECT_EQ(1U, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	run->mmio.data[0] = 0xa5;

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(0x20040ULL, run->mmio.gpa);
	EXPECT_EQ(2U, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	memcpy(&v, run->mmio.data, 2);
	EXPECT_EQ(0xbeefULL, v);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(0x20050ULL, run->mmio.gpa);
	EXPECT_EQ(4U, run->mmio.len);
	EXPECT_EQ(1, run->mmio.is_write);
	memcpy(&v, run->mmio.data, 4);
	EXPECT_EQ(0x12345678ULL, v);

	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(0x20060ULL, run->mmio.gpa);
	EXPECT_EQ(4U, run->mmio.len);
	EXPECT_EQ(0, run->mmio.is_write);
	v = 0xcafef00d;
	memcpy(run->mmio.data, &v, 4);

	vp_run(vp);
	assert_stop(vp, sizeof(code_mmio) - 2);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(0xa5ULL, regs.rcx & 0xff);
	EXPECT_EQ(0xcafef00dULL, regs.rdx & 0xffffffff);
	part_free(vp->part);
}

/* REP OUTSB and REP INSW with 16-bit SI, DI and CX. */
TEST(real_mode_string_io)
{
	struct vhv_vp *vp = real_mode_vp(code_string, sizeof(code_string));
	struct vhv_partition *part = vp->part;
	u8 out[16], *in;
	unsigned int got = 0, i;
	struct vhv_regs regs;

	for (i = 0; i < 16; i++)
		out[i] = 0x30 + i;
	part_write(part, 0x1100, out, sizeof(out));

	while (got < 16) {
		vp_run(vp);
		assert_io_exit(vp, STR_PORT, 1, VHV_IO_OUT, true);
		ASSERT_LE(got + vp->run->io.count, 16U);
		EXPECT_EQ(0, memcmp(vp_io_data(vp), out + got,
				    vp->run->io.count));
		got += vp->run->io.count;
	}
	got = 0;
	while (got < 8) {
		u8 *data;

		vp_run(vp);
		assert_io_exit(vp, STR_PORT, 2, VHV_IO_IN, true);
		ASSERT_LE(got + vp->run->io.count, 8U);
		data = vp_io_data(vp);
		for (i = 0; i < vp->run->io.count * 2; i++)
			data[i] = 0x80 + got * 2 + i;
		got += vp->run->io.count;
	}
	vp_run(vp);
	assert_stop(vp, sizeof(code_string) - 2);
	vp_regs_get(vp, &regs);
	EXPECT_EQ(0x1110ULL, regs.rsi & 0xffff);
	EXPECT_EQ(0x1210ULL, regs.rdi & 0xffff);
	EXPECT_EQ(0ULL, regs.rcx & 0xffff);
	in = addr_gpa2hva(part, 0x1200);
	for (i = 0; i < 16; i++) {
		int want = 0x80 + i;

		EXPECT_EQ(want, in[i]);
	}
	part_free(part);
}

TEST_HARNESS_MAIN
