// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory coherence with the VMM's mapping, read-only mappings, and
 * unmapping and remapping regions under a guest.
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define REGION_GPA	0x10000000ULL
#define REGION2_GPA	0x18000000ULL

static u64 guest_from_guest;
static u64 guest_from_host;

static void guest_handshake(void)
{
	WRITE_ONCE(guest_from_guest, 0x1111);
	while (READ_ONCE(guest_from_host) != 0x2222)
		;
	WRITE_ONCE(guest_from_guest, 0x3333);
	GUEST_DONE();
}

static void *run_to_done(void *arg)
{
	struct vhv_vp *vp = arg;

	vp_expect_done(vp);
	return NULL;
}

/* Both directions are visible while the guest runs on another thread. */
TEST(coherence_while_running)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_handshake);
	u64 *from_guest = guest_ptr(part, guest_from_guest);
	u64 *from_host = guest_ptr(part, guest_from_host);
	struct timespec ts = { 0, 1000 * 1000 };
	pthread_t thread;
	int i;

	ASSERT_EQ(0, pthread_create(&thread, NULL, run_to_done, vp));
	for (i = 0; i < 20000 && READ_ONCE(*from_guest) != 0x1111; i++)
		nanosleep(&ts, NULL);
	ASSERT_EQ(0x1111ULL, READ_ONCE(*from_guest));
	WRITE_ONCE(*from_host, 0x2222);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0x3333ULL, READ_ONCE(*from_guest));
	part_free(part);
}

#define BUF_WORDS	4096

static void guest_alternate(u64 *buf)
{
	unsigned int i;

	for (i = 0; i < BUF_WORDS; i++)
		WRITE_ONCE(buf[i], i * 0x9e3779b97f4a7c15ULL);
	GUEST_SYNC(1);
	for (i = 0; i < BUF_WORDS; i++)
		GUEST_ASSERT_EQ_CTX(READ_ONCE(buf[i]),
				    ~(i * 0x9e3779b97f4a7c15ULL), i);
	GUEST_DONE();
}

/* The guest writes, the host checks and rewrites, the guest checks. */
TEST(coherence_alternating)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_alternate));
	u64 *buf = addr_gpa2hva(part, GUEST_SCRATCH_GPA);
	unsigned int i;

	vp_args_set(vp, 1, GUEST_SCRATCH_GPA);
	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	for (i = 0; i < BUF_WORDS; i++) {
		ASSERT_EQ(i * 0x9e3779b97f4a7c15ULL, buf[i]);
		buf[i] = ~buf[i];
	}
	vp_expect_done(vp);
	part_free(part);
}

static void guest_read_twice(u64 gpa)
{
	GUEST_SYNC(READ_ONCE(*(u64 *)gpa));
	GUEST_SYNC(READ_ONCE(*(u64 *)gpa));
	GUEST_SYNC(READ_ONCE(*(u64 *)(gpa + PAGE_SIZE)));
	GUEST_DONE();
}

/* Read-only mappings: reads see the VMM's data, also after it changes. */
TEST(readonly_mapping_reads)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_read_twice));
	u64 *mem = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 0xfeedface;
	mem[PAGE_SIZE / 8] = 0xbeef;
	/* The second page is read-only in the VMM too. */
	ASSERT_EQ(0, mprotect((u8 *)mem + PAGE_SIZE, PAGE_SIZE, PROT_READ));
	part_map(part, REGION_GPA, 2 * PAGE_SIZE, mem, VHV_MAP_READ);
	vp_args_set(vp, 1, REGION_GPA);
	EXPECT_EQ(0xfeedfaceULL, vp_expect_sync(vp));
	mem[0] = 0xc0ffee;
	EXPECT_EQ(0xc0ffeeULL, vp_expect_sync(vp));
	EXPECT_EQ(0xbeefULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
	munmap(mem, 2 * PAGE_SIZE);
}

static void guest_unmap_remap(void)
{
	u64 *a = (u64 *)REGION_GPA, *b = (u64 *)REGION2_GPA;

	GUEST_SYNC(READ_ONCE(a[0]));
	WRITE_ONCE(a[1], 0x1234);
	GUEST_SYNC(1);
	/* Unmapped now: MMIO read. */
	GUEST_SYNC(READ_ONCE(a[0]));
	/* Remapped at REGION2_GPA. */
	WRITE_ONCE(b[2], 0x5555);
	GUEST_SYNC(READ_ONCE(b[0]) + READ_ONCE(b[1]));
	/* Other memory at the first GPA. */
	GUEST_SYNC(READ_ONCE(a[0]));
	GUEST_DONE();
}

TEST(unmap_then_touch_and_remap)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, guest_unmap_remap);
	u64 *mem = mmap(NULL, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u64 *other = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const u32 rw = VHV_MAP_READ | VHV_MAP_WRITE;
	u64 v = 0xfeed;

	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(MAP_FAILED, other);
	mem[0] = 0xabc;
	other[0] = 0xdef;
	part_map(part, REGION_GPA, 2 * PAGE_SIZE, mem, rw);
	EXPECT_EQ(0xabcULL, vp_expect_sync(vp));
	EXPECT_EQ(1ULL, vp_expect_sync(vp));
	EXPECT_EQ(0x1234ULL, mem[1]);

	part_unmap(part, REGION_GPA, 2 * PAGE_SIZE);
	vp_run(vp);
	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	EXPECT_EQ(REGION_GPA, vp->run->mmio.gpa);
	EXPECT_EQ(8U, vp->run->mmio.len);
	EXPECT_EQ(0, vp->run->mmio.is_write);
	memcpy(vp->run->mmio.data, &v, 8);
	EXPECT_EQ(0xfeedULL, vp_expect_sync(vp));

	part_map(part, REGION2_GPA, 2 * PAGE_SIZE, mem, rw);
	EXPECT_EQ(0xabcULL + 0x1234, vp_expect_sync(vp));
	EXPECT_EQ(0x5555ULL, mem[2]);

	part_unmap(part, REGION2_GPA, 2 * PAGE_SIZE);
	part_map(part, REGION_GPA, PAGE_SIZE, other, rw);
	EXPECT_EQ(0xdefULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
	munmap(mem, 2 * PAGE_SIZE);
	munmap(other, PAGE_SIZE);
}

/* Guest code can run from a mapping other than the RAM at GPA 0. */
static void guest_call(u64 fn)
{
	u64 (*f)(void) = (u64 (*)(void))fn;

	GUEST_SYNC(f());
	GUEST_DONE();
}

TEST(execute_from_extra_mapping)
{
	/* mov $0x1234abcd, %eax; ret */
	static const u8 code[] = { 0xb8, 0xcd, 0xab, 0x34, 0x12, 0xc3 };
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_call));
	u8 *mem = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, mem);
	memcpy(mem + 0x80, code, sizeof(code));
	part_map(part, REGION_GPA, PAGE_SIZE, mem,
		 VHV_MAP_READ | VHV_MAP_EXEC);
	vp_args_set(vp, 1, REGION_GPA + 0x80);
	EXPECT_EQ(0x1234abcdULL, vp_expect_sync(vp));
	vp_expect_done(vp);
	part_free(part);
	munmap(mem, PAGE_SIZE);
}

TEST_HARNESS_MAIN
