// SPDX-License-Identifier: GPL-2.0
/*
 * Resource exhaustion: create/destroy cycles must not leak kernel memory,
 * fds or page pins; kernel memory and pinned guest memory must be charged
 * to the VMM's memory cgroup; a partition may map more memory than the
 * host has, and when its guest touches too much of it, only the VMM's
 * cgroup may pay for it.
 *
 * The tests read /proc/slabinfo, write /proc/sys/vm/drop_caches and
 * create cgroups: they need root (the lanes run as root) and skip what
 * they cannot do.  Tests that make the memory cgroup's OOM killer run
 * (memcg_limit, overcommit_oom) are skipped unless VHV_RESOURCE_OOM=1:
 * every memcg OOM prints a report with a stack dump ("Call Trace") to
 * the kernel log, which the lanes count as a failure.  Pass it to a lane
 * with LANE_APPEND=VHV_RESOURCE_OOM=1 (the kernel hands unknown
 * VAR=value parameters to /init's environment).
 *
 * Environment:
 *	VHV_RESOURCE_CYCLES	create/destroy cycles (10000; 2000 on the
 *				Bochs lanes)
 *	VHV_RESOURCE_SECONDS	guest-clock budget of those cycles (120)
 *	VHV_RESOURCE_OOM=1	also run the tests that end in a memcg OOM
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhv_util.h"
#include "apic.h"

/*
 * create_destroy_cycles: how many, and what growth is tolerated.
 *
 * Count: CYCLES_TARGET cycles, CYCLES_BOCHS on the Bochs lanes, or
 * VHV_RESOURCE_CYCLES; fewer if CYCLES_SECONDS of the guest's clock run
 * out first, but at least CYCLES_MIN.  Measured on a busy 2-CPU host:
 * the QEMU lane (svm) does about 360 cycles/s, 10,000 in 28 s; the vmx
 * lane (Bochs) 100-150 cycles/s of wall time (1,000 in 6.5 s, 2,000 in
 * 19 s), so 10,000 would take 65-100 s there.  The Bochs guest's clock
 * is not wall time (it follows the emulated instruction count and
 * barely moves: 2,000 cycles read as 0.1 s), so no time budget can stop
 * them; they are told apart by the vhv_lane.sync=1 that scripts/lane.sh
 * puts on their kernel command line, and do CYCLES_BOCHS cycles.  The
 * tolerances below scale with the number of cycles done.
 *
 * Each cycle allocates, per partition, its structure and the root table
 * of the second-level tables (a page), and per VP its structure (a few
 * KiB), the run page, the APIC page, the VMCB (SVM) or VMCS and
 * virtual-APIC page (VMX) and a vmalloc'd FPU state: about 5 pages per
 * VP and 2.5 VPs per cycle.  A leak of one page per cycle would be
 * 40 MiB after 10,000 cycles, of one small slab object per cycle
 * 10,000 objects in one cache.  The tolerances leave room for what a
 * quiet kernel moves by itself: per-CPU slabs and page lists, lazily
 * purged vmap areas (the FPU states are vmalloc'd), the dentries and
 * inodes drop_caches could not free at once.
 *
 * The counters are read after drop_caches, a settle and vm.stat_refresh
 * (which folds the per-CPU vmstat deltas into the totals):
 *
 *	SUnreclaim	1 MiB + 100 bytes per cycle (2 MiB at 10,000)
 *	Slab		the same plus 1 MiB of reclaimable slab
 *	one slab cache	256 KiB + 64 bytes per cycle and more than one
 *			object per 8 cycles: both must be exceeded, so a
 *			cache that holds one leaked object per cycle (of
 *			at least 64 bytes at 10,000 cycles) fails
 *	KernelStack	64 KiB (4 stacks: no cycle creates a thread)
 *	PageTables	512 KiB (user page tables: every mmap is undone)
 *	MemFree		8 MiB + 512 bytes per cycle (13 MiB at 10,000)
 *	fds		exactly as before
 *	page pins	exactly as before (nr_foll_pin_acquired minus
 *			nr_foll_pin_released in /proc/vmstat)
 */
#define CYCLES_TARGET		10000
#define CYCLES_BOCHS		2000
#define CYCLES_SECONDS		120
#define CYCLES_MIN		200
#define CYCLES_WARMUP		64
#define RUN_EVERY		16	/* a guest runs every RUN_EVERY cycles */
#define SMALL_MAP_SIZE		(64UL << 10)
#define RUN_RAM_SIZE		GUEST_SCRATCH_GPA

#define TOL_SUNRECLAIM(n)	((1L << 20) + 100L * (long)(n))
#define TOL_SLAB(n)		(TOL_SUNRECLAIM(n) + (1L << 20))
#define TOL_CACHE_BYTES(n)	((256L << 10) + 64L * (long)(n))
#define TOL_CACHE_OBJS(n)	((long)(n) / 8)
#define TOL_KSTACK		(64L << 10)
#define TOL_PAGETABLES		(512L << 10)
#define TOL_MEMFREE(n)		((8L << 20) + 512L * (long)(n))

/*
 * memcg_charged: PARTS partitions of VPS_PER_PART VPs each, every VP with
 * its run page mapped.  Each VP charges at least its run page, APIC page
 * and VMCB or VMCS, each partition its root table: the cgroup's "kernel"
 * memory.stat must grow by at least MEMCG_MIN_VP_PAGES pages per VP.
 */
#define PARTS			20
#define VPS_PER_PART		16
#define MEMCG_MIN_VP_PAGES	3
#define MEMCG_MIN_PART_PAGES	1

/* overcommit: a guest RAM mapping of 4 GiB on a host that has 1 GiB. */
#define OVER_RAM		(4ULL << 30)
#define OVER_TOUCH		(16ULL << 20)	/* memory.max stays above */
#define OVER_MEMCG_MAX		(64ULL << 20)
#define OVER_SYNC_EVERY		(4ULL << 20)

#define CGROUP_ROOT		"/sys/fs/cgroup"

/* -------------------------------------------------------------------
 * Kernel counters.
 */
#define MAX_CACHES		512

struct slab_cache {
	char name[64];
	long active;
	long objsize;
};

struct kcounters {
	long slab, sunreclaim, kstack, pagetables, memfree, vmalloc;
	long pins;		/* -1: not visible */
	long vmpin;		/* VmPin of this process, bytes */
	int fds;
	int ncaches;		/* -1: /proc/slabinfo not readable */
	struct slab_cache caches[MAX_CACHES];
};

/*
 * The number after "key" and @sep on a line of a /proc or cgroup file,
 * times @scale; -1 if absent.
 */
static long file_value(const char *path, const char *key, char sep,
		       long scale)
{
	size_t klen = strlen(key);
	char line[256];
	long v = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == sep) {
			v = strtol(line + klen + 1, NULL, 10) * scale;
			break;
		}
	}
	fclose(f);
	return v;
}

/* A "Key:   N kB" line of a /proc file, in bytes; -1 if absent. */
static long proc_kb(const char *path, const char *key)
{
	return file_value(path, key, ':', 1024);
}

/* A "key N" line of /proc/vmstat or memory.stat; -1 if absent. */
static long stat_value(const char *path, const char *key)
{
	return file_value(path, key, ' ', 1);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s));
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

/*
 * Pages pinned in the whole system.  /proc/vmstat leaves per-CPU deltas
 * out until they are folded: vm.stat_refresh folds them first.
 */
static long pinned_pages(void)
{
	long acq, rel;

	write_file("/proc/sys/vm/stat_refresh", "1");
	acq = stat_value("/proc/vmstat", "nr_foll_pin_acquired");
	rel = stat_value("/proc/vmstat", "nr_foll_pin_released");
	return acq >= 0 && rel >= 0 ? acq - rel : -1;
}

static int count_fds(void)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

static void read_slabinfo(struct kcounters *c)
{
	char line[512];
	FILE *f;

	c->ncaches = -1;
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return;
	c->ncaches = 0;
	while (fgets(line, sizeof(line), f) && c->ncaches < MAX_CACHES) {
		struct slab_cache *s = &c->caches[c->ncaches];
		long num;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %ld %ld %ld", s->name, &s->active, &num,
			   &s->objsize) == 4)
			c->ncaches++;
	}
	fclose(f);
}

/* Give back what the kernel holds only as a cache, then let it settle. */
static void drop_kernel_caches(void)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	int i, fd;

	sync();
	for (i = 0; i < 2; i++) {
		fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "3", 1) != 1)
				perror("drop_caches");
			close(fd);
		}
		/* RCU-freed files and inodes, per-CPU frees. */
		nanosleep(&ts, NULL);
	}
}

static void read_counters(struct kcounters *c)
{
	drop_kernel_caches();
	write_file("/proc/sys/vm/stat_refresh", "1");
	c->fds = count_fds();
	c->slab = proc_kb("/proc/meminfo", "Slab");
	c->sunreclaim = proc_kb("/proc/meminfo", "SUnreclaim");
	c->kstack = proc_kb("/proc/meminfo", "KernelStack");
	c->pagetables = proc_kb("/proc/meminfo", "PageTables");
	c->memfree = proc_kb("/proc/meminfo", "MemFree");
	c->vmalloc = proc_kb("/proc/meminfo", "VmallocUsed");
	c->vmpin = proc_kb("/proc/self/status", "VmPin");
	c->pins = pinned_pages();
	read_slabinfo(c);
}

static const struct slab_cache *find_cache(const struct kcounters *c,
					   const char *name)
{
	int i;

	for (i = 0; i < c->ncaches; i++)
		if (!strcmp(c->caches[i].name, name))
			return &c->caches[i];
	return NULL;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	return *end ? def : v;
}

/* A Bochs lane: scripts/lane.sh boots them with vhv_lane.sync=1. */
static bool bochs_lane(void)
{
	char buf[1024], *tok, *save;
	bool found = false;
	ssize_t r;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	for (tok = strtok_r(buf, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		if (!strcmp(tok, "vhv_lane.sync=1"))
			found = true;
	return found;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* -------------------------------------------------------------------
 * Guest code.
 */
static void guest_cycle(void)
{
	GUEST_SYNC(0x5a5a);
	GUEST_DONE();
}

/* Write a byte in every page of [start, end); a SYNC every 'every' bytes. */
static void guest_touch(u64 start, u64 end, u64 every)
{
	u64 p;

	for (p = start; p < end; p += PAGE_SIZE) {
		WRITE_ONCE(*(u8 *)p, 1);
		if (!((p - start + PAGE_SIZE) % every))
			GUEST_SYNC(p + PAGE_SIZE);
	}
	GUEST_DONE();
}

/* -------------------------------------------------------------------
 * create_destroy_cycles
 */
struct cycle_env {
	void *small;		/* SMALL_MAP_SIZE, never touched by a guest */
	void *ram;		/* RUN_RAM_SIZE with the guest image */
	bool x2apic;
	unsigned long runs;
};

/* VP indexes: low and high ones, all distinct within a cycle. */
static void cycle_indexes(unsigned long i, u32 *idx, unsigned int n)
{
	static const u32 fixed[] = { 0, VHV_MAX_VPS - 1, 32 };
	unsigned int k;

	for (k = 0; k < n && k < ARRAY_SIZE(fixed); k++)
		idx[k] = fixed[(k + i) % ARRAY_SIZE(fixed)];
	for (; k < n; k++)
		idx[k] = 1 + i % 30;	/* 1-30: none of the fixed ones */
}

static void one_cycle(struct cycle_env *e, unsigned long i)
{
	unsigned long flags = e->x2apic && (i & 1) ? VHV_PARTITION_X2APIC : 0;
	bool run = !(i % RUN_EVERY);
	unsigned int nvps = 1 + i % 4, k;
	struct vhv_partition *part;
	u32 idx[4];

	part = part_create_empty_flags(flags);
	if (run) {
		part_map(part, 0, RUN_RAM_SIZE, e->ram,
			 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
		part->image_loaded = true;
	} else {
		part_map(part, GUEST_SCRATCH_GPA, SMALL_MAP_SIZE, e->small,
			 VHV_MAP_READ | VHV_MAP_WRITE);
	}
	cycle_indexes(i, idx, nvps);
	for (k = 0; k < nvps; k++)
		vp_create(part, idx[k]);
	if (run) {
		/* VP 0 or one at a high index, in turn. */
		struct vhv_vp *vp = part->vps[idx[(i / RUN_EVERY) % nvps]];

		vp_setup_long_mode(vp, guest_cycle);
		TEST_ASSERT(vp_expect_sync(vp) == 0x5a5a, "bad SYNC");
		if ((i / RUN_EVERY) & 1)
			vp_expect_done(vp);
		e->runs++;
	}
	/* Different ways to tear down. */
	switch (i % 3) {
	case 0:
		/* Unmap first: pinned pages go back before the free. */
		part_unmap(part, 0, VHV_MAX_GPA);
		break;
	case 1:
		/* The partition fd first: the VPs keep it alive. */
		close(part->fd);
		part->fd = -1;
		break;
	default:
		break;
	}
	part_free(part);
}

static void log_delta(struct __test_metadata *_metadata, const char *what,
		      long before, long after)
{
	TH_LOG("%-12s before %10ld after %10ld delta %+ld", what, before, after,
	       after - before);
}

/* The caches that grew most, and the check of each one. */
static void check_caches(struct __test_metadata *_metadata,
			 const struct kcounters *b, const struct kcounters *a,
			 unsigned long n)
{
	long shown = 0;
	int i, j;

	if (b->ncaches < 0 || a->ncaches < 0) {
		TH_LOG("/proc/slabinfo not readable: no per-cache check");
		return;
	}
	for (i = 0; i < a->ncaches; i++) {
		const struct slab_cache *s = &a->caches[i];
		const struct slab_cache *o = find_cache(b, s->name);
		long dobj = s->active - (o ? o->active : 0);
		long dbytes = dobj * s->objsize;

		if (dbytes >= 16384 || dobj >= 64) {
			TH_LOG("slab %-24s objsize %5ld active %7ld -> %7ld (%+ld, %+ld bytes)",
			       s->name, s->objsize, o ? o->active : 0,
			       s->active, dobj, dbytes);
			shown++;
		}
		EXPECT_FALSE(dbytes > TOL_CACHE_BYTES(n) &&
			     dobj > TOL_CACHE_OBJS(n))
			TH_LOG("slab cache %s grew by %ld objects (%ld bytes) in %lu cycles",
			       s->name, dobj, dbytes, n);
	}
	/* A cache that went away entirely is not a leak; note it only. */
	for (j = 0; j < b->ncaches; j++)
		if (!find_cache(a, b->caches[j].name))
			TH_LOG("slab %s disappeared", b->caches[j].name);
	if (!shown)
		TH_LOG("no slab cache grew by 64 objects or 16 KiB");
}

FIXTURE(res) {
	int unused;
};

FIXTURE_SETUP(res)
{
}

FIXTURE_TEARDOWN(res)
{
}

TEST_F_TIMEOUT(res, create_destroy_cycles, 900)
{
	unsigned long target = env_ulong("VHV_RESOURCE_CYCLES",
					 bochs_lane() ? CYCLES_BOCHS :
							CYCLES_TARGET);
	unsigned long budget = env_ulong("VHV_RESOURCE_SECONDS",
					 CYCLES_SECONDS);
	static struct kcounters before, after;
	struct vhv_partition *loader;
	struct cycle_env e = { 0 };
	double t0, t1;
	unsigned long i, n;

	if (target < CYCLES_MIN)
		target = CYCLES_MIN;
	e.x2apic = vhv_check_cap(VHV_CAP_X2APIC) == 1;
	e.small = mmap(NULL, SMALL_MAP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e.small);
	e.ram = mmap(NULL, RUN_RAM_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, e.ram);

	/* Load the guest image once: every run cycle maps the same RAM. */
	loader = part_create_empty();
	part_map(loader, 0, RUN_RAM_SIZE, e.ram,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);
	loader->ram = e.ram;
	loader->ram_size = RUN_RAM_SIZE;
	guest_load_image(loader);
	guest_setup_tables(loader);
	loader->ram = NULL;	/* not part_free()'s to unmap */
	part_free(loader);

	/* Warm up: the caches and page tables every cycle uses. */
	for (i = 0; i < CYCLES_WARMUP; i++)
		one_cycle(&e, i);
	read_counters(&before);

	t0 = now_s();
	for (n = 0; n < target; n++) {
		one_cycle(&e, CYCLES_WARMUP + n);
		if (n >= CYCLES_MIN && !(n % 64) && now_s() - t0 > budget)
			break;
	}
	t1 = now_s();
	read_counters(&after);

	TH_LOG("%lu of %lu cycles (%lu with a guest run) in %.1f s: %.0f cycles/s%s",
	       n, target, e.runs, t1 - t0, n / (t1 - t0),
	       n < target ? " (time budget reached)" : "");
	log_delta(_metadata, "Slab", before.slab, after.slab);
	log_delta(_metadata, "SUnreclaim", before.sunreclaim,
		  after.sunreclaim);
	log_delta(_metadata, "KernelStack", before.kstack, after.kstack);
	log_delta(_metadata, "PageTables", before.pagetables,
		  after.pagetables);
	log_delta(_metadata, "MemFree", before.memfree, after.memfree);
	log_delta(_metadata, "VmallocUsed", before.vmalloc, after.vmalloc);
	log_delta(_metadata, "fds", before.fds, after.fds);
	log_delta(_metadata, "pins", before.pins, after.pins);
	log_delta(_metadata, "VmPin", before.vmpin, after.vmpin);
	TH_LOG("SUnreclaim growth per cycle: %.1f bytes",
	       (double)(after.sunreclaim - before.sunreclaim) / n);

	EXPECT_LT(after.sunreclaim - before.sunreclaim, TOL_SUNRECLAIM(n));
	EXPECT_LT(after.slab - before.slab, TOL_SLAB(n));
	EXPECT_LT(after.kstack - before.kstack, TOL_KSTACK);
	EXPECT_LT(after.pagetables - before.pagetables, TOL_PAGETABLES);
	EXPECT_LT(before.memfree - after.memfree, TOL_MEMFREE(n));
	EXPECT_EQ(before.fds, after.fds);
	if (before.pins < 0)
		TH_LOG("page pin counters not in /proc/vmstat");
	EXPECT_EQ(before.pins, after.pins);
	check_caches(_metadata, &before, &after, n);

	munmap(e.ram, RUN_RAM_SIZE);
	munmap(e.small, SMALL_MAP_SIZE);
}

/* -------------------------------------------------------------------
 * Memory cgroups.
 */
struct cgroup {
	char path[256];
	bool mounted;		/* we mounted cgroup2 at CGROUP_ROOT */
};

static int cg_write(const struct cgroup *cg, const char *file, const char *s)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	return write_file(path, s);
}

static long cg_stat(const struct cgroup *cg, const char *key)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/memory.stat", cg->path);
	return stat_value(path, key);
}

static long cg_read_long(const struct cgroup *cg, const char *file)
{
	char path[512], buf[64];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = 0;
	return strtol(buf, NULL, 10);
}

static long cg_event(const struct cgroup *cg, const char *key)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/memory.events", cg->path);
	return stat_value(path, key);
}

static bool has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	bool found = false;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	for (tok = strtok_r(buf, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		if (!strcmp(tok, word))
			found = true;
	return found;
}

/*
 * A child cgroup of the cgroup2 root with the memory controller, or a
 * reason why there is none.
 */
static const char *cg_create(struct cgroup *cg, const char *name)
{
	memset(cg, 0, sizeof(*cg));
	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK)) {
		if (mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
			return "cannot mount cgroup2 at " CGROUP_ROOT;
		cg->mounted = true;
	}
	if (!has_word(CGROUP_ROOT "/cgroup.controllers", "memory"))
		return "no memory controller in cgroup2";
	if (!has_word(CGROUP_ROOT "/cgroup.subtree_control", "memory") &&
	    write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		return "cannot enable +memory in cgroup.subtree_control";
	snprintf(cg->path, sizeof(cg->path), CGROUP_ROOT "/vhv-%s-%d", name,
		 getpid());
	if (mkdir(cg->path, 0755) && errno != EEXIST)
		return "cannot create a cgroup";
	if (access(cg->path, F_OK) ||
	    cg_read_long(cg, "memory.current") < 0)
		return "the new cgroup has no memory.current";
	return NULL;
}

static void cg_destroy(struct cgroup *cg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	if (cg->path[0]) {
		/* A killed child leaves the cgroup a little after waitpid. */
		for (i = 0; i < 100 && rmdir(cg->path) && errno == EBUSY; i++)
			nanosleep(&ts, NULL);
	}
	if (cg->mounted)
		umount2(CGROUP_ROOT, MNT_DETACH);
}

/* The child's side: move into the cgroup. */
static void cg_enter(const struct cgroup *cg)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", getpid());
	if (cg_write(cg, "cgroup.procs", buf))
		_exit(100);
}

/*
 * Parent and child step through a test with a page of shared memory
 * (pipes allocate accounted memory, which a child at its memory.max may
 * not get).  Both sides spin on 'step'.
 */
struct shared {
	int step;		/* the parent's go, the child's done */
	int result;		/* OUT_* */
	int err;		/* errno of the call that failed */
	int call;		/* which call failed: CALL_* */
	long count;		/* VPs made */
	u64 exit_reason, suberror, last_gpa;
	long vmpin;		/* the child's VmPin after the run */
};

enum { OUT_NONE, OUT_ERRNO, OUT_EXIT, OUT_DONE, OUT_LIMIT };
enum { CALL_NONE, CALL_PART, CALL_VP, CALL_MMAP, CALL_RUN };

static const char *call_name(int call)
{
	static const char *const names[] = {
		"none", "VHV_CREATE_PARTITION", "VHV_CREATE_VP",
		"mmap of the run page", "VHV_RUN",
	};

	return call >= 0 && call < (int)ARRAY_SIZE(names) ? names[call] : "?";
}

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED)
		return NULL;
	memset(sh, 0, PAGE_SIZE);
	return sh;
}

static void wait_step(struct shared *sh, int step)
{
	struct timespec ts = { 0, 1000 * 1000 };

	while (__atomic_load_n(&sh->step, __ATOMIC_ACQUIRE) < step)
		nanosleep(&ts, NULL);
}

static void set_step(struct shared *sh, int step)
{
	__atomic_store_n(&sh->step, step, __ATOMIC_RELEASE);
}

/* The parent waits for the child to reach 'step', or to die. */
static bool parent_wait(struct shared *sh, pid_t pid, int step, int *status)
{
	struct timespec ts = { 0, 1000 * 1000 };

	while (__atomic_load_n(&sh->step, __ATOMIC_ACQUIRE) < step) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

static bool oom_tests_enabled(void)
{
	const char *s = getenv("VHV_RESOURCE_OOM");

	return s && !strcmp(s, "1");
}

static void set_oom_score_adj(int adj)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", adj);
	if (write_file("/proc/self/oom_score_adj", buf))
		_exit(101);
}

/*
 * Child: make 'nparts' partitions of 'nvps' VPs (run pages mapped if
 * 'map_run'), with raw ioctls; stops at the first failure, recorded in
 * 'sh'.  The fds are left open.
 */
static void make_vps(struct shared *sh, int dev, int nparts, int nvps,
		     bool map_run)
{
	int p, v, part, vp;
	void *run;

	for (p = 0; p < nparts; p++) {
		part = ioctl(dev, VHV_CREATE_PARTITION, 0);
		if (part < 0) {
			sh->result = OUT_ERRNO;
			sh->call = CALL_PART;
			sh->err = errno;
			return;
		}
		for (v = 0; v < nvps; v++) {
			vp = ioctl(part, VHV_CREATE_VP, v);
			if (vp < 0) {
				sh->result = OUT_ERRNO;
				sh->call = CALL_VP;
				sh->err = errno;
				return;
			}
			sh->count++;
			if (!map_run)
				continue;
			run = mmap(NULL, VHV_RUN_PAGE_SIZE,
				   PROT_READ | PROT_WRITE, MAP_SHARED, vp, 0);
			if (run == MAP_FAILED) {
				sh->result = OUT_ERRNO;
				sh->call = CALL_MMAP;
				sh->err = errno;
				return;
			}
		}
	}
	sh->result = OUT_DONE;
}

TEST_F_TIMEOUT(res, memcg_charged, 120)
{
	long cur0, cur1, kern0, kern1, slab0, slab1, min_kernel;
	struct cgroup cg;
	struct shared *sh;
	const char *why;
	int status = 0;
	pid_t pid;

	why = cg_create(&cg, "charged");
	if (why) {
		cg_destroy(&cg);
		SKIP(return, "%s", why);
	}
	sh = shared_new();
	ASSERT_NE(NULL, sh);

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int dev = open(VHV_DEV_PATH, O_RDWR | O_CLOEXEC);

		if (dev < 0)
			_exit(102);
		cg_enter(&cg);
		set_step(sh, 1);
		wait_step(sh, 2);
		make_vps(sh, dev, PARTS, VPS_PER_PART, true);
		set_step(sh, 3);
		wait_step(sh, 4);
		_exit(0);
	}
	ASSERT_TRUE(parent_wait(sh, pid, 1, &status))
		TH_LOG("child died early, status 0x%x", status);
	cur0 = cg_read_long(&cg, "memory.current");
	kern0 = cg_stat(&cg, "kernel");
	slab0 = cg_stat(&cg, "slab");
	set_step(sh, 2);
	ASSERT_TRUE(parent_wait(sh, pid, 3, &status))
		TH_LOG("child died, status 0x%x", status);
	cur1 = cg_read_long(&cg, "memory.current");
	kern1 = cg_stat(&cg, "kernel");
	slab1 = cg_stat(&cg, "slab");
	set_step(sh, 4);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status 0x%x", status);

	EXPECT_EQ(OUT_DONE, sh->result)
		TH_LOG("%s failed: %s after %ld VPs", call_name(sh->call),
		       strerror(sh->err), (long)sh->count);
	TH_LOG("%d partitions x %d VPs: memory.current %ld -> %ld (%+ld)",
	       PARTS, VPS_PER_PART, cur0, cur1, cur1 - cur0);
	TH_LOG("memory.stat kernel %ld -> %ld (%+ld), slab %ld -> %ld (%+ld)",
	       kern0, kern1, kern1 - kern0, slab0, slab1, slab1 - slab0);
	TH_LOG("per VP: memory.current %+ld, kernel %+ld bytes",
	       (cur1 - cur0) / (PARTS * VPS_PER_PART),
	       (kern1 - kern0) / (PARTS * VPS_PER_PART));
	min_kernel = (long)(PARTS * VPS_PER_PART * MEMCG_MIN_VP_PAGES +
			    PARTS * MEMCG_MIN_PART_PAGES) * (long)PAGE_SIZE;
	EXPECT_GE(cur1 - cur0, min_kernel);
	if (kern0 < 0)
		TH_LOG("memory.stat has no 'kernel' line");
	EXPECT_GE(kern1 - kern0, kern0 >= 0 ? min_kernel : 0);

	cg_destroy(&cg);
	munmap(sh, PAGE_SIZE);
}

/*
 * memcg_limit: a child at memory.max keeps creating partitions and VPs.
 * GFP_KERNEL_ACCOUNT allocations that exceed memory.max run the memcg
 * OOM killer (mm/memcontrol.c, try_charge_memcg()), so the child, the
 * only task in its cgroup, is expected to die of SIGKILL; a second child
 * that the OOM killer may not pick (oom_score_adj -1000) is expected to
 * get ENOMEM from the ioctl.  memory.events counts the kills, and
 * /proc/vmstat oom_kill shows that no task outside the cgroup was killed.
 * Seen on svm and vmx (Debian 6.1), with memory.max 256 KiB above the
 * usage: both, after 17-26 more VPs; the kernel logs an OOM report for
 * each child, the protected one's ending "no killable processes".
 */
static const char *limit_child(struct __test_metadata *_metadata,
			       bool protect)
{
	long cur, oom_kill0, oom_kill1, ev0, ev1;
	struct cgroup cg;
	struct shared *sh;
	const char *why;
	char buf[32];
	int status = 0;
	pid_t pid;

	why = cg_create(&cg, protect ? "limit-protected" : "limit");
	if (why) {
		cg_destroy(&cg);
		return why;
	}
	sh = shared_new();
	TEST_ASSERT(sh, "mmap failed");
	oom_kill0 = stat_value("/proc/vmstat", "oom_kill");

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int dev = open(VHV_DEV_PATH, O_RDWR | O_CLOEXEC);

		if (dev < 0)
			_exit(102);
		if (protect)
			set_oom_score_adj(-1000);
		cg_enter(&cg);
		make_vps(sh, dev, PARTS / 4, VPS_PER_PART, true);
		set_step(sh, 1);
		wait_step(sh, 2);
		/* Up to 64 partitions of 64 VPs: no run pages, no mmap. */
		sh->result = OUT_NONE;
		sh->count = 0;
		make_vps(sh, dev, 64, VHV_MAX_VPS, false);
		if (sh->result == OUT_DONE)
			sh->result = OUT_LIMIT;
		set_step(sh, 3);
		wait_step(sh, 4);
		_exit(0);
	}
	ASSERT_TRUE(parent_wait(sh, pid, 1, &status))
		TH_LOG("child died early, status 0x%x", status);
	EXPECT_EQ(OUT_DONE, sh->result);
	cur = cg_read_long(&cg, "memory.current");
	ev0 = cg_event(&cg, "oom_kill");
	snprintf(buf, sizeof(buf), "%ld", cur + (256L << 10));
	EXPECT_EQ(0, cg_write(&cg, "memory.max", buf));
	set_step(sh, 2);
	if (parent_wait(sh, pid, 3, &status)) {
		set_step(sh, 4);
		EXPECT_EQ(pid, waitpid(pid, &status, 0));
	}
	ev1 = cg_event(&cg, "oom_kill");
	oom_kill1 = stat_value("/proc/vmstat", "oom_kill");

	TH_LOG("%s child: memory.max %s; %ld more VPs; result %d, %s: %s",
	       protect ? "oom_score_adj -1000" : "default", buf,
	       (long)sh->count, sh->result, call_name(sh->call),
	       sh->result == OUT_ERRNO ? strerror(sh->err) : "-");
	TH_LOG("child status 0x%x (%s %d); cgroup oom_kill %ld -> %ld; system oom_kill %ld -> %ld",
	       status, WIFSIGNALED(status) ? "signal" : "exit",
	       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	       ev0, ev1, oom_kill0, oom_kill1);

	/* Nobody outside the cgroup was killed. */
	EXPECT_EQ(oom_kill1 - oom_kill0, ev1 - ev0);
	if (protect) {
		/* The ioctl fails cleanly; the child lives on. */
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		EXPECT_EQ(OUT_ERRNO, sh->result);
		EXPECT_EQ(ENOMEM, sh->err);
		EXPECT_EQ(0, ev1 - ev0);
	} else {
		/* The memcg OOM killer takes the child. */
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		EXPECT_EQ(1, ev1 - ev0);
	}
	cg_destroy(&cg);
	munmap(sh, PAGE_SIZE);
	return NULL;
}

TEST_F_TIMEOUT(res, memcg_limit, 300)
{
	const char *why;

	if (!oom_tests_enabled())
		SKIP(return, "runs the memcg OOM killer: set VHV_RESOURCE_OOM=1");
	why = limit_child(_metadata, false);
	if (why)
		SKIP(return, "%s", why);
	limit_child(_metadata, true);
}

/* -------------------------------------------------------------------
 * Overcommit: guest RAM of 4 GiB, MAP_NORESERVE, on a host with less.
 */
/* -------------------------------------------------------------------
 * memlock_limit: pinned guest memory counts against RLIMIT_MEMLOCK (in
 * VmPin) for a VMM without CAP_IPC_LOCK.  Past the limit the guest's
 * access ends the run with an internal error (memory); closing the
 * partition unpins everything.
 */
#define MEMLOCK_LIMIT		(2UL << 20)
#define MEMLOCK_TOUCH		(8UL << 20)

/* Returns 0, or the step that failed. */
static int memlock_child(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	struct rlimit rl = { MEMLOCK_LIMIT, MEMLOCK_LIMIT };
	struct vhv_partition *part;
	struct vhv_vp *vp;
	struct ucall uc;
	long pin;

	if (syscall(SYS_capget, &h, d))
		return 1;
	d[0].effective &= ~(1U << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &h, d) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return 2;
	part = part_create(VHV_DEFAULT_RAM);
	vp = vp_add(part, 0, GUEST_CODE(guest_touch));
	vp_args_set(vp, 3, (u64)GUEST_SCRATCH_GPA,
		    (u64)GUEST_SCRATCH_GPA + MEMLOCK_TOUCH, 1ULL << 40);
	if (__vp_run(vp) || get_ucall(vp, &uc) != UCALL_NONE)
		return 3;
	if (vp->run->exit_reason != VHV_EXIT_INTERNAL_ERROR ||
	    vp->run->internal.suberror != VHV_INTERNAL_MEMORY)
		return 4;
	pin = proc_kb("/proc/self/status", "VmPin");
	if (pin <= 0 || pin > (long)MEMLOCK_LIMIT)
		return 5;
	part_free(part);
	if (proc_kb("/proc/self/status", "VmPin") != 0)
		return 6;
	return 0;
}

TEST(memlock_limit)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(memlock_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(overcommit_map)
{
	struct vhv_partition *part = part_create_empty();
	void *ram;

	ram = mmap(NULL, OVER_RAM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, ram);
	/* Nothing is touched or pinned at map time: it succeeds. */
	EXPECT_EQ(0, __part_map(part, 0, OVER_RAM, ram,
				VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC));
	EXPECT_EQ(0, __part_map(part, OVER_RAM, OVER_RAM, ram,
				VHV_MAP_READ | VHV_MAP_WRITE));
	part_free(part);
	munmap(ram, OVER_RAM);
}

/*
 * Child: a partition with 4 GiB of RAM whose guest writes every page of
 * [GUEST_SCRATCH_GPA, end).  Records how it ended in 'sh'.
 */
static void touch_child(struct shared *sh, u64 end)
{
	struct vhv_partition *part = part_create(OVER_RAM);
	struct vhv_vp *vp = vp_add(part, 0, GUEST_CODE(guest_touch));
	struct ucall uc;

	vp_args_set(vp, 3, (u64)GUEST_SCRATCH_GPA, end, OVER_SYNC_EVERY);
	set_step(sh, 1);
	wait_step(sh, 2);
	for (;;) {
		if (__vp_run(vp)) {
			sh->result = OUT_ERRNO;
			sh->call = CALL_RUN;
			sh->err = errno;
			break;
		}
		switch (get_ucall(vp, &uc)) {
		case UCALL_SYNC:
			sh->last_gpa = uc.args[0];
			continue;
		case UCALL_DONE:
			sh->result = OUT_DONE;
			break;
		default:
			sh->result = OUT_EXIT;
			sh->exit_reason = vp->run->exit_reason;
			if (vp->run->exit_reason == VHV_EXIT_INTERNAL_ERROR)
				sh->suberror = vp->run->internal.suberror;
			break;
		}
		break;
	}
	sh->vmpin = proc_kb("/proc/self/status", "VmPin");
	set_step(sh, 3);
	wait_step(sh, 4);
	part_free(part);
	_exit(0);
}

/* Fork a toucher in its own memory cgroup; report how it ended. */
static const char *overcommit_child(struct __test_metadata *_metadata,
				    u64 end, bool protect, int *status,
				    struct shared *sh, long *cur, long *events)
{
	long pins0, pins1, oom0, oom1;
	struct cgroup cg;
	const char *why;
	char buf[32];
	pid_t pid;

	*status = 0;
	cur[0] = -1;
	cur[1] = -1;
	why = cg_create(&cg, protect ? "over-protected" : "over");
	if (why) {
		cg_destroy(&cg);
		return why;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)OVER_MEMCG_MAX);
	EXPECT_EQ(0, cg_write(&cg, "memory.max", buf));
	pins0 = pinned_pages();
	oom0 = stat_value("/proc/vmstat", "oom_kill");

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork failed");
	if (!pid) {
		if (protect)
			set_oom_score_adj(-1000);
		cg_enter(&cg);
		touch_child(sh, end);
	}
	if (parent_wait(sh, pid, 1, status)) {
		cur[0] = cg_read_long(&cg, "memory.current");
		set_step(sh, 2);
		if (parent_wait(sh, pid, 3, status)) {
			cur[1] = cg_read_long(&cg, "memory.current");
			set_step(sh, 4);
			EXPECT_EQ(pid, waitpid(pid, status, 0));
		}
	}
	events[0] = cg_event(&cg, "oom");
	events[1] = cg_event(&cg, "oom_kill");
	events[2] = cg_event(&cg, "max");
	oom1 = stat_value("/proc/vmstat", "oom_kill");
	pins1 = pinned_pages();

	TH_LOG("%s child, memory.max %llu MiB, guest writes up to GPA 0x%llx:",
	       protect ? "oom_score_adj -1000" : "default",
	       OVER_MEMCG_MAX >> 20, (unsigned long long)end);
	TH_LOG("  status 0x%x (%s %d); last SYNC at GPA 0x%llx; result %d",
	       *status, WIFSIGNALED(*status) ? "signal" : "exit",
	       WIFSIGNALED(*status) ? WTERMSIG(*status) : WEXITSTATUS(*status),
	       (unsigned long long)sh->last_gpa, sh->result);
	if (sh->result == OUT_ERRNO)
		TH_LOG("  VHV_RUN failed: %s", strerror(sh->err));
	if (sh->result == OUT_EXIT)
		TH_LOG("  exit %s, suberror %llu",
		       exit_reason_str(sh->exit_reason),
		       (unsigned long long)sh->suberror);
	TH_LOG("  memory.current %ld before the run, %ld after; VmPin %ld",
	       cur[0], cur[1], (long)sh->vmpin);
	TH_LOG("  memory.events oom %ld oom_kill %ld max %ld; system oom_kill %+ld",
	       events[0], events[1], events[2], oom1 - oom0);
	TH_LOG("  pinned pages in the system: %ld before, %ld after",
	       pins0, pins1);

	/* Nobody outside the cgroup was killed, every pin went back. */
	EXPECT_EQ(oom1 - oom0, events[1]);
	EXPECT_EQ(pins0, pins1);
	cg_destroy(&cg);
	return NULL;
}

/*
 * Within memory.max: the guest's pages are the VMM's and are charged to
 * the VMM's cgroup as it touches them.
 */
TEST_F_TIMEOUT(res, overcommit_charged, 300)
{
	long cur[2], events[3];
	struct shared *sh = shared_new();
	const char *why;
	int status;

	ASSERT_NE(NULL, sh);
	why = overcommit_child(_metadata, GUEST_SCRATCH_GPA + OVER_TOUCH,
			       false, &status, sh, cur, events);
	if (why)
		SKIP(return, "%s", why);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(OUT_DONE, sh->result);
	EXPECT_EQ(0, events[1]);
	EXPECT_GE(cur[1] - cur[0], (long)OVER_TOUCH);
	munmap(sh, PAGE_SIZE);
}

/*
 * Beyond memory.max: the guest writes every page of its 4 GiB.  Pinning
 * a page faults it in and charges it to the cgroup; past memory.max the
 * memcg OOM killer runs.  Expected: the default child is killed
 * (SIGKILL, one oom_kill in the cgroup); a child the OOM killer may not
 * pick gets VHV_EXIT_INTERNAL_ERROR with VHV_INTERNAL_MEMORY, the pin
 * having failed.  Either way nothing outside the cgroup is killed and
 * every pin is released.  Seen on svm and vmx (Debian 6.1): both, the
 * guest having written 52-60 MiB of its 4 GiB.
 */
TEST_F_TIMEOUT(res, overcommit_oom, 600)
{
	long cur[2], events[3];
	struct shared *sh;
	const char *why;
	int status;

	if (!oom_tests_enabled())
		SKIP(return, "runs the memcg OOM killer: set VHV_RESOURCE_OOM=1");
	sh = shared_new();
	ASSERT_NE(NULL, sh);
	why = overcommit_child(_metadata, OVER_RAM, false, &status, sh, cur,
			       events);
	if (why)
		SKIP(return, "%s", why);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_EQ(1, events[1]);

	memset(sh, 0, PAGE_SIZE);
	overcommit_child(_metadata, OVER_RAM, true, &status, sh, cur, events);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(OUT_EXIT, sh->result);
	EXPECT_EQ(VHV_EXIT_INTERNAL_ERROR, (int)sh->exit_reason);
	EXPECT_EQ(VHV_INTERNAL_MEMORY, (int)sh->suberror);
	EXPECT_EQ(0, events[1]);
	munmap(sh, PAGE_SIZE);
}

TEST_HARNESS_MAIN
