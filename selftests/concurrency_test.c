// SPDX-License-Identifier: GPL-2.0
/*
 * Several VPs and partitions running at once, one pthread per VP.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "vhv_util.h"

#define NR_VPS		4
#define ITEMS		20000ULL
#define ROUNDS		50

static u64 work(u64 index, u64 n)
{
	u64 i, s = 0;

	for (i = index * n; i < (index + 1) * n; i++)
		s += (i * i) ^ (i >> 3);
	return s;
}

static void guest_sum(u64 index, u64 n)
{
	GUEST_SYNC(work(index, n));
	GUEST_DONE();
}

static void *run_sum(void *arg)
{
	struct vhv_vp *vp = arg;
	u64 got = vp_expect_sync(vp);

	TEST_ASSERT(got == work(vp->index, ITEMS),
		    "VP %u: sum 0x%llx, expected 0x%llx", vp->index,
		    (unsigned long long)got,
		    (unsigned long long)work(vp->index, ITEMS));
	vp_expect_done(vp);
	return NULL;
}

TEST(vps_in_parallel)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	pthread_t threads[NR_VPS];
	unsigned int i;

	for (i = 0; i < NR_VPS; i++) {
		struct vhv_vp *vp = vp_add(part, i, GUEST_CODE(guest_sum));

		vp_args_set(vp, 2, (u64)i, ITEMS);
	}
	for (i = 0; i < NR_VPS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_sum,
					    part->vps[i]));
	for (i = 0; i < NR_VPS; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	part_free(part);
}

static void guest_rounds(u64 seed)
{
	u64 x = seed, r;

	for (r = 0; r < ROUNDS; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		GUEST_SYNC_ARGS(r, x, seed, 0);
	}
	GUEST_DONE();
}

static void *run_rounds(void *arg)
{
	struct vhv_vp *vp = arg;
	struct vhv_regs regs;
	struct ucall uc;
	u64 seed, x, r;

	vp_regs_get(vp, &regs);
	seed = regs.rdi;
	x = seed;
	for (r = 0; r < ROUNDS; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		TEST_ASSERT(vp_run_ucall(vp, &uc) == UCALL_SYNC,
			    "VP %u: expected GUEST_SYNC", vp->index);
		TEST_ASSERT(uc.args[0] == r && uc.args[1] == x &&
			    uc.args[2] == seed,
			    "VP %u round %llu: got %llu 0x%llx 0x%llx",
			    vp->index, (unsigned long long)r,
			    (unsigned long long)uc.args[0],
			    (unsigned long long)uc.args[1],
			    (unsigned long long)uc.args[2]);
	}
	vp_expect_done(vp);
	return NULL;
}

/* Two partitions with two VPs each, all exiting to the host often. */
TEST(partitions_in_parallel)
{
	struct vhv_partition *parts[2];
	pthread_t threads[4];
	unsigned int i;

	for (i = 0; i < 2; i++)
		parts[i] = part_create(VHV_DEFAULT_RAM);
	for (i = 0; i < 4; i++) {
		struct vhv_vp *vp = vp_add(parts[i / 2], i % 2,
					   GUEST_CODE(guest_rounds));

		vp_args_set(vp, 1, 0x1000ULL * (i + 1));
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_rounds,
					    vp));
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	for (i = 0; i < 2; i++)
		part_free(parts[i]);
}

static u64 guest_shared_counter;
static u64 guest_plain[NR_VPS];

static void guest_increment(u64 index)
{
	u64 i;

	for (i = 0; i < ITEMS; i++) {
		asm volatile("lock incq %0" : "+m"(guest_shared_counter));
		WRITE_ONCE(guest_plain[index], READ_ONCE(guest_plain[index]) + 1);
	}
	GUEST_DONE();
}

static void *run_done(void *arg)
{
	vp_expect_done(arg);
	return NULL;
}

/* Locked instructions on shared guest RAM are atomic across VPs. */
TEST(atomic_shared_counter)
{
	struct vhv_partition *part = part_create(VHV_DEFAULT_RAM);
	pthread_t threads[NR_VPS];
	unsigned int i;

	for (i = 0; i < NR_VPS; i++) {
		struct vhv_vp *vp = vp_add(part, i,
					   GUEST_CODE(guest_increment));

		vp_args_set(vp, 1, (u64)i);
	}
	for (i = 0; i < NR_VPS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, run_done,
					    part->vps[i]));
	for (i = 0; i < NR_VPS; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	EXPECT_EQ(NR_VPS * ITEMS, *guest_ptr(part, guest_shared_counter));
	for (i = 0; i < NR_VPS; i++)
		EXPECT_EQ(ITEMS, *guest_ptr(part, guest_plain[i]));
	part_free(part);
}

TEST_HARNESS_MAIN
