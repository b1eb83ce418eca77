// SPDX-License-Identifier: GPL-2.0
/*
 * VHV_MAP_GPA and VHV_UNMAP_GPA argument checking and bookkeeping.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define NR_PAGES	16
#define RWX		(VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC)
#define GPA		0x100000ULL

FIXTURE(map) {
	struct vhv_partition *part;
	u8 *mem;
};

FIXTURE_SETUP(map)
{
	self->part = part_create_empty();
	self->mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
}

FIXTURE_TEARDOWN(map)
{
	part_free(self->part);
	munmap(self->mem, NR_PAGES * PAGE_SIZE);
}

static int do_map(int fd, u64 gpa, u64 size, void *uaddr, u32 flags,
		  u32 reserved)
{
	struct vhv_map_gpa map = {
		.gpa = gpa,
		.size = size,
		.uaddr = (u64)uaddr,
		.flags = flags,
		.reserved = reserved,
	};

	errno = 0;
	return ioctl(fd, VHV_MAP_GPA, &map);
}

static int do_unmap(int fd, u64 gpa, u64 size)
{
	struct vhv_unmap_gpa unmap = { .gpa = gpa, .size = size };

	errno = 0;
	return ioctl(fd, VHV_UNMAP_GPA, &unmap);
}

/* Expect the call to fail with errno e. */
#define EXPECT_ERRNO(e, call)						\
	do {								\
		int __ret = (call);					\
		int __err = errno;					\
		EXPECT_EQ(-1, __ret) TH_LOG("%s", #call);		\
		EXPECT_EQ(e, __err) TH_LOG("%s", #call);		\
	} while (0)

TEST_F(map, map_and_unmap)
{
	int fd = self->part->fd;

	EXPECT_EQ(0, do_map(fd, GPA, 4 * PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_EQ(0, do_unmap(fd, GPA, 4 * PAGE_SIZE));
	EXPECT_ERRNO(ENOENT, do_unmap(fd, GPA, 4 * PAGE_SIZE));
	/* The same range can be mapped again, with other flags. */
	EXPECT_EQ(0, do_map(fd, GPA, 4 * PAGE_SIZE, self->mem,
			    VHV_MAP_READ, 0));
	EXPECT_EQ(0, do_unmap(fd, GPA, 4 * PAGE_SIZE));
}

TEST_F(map, unaligned)
{
	int fd = self->part->fd;

	EXPECT_ERRNO(EINVAL, do_map(fd, GPA + 0x800, PAGE_SIZE, self->mem,
				    RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA + 1, PAGE_SIZE, self->mem,
				    RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE + 0x800, self->mem,
				    RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, 0x800, self->mem, RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem + 8,
				    RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem + 0x800,
				    RWX, 0));
	/* Nothing was mapped by the failures. */
	EXPECT_ERRNO(ENOENT, do_unmap(fd, GPA, 2 * PAGE_SIZE));
}

TEST_F(map, zero_size)
{
	EXPECT_ERRNO(EINVAL, do_map(self->part->fd, GPA, 0, self->mem,
				    RWX, 0));
}

TEST_F(map, bad_flags)
{
	int fd = self->part->fd;

	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem, 0, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem,
				    VHV_MAP_WRITE, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem,
				    VHV_MAP_EXEC, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem,
				    VHV_MAP_WRITE | VHV_MAP_EXEC, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem,
				    RWX | (1U << 3), 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem,
				    VHV_MAP_READ | (1U << 31), 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem, RWX, 1));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, PAGE_SIZE, self->mem, RWX,
				    0x80000000));
	/* The same request with good flags works. */
	EXPECT_EQ(0, do_map(fd, GPA, PAGE_SIZE, self->mem, RWX, 0));
}

TEST_F(map, gpa_limit)
{
	int fd = self->part->fd;

	EXPECT_ERRNO(EINVAL, do_map(fd, VHV_MAX_GPA, PAGE_SIZE, self->mem,
				    RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, VHV_MAX_GPA - PAGE_SIZE,
				    2 * PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, 1ULL << 63, PAGE_SIZE, self->mem,
				    RWX, 0));
	/* gpa + size wraps around. */
	EXPECT_ERRNO(EINVAL, do_map(fd, ~0ULL - PAGE_SIZE + 1, 2 * PAGE_SIZE,
				    self->mem, RWX, 0));
	EXPECT_ERRNO(EINVAL, do_map(fd, GPA, ~0ULL - PAGE_SIZE + 1,
				    self->mem, RWX, 0));
	/* Ending exactly at the limit is fine. */
	EXPECT_EQ(0, do_map(fd, VHV_MAX_GPA - PAGE_SIZE, PAGE_SIZE,
			    self->mem, RWX, 0));
	EXPECT_EQ(0, do_unmap(fd, VHV_MAX_GPA - PAGE_SIZE, PAGE_SIZE));
}

TEST_F(map, uaddr_not_backed)
{
	int fd = self->part->fd;
	u8 *hole = self->mem + 2 * PAGE_SIZE;

	ASSERT_EQ(0, munmap(hole, PAGE_SIZE));
	/* Entirely in the hole, starting in it, ending in it, across it. */
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, PAGE_SIZE, hole, RWX, 0));
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, 2 * PAGE_SIZE, hole, RWX, 0));
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, 2 * PAGE_SIZE,
				    hole - PAGE_SIZE, RWX, 0));
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, 4 * PAGE_SIZE, self->mem,
				    VHV_MAP_READ, 0));
	/* The pages on either side still work. */
	EXPECT_EQ(0, do_map(fd, GPA, 2 * PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_EQ(0, do_map(fd, GPA + 0x10000, PAGE_SIZE, hole + PAGE_SIZE,
			    RWX, 0));
}

TEST_F(map, write_to_readonly_vma)
{
	int fd = self->part->fd;
	u8 *ro = mmap(NULL, 2 * PAGE_SIZE, PROT_READ,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, 2 * PAGE_SIZE, ro,
				    VHV_MAP_READ | VHV_MAP_WRITE, 0));
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA, 2 * PAGE_SIZE, ro, RWX, 0));
	EXPECT_EQ(0, do_map(fd, GPA, 2 * PAGE_SIZE, ro, VHV_MAP_READ, 0));

	/* Writable first page, read-only second page. */
	ASSERT_EQ(0, mprotect(self->mem + PAGE_SIZE, PAGE_SIZE, PROT_READ));
	EXPECT_ERRNO(EFAULT, do_map(fd, GPA + 0x10000, 2 * PAGE_SIZE,
				    self->mem, VHV_MAP_READ | VHV_MAP_WRITE, 0));
	EXPECT_EQ(0, do_map(fd, GPA + 0x10000, 2 * PAGE_SIZE, self->mem,
			    VHV_MAP_READ, 0));
	munmap(ro, 2 * PAGE_SIZE);
}

TEST_F(map, overlap)
{
	int fd = self->part->fd;
	u8 *m = self->mem;

	ASSERT_EQ(0, do_map(fd, GPA, 4 * PAGE_SIZE, m, RWX, 0));
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA, 4 * PAGE_SIZE, m + 4 * PAGE_SIZE,
				    RWX, 0));
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA - PAGE_SIZE, 2 * PAGE_SIZE,
				    m + 4 * PAGE_SIZE, RWX, 0));
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA + 3 * PAGE_SIZE, 2 * PAGE_SIZE,
				    m + 4 * PAGE_SIZE, RWX, 0));
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA + PAGE_SIZE, PAGE_SIZE,
				    m + 4 * PAGE_SIZE, RWX, 0));
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA - 2 * PAGE_SIZE, 8 * PAGE_SIZE,
				    m + 4 * PAGE_SIZE, RWX, 0));
	/* Adjacent on both sides is not an overlap. */
	EXPECT_EQ(0, do_map(fd, GPA + 4 * PAGE_SIZE, PAGE_SIZE,
			    m + 8 * PAGE_SIZE, RWX, 0));
	EXPECT_EQ(0, do_map(fd, GPA - PAGE_SIZE, PAGE_SIZE,
			    m + 9 * PAGE_SIZE, RWX, 0));
}

TEST(map_too_many)
{
	struct vhv_partition *part = part_create_empty();
	unsigned int n = VHV_MAX_MAPPINGS + 1, i;
	u8 *mem = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	for (i = 0; i < VHV_MAX_MAPPINGS; i++) {
		ASSERT_EQ(0, do_map(part->fd, GPA + i * 2 * PAGE_SIZE,
				    PAGE_SIZE, mem + i * PAGE_SIZE, RWX, 0))
			TH_LOG("mapping %u", i);
	}
	EXPECT_ERRNO(ENOSPC, do_map(part->fd, GPA + i * 2 * PAGE_SIZE,
				    PAGE_SIZE, mem + i * PAGE_SIZE, RWX, 0));
	/* Freeing one makes room for one. */
	EXPECT_EQ(0, do_unmap(part->fd, GPA, PAGE_SIZE));
	EXPECT_EQ(0, do_map(part->fd, GPA + i * 2 * PAGE_SIZE, PAGE_SIZE,
			    mem + i * PAGE_SIZE, RWX, 0));
	EXPECT_ERRNO(ENOSPC, do_map(part->fd, GPA, PAGE_SIZE, mem, RWX, 0));
	part_free(part);
	munmap(mem, n * PAGE_SIZE);
}

TEST_F(map, bad_struct_pointer)
{
	int fd = self->part->fd;
	void *gone = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, munmap(gone, PAGE_SIZE));
	errno = 0;
	EXPECT_ERRNO(EFAULT, ioctl(fd, VHV_MAP_GPA, NULL));
	errno = 0;
	EXPECT_ERRNO(EFAULT, ioctl(fd, VHV_MAP_GPA, gone));
	errno = 0;
	EXPECT_ERRNO(EFAULT, ioctl(fd, VHV_UNMAP_GPA, NULL));
	errno = 0;
	EXPECT_ERRNO(EFAULT, ioctl(fd, VHV_UNMAP_GPA, gone));
}

TEST_F(map, unmap_removes_all_inside)
{
	int fd = self->part->fd;
	u8 *m = self->mem;

	ASSERT_EQ(0, do_map(fd, GPA, PAGE_SIZE, m, RWX, 0));
	ASSERT_EQ(0, do_map(fd, GPA + 4 * PAGE_SIZE, 2 * PAGE_SIZE,
			    m + PAGE_SIZE, RWX, 0));
	ASSERT_EQ(0, do_map(fd, GPA + 0x100000, PAGE_SIZE, m + 3 * PAGE_SIZE,
			    RWX, 0));
	/* One call removes the first two, with holes in the range. */
	EXPECT_EQ(0, do_unmap(fd, GPA - 0x10000, 0x20000));
	EXPECT_EQ(0, do_map(fd, GPA, PAGE_SIZE, m, RWX, 0));
	EXPECT_EQ(0, do_map(fd, GPA + 4 * PAGE_SIZE, 2 * PAGE_SIZE,
			    m + PAGE_SIZE, RWX, 0));
	/* The third one is still there. */
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA + 0x100000, PAGE_SIZE,
				    m + 3 * PAGE_SIZE, RWX, 0));
	EXPECT_EQ(0, do_unmap(fd, GPA + 0x100000, PAGE_SIZE));
	EXPECT_ERRNO(ENOENT, do_unmap(fd, GPA + 0x100000, PAGE_SIZE));
}

TEST_F(map, unmap_unaligned)
{
	int fd = self->part->fd;

	ASSERT_EQ(0, do_map(fd, GPA, 2 * PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA + 0x800, PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA, PAGE_SIZE + 1));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA + 1, 2 * PAGE_SIZE));
	/* Still mapped. */
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA, PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_EQ(0, do_unmap(fd, GPA, 2 * PAGE_SIZE));
}

TEST_F(map, unmap_straddle)
{
	int fd = self->part->fd;

	ASSERT_EQ(0, do_map(fd, GPA, 4 * PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA + 2 * PAGE_SIZE, 4 * PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA - 2 * PAGE_SIZE, 4 * PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA + PAGE_SIZE, PAGE_SIZE));
	EXPECT_ERRNO(EINVAL, do_unmap(fd, GPA, 3 * PAGE_SIZE));
	/* The mapping is intact. */
	EXPECT_ERRNO(EEXIST, do_map(fd, GPA + 3 * PAGE_SIZE, PAGE_SIZE,
				    self->mem + 8 * PAGE_SIZE, RWX, 0));
	EXPECT_EQ(0, do_unmap(fd, GPA, 4 * PAGE_SIZE));
}

TEST_F(map, unmap_nothing)
{
	int fd = self->part->fd;

	EXPECT_ERRNO(ENOENT, do_unmap(fd, GPA, PAGE_SIZE));
	ASSERT_EQ(0, do_map(fd, GPA, PAGE_SIZE, self->mem, RWX, 0));
	EXPECT_ERRNO(ENOENT, do_unmap(fd, GPA + PAGE_SIZE, 0x10000));
	EXPECT_ERRNO(ENOENT, do_unmap(fd, 0, PAGE_SIZE));
}

TEST_HARNESS_MAIN
