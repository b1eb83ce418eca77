// SPDX-License-Identifier: GPL-2.0
/*
 * Unloading and reloading vhv.ko.  This binary sorts last because it
 * removes the module; it leaves it loaded.  VHV_KO is the module's path.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

/* Run a busybox applet; returns its exit status, or -1. */
static int run_cmd(const char *cmd, const char *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		const char *path = getenv("PATH");
		char buf[1024];

		snprintf(buf, sizeof(buf), "/sbin:/usr/sbin:/bin:/usr/bin%s%s",
			 path ? ":" : "", path ? path : "");
		setenv("PATH", buf, 1);
		execlp(cmd, cmd, arg, (char *)NULL);
		execl("/bin/busybox", "busybox", cmd, arg, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int try_open(void)
{
	return open(VHV_DEV_PATH, O_RDWR | O_CLOEXEC);
}

/* Wait for /dev/vhv to appear after insmod. */
static int open_dev_wait(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, fd = -1;

	for (i = 0; i < 500 && fd < 0; i++) {
		fd = try_open();
		if (fd < 0)
			nanosleep(&ts, NULL);
	}
	return fd;
}

static void ensure_loaded(const char *ko)
{
	int fd = try_open();

	if (fd >= 0) {
		close(fd);
		return;
	}
	run_cmd("insmod", ko);
}

static void guest_hello(void)
{
	GUEST_SYNC(0x4242);
	GUEST_DONE();
}

/* Prove the module works: a 64-bit guest makes a ucall. */
static void smoke(struct __test_metadata *_metadata)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_hello);

	EXPECT_EQ(0x4242ULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
}

/* An open /dev/vhv or partition fd holds the module. */
TEST(rmmod_busy_while_in_use)
{
	const char *ko = getenv("VHV_KO");
	int fd, part, vp;

	if (!ko)
		SKIP(return, "VHV_KO is not set");
	fd = open_dev_wait();
	ASSERT_GE(fd, 0);
	EXPECT_NE(0, run_cmd("rmmod", "vhv"));
	part = ioctl(fd, VHV_CREATE_PARTITION, 0);
	ASSERT_GE(part, 0);
	close(fd);
	EXPECT_NE(0, run_cmd("rmmod", "vhv"));
	vp = ioctl(part, VHV_CREATE_VP, 0);
	EXPECT_GE(vp, 0);
	close(vp);
	close(part);
	ensure_loaded(ko);
}

TEST(rmmod_insmod_cycles)
{
	const char *ko = getenv("VHV_KO");
	int i, fd;

	if (!ko)
		SKIP(return, "VHV_KO is not set");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, run_cmd("rmmod", "vhv")) {
			TH_LOG("cycle %d: rmmod failed", i);
			ensure_loaded(ko);
		}
		fd = try_open();
		EXPECT_LT(fd, 0) TH_LOG("cycle %d: /dev/vhv still works", i);
		if (fd >= 0)
			close(fd);
		ASSERT_EQ(0, run_cmd("insmod", ko))
			TH_LOG("cycle %d: insmod %s failed", i, ko);
		fd = open_dev_wait();
		ASSERT_GE(fd, 0) TH_LOG("cycle %d: no /dev/vhv", i);
		EXPECT_EQ(VHV_API_VERSION, ioctl(fd, VHV_GET_API_VERSION, 0));
		close(fd);
		smoke(_metadata);
	}
}

TEST_HARNESS_MAIN
