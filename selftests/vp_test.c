// SPDX-License-Identifier: GPL-2.0
/*
 * VP creation, the run page, register state, MSR and CPUID ioctls, and
 * ownership of partitions by the process that created them.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define EXPECT_ERRNO(e, call)						\
	do {								\
		int __ret;						\
		errno = 0;						\
		__ret = (call);						\
		EXPECT_EQ(-1, __ret) TH_LOG("%s", #call);		\
		EXPECT_EQ(e, errno) TH_LOG("%s", #call);		\
	} while (0)

TEST(create_vp_index_range)
{
	struct vhv_partition *part = part_create_empty();
	int fd;

	EXPECT_ERRNO(EINVAL, ioctl(part->fd, VHV_CREATE_VP, VHV_MAX_VPS));
	EXPECT_ERRNO(EINVAL, ioctl(part->fd, VHV_CREATE_VP, 1000));
	EXPECT_ERRNO(EINVAL, ioctl(part->fd, VHV_CREATE_VP, 1UL << 32));
	EXPECT_ERRNO(EINVAL, ioctl(part->fd, VHV_CREATE_VP, ~0UL));
	fd = ioctl(part->fd, VHV_CREATE_VP, VHV_MAX_VPS - 1);
	EXPECT_GE(fd, 0);
	close(fd);
	fd = ioctl(part->fd, VHV_CREATE_VP, 0);
	EXPECT_GE(fd, 0);
	close(fd);
	part_free(part);
}

TEST(create_all_vps)
{
	struct vhv_partition *part = part_create_empty();
	unsigned int i;

	for (i = 0; i < VHV_MAX_VPS; i++)
		vp_create(part, i);
	for (i = 1; i < VHV_MAX_VPS; i++) {
		struct vhv_vp *prev = part->vps[i - 1];

		EXPECT_NE(prev->fd, part->vps[i]->fd);
	}
	EXPECT_ERRNO(EEXIST, ioctl(part->fd, VHV_CREATE_VP, 17));
	part_free(part);
}

/* An index is busy until its fd is closed and its run page unmapped. */
TEST(create_vp_index_in_use)
{
	struct vhv_partition *part = part_create_empty();
	void *run;
	int fd;

	fd = ioctl(part->fd, VHV_CREATE_VP, 3);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(EEXIST, ioctl(part->fd, VHV_CREATE_VP, 3));
	close(fd);
	fd = ioctl(part->fd, VHV_CREATE_VP, 3);
	ASSERT_GE(fd, 0);

	run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, run);
	close(fd);
	EXPECT_ERRNO(EEXIST, ioctl(part->fd, VHV_CREATE_VP, 3));
	munmap(run, PAGE_SIZE);
	fd = ioctl(part->fd, VHV_CREATE_VP, 3);
	EXPECT_GE(fd, 0);
	close(fd);
	part_free(part);
}

TEST(run_page_mmap)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_run *run;
	void *p;

	p = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vp->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vp->fd, PAGE_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* Two mappings of the run page show the same page. */
	run = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vp->fd, 0);
	ASSERT_NE(MAP_FAILED, run);
	vp->run->immediate_exit = 1;
	EXPECT_EQ(1, run->immediate_exit);
	run->immediate_exit = 0;
	EXPECT_EQ(0, vp->run->immediate_exit);
	munmap(run, PAGE_SIZE);
	part_free(part);
}

TEST(vp_reset_state)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_sregs sregs;
	struct vhv_regs regs;

	vp_regs_get(vp, &regs);
	EXPECT_EQ(0xfff0ULL, regs.rip);
	EXPECT_EQ(X86_FLAGS_FIXED, regs.rflags);
	vp_sregs_get(vp, &sregs);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000ULL, sregs.cs.base);
	EXPECT_EQ(0xffffU, sregs.cs.limit);
	EXPECT_EQ(1, sregs.cs.present);
	EXPECT_EQ(0ULL, sregs.ds.base);
	EXPECT_EQ(0xffffU, sregs.ds.limit);
	EXPECT_EQ(0x60000010ULL, sregs.cr0);
	EXPECT_EQ(0ULL, sregs.cr4);
	EXPECT_EQ(0ULL, sregs.efer);
	EXPECT_EQ(0xffffU, sregs.idt.limit);
	part_free(part);
}

TEST(regs_roundtrip)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_regs in, out;
	u64 *p = (u64 *)&in;
	unsigned int i;

	for (i = 0; i < sizeof(in) / sizeof(u64); i++)
		p[i] = 0x0101010101010101ULL * (i + 1);
	in.rip = 0x1234;
	in.rflags = X86_FLAGS_FIXED | X86_FLAGS_CF | X86_FLAGS_ZF;
	vp_regs_set(vp, &in);
	vp_regs_get(vp, &out);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
	part_free(part);
}

TEST(sregs_roundtrip)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_sregs in, out;

	vp_sregs_get(vp, &in);
	guest_sregs_long_mode(&in);
	vp_sregs_set(vp, &in);
	vp_sregs_get(vp, &out);
	EXPECT_EQ(in.cr0, out.cr0);
	EXPECT_EQ(in.cr3, out.cr3);
	EXPECT_EQ(in.cr4, out.cr4);
	EXPECT_EQ(in.efer, out.efer);
	EXPECT_EQ(in.gdt.base, out.gdt.base);
	EXPECT_EQ(in.gdt.limit, out.gdt.limit);
	EXPECT_EQ(in.idt.base, out.idt.base);
	EXPECT_EQ(in.idt.limit, out.idt.limit);
	EXPECT_EQ(in.cs.selector, out.cs.selector);
	EXPECT_EQ(1, out.cs.l);
	EXPECT_EQ(0, out.cs.db);
	EXPECT_EQ(in.cs.type & 0xe, out.cs.type & 0xe);
	EXPECT_EQ(in.ss.selector, out.ss.selector);
	EXPECT_EQ(in.tr.base, out.tr.base);
	EXPECT_EQ(in.tr.limit, out.tr.limit);
	EXPECT_EQ(in.tr.selector, out.tr.selector);
	part_free(part);
}

TEST(sregs_invalid)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_sregs good, s;

	vp_sregs_get(vp, &good);
	guest_sregs_long_mode(&good);

	/* CR0.PG without CR0.PE. */
	s = good;
	s.cr0 &= ~X86_CR0_PE;
	EXPECT_ERRNO(EINVAL, __vp_sregs_set(vp, &s));

	/* Long mode paging without CR4.PAE. */
	s = good;
	s.cr4 &= ~X86_CR4_PAE;
	EXPECT_ERRNO(EINVAL, __vp_sregs_set(vp, &s));

	/* Reserved CR4 bits. */
	s = good;
	s.cr4 |= 1ULL << 63;
	EXPECT_ERRNO(EINVAL, __vp_sregs_set(vp, &s));
	s = good;
	s.cr4 |= 1ULL << 40;
	EXPECT_ERRNO(EINVAL, __vp_sregs_set(vp, &s));

	/* The good state itself is accepted. */
	EXPECT_EQ(0, __vp_sregs_set(vp, &good));
	part_free(part);
}

/* SYSENTER_ESP/EIP hold 32 bits on AMD: use 32-bit values. */
static const struct vhv_msr_entry msr_values[] = {
	{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
	{ .index = MSR_LSTAR, .data = 0xffffffff81a00040ULL },
	{ .index = MSR_CSTAR, .data = 0xffffffff81a00080ULL },
	{ .index = MSR_SYSCALL_MASK, .data = 0x47700 },
	{ .index = MSR_FS_BASE, .data = 0x00007f1234560000ULL },
	{ .index = MSR_GS_BASE, .data = 0xffff888012340000ULL },
	{ .index = MSR_KERNEL_GS_BASE, .data = 0x00007f9876540000ULL },
	{ .index = MSR_IA32_SYSENTER_CS, .data = 0x10 },
	{ .index = MSR_IA32_SYSENTER_ESP, .data = 0x81001000 },
	{ .index = MSR_IA32_SYSENTER_EIP, .data = 0x81b00000 },
	{ .index = MSR_IA32_CR_PAT, .data = 0x0007010600070106ULL },
	{ .index = MSR_TSC_AUX, .data = 0x1234 },
};

TEST(msrs_roundtrip)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_create(part, 0);
	unsigned int n = ARRAY_SIZE(msr_values), i;
	struct vhv_msr_entry e[ARRAY_SIZE(msr_values)];
	struct vhv_sregs sregs;
	u64 tsc;

	memcpy(e, msr_values, sizeof(e));
	EXPECT_EQ((int)n, __vp_msrs(vp, VHV_SET_MSRS, e, n));
	for (i = 0; i < n; i++)
		e[i].data = 0;
	EXPECT_EQ((int)n, __vp_msrs(vp, VHV_GET_MSRS, e, n));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(msr_values[i].data, e[i].data)
			TH_LOG("MSR 0x%x", msr_values[i].index);
	}

	/* EFER and APIC_BASE read back as the sregs show them. */
	vp_setup_long_mode(vp, NULL);
	vp_sregs_get(vp, &sregs);
	EXPECT_EQ(sregs.efer, vp_get_msr(vp, MSR_EFER));
	EXPECT_EQ(GUEST_EFER, sregs.efer);
	EXPECT_EQ(sregs.apic_base, vp_get_msr(vp, MSR_IA32_APICBASE));

	/* The TSC runs on from the value written. */
	vp_set_msr(vp, MSR_IA32_TSC, 1ULL << 40);
	tsc = vp_get_msr(vp, MSR_IA32_TSC);
	EXPECT_GE(tsc, 1ULL << 40);
	EXPECT_LT(tsc, (1ULL << 40) + (1ULL << 38));
	part_free(part);
}

TEST(msrs_stop_at_unknown)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_msr_entry e[3] = {
		{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
		{ .index = 0xdeadbeef, .data = 1 },
		{ .index = MSR_LSTAR, .data = 0xffffffff81000000ULL },
	};
	u64 lstar = vp_get_msr(vp, MSR_LSTAR);

	EXPECT_EQ(1, __vp_msrs(vp, VHV_SET_MSRS, e, 3));
	EXPECT_EQ(0x0023001000000000ULL, vp_get_msr(vp, MSR_STAR));
	/* Nothing after the bad entry was written. */
	EXPECT_EQ(lstar, vp_get_msr(vp, MSR_LSTAR));
	EXPECT_EQ(1, __vp_msrs(vp, VHV_GET_MSRS, e, 3));
	EXPECT_EQ(0x0023001000000000ULL, e[0].data);
	e[0].index = 0x12345678;
	EXPECT_EQ(0, __vp_msrs(vp, VHV_GET_MSRS, e, 3));
	EXPECT_EQ(0, __vp_msrs(vp, VHV_SET_MSRS, e, 3));
	EXPECT_EQ(0, __vp_msrs(vp, VHV_GET_MSRS, e, 0));
	part_free(part);
}

TEST(msrs_and_cpuid_too_many)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	unsigned int n = VHV_MAX_MSR_ENTRIES + 1, i;
	struct vhv_msr_entry *e = calloc(n, sizeof(*e));
	struct vhv_cpuid_entry *c;

	ASSERT_NE(NULL, e);
	for (i = 0; i < n; i++)
		e[i].index = MSR_STAR;
	EXPECT_ERRNO(E2BIG, __vp_msrs(vp, VHV_GET_MSRS, e, n));
	EXPECT_ERRNO(E2BIG, __vp_msrs(vp, VHV_SET_MSRS, e, n));
	free(e);

	n = VHV_MAX_CPUID_ENTRIES + 1;
	c = calloc(n, sizeof(*c));
	ASSERT_NE(NULL, c);
	for (i = 0; i < n; i++)
		c[i].function = 0x80000000 + i;
	EXPECT_ERRNO(E2BIG, __vp_set_cpuid(vp, c, n));
	EXPECT_EQ(0, __vp_set_cpuid(vp, c, n - 1));
	free(c);
	part_free(part);
}

/*
 * Partitions belong to the process that created them: a child using the
 * inherited fds gets EPERM.  Its exit code is a bitmask of failures.
 */
TEST(other_process_eperm)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	void *mem = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, mem);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct vhv_map_gpa map = {
			.gpa = 0, .size = PAGE_SIZE, .uaddr = (u64)mem,
			.flags = VHV_MAP_READ,
		};
		struct vhv_unmap_gpa unmap = { .gpa = 0, .size = PAGE_SIZE };
		struct vhv_sregs sregs;
		struct vhv_regs regs;
		int bad = 0;

		if (ioctl(part->fd, VHV_MAP_GPA, &map) != -1 || errno != EPERM)
			bad |= 1;
		if (ioctl(part->fd, VHV_UNMAP_GPA, &unmap) != -1 ||
		    errno != EPERM)
			bad |= 2;
		if (ioctl(part->fd, VHV_CREATE_VP, 1) != -1 || errno != EPERM)
			bad |= 4;
		if (ioctl(vp->fd, VHV_GET_REGS, &regs) != -1 || errno != EPERM)
			bad |= 8;
		if (ioctl(vp->fd, VHV_GET_SREGS, &sregs) != -1 ||
		    errno != EPERM)
			bad |= 16;
		if (ioctl(vp->fd, VHV_RUN, 0) != -1 || errno != EPERM)
			bad |= 32;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The owner still can. */
	EXPECT_EQ(0, __part_map(part, 0, PAGE_SIZE, mem, VHV_MAP_READ));
	part_free(part);
	munmap(mem, PAGE_SIZE);
}

/* A VP keeps its partition alive after the partition fd is closed. */
TEST(vp_outlives_partition_fd)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);
	struct vhv_regs regs;

	ASSERT_EQ(0, close(part->fd));
	part->fd = -1;
	EXPECT_EQ(0, ioctl(vp->fd, VHV_GET_REGS, &regs));
	EXPECT_EQ(0xfff0ULL, regs.rip);
	part_free(part);
}

TEST_HARNESS_MAIN
