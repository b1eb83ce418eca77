// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vhv: API version, capabilities, run page size, partition creation
 * and unknown ioctls on each kind of fd.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

TEST(api_version)
{
	int fd = vhv_open();

	EXPECT_EQ(VHV_API_VERSION, ioctl(fd, VHV_GET_API_VERSION, 0));
	close(fd);
}

TEST(check_cap_values)
{
	int fd = vhv_open();

	EXPECT_EQ(VHV_MAX_VPS, ioctl(fd, VHV_CHECK_CAP, VHV_CAP_MAX_VPS));
	EXPECT_EQ(VHV_MAX_MAPPINGS,
		  ioctl(fd, VHV_CHECK_CAP, VHV_CAP_MAX_MAPPINGS));
	EXPECT_EQ(1, ioctl(fd, VHV_CHECK_CAP, VHV_CAP_IMMEDIATE_EXIT));
	EXPECT_EQ(VHV_MAX_CPUID_ENTRIES,
		  ioctl(fd, VHV_CHECK_CAP, VHV_CAP_MAX_CPUID));
	EXPECT_EQ(VHV_MAX_MSR_ENTRIES,
		  ioctl(fd, VHV_CHECK_CAP, VHV_CAP_MAX_MSRS));
	EXPECT_EQ(48, ioctl(fd, VHV_CHECK_CAP, VHV_CAP_MAX_GPA_BITS));
	EXPECT_EQ(1, ioctl(fd, VHV_CHECK_CAP, VHV_CAP_READONLY_MEM));
	close(fd);
}

/* The backend matches the host CPU's vendor. */
TEST(check_cap_backend)
{
	unsigned int eax, ebx, ecx, edx;
	int fd = vhv_open();
	char vendor[13];
	int backend;

	__cpuid(0, eax, ebx, ecx, edx);
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = 0;

	backend = ioctl(fd, VHV_CHECK_CAP, VHV_CAP_BACKEND);
	if (!strcmp(vendor, "AuthenticAMD") ||
	    !strcmp(vendor, "HygonGenuine")) {
		EXPECT_EQ(VHV_BACKEND_SVM, backend);
	} else if (!strcmp(vendor, "GenuineIntel")) {
		EXPECT_EQ(VHV_BACKEND_VMX, backend);
	} else {
		EXPECT_TRUE(backend == VHV_BACKEND_SVM ||
			    backend == VHV_BACKEND_VMX);
	}
	close(fd);
}

/* Only root opens /dev/vhv: a character device, mode 0600. */
TEST(device_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(VHV_DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
}

TEST(check_cap_unknown_is_zero)
{
	int fd = vhv_open();

	EXPECT_EQ(0, ioctl(fd, VHV_CHECK_CAP, VHV_CAP_APIC_BUS_HZ + 1));
	EXPECT_EQ(0, ioctl(fd, VHV_CHECK_CAP, 1000));
	EXPECT_EQ(0, ioctl(fd, VHV_CHECK_CAP, 0x80000000UL));
	EXPECT_EQ(0, ioctl(fd, VHV_CHECK_CAP, ~0UL));
	close(fd);
}

TEST(run_page_size)
{
	int fd = vhv_open();

	EXPECT_EQ(VHV_RUN_PAGE_SIZE, ioctl(fd, VHV_GET_RUN_PAGE_SIZE, 0));
	EXPECT_EQ(4096, ioctl(fd, VHV_GET_RUN_PAGE_SIZE, 0));
	close(fd);
}

TEST(create_partition_bad_arg)
{
	int fd = vhv_open();

	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, VHV_CREATE_PARTITION, 2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, VHV_CREATE_PARTITION,
			    VHV_PARTITION_X2APIC | 0x100));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, VHV_CREATE_PARTITION, ~0UL));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(create_partitions)
{
	int fd = vhv_open();
	int p1, p2;

	p1 = ioctl(fd, VHV_CREATE_PARTITION, 0);
	ASSERT_GE(p1, 0);
	p2 = ioctl(fd, VHV_CREATE_PARTITION, 0);
	ASSERT_GE(p2, 0);
	EXPECT_NE(p1, p2);
	EXPECT_NE(fd, p1);
	EXPECT_EQ(0, close(p1));
	EXPECT_EQ(0, close(p2));
	close(fd);
}

/* A partition holds its own reference: /dev/vhv may be closed first. */
TEST(partition_outlives_dev_fd)
{
	int fd = vhv_open();
	void *mem = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vhv_map_gpa map = {
		.gpa = 0x100000,
		.size = PAGE_SIZE,
		.uaddr = (u64)mem,
		.flags = VHV_MAP_READ | VHV_MAP_WRITE,
	};
	int part, vp;

	ASSERT_NE(MAP_FAILED, mem);
	part = ioctl(fd, VHV_CREATE_PARTITION, 0);
	ASSERT_GE(part, 0);
	close(fd);
	EXPECT_EQ(0, ioctl(part, VHV_MAP_GPA, &map));
	vp = ioctl(part, VHV_CREATE_VP, 0);
	EXPECT_GE(vp, 0);
	close(vp);
	close(part);
	munmap(mem, PAGE_SIZE);
}

static void expect_enotty(struct __test_metadata *_metadata, int fd,
			  unsigned long nr)
{
	u8 buf[4096] = { 0 };

	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, nr, buf))
		TH_LOG("ioctl 0x%lx on fd %d succeeded", nr, fd);
	EXPECT_EQ(ENOTTY, errno)
		TH_LOG("ioctl 0x%lx on fd %d", nr, fd);
}

TEST(unknown_ioctl_dev)
{
	int fd = vhv_open();

	expect_enotty(_metadata, fd, _IO(VHVIO, 0x7f));
	expect_enotty(_metadata, fd, _IO(VHVIO, 0x04));
	expect_enotty(_metadata, fd, _IOR(VHVIO, 0x00, int));
	expect_enotty(_metadata, fd, _IO(0xAE, 0x00));
	expect_enotty(_metadata, fd, TCGETS);
	close(fd);
}

TEST(unknown_ioctl_partition)
{
	struct vhv_partition *part = part_create_empty();

	expect_enotty(_metadata, part->fd, _IO(VHVIO, 0x7f));
	expect_enotty(_metadata, part->fd, _IO(VHVIO, 0x13));
	expect_enotty(_metadata, part->fd,
		      _IOR(VHVIO, 0x10, struct vhv_map_gpa));
	expect_enotty(_metadata, part->fd, TCGETS);
	part_free(part);
}

TEST(unknown_ioctl_vp)
{
	struct vhv_partition *part = part_create_empty();
	struct vhv_vp *vp = vp_create(part, 0);

	expect_enotty(_metadata, vp->fd, _IO(VHVIO, 0x7f));
	expect_enotty(_metadata, vp->fd, _IO(VHVIO, 0x28));
	expect_enotty(_metadata, vp->fd, _IOW(VHVIO, 0x21, struct vhv_regs));
	expect_enotty(_metadata, vp->fd, TCGETS);
	part_free(part);
}

TEST_HARNESS_MAIN
