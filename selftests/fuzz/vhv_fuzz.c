// SPDX-License-Identifier: GPL-2.0
/*
 * vhv_fuzz: a seeded, bounded, random-sequence fuzzer of the whole
 * /dev/vhv surface (issue 5, item 2).
 *
 *	vhv_fuzz [-s SEED] [-n OPS] [-t SECONDS] [-j THREADS] [-v]
 *
 * With no argument it runs for VHV_FUZZ_SECONDS (environment) or 4
 * seconds, or 1000000 operations, whichever comes first, with 3 threads
 * and a seed taken from the clock.  -n alone runs OPS operations with no
 * time limit.  It prints its seed first ("# fuzz: seed 0x..."), then one
 * seed per thread derived from it, and ends with a summary and a TAP
 * result ("1..1", "ok 1 fuzz").  -j 1 replays a seed exactly (up to the
 * timing of signals and the guests); with more threads the interleaving
 * differs from run to run.
 *
 * Each thread picks weighted random operations on a shared table of
 * partitions and VPs: every ioctl on every fd type (also unknown numbers
 * and ioctls of another fd type), with arguments weighted to edge cases
 * (0, 1, -1, huge, unaligned, page-crossing, overlapping GPA ranges, bad
 * user pointers, reserved bits, the VHV_MAX_* limits and one past them,
 * every VHV_CAP_*); guest memory from anonymous, memfd, read-only
 * memory and run pages, replaced or unmapped behind the kernel's back;
 * mmap, mremap and munmap of run pages; close and dup of fds while other
 * threads are in VHV_RUN; fork() children that must get EPERM; and
 * guests that run random instruction bytes (with a dictionary of
 * privileged, I/O, MSR, APIC and VMX/SVM instructions) in real,
 * protected or long mode or a random state.  Every VHV_RUN is bounded
 * by a periodic per-thread timer signal (a no-op handler without
 * SA_RESTART) or immediate_exit.
 *
 * The fuzzer passes when the host survives: the lanes check the
 * kernel log.  It fails (exit status 1, "not ok") only on a certain
 * violation of Documentation/api.rst (a call that must fail succeeded,
 * an errno that cannot be, a wrong capability, EPERM missing for another
 * process, a fresh partition that no longer runs a trivial guest) or a
 * thread stuck in the kernel; each is printed with "# fuzz: VIOLATION".
 * Errnos outside the documented set of a call that is not clearly
 * invalid are printed as "# fuzz: note" and do not fail it.
 *
 * Memory hygiene: guest RAM only ever comes from an arena placed far
 * from every other mapping, bordered by PROT_NONE guards, so that
 * neither a guest nor the kernel writing through a stale uaddr can
 * reach the fuzzer's own memory; every host access to guest memory or
 * to a run page goes through a SIGSEGV/SIGBUS guard.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/vhv.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define PAGE			4096UL

#define DEFAULT_SECONDS		4
#define DEFAULT_OPS		1000000ULL
#define DEFAULT_THREADS		3
#define MAX_THREADS		16

#define MAX_PARTS		6
#define MAX_VPS_T		24
#define MAX_MAPS_T		32
#define MAX_EXTRAS		16

/* Guest RAM arena: a guard slot, NSLOTS slots, a guard slot. */
#define NSLOTS			16
#define SLOT_SIZE		(256UL * 1024)
#define ARENA_HINT		0x100000000000UL
#define SCRATCH_SIZE		(4 * PAGE)

#define RFLAGS_VALID		0x3f7fd7ULL

/* ---------------------------------------------------------------------
 * Random numbers: splitmix64, one generator per thread.
 */
struct rng {
	u64 s;
};

static u64 splitmix(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rnd64(struct rng *r)
{
	return splitmix(&r->s);
}

static u32 rnd(struct rng *r, u32 n)
{
	return n ? (u32)(rnd64(r) % n) : 0;
}

static bool chance(struct rng *r, u32 pct)
{
	return rnd(r, 100) < pct;
}

static const u64 edge64[] = {
	0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0xffff,
	0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffULL, 0x800000000000ULL, 0xffff800000000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~0ULL - 0xfff,
	VHV_MAX_GPA, VHV_MAX_GPA - PAGE, VHV_MAX_GPA + PAGE, 0xfee00000,
	0xfee00900, 0xfee00d00, 0xfec00000, 0xfffff000, 0xffff0000, 0xfffffff0,
	0xa0000, 0x100000, 0xffffffff81000000ULL,
};

static u64 rnd_val(struct rng *r)
{
	switch (rnd(r, 10)) {
	case 0: case 1: case 2: case 3:
		return edge64[rnd(r, ARRAY_SIZE(edge64))];
	case 4: case 5:
		return rnd(r, 256);
	case 6:
		return (u32)rnd64(r);
	case 7:
		return edge64[rnd(r, ARRAY_SIZE(edge64))] + rnd(r, 16) - 8;
	case 8:
		return 1ULL << rnd(r, 64);
	default:
		return rnd64(r);
	}
}

static void rnd_bytes(struct rng *r, void *buf, size_t n)
{
	u8 *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)rnd64(r);
}

/* ---------------------------------------------------------------------
 * Threads, output and counters.
 */
struct thr {
	int id;
	u64 seed;
	struct rng rng;
	pthread_t th;
	timer_t timer;
	bool have_timer;
	u8 *scratch;		/* SCRATCH_SIZE bytes, then a PROT_NONE guard */
	u8 *ro;			/* a read-only page of random bytes */
	const char *op;		/* these three: __atomic accesses */
	u64 op_start;
	bool done;
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int stop;		/* __atomic accesses */
static u64 max_ops = DEFAULT_OPS;
static u64 nr_ops, nr_ioctls, nr_violations, nr_notes, nr_checks;
static u64 nr_runs, nr_eintr, nr_forks, nr_faults;
static u64 exits[VHV_EXIT_EOI + 2];
static const char * const exit_names[] = {
	"none", "io", "mmio", "hlt", "shutdown", "fail_entry", "internal",
	"intr", "eoi", "other",
};

static bool verbose, trace;
static int sysfd = -1;
static int backend;

#define INC(x)		__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)
#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

#define violation(t, fmt, ...)						\
	do {								\
		INC(nr_violations);					\
		say("# fuzz: VIOLATION (thread %d seed 0x%llx): " fmt "\n", \
		    (t)->id, (unsigned long long)(t)->seed, ##__VA_ARGS__); \
	} while (0)

#define note(t, fmt, ...)						\
	do {								\
		if (INC(nr_notes) < 20)					\
			say("# fuzz: note (thread %d): " fmt "\n",	\
			    (t)->id, ##__VA_ARGS__);			\
	} while (0)

/* ---------------------------------------------------------------------
 * The ioctls, their fd types and documented errnos (besides EPERM,
 * ENOTTY).  cov_issued/cov_ok count calls and successes.
 */
enum { FD_SYS, FD_PART, FD_VP, NR_FD_TYPES };

static const char * const fd_names[] = { "system", "partition", "VP" };

struct cmd_info {
	unsigned long cmd;
	const char *name;
	int fdtype;
	int errs[6];
};

static const struct cmd_info cmds[] = {
	{ VHV_GET_API_VERSION, "GET_API_VERSION", FD_SYS, { EINVAL } },
	{ VHV_CHECK_CAP, "CHECK_CAP", FD_SYS, { 0 } },
	{ VHV_CREATE_PARTITION, "CREATE_PARTITION", FD_SYS,
	  { EINVAL, EBUSY, ENOMEM, EMFILE, ENFILE } },
	{ VHV_GET_RUN_PAGE_SIZE, "GET_RUN_PAGE_SIZE", FD_SYS, { EINVAL } },
	{ VHV_MAP_GPA, "MAP_GPA", FD_PART,
	  { EFAULT, EINVAL, EEXIST, ENOSPC, ENOMEM } },
	{ VHV_UNMAP_GPA, "UNMAP_GPA", FD_PART,
	  { EFAULT, EINVAL, ENOENT, ENOMEM } },
	{ VHV_CREATE_VP, "CREATE_VP", FD_PART,
	  { EINVAL, EEXIST, ENOMEM, ENOSPC, EMFILE, ENFILE } },
	{ VHV_REQUEST_INTERRUPT, "REQUEST_INTERRUPT", FD_PART,
	  { EFAULT, EINVAL } },
	{ VHV_SET_EOI_EXITS, "SET_EOI_EXITS", FD_PART, { EFAULT } },
	{ VHV_RUN, "RUN", FD_VP, { EINTR, EINVAL } },
	{ VHV_GET_REGS, "GET_REGS", FD_VP, { EFAULT } },
	{ VHV_SET_REGS, "SET_REGS", FD_VP, { EFAULT, EINVAL } },
	{ VHV_GET_SREGS, "GET_SREGS", FD_VP, { EFAULT } },
	{ VHV_SET_SREGS, "SET_SREGS", FD_VP, { EFAULT, EINVAL } },
	{ VHV_GET_MSRS, "GET_MSRS", FD_VP, { EFAULT, EINVAL, E2BIG, ENOMEM } },
	{ VHV_SET_MSRS, "SET_MSRS", FD_VP, { EFAULT, EINVAL, E2BIG, ENOMEM } },
	{ VHV_SET_CPUID, "SET_CPUID", FD_VP, { EFAULT, EINVAL, E2BIG, ENOMEM } },
	{ VHV_GET_LAPIC, "GET_LAPIC", FD_VP, { EFAULT, ENOMEM } },
	{ VHV_SET_LAPIC, "SET_LAPIC", FD_VP, { EFAULT, ENOMEM, EINVAL } },
	{ VHV_GET_MP_STATE, "GET_MP_STATE", FD_VP, { EFAULT } },
	{ VHV_SET_MP_STATE, "SET_MP_STATE", FD_VP, { EFAULT, EINVAL } },
};

enum {
	C_GET_API_VERSION, C_CHECK_CAP, C_CREATE_PARTITION,
	C_GET_RUN_PAGE_SIZE, C_MAP_GPA, C_UNMAP_GPA, C_CREATE_VP,
	C_REQUEST_INTERRUPT, C_SET_EOI_EXITS, C_RUN, C_GET_REGS, C_SET_REGS,
	C_GET_SREGS, C_SET_SREGS, C_GET_MSRS, C_SET_MSRS, C_SET_CPUID,
	C_GET_LAPIC, C_SET_LAPIC, C_GET_MP_STATE, C_SET_MP_STATE, NCMDS
};

static u64 cov_issued[NCMDS], cov_ok[NCMDS];

static bool errno_documented(const struct cmd_info *c, int e)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->errs) && c->errs[i]; i++)
		if (c->errs[i] == e)
			return true;
	return false;
}

/*
 * Issue known command ci on fd, of type fdtype.  On another fd type the
 * result must be ENOTTY; otherwise an errno outside the documented set
 * is a note.  Returns the ioctl's result, errno preserved.
 */
static long do_ioctl(struct thr *t, int fd, int fdtype, int ci,
		     unsigned long arg)
{
	const struct cmd_info *c = &cmds[ci];
	long r;
	int e;

	INC(nr_ioctls);
	INC(cov_issued[ci]);
	r = ioctl(fd, c->cmd, arg);
	e = errno;
	if (r >= 0) {
		INC(cov_ok[ci]);
		if (fdtype != c->fdtype)
			violation(t, "%s on a %s fd succeeded (%ld)", c->name,
				  fd_names[fdtype], r);
	} else if (fdtype != c->fdtype) {
		INC(nr_checks);
		if (e != ENOTTY)
			violation(t, "%s on a %s fd: errno %d (%s), not ENOTTY",
				  c->name, fd_names[fdtype], e, strerror(e));
	} else if (!errno_documented(c, e)) {
		note(t, "%s: undocumented errno %d (%s) (arg 0x%lx)", c->name,
		     e, strerror(e), arg);
	}
	errno = e;
	return r;
}

/* A certain check: the call must have failed with errno want. */
static void expect_err(struct thr *t, long r, int want, const char *what)
{
	int e = errno;

	INC(nr_checks);
	if (r >= 0)
		violation(t, "%s succeeded (%ld), expected %s", what, r,
			  strerror(want));
	else if (e != want)
		violation(t, "%s: errno %d (%s), expected %s", what, e,
			  strerror(e), strerror(want));
}

/* ---------------------------------------------------------------------
 * Faults: host accesses to guest memory and run pages are guarded.
 */
static __thread sigjmp_buf fault_jmp;
static __thread int fault_armed;	/* __atomic: seen by the handler */

static void fault_handler(int sig)
{
	if (__atomic_load_n(&fault_armed, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&fault_armed, 0, __ATOMIC_SEQ_CST);
		siglongjmp(fault_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool guarded_copy(void *dst, const void *src, size_t n)
{
	if (sigsetjmp(fault_jmp, 1)) {
		INC(nr_faults);
		return false;
	}
	__atomic_store_n(&fault_armed, 1, __ATOMIC_SEQ_CST);
	memcpy(dst, src, n);
	__atomic_store_n(&fault_armed, 0, __ATOMIC_SEQ_CST);
	return true;
}

static void noop_handler(int sig __attribute__((unused)))
{
}

/* ---------------------------------------------------------------------
 * Guest memory: slots of the arena, re-mapped at random behind the
 * kernel's back.  The memfd backs the file slots.
 */
enum {
	SLOT_ANON, SLOT_RO, SLOT_MEMFD, SLOT_MEMFD_PRIV, SLOT_MEMFD_RO,
	SLOT_NONE, SLOT_HOLE, SLOT_RUNPAGE, SLOT_LOST, NR_SLOT_KINDS
};

static u8 *arena;
static int slot_kind[NSLOTS];
static int memfd = -1;

static u8 *slot_addr(unsigned int i)
{
	return arena + (i + 1) * SLOT_SIZE;
}

/* Called with lock held. */
static void slot_set(struct thr *t, unsigned int i, int kind, int runfd)
{
	u8 *a = slot_addr(i);
	int fl = MAP_FIXED;
	void *m;

	if (slot_kind[i] == SLOT_LOST)
		return;
	if (slot_kind[i] == SLOT_HOLE)
		fl = MAP_FIXED_NOREPLACE;
	switch (kind) {
	case SLOT_ANON:
	case SLOT_RO:
		m = mmap(a, SLOT_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | fl, -1, 0);
		if (m == a) {
			rnd_bytes(&t->rng, a, PAGE);
			if (kind == SLOT_RO)
				mprotect(a, SLOT_SIZE, PROT_READ);
		}
		break;
	case SLOT_MEMFD:
	case SLOT_MEMFD_PRIV:
	case SLOT_MEMFD_RO:
		m = mmap(a, SLOT_SIZE, kind == SLOT_MEMFD_RO ? PROT_READ :
			 PROT_READ | PROT_WRITE,
			 (kind == SLOT_MEMFD_PRIV ? MAP_PRIVATE : MAP_SHARED) |
			 fl, memfd, i * SLOT_SIZE);
		break;
	case SLOT_RUNPAGE:
		/* A run page in the middle of the slot, the rest reserved. */
		m = mmap(a, SLOT_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fl, -1, 0);
		if (m == a && runfd >= 0 &&
		    mmap(a + PAGE, PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, runfd, 0) == MAP_FAILED)
			kind = SLOT_NONE;
		break;
	case SLOT_HOLE:
		m = munmap(a, SLOT_SIZE) ? MAP_FAILED : a;
		break;
	default:
		kind = SLOT_NONE;
		m = mmap(a, SLOT_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | fl, -1, 0);
		break;
	}
	if (m == a) {
		slot_kind[i] = kind;
	} else if (fl == MAP_FIXED_NOREPLACE) {
		/* Something of ours landed in the hole: leave it alone. */
		if (m != MAP_FAILED)
			munmap(m, SLOT_SIZE);
		slot_kind[i] = SLOT_LOST;
	}
}

static bool arena_setup(struct rng *r)
{
	size_t size = (NSLOTS + 2) * SLOT_SIZE;
	struct thr t0 = { .rng = *r };
	unsigned int i;

	arena = mmap((void *)ARENA_HINT, size, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		     MAP_FIXED_NOREPLACE, -1, 0);
	if (arena == MAP_FAILED)
		arena = mmap(NULL, size, PROT_NONE, MAP_PRIVATE |
			     MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		return false;
	memfd = memfd_create("vhv_fuzz", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, NSLOTS * SLOT_SIZE))
		return false;
	for (i = 0; i < NSLOTS; i++) {
		slot_kind[i] = SLOT_NONE;
		slot_set(&t0, i, i < 10 ? SLOT_ANON : i < 13 ? SLOT_MEMFD :
			 i == 13 ? SLOT_RO : SLOT_NONE, -1);
	}
	*r = t0.rng;
	return true;
}

static bool in_arena(u64 a)
{
	return a >= (u64)arena && a < (u64)arena + (NSLOTS + 2) * SLOT_SIZE;
}

/* ---------------------------------------------------------------------
 * The object table.  An entry holds one fd; users dup it for each
 * operation and hold a reference, so removal (closing the table's fd)
 * can happen while other threads are in an ioctl on their own dup.
 */
struct mapping {
	u64 gpa, size, uaddr;
	u32 flags;
};

struct part {
	int fd;
	int refs;
	bool x2apic;
	int nmaps;
	struct mapping maps[MAX_MAPS_T];
};

struct vp {
	int fd;
	int refs;
	struct part *part;
	u32 index;
	struct vhv_run *run;	/* our own run-page mapping, or NULL */
	bool setup;		/* the fuzzer has given it a guest */
};

static struct part *parts[MAX_PARTS];
static struct vp *vps[MAX_VPS_T];
static void *extras[MAX_EXTRAS];	/* other run-page mappings */
static size_t extras_len[MAX_EXTRAS];

static void part_put(struct part *p)
{
	bool last;

	pthread_mutex_lock(&lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&lock);
	if (!last)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static void vp_put(struct vp *v)
{
	bool last;

	pthread_mutex_lock(&lock);
	last = --v->refs == 0;
	pthread_mutex_unlock(&lock);
	if (!last)
		return;
	if (v->run)
		munmap(v->run, VHV_RUN_PAGE_SIZE);
	if (v->fd >= 0)
		close(v->fd);
	part_put(v->part);
	free(v);
}

/* A random live partition with a reference and a private dup of its fd. */
static struct part *part_get(struct thr *t, int *fd)
{
	struct part *p = NULL;
	unsigned int i, start = rnd(&t->rng, MAX_PARTS);

	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_PARTS && !p; i++)
		p = parts[(start + i) % MAX_PARTS];
	if (p) {
		p->refs++;
		*fd = p->fd >= 0 ? fcntl(p->fd, F_DUPFD_CLOEXEC, 3) : -1;
	}
	pthread_mutex_unlock(&lock);
	if (p && *fd < 0) {
		part_put(p);
		p = NULL;
	}
	return p;
}

static struct vp *vp_get(struct thr *t, int *fd)
{
	struct vp *v = NULL;
	unsigned int i, start = rnd(&t->rng, MAX_VPS_T);

	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_VPS_T && !v; i++)
		v = vps[(start + i) % MAX_VPS_T];
	if (v) {
		v->refs++;
		*fd = v->fd >= 0 ? fcntl(v->fd, F_DUPFD_CLOEXEC, 3) : -1;
	}
	pthread_mutex_unlock(&lock);
	if (v && *fd < 0) {
		vp_put(v);
		v = NULL;
	}
	return v;
}

static int count_parts(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_PARTS; i++)
		n += !!parts[i];
	return n;
}

static int count_vps(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_VPS_T; i++)
		n += !!vps[i];
	return n;
}

/* ---------------------------------------------------------------------
 * Arguments: where a structure goes.  Good memory, unaligned,
 * page-crossing into a guard page, read-only, run page, or invalid.
 */
enum {
	P_GOOD, P_UNALIGNED, P_CROSS, P_NULL, P_KERNEL, P_NONCANON, P_GUARD,
	P_RO, P_LOW, NR_PKINDS
};

static int rnd_pkind(struct thr *t)
{
	if (chance(&t->rng, 85))
		return chance(&t->rng, 90) ? P_GOOD : P_UNALIGNED;
	return rnd(&t->rng, NR_PKINDS);
}

static bool pkind_bad(int k)
{
	return k >= P_NULL && k != P_RO;
}

/* Put len bytes of buf where kind says; returns the pointer to pass. */
static void *place(struct thr *t, int kind, const void *buf, size_t len)
{
	static const u64 kaddr[] = {
		0xffffffff81000000ULL, 0xffff888000000000ULL,
		0xfffffe0000000000ULL, ~0ULL - 7,
	};
	u8 *p;

	if (len > SCRATCH_SIZE - 8)
		len = SCRATCH_SIZE - 8;
	switch (kind) {
	case P_GOOD:
		p = t->scratch;
		break;
	case P_UNALIGNED:
		p = t->scratch + 1 + rnd(&t->rng, 7);
		break;
	case P_CROSS:
		p = t->scratch + SCRATCH_SIZE - (len ? rnd(&t->rng, len) : 0);
		memcpy(p, buf, t->scratch + SCRATCH_SIZE - p);
		return p;
	case P_NULL:
		return NULL;
	case P_KERNEL:
		return (void *)kaddr[rnd(&t->rng, ARRAY_SIZE(kaddr))];
	case P_NONCANON:
		return (void *)(chance(&t->rng, 50) ? 0x800000000000ULL :
				0x8000000000000000ULL);
	case P_GUARD:
		return t->scratch + SCRATCH_SIZE + rnd(&t->rng, 64);
	case P_RO:
		return t->ro + rnd(&t->rng, 64);
	default:
		return (void *)(u64)(1 + rnd(&t->rng, 0xfff));
	}
	memcpy(p, buf, len);
	return p;
}

/* ---------------------------------------------------------------------
 * Guest code: random bytes mixed with a dictionary of instructions.
 */
static const u32 msr_list[] = {
	0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0x174, 0x175, 0x176, 0x1a0, 0x1d9,
	0x277, 0x480, 0x6e0, 0x800, 0x802, 0x803, 0x808, 0x80a, 0x80b, 0x80d,
	0x80f, 0x810, 0x820, 0x828, 0x830, 0x831, 0x832, 0x838, 0x839, 0x83e,
	0x83f, 0x8ff, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083,
	0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
	0xc0010114, 0xc0010117, 0x40000000, 0xffffffff,
};

static u32 rnd_msr(struct rng *r)
{
	switch (rnd(r, 4)) {
	case 0:
		return 0x800 + rnd(r, 256);
	case 1:
		return (u32)rnd_val(r);
	default:
		return msr_list[rnd(r, ARRAY_SIZE(msr_list))];
	}
}

static u64 rnd_msr_data(struct rng *r, u32 msr)
{
	static const u64 apicbase[] = {
		0xfee00900, 0xfee00d00, 0xfee00800, 0xfee00c00, 0xfee00400,
		0xfee00100, 0, 0xfee00000, 0xfee00a00, 0x100000d00,
		0xfffff000ULL | 0x900, 0xfee00901,
	};

	if (msr == 0x1b && chance(r, 70))
		return apicbase[rnd(r, ARRAY_SIZE(apicbase))];
	if (msr == 0x6e0 && chance(r, 50))
		return chance(r, 50) ? rnd(r, 1 << 20) : ~0ULL >> rnd(r, 8);
	return rnd_val(r);
}

static u32 rnd_icr(struct rng *r)
{
	static const u32 icr[] = {
		0x000c4500, 0x000c4600, 0x00004500, 0x00004600, 0x00004400,
		0x00040000, 0x00080000, 0x000c0000, 0x0000c500, 0x00008000,
		0x00004100, 0x00000800, 0x00004200, 0x00004700, 0x00044400,
	};

	return icr[rnd(r, ARRAY_SIZE(icr))] | rnd(r, 256);
}

static u32 rnd_guest_addr(struct rng *r)
{
	static const u16 apic_regs[] = {
		0x20, 0x80, 0xb0, 0xd0, 0xe0, 0xf0, 0x280, 0x300, 0x310, 0x320,
		0x350, 0x370, 0x380, 0x390, 0x3e0, 0x3f0, 0x100, 0x200, 0xffc,
	};

	switch (rnd(r, 6)) {
	case 0: case 1:
		return 0xfee00000 + apic_regs[rnd(r, ARRAY_SIZE(apic_regs))];
	case 2:
		return 0xfec00000 + rnd(r, 0x40);
	case 3:
		return 0xd0000000 + rnd(r, 0x2000);
	case 4:
		return rnd(r, 0x200000);
	default:
		return (u32)rnd_val(r);
	}
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

/* Emit one item at p (at most 32 bytes); returns its length. */
static size_t emit(struct rng *r, u8 *p)
{
	static const u8 special[][4] = {
		{ 0x0f, 0x01, 0xc1 }, { 0x0f, 0x01, 0xd9 }, { 0x0f, 0x01, 0xd8 },
		{ 0x0f, 0x01, 0xda }, { 0x0f, 0x01, 0xdb }, { 0x0f, 0x01, 0xdc },
		{ 0x0f, 0x01, 0xdd }, { 0x0f, 0x01, 0xde }, { 0x0f, 0x01, 0xdf },
		{ 0x0f, 0x01, 0xc2 }, { 0x0f, 0x01, 0xc3 }, { 0x0f, 0x01, 0xc4 },
		{ 0xf3, 0x0f, 0xc7, 0x30 }, { 0x0f, 0xc7, 0x30 },
		{ 0x66, 0x0f, 0xc7, 0x30 }, { 0x0f, 0x78, 0xc0 },
		{ 0x0f, 0x79, 0xc0 }, { 0x66, 0x0f, 0x38, 0x80 },
		{ 0x0f, 0x01, 0xd1 }, { 0x0f, 0x01, 0xd0 }, { 0x0f, 0x01, 0xc8 },
		{ 0x0f, 0x01, 0xc9 }, { 0x0f, 0x08 }, { 0x0f, 0x09 },
		{ 0x0f, 0xaa }, { 0x0f, 0x0b }, { 0xcc }, { 0xf1 }, { 0xcf },
		{ 0x48, 0xcf }, { 0x0f, 0x05 }, { 0x0f, 0x07 }, { 0x0f, 0x34 },
		{ 0x0f, 0x35 }, { 0xf4 }, { 0xfa, 0xf4 }, { 0xfb, 0xf4 },
		{ 0xfb, 0xeb, 0xfe }, { 0xeb, 0xfe }, { 0x0f, 0xa2 },
		{ 0x0f, 0x31 }, { 0x0f, 0x01, 0xf9 }, { 0x0f, 0x33 },
		{ 0x31, 0xc9, 0xf7, 0xf1 }, { 0x8e, 0xd0 }, { 0x17 },
		{ 0x0f, 0x01, 0xf8 }, { 0x0f, 0x06 }, { 0xf3, 0x90 },
		{ 0x0f, 0x01, 0xca }, { 0x0f, 0x01, 0xcb }, { 0xce },
	};
	static const u8 ports[] = {
		0x20, 0x21, 0x40, 0x43, 0x61, 0x70, 0x71, 0x80, 0x92, 0xf4,
	};
	size_t n = 0;
	u32 a;

	switch (rnd(r, 24)) {
	case 0: case 1: case 2: case 3:
		n = 1 + rnd(r, 8);
		rnd_bytes(r, p, n);
		return n;
	case 4: {
		const u8 *s = special[rnd(r, ARRAY_SIZE(special))];

		n = 1;
		while (n < 4 && s[n])
			n++;
		memcpy(p, s, n);
		return n;
	}
	case 5:		/* out/in imm8 */
		p[0] = 0xe4 + rnd(r, 4);
		p[1] = chance(r, 50) ? ports[rnd(r, ARRAY_SIZE(ports))] :
		       (u8)rnd64(r);
		return 2;
	case 6:		/* mov dx, port; in/out dx */
		p[0] = 0x66;
		p[1] = 0xba;
		a = chance(r, 30) ? 0x3f8 + rnd(r, 8) : chance(r, 30) ?
		    0xcf8 + rnd(r, 8) : (u16)rnd64(r);
		p[2] = (u8)a;
		p[3] = (u8)(a >> 8);
		p[4] = 0xec + rnd(r, 4);
		return 5;
	case 7:		/* mov ecx, n; mov edi/esi, addr; rep ins/outs/stos/movs */
		p[0] = 0xb9;
		put32(p + 1, chance(r, 50) ? rnd(r, 8) : (u32)rnd_val(r));
		p[5] = 0xbe + rnd(r, 2);
		put32(p + 6, rnd_guest_addr(r));
		p[10] = 0xf3;
		p[11] = chance(r, 60) ? 0x6c + rnd(r, 4) : 0xaa + rnd(r, 2);
		if (chance(r, 20))
			p[11] = 0xa4 + rnd(r, 2);
		return 12;
	case 8:		/* wrmsr/rdmsr */
		a = rnd_msr(r);
		p[0] = 0xb9;
		put32(p + 1, a);
		p[5] = 0xb8;
		put32(p + 6, (u32)rnd_msr_data(r, a));
		p[10] = 0xba;
		put32(p + 11, chance(r, 70) ? 0 : (u32)rnd_val(r));
		p[15] = 0x0f;
		p[16] = chance(r, 60) ? 0x30 : 0x32;
		return 17;
	case 9:		/* x2APIC ICR write */
		p[0] = 0xb9;
		put32(p + 1, 0x830);
		p[5] = 0xb8;
		put32(p + 6, rnd_icr(r));
		p[10] = 0xba;
		put32(p + 11, chance(r, 50) ? rnd(r, 4) : (u32)rnd_val(r));
		p[15] = 0x0f;
		p[16] = 0x30;
		return 17;
	case 10:	/* mov dword [abs32], imm32 (32-bit, then 64-bit form) */
	case 11:
		a = rnd_guest_addr(r);
		p[n++] = 0xc7;
		if (chance(r, 50)) {
			p[n++] = 0x05;
		} else {
			p[n++] = 0x04;
			p[n++] = 0x25;
		}
		put32(p + n, a);
		n += 4;
		put32(p + n, (a & 0xfff) == 0x300 ? rnd_icr(r) :
		      (u32)rnd_val(r));
		return n + 4;
	case 12:	/* xAPIC ICR: destination, then the command */
		p[0] = 0xc7;
		p[1] = 0x05;
		put32(p + 2, 0xfee00310);
		put32(p + 6, rnd(r, 4) << 24);
		p[10] = 0xc7;
		p[11] = 0x05;
		put32(p + 12, 0xfee00300);
		put32(p + 16, rnd_icr(r));
		return 20;
	case 13:	/* MMIO read / ALU / xchg / movzx with [abs32] */
		a = rnd_guest_addr(r);
		switch (rnd(r, 6)) {
		case 0:
			p[n++] = 0x8b;
			break;
		case 1:
			p[n++] = 0x01 + 8 * rnd(r, 7);
			break;
		case 2:
			p[n++] = 0x87;
			break;
		case 3:
			p[n++] = 0xf0;
			p[n++] = 0x09;
			break;
		case 4:
			p[n++] = 0x0f;
			p[n++] = 0xb6 + rnd(r, 2) * 8;
			break;
		default:
			p[n++] = 0xa1;
			put32(p + n, a);
			return n + 4;
		}
		p[n++] = 0x05 + 8 * rnd(r, 8);
		put32(p + n, a);
		return n + 4;
	case 14:	/* mov crN, reg / mov reg, crN */
		a = rnd(r, 6);
		if (a == 5)
			p[n++] = chance(r, 50) ? 0x44 : 0xf0;
		p[n++] = 0x0f;
		p[n++] = chance(r, 60) ? 0x22 : 0x20;
		p[n++] = 0xc0 | ((a == 5 ? 0 : a == 1 ? 2 : a == 2 ? 3 :
				 a == 3 ? 4 : 0) << 3) | rnd(r, 8);
		return n;
	case 15:	/* mov eax, imm32 first */
		p[0] = 0xb8 + rnd(r, 8);
		put32(p + 1, (u32)rnd_val(r));
		return 5;
	case 16:	/* descriptor tables, segments, debug registers */
		p[0] = 0x0f;
		p[1] = rnd(r, 2);
		if (chance(r, 30))
			p[1] = 0x21 + 2 * rnd(r, 2);
		p[2] = (u8)rnd64(r);
		return 3;
	case 17:	/* int n, far jmp, jmp rel, call, ret */
		switch (rnd(r, 4)) {
		case 0:
			p[0] = 0xcd;
			p[1] = (u8)rnd64(r);
			return 2;
		case 1:
			p[0] = 0xea;
			rnd_bytes(r, p + 1, 6);
			return 7;
		case 2:
			p[0] = 0xeb;
			p[1] = (u8)rnd64(r);
			return 2;
		default:
			p[0] = 0xc3 + 8 * rnd(r, 2);
			return 1;
		}
	case 18:	/* pushf/popf with TF, AC... */
		p[0] = 0x68;
		put32(p + 1, 0x2 | (u32)(rnd64(r) & RFLAGS_VALID));
		p[5] = 0x9d;
		return 6;
	case 19:	/* segment register loads */
		p[0] = 0x8e;
		p[1] = 0xc0 | (rnd(r, 6) << 3) | rnd(r, 8);
		return 2;
	case 20:	/* prefixes, then anything */
		while (n < 4)
			p[n++] = ((const u8[]){ 0x66, 0x67, 0xf2, 0xf3, 0xf0,
					       0x2e, 0x64, 0x65, 0x48, 0x41,
					       0x44, 0x4f })[rnd(r, 12)];
		p[n++] = (u8)rnd64(r);
		p[n++] = (u8)rnd64(r);
		return n;
	case 21:	/* TSC deadline */
		p[0] = 0xb9;
		put32(p + 1, 0x6e0);
		p[5] = 0x0f;
		p[6] = 0x31;	/* rdtsc */
		p[7] = 0x05;	/* add eax, imm32 */
		put32(p + 8, rnd(r, 100000));
		p[12] = 0x0f;
		p[13] = 0x30;
		return 14;
	case 22:	/* fxsave/xsave/clflush/... with a random modrm */
		p[0] = 0x0f;
		p[1] = 0xae;
		p[2] = (u8)rnd64(r);
		return 3;
	default:	/* mov rax, imm64 */
		p[0] = 0x48;
		p[1] = 0xb8;
		put32(p + 2, rnd_guest_addr(r));
		put32(p + 6, chance(r, 80) ? 0 : (u32)rnd64(r));
		return 10;
	}
}

static void gen_code(struct rng *r, u8 *buf, size_t len)
{
	u8 item[32];
	size_t n = 0, k;

	while (n < len) {
		k = emit(r, item);
		if (k > len - n)
			k = len - n;
		memcpy(buf + n, item, k);
		n += k;
	}
}

/* ---------------------------------------------------------------------
 * Register states.
 */
static void seg(struct vhv_segment *s, u64 base, u32 limit, u16 sel,
		u8 type, u8 sbit, u8 db, u8 l, u8 g)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = limit;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = sbit;
	s->db = db;
	s->l = l;
	s->g = g;
}

enum { M_RESET, M_REAL, M_PROT32, M_LONG, M_RANDOM, NR_MODES };

/* Fill sregs for mode; base is the GPA the code runs at. */
static void make_sregs(struct rng *r, struct vhv_sregs *s, int mode,
		       u64 cr3)
{
	struct vhv_segment *segs[] = { &s->ds, &s->es, &s->fs, &s->gs, &s->ss };
	unsigned int i;

	switch (mode) {
	case M_REAL:
		seg(&s->cs, 0, 0xffff, 0, 0xb, 1, 0, 0, 0);
		for (i = 0; i < ARRAY_SIZE(segs); i++)
			seg(segs[i], 0, 0xffff, 0, 3, 1, 0, 0, 0);
		seg(&s->tr, 0, 0xffff, 0, 0xb, 0, 0, 0, 0);
		seg(&s->ldt, 0, 0xffff, 0, 2, 0, 0, 0, 0);
		s->cr0 = 0x10;
		s->cr4 = 0;
		s->efer = 0;
		break;
	case M_PROT32:
		seg(&s->cs, 0, 0xffffffff, 8, 0xb, 1, 1, 0, 1);
		for (i = 0; i < ARRAY_SIZE(segs); i++)
			seg(segs[i], 0, 0xffffffff, 0x10, 3, 1, 1, 0, 1);
		seg(&s->tr, 0x3000, 0x67, 0x18, 0xb, 0, 0, 0, 0);
		seg(&s->ldt, 0, 0, 0, 2, 0, 0, 0, 0);
		s->ldt.unusable = 1;
		s->cr0 = 0x11 | 0x20;
		s->cr4 = 0;
		s->efer = 0;
		break;
	case M_LONG:
		seg(&s->cs, 0, 0xffffffff, 8, 0xb, 1, 0, 1, 1);
		for (i = 0; i < ARRAY_SIZE(segs); i++)
			seg(segs[i], 0, 0xffffffff, 0x10, 3, 1, 1, 0, 1);
		seg(&s->tr, 0x3000, 0x67, 0x18, 0xb, 0, 0, 0, 0);
		seg(&s->ldt, 0, 0, 0, 2, 0, 0, 0, 0);
		s->ldt.unusable = 1;
		s->cr0 = 0x80050033;
		s->cr3 = cr3;
		s->cr4 = 0x620;
		s->efer = 0xd01;
		break;
	default:
		break;
	}
	if (mode == M_RANDOM || chance(r, 10)) {
		u8 *b = (u8 *)s;
		unsigned int k = 1 + rnd(r, 4);

		while (k--) {
			switch (rnd(r, 5)) {
			case 0:
				s->cr0 = chance(r, 50) ? rnd_val(r) :
					 s->cr0 ^ (1ULL << rnd(r, 32));
				break;
			case 1:
				s->cr4 ^= 1ULL << rnd(r, 24);
				break;
			case 2:
				s->efer ^= 1ULL << rnd(r, 12);
				break;
			case 3:
				s->cr8 = rnd(r, 20);
				break;
			default:
				/* any byte of the segments and tables */
				b[rnd(r, offsetof(struct vhv_sregs, cr0))] =
					(u8)rnd64(r);
				break;
			}
		}
	}
	if (mode == M_PROT32 || mode == M_LONG || mode == M_REAL)
		s->gdt.limit = chance(r, 50) ? 0xffff : 0;
}

/* ---------------------------------------------------------------------
 * Operations.
 */
static int sys_dup(void)
{
	return fcntl(sysfd, F_DUPFD_CLOEXEC, 3);
}

static int new_part(struct thr *t, bool x2apic)
{
	int fd = sys_dup(), p;

	if (fd < 0)
		return -1;
	p = do_ioctl(t, fd, FD_SYS, C_CREATE_PARTITION,
		     x2apic ? VHV_PARTITION_X2APIC : 0);
	close(fd);
	return p;
}

static bool map_gpa(struct thr *t, struct part *p, int fd, u64 gpa, u64 size,
		    u64 uaddr, u32 flags, int pk)
{
	struct vhv_map_gpa m = {
		.gpa = gpa, .size = size, .uaddr = uaddr, .flags = flags,
	};
	void *arg;
	long r;

	if (chance(&t->rng, 3))
		m.reserved = (u32)rnd_val(&t->rng);
	arg = place(t, pk, &m, sizeof(m));
	r = do_ioctl(t, fd, FD_PART, C_MAP_GPA, (unsigned long)arg);
	if (r && pkind_bad(pk))
		expect_err(t, r, EFAULT, "MAP_GPA with a bad pointer");
	if (r || pk == P_RO || pk == P_CROSS)
		return !r;
	pthread_mutex_lock(&lock);
	if (p->nmaps < MAX_MAPS_T)
		p->maps[p->nmaps++] = (struct mapping){ gpa, size, uaddr, flags };
	pthread_mutex_unlock(&lock);
	return true;
}

static void op_part_create(struct thr *t)
{
	bool x2 = chance(&t->rng, 50);
	struct part *p;
	int fd, i;

	fd = new_part(t, x2);
	if (fd < 0)
		return;
	p = calloc(1, sizeof(*p));
	p->fd = fd;
	p->refs = 1;
	p->x2apic = x2;
	/* Usually some RAM at once: at 0 and at the reset vector. */
	if (chance(&t->rng, 80)) {
		unsigned int s = rnd(&t->rng, NSLOTS);

		map_gpa(t, p, fd, 0, SLOT_SIZE, (u64)slot_addr(s), 7, P_GOOD);
		map_gpa(t, p, fd, 0xffff0000, 0x10000,
			(u64)slot_addr(rnd(&t->rng, NSLOTS)), 7, P_GOOD);
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_PARTS; i++) {
		if (!parts[i]) {
			parts[i] = p;
			p = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	if (p) {
		close(fd);
		free(p);
	}
}

static void op_part_close(struct thr *t)
{
	struct part *p = NULL;
	unsigned int i = rnd(&t->rng, MAX_PARTS);

	pthread_mutex_lock(&lock);
	p = parts[i];
	parts[i] = NULL;
	if (p && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	pthread_mutex_unlock(&lock);
	if (p)
		part_put(p);
}

static const u64 hot_gpa[] = {
	0, 0x1000, 0x7000, 0xa0000, 0xf0000, 0x100000, 0x200000, 0xfee00000,
	0xfec00000, 0xffff0000, 0xfffff000, 0x100000000ULL,
	VHV_MAX_GPA - PAGE, VHV_MAX_GPA - SLOT_SIZE, VHV_MAX_GPA,
};

static u64 rnd_gpa(struct rng *r, struct part *p)
{
	u64 g;

	switch (rnd(r, 6)) {
	case 0: case 1:
		return hot_gpa[rnd(r, ARRAY_SIZE(hot_gpa))];
	case 2:
		if (p->nmaps) {
			/* overlapping or adjacent to a mapping */
			struct mapping *m = &p->maps[rnd(r, p->nmaps)];

			g = m->gpa + (rnd(r, 5) - 2) * PAGE;
			return chance(r, 50) ? g : m->gpa + m->size;
		}
		return 0;
	case 3:
		return (u64)rnd(r, 0x1000) * PAGE;
	case 4:
		return rnd_val(r);
	default:
		return ((u64)rnd(r, 1 << 24) * PAGE) & (VHV_MAX_GPA - 1);
	}
}

static u64 rnd_size(struct rng *r)
{
	switch (rnd(r, 6)) {
	case 0: case 1:
		return PAGE * (1 + rnd(r, 16));
	case 2:
		return SLOT_SIZE;
	case 3:
		return 0x10000;
	case 4:
		return rnd_val(r);
	default:
		return PAGE * (1 + rnd(r, 2 * SLOT_SIZE / PAGE));
	}
}

static u64 rnd_uaddr(struct thr *t)
{
	struct rng *r = &t->rng;

	switch (rnd(r, 8)) {
	case 0:
		return (u64)arena + rnd(r, NSLOTS + 2) * SLOT_SIZE;
	case 1:
		return (u64)slot_addr(rnd(r, NSLOTS)) + rnd(r, 0x1000);
	case 2:
		return edge64[rnd(r, ARRAY_SIZE(edge64))] & ~(PAGE - 1);
	case 3:
		return (u64)t->ro;
	default:
		return (u64)slot_addr(rnd(r, NSLOTS)) +
		       PAGE * rnd(r, SLOT_SIZE / PAGE);
	}
}

static void op_map(struct thr *t)
{
	struct rng *r = &t->rng;
	struct part *p;
	u64 gpa, size, uaddr;
	u32 flags;
	int fd;

	p = part_get(t, &fd);
	if (!p)
		return;
	gpa = rnd_gpa(r, p);
	size = rnd_size(r);
	uaddr = rnd_uaddr(t);
	flags = chance(r, 70) ? 7 : chance(r, 50) ? rnd(r, 8) :
		(u32)rnd_val(r);
	/*
	 * A range that goes past the arena could reach our own memory if
	 * the kernel failed to refuse it: keep valid-looking ranges in it.
	 */
	if (in_arena(uaddr) && size < (NSLOTS + 2) * SLOT_SIZE &&
	    !in_arena(uaddr + size - 1))
		size = (u64)arena + (NSLOTS + 1) * SLOT_SIZE - uaddr + PAGE;
	if (uaddr == (u64)t->ro && size > PAGE && size < (1ULL << 40))
		size = PAGE;
	map_gpa(t, p, fd, gpa, size, uaddr, flags, rnd_pkind(t));
	close(fd);
	part_put(p);
}

static void op_unmap(struct thr *t)
{
	struct rng *r = &t->rng;
	struct vhv_unmap_gpa u;
	struct part *p;
	int fd, pk, i;
	long ret;

	p = part_get(t, &fd);
	if (!p)
		return;
	pthread_mutex_lock(&lock);
	if (p->nmaps && chance(r, 60)) {
		i = rnd(r, p->nmaps);
		u.gpa = p->maps[i].gpa;
		u.size = p->maps[i].size;
		if (chance(r, 20))
			u.size += PAGE * rnd(r, 3);
		if (chance(r, 10))
			u.size -= PAGE;
	} else {
		u.gpa = rnd_gpa(r, p);
		u.size = chance(r, 20) ? VHV_MAX_GPA - u.gpa : rnd_size(r);
	}
	pthread_mutex_unlock(&lock);
	pk = rnd_pkind(t);
	ret = do_ioctl(t, fd, FD_PART, C_UNMAP_GPA,
		       (unsigned long)place(t, pk, &u, sizeof(u)));
	if (ret && pkind_bad(pk))
		expect_err(t, ret, EFAULT, "UNMAP_GPA with a bad pointer");
	if (!ret && pk != P_RO && pk != P_CROSS) {
		pthread_mutex_lock(&lock);
		for (i = 0; i < p->nmaps; i++) {
			if (p->maps[i].gpa >= u.gpa &&
			    p->maps[i].gpa + p->maps[i].size <= u.gpa + u.size)
				p->maps[i--] = p->maps[--p->nmaps];
		}
		pthread_mutex_unlock(&lock);
	}
	close(fd);
	part_put(p);
}

static u64 rnd_vp_index(struct rng *r)
{
	static const u64 bad[] = {
		VHV_MAX_VPS, VHV_MAX_VPS + 1, 255, 256, ~0ULL, 0x100000000ULL,
		0x8000000000000000ULL, 0xffffffffULL,
	};

	if (chance(r, 60))
		return rnd(r, 6);
	if (chance(r, 70))
		return rnd(r, VHV_MAX_VPS);
	return bad[rnd(r, ARRAY_SIZE(bad))];
}

static void op_vp_create(struct thr *t)
{
	struct part *p;
	struct vp *v;
	u64 index = rnd_vp_index(&t->rng);
	int fd, vfd, i;
	void *run;

	p = part_get(t, &fd);
	if (!p)
		return;
	vfd = do_ioctl(t, fd, FD_PART, C_CREATE_VP, index);
	close(fd);
	if (index >= VHV_MAX_VPS)
		expect_err(t, vfd, EINVAL, "CREATE_VP with an index >= 64");
	if (vfd < 0) {
		part_put(p);
		return;
	}
	run = mmap(NULL, VHV_RUN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vfd, 0);
	if (run == MAP_FAILED) {
		if (errno != ENOMEM)
			violation(t, "mmap of a new VP's run page: %s",
				  strerror(errno));
		run = NULL;
	}
	v = calloc(1, sizeof(*v));
	v->fd = vfd;
	v->refs = 1;
	v->part = p;		/* takes part_get()'s reference */
	v->index = index;
	v->run = run;
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_VPS_T; i++) {
		if (!vps[i]) {
			vps[i] = v;
			v = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	if (v)
		vp_put(v);
}

static void op_vp_close(struct thr *t)
{
	unsigned int i = rnd(&t->rng, MAX_VPS_T);
	struct vp *v;

	pthread_mutex_lock(&lock);
	v = vps[i];
	vps[i] = NULL;
	if (v && v->fd >= 0) {
		close(v->fd);
		v->fd = -1;
	}
	pthread_mutex_unlock(&lock);
	if (v)
		vp_put(v);
}

/* Replace a table fd by a dup of it (the number changes under users). */
static void op_fd_chaos(struct thr *t)
{
	unsigned int i = rnd(&t->rng, MAX_VPS_T);
	int *pfd = NULL, nfd;

	pthread_mutex_lock(&lock);
	if (chance(&t->rng, 50) && vps[i])
		pfd = &vps[i]->fd;
	else if (parts[i % MAX_PARTS])
		pfd = &parts[i % MAX_PARTS]->fd;
	if (pfd && *pfd >= 0) {
		nfd = chance(&t->rng, 50) ? dup(*pfd) :
		      fcntl(*pfd, F_DUPFD, 3 + rnd(&t->rng, 200));
		if (nfd >= 0) {
			close(*pfd);
			*pfd = nfd;
		}
	}
	pthread_mutex_unlock(&lock);
	if (chance(&t->rng, 20)) {
		/* another /dev/vhv fd, used and closed */
		int fd = open("/dev/vhv", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			if (do_ioctl(t, fd, FD_SYS, C_GET_API_VERSION, 0) !=
			    VHV_API_VERSION)
				violation(t, "GET_API_VERSION on a new fd");
			close(fd);
		}
	}
}

/* The host address of guest-physical gpa in partition p, or NULL. */
static u8 *gpa_hva(struct part *p, u64 gpa, u64 len)
{
	u8 *h = NULL;
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < p->nmaps; i++) {
		struct mapping *m = &p->maps[i];

		if (gpa >= m->gpa && gpa + len <= m->gpa + m->size &&
		    (in_arena(m->uaddr) && in_arena(m->uaddr + (gpa - m->gpa)))) {
			h = (u8 *)(m->uaddr + (gpa - m->gpa));
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return h;
}

/* Write 4 GiB of identity page tables (2 MiB pages) at gpa. */
static bool write_page_tables(struct part *p, u64 gpa)
{
	static u64 pt[6 * 512];
	static pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
	u8 *h = gpa_hva(p, gpa, sizeof(pt));
	unsigned int i;
	bool ok;

	if (!h)
		return false;
	pthread_mutex_lock(&pt_lock);
	memset(pt, 0, sizeof(pt));
	pt[0] = (gpa + 0x1000) | 7;
	for (i = 0; i < 4; i++)
		pt[512 + i] = (gpa + 0x2000 + i * 0x1000) | 7;
	for (i = 0; i < 4 * 512; i++)
		pt[1024 + i] = ((u64)i << 21) | 0x87;
	ok = guarded_copy(h, pt, sizeof(pt));
	pthread_mutex_unlock(&pt_lock);
	return ok;
}

/* Give VP v (fd) a guest of random code in a random mode. */
static void setup_guest(struct thr *t, struct vp *v, int fd)
{
	struct rng *r = &t->rng;
	struct part *p = v->part;
	struct vhv_sregs s;
	struct vhv_regs regs;
	struct mapping m = { 0 };
	u8 code[4096];
	u64 rip, gpa;
	int mode = rnd(r, NR_MODES);
	size_t len = 64 + rnd(r, sizeof(code) - 64);
	u8 *h;

	pthread_mutex_lock(&lock);
	if (p->nmaps)
		m = p->maps[rnd(r, p->nmaps)];
	pthread_mutex_unlock(&lock);
	gen_code(r, code, len);
	if (mode == M_RESET || !m.size) {
		/* the reset vector: code at 0xfffffff0 - x */
		gpa = 0xfffffff0 - (chance(r, 50) ? 0 : rnd(r, 0x100));
		h = gpa_hva(p, gpa & ~(PAGE - 1), PAGE);
		if (h)
			guarded_copy(h + (gpa & (PAGE - 1)), code,
				     PAGE - (gpa & (PAGE - 1)));
		if (chance(r, 30)) {
			memset(&regs, 0, sizeof(regs));
			regs.rip = 0xfff0;
			regs.rflags = 2;
			do_ioctl(t, fd, FD_VP, C_SET_REGS, (unsigned long)&regs);
		}
	} else {
		u64 off = m.size > 0x8000 ? 0x6000 : 0;

		if (do_ioctl(t, fd, FD_VP, C_GET_SREGS, (unsigned long)&s))
			return;
		if (mode == M_LONG && (m.size < 0x8000 ||
				       !write_page_tables(p, m.gpa)))
			mode = M_PROT32;
		off += PAGE * rnd(r, (m.size - off) / PAGE);
		if (off >= m.size)
			off = 0;
		gpa = m.gpa + off;
		h = gpa_hva(p, gpa, PAGE);
		if (h)
			guarded_copy(h, code, len < PAGE ? len : PAGE);
		make_sregs(r, &s, mode, m.gpa);
		rip = gpa;
		if (mode == M_REAL) {
			s.cs.base = gpa & ~0xffffULL;
			s.cs.selector = (u16)(s.cs.base >> 4);
			rip = gpa & 0xffff;
		}
		if (p->x2apic && chance(r, 40))
			s.apic_base |= 0xc00;
		do_ioctl(t, fd, FD_VP, C_SET_SREGS, (unsigned long)&s);
		memset(&regs, 0, sizeof(regs));
		regs.rip = rip;
		regs.rflags = 2 | (chance(r, 30) ? 0x200 : 0);
		if (chance(r, 10))
			regs.rflags |= rnd64(r) & RFLAGS_VALID;
		regs.rsp = m.gpa + m.size - 16 * rnd(r, 8);
		regs.rcx = rnd_val(r);
		regs.rdx = rnd_val(r);
		regs.rsi = rnd_guest_addr(r);
		regs.rdi = rnd_guest_addr(r);
		do_ioctl(t, fd, FD_VP, C_SET_REGS, (unsigned long)&regs);
	}
	if (chance(r, 70)) {
		struct vhv_mp_state mp = { .state = VHV_MP_RUNNABLE };

		do_ioctl(t, fd, FD_VP, C_SET_MP_STATE, (unsigned long)&mp);
	}
	v->setup = true;
}

static void op_setup(struct thr *t)
{
	struct vp *v;
	int fd;

	v = vp_get(t, &fd);
	if (!v)
		return;
	setup_guest(t, v, fd);
	close(fd);
	vp_put(v);
}

/* Complete the exit for the next VHV_RUN, as a VMM would (or not). */
static void handle_exit(struct thr *t, struct vhv_run *run)
{
	struct rng *r = &t->rng;
	struct vhv_run h;
	u8 data[4096];
	u64 n;

	if (!guarded_copy(&h, run, sizeof(h)))
		return;
	INC(exits[h.exit_reason <= VHV_EXIT_EOI ? h.exit_reason :
		  VHV_EXIT_EOI + 1]);
	if (h.exit_reason == VHV_EXIT_IO && h.io.direction == VHV_IO_IN) {
		n = (u64)h.io.size * h.io.count;
		if (h.io.data_offset < VHV_RUN_PAGE_SIZE &&
		    n <= VHV_RUN_PAGE_SIZE - h.io.data_offset) {
			rnd_bytes(r, data, n);
			guarded_copy((u8 *)run + h.io.data_offset, data, n);
		}
	} else if (h.exit_reason == VHV_EXIT_MMIO && !h.mmio.is_write) {
		rnd_bytes(r, data, 8);
		guarded_copy(run->mmio.data, data, 8);
	}
	/* A VMM that scribbles over the exit it has to complete. */
	if (chance(r, 5)) {
		rnd_bytes(r, data, 32);
		guarded_copy((u8 *)run + 16 + rnd(r, 64), data, 1 + rnd(r, 32));
	}
}

/* VHV_FUZZ_TRACE=1: the state a VP is about to run in. */
static void trace_vp(struct thr *t, struct vp *v, int fd)
{
	struct vhv_regs regs;
	struct vhv_sregs s;
	struct vhv_mp_state mp;
	u8 code[16] = { 0 };
	u8 *h;

	if (ioctl(fd, VHV_GET_REGS, &regs) || ioctl(fd, VHV_GET_SREGS, &s) ||
	    ioctl(fd, VHV_GET_MP_STATE, &mp))
		return;
	h = gpa_hva(v->part, s.cs.base + regs.rip, sizeof(code));
	if (h)
		guarded_copy(code, h, sizeof(code));
	say("# fuzz: t%d RUN vp %u mp %u rip 0x%llx rflags 0x%llx %s%s\n",
	    t->id, v->index, mp.state, (unsigned long long)regs.rip,
	    (unsigned long long)regs.rflags, "cs base/limit/type/p,db,l ",
	    "cr0 cr3 cr4 efer apic_base, code at CS:RIP:");
	say("# fuzz: t%d   0x%llx/0x%x/%x/%u%u%u 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx\n",
	    t->id, (unsigned long long)s.cs.base,
	    s.cs.limit, s.cs.type, s.cs.present, s.cs.db, s.cs.l,
	    (unsigned long long)s.cr0, (unsigned long long)s.cr3,
	    (unsigned long long)s.cr4, (unsigned long long)s.efer,
	    (unsigned long long)s.apic_base);
	say("# fuzz: t%d   %02x %02x %02x %02x %02x %02x %02x %02x\n", t->id,
	    code[0], code[1], code[2], code[3], code[4], code[5], code[6],
	    code[7]);
}

static void arm_timer(struct thr *t, bool on)
{
	struct itimerspec its = { 0 };

	if (!t->have_timer)
		return;
	if (on) {
		its.it_value.tv_nsec = 200000 + rnd(&t->rng, 5000000);
		its.it_interval.tv_nsec = 1000000 + rnd(&t->rng, 10000000);
	}
	timer_settime(t->timer, 0, &its, NULL);
}

static void op_run(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned int i, n = 1 + rnd(r, 4);
	struct vp *v;
	u8 ie;
	long ret;
	int fd;

	v = vp_get(t, &fd);
	if (!v)
		return;
	if (!v->setup || chance(r, 15))
		setup_guest(t, v, fd);
	ie = chance(r, 10);
	if (v->run)
		guarded_copy(&v->run->immediate_exit, &ie, 1);
	arm_timer(t, true);
	for (i = 0; i < n && !LOAD(stop); i++) {
		unsigned long arg = chance(r, 2) ? rnd_val(r) : 0;

		INC(nr_runs);
		if (trace && !arg)
			trace_vp(t, v, fd);
		ret = do_ioctl(t, fd, FD_VP, C_RUN, arg);
		if (arg && ret == 0)
			violation(t, "RUN with argument 0x%lx succeeded", arg);
		if (arg)
			continue;
		if (ret < 0) {
			if (errno == EINTR)
				INC(nr_eintr);
			if (ie && v->run && chance(r, 50)) {
				ie = 0;
				guarded_copy(&v->run->immediate_exit, &ie, 1);
			}
			continue;
		}
		if (v->run)
			handle_exit(t, v->run);
		if (chance(r, 5))
			setup_guest(t, v, fd);
	}
	arm_timer(t, false);
	close(fd);
	vp_put(v);
}

/* GET/SET of the VP state with random contents and pointers. */
static void op_vp_state(struct thr *t)
{
	static const int get_cmds[] = {
		C_GET_REGS, C_GET_SREGS, C_GET_LAPIC, C_GET_MP_STATE,
	};
	static const size_t get_sizes[] = {
		sizeof(struct vhv_regs), sizeof(struct vhv_sregs),
		sizeof(struct vhv_lapic_state), sizeof(struct vhv_mp_state),
	};
	struct rng *r = &t->rng;
	u8 buf[SCRATCH_SIZE];
	unsigned int i, n;
	int fd, pk = rnd_pkind(t), which = rnd(r, 11);
	size_t len = 0;
	struct vp *v;
	long ret;
	void *arg;

	v = vp_get(t, &fd);
	if (!v)
		return;
	memset(buf, 0, sizeof(buf));
	switch (which) {
	case 0: case 1: case 2: case 3: {
		int ci = get_cmds[which];

		len = get_sizes[which];
		arg = place(t, pk, buf, len);
		ret = do_ioctl(t, fd, FD_VP, ci, (unsigned long)arg);
		if (pkind_bad(pk) || pk == P_RO)
			expect_err(t, ret, EFAULT, cmds[ci].name);
		break;
	}
	case 4: {		/* SET_REGS */
		struct vhv_regs *regs = (void *)buf;
		u64 *w = (u64 *)buf;

		if (chance(r, 50))
			do_ioctl(t, fd, FD_VP, C_GET_REGS, (unsigned long)regs);
		for (n = rnd(r, 6); n; n--)
			w[rnd(r, 18)] = rnd_val(r);
		if (chance(r, 70))
			regs->rflags &= RFLAGS_VALID;
		ret = do_ioctl(t, fd, FD_VP, C_SET_REGS,
			       (unsigned long)place(t, pk, buf, sizeof(*regs)));
		if (pk != P_CROSS && pkind_bad(pk))
			expect_err(t, ret, EFAULT, "SET_REGS with a bad pointer");
		break;
	}
	case 5: {		/* SET_SREGS */
		struct vhv_sregs *s = (void *)buf;

		do_ioctl(t, fd, FD_VP, C_GET_SREGS, (unsigned long)s);
		make_sregs(r, s, chance(r, 50) ? M_RANDOM : rnd(r, NR_MODES),
			   rnd_val(r) & ~0xfffULL);
		if (chance(r, 30))
			s->apic_base = rnd_msr_data(r, 0x1b);
		ret = do_ioctl(t, fd, FD_VP, C_SET_SREGS,
			       (unsigned long)place(t, pk, buf, sizeof(*s)));
		if (pkind_bad(pk))
			expect_err(t, ret, EFAULT, "SET_SREGS with a bad pointer");
		break;
	}
	case 6: case 7: {	/* GET_MSRS / SET_MSRS */
		struct vhv_msrs *m = (void *)buf;
		u32 max = (SCRATCH_SIZE - 8 - sizeof(*m)) /
			  sizeof(struct vhv_msr_entry);
		bool set = which == 7, resv = false;

		n = chance(r, 80) ? 1 + rnd(r, 8) : chance(r, 50) ?
		    VHV_MAX_MSR_ENTRIES + rnd(r, 2) : (u32)rnd_val(r);
		m->nmsrs = n;
		if (chance(r, 3))
			m->reserved = 1;
		for (i = 0; i < n && i < max; i++) {
			m->entries[i].index = rnd_msr(r);
			m->entries[i].data = rnd_msr_data(r, m->entries[i].index);
			if (chance(r, 1)) {
				m->entries[i].reserved = (u32)rnd_val(r);
				resv = true;
			}
		}
		ret = do_ioctl(t, fd, FD_VP, set ? C_SET_MSRS : C_GET_MSRS,
			       (unsigned long)place(t, pk, buf, sizeof(*m) +
						     (n < max ? n : max) * 16));
		if (ret > (long)n)
			violation(t, "%s returned %ld of %u entries",
				  set ? "SET_MSRS" : "GET_MSRS", ret, n);
		if (pk == P_GOOD && n > VHV_MAX_MSR_ENTRIES && !m->reserved &&
		    !resv)
			expect_err(t, ret, E2BIG, "MSR ioctl with nmsrs > max");
		break;
	}
	case 8: {		/* SET_CPUID */
		struct vhv_cpuid *c = (void *)buf;
		u32 max = (SCRATCH_SIZE - 8 - sizeof(*c)) /
			  sizeof(struct vhv_cpuid_entry);
		bool bad = false;

		n = chance(r, 70) ? rnd(r, 12) : chance(r, 50) ?
		    VHV_MAX_CPUID_ENTRIES + rnd(r, 2) : (u32)rnd_val(r);
		c->nent = n;
		if (chance(r, 3))
			c->reserved = 1;
		for (i = 0; i < n && i < max; i++) {
			struct vhv_cpuid_entry *e = &c->entries[i];

			e->function = chance(r, 50) ? rnd(r, 0x10) :
				      chance(r, 50) ? 0x80000000 + rnd(r, 9) :
				      (u32)rnd_val(r);
			e->index = rnd(r, 3);
			e->flags = chance(r, 95) ? rnd(r, 2) : (u32)rnd_val(r);
			bad |= e->flags > 1;
			e->eax = (u32)rnd64(r);
			e->ebx = (u32)rnd64(r);
			e->ecx = (u32)rnd64(r);
			e->edx = (u32)rnd64(r);
		}
		ret = do_ioctl(t, fd, FD_VP, C_SET_CPUID,
			       (unsigned long)place(t, pk, buf, sizeof(*c) +
						     (n < max ? n : max) * 32));
		if (pk == P_GOOD && n > VHV_MAX_CPUID_ENTRIES && !c->reserved &&
		    !bad)
			expect_err(t, ret, E2BIG, "SET_CPUID with nent > max");
		break;
	}
	case 9: {		/* SET_LAPIC */
		static const u16 regs[] = {
			0x20, 0x80, 0xb0, 0xd0, 0xe0, 0xf0, 0x100, 0x170, 0x180,
			0x200, 0x270, 0x280, 0x300, 0x310, 0x320, 0x330, 0x340,
			0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0, 0x3f0,
		};
		u32 val;

		if (chance(r, 80))
			do_ioctl(t, fd, FD_VP, C_GET_LAPIC, (unsigned long)buf);
		for (n = 1 + rnd(r, 8); n; n--) {
			u16 off = chance(r, 90) ?
				  regs[rnd(r, ARRAY_SIZE(regs))] :
				  rnd(r, 1021);

			val = chance(r, 50) ? (u32)rnd_val(r) :
			      (u32)((rnd(r, 4) << 17) | rnd(r, 256) |
				    (chance(r, 30) ? 0x10000 : 0));
			if (off == 0x380 && chance(r, 50))
				val = rnd(r, 1000);
			memcpy(buf + off, &val, 4);
		}
		ret = do_ioctl(t, fd, FD_VP, C_SET_LAPIC,
			       (unsigned long)place(t, pk, buf,
						     sizeof(struct vhv_lapic_state)));
		if (pkind_bad(pk))
			expect_err(t, ret, EFAULT, "SET_LAPIC with a bad pointer");
		break;
	}
	default: {		/* SET_MP_STATE */
		struct vhv_mp_state *mp = (void *)buf;

		mp->state = chance(r, 90) ? rnd(r, 4) : (u32)rnd_val(r);
		mp->reserved = chance(r, 5) ? (u32)rnd_val(r) : 0;
		ret = do_ioctl(t, fd, FD_VP, C_SET_MP_STATE,
			       (unsigned long)place(t, pk, buf, sizeof(*mp)));
		if (pk == P_GOOD && (mp->state > 2 || mp->reserved))
			expect_err(t, ret, EINVAL, "SET_MP_STATE out of range");
		else if (pkind_bad(pk))
			expect_err(t, ret, EFAULT, "SET_MP_STATE, bad pointer");
		break;
	}
	}
	close(fd);
	vp_put(v);
}

static void op_interrupt(struct thr *t)
{
	static const u32 types[] = { 0, 0, 1, 4, 5, 5, 6, 6, 7, 2, 3, 8 };
	struct rng *r = &t->rng;
	struct vhv_interrupt irq = { 0 };
	struct part *p;
	int fd, pk = rnd_pkind(t);
	long ret;

	p = part_get(t, &fd);
	if (!p)
		return;
	irq.type = chance(r, 95) ? types[rnd(r, ARRAY_SIZE(types))] :
		   (u32)rnd_val(r);
	irq.vector = chance(r, 80) ? rnd(r, 256) : (u32)rnd_val(r);
	irq.destination = chance(r, 40) ? rnd(r, 8) : chance(r, 50) ?
			  (chance(r, 50) ? 0xff : 0xffffffff) : (u32)rnd_val(r);
	irq.flags = chance(r, 95) ? rnd(r, 4) : (u32)rnd_val(r);
	if (chance(r, 3))
		irq.reserved = rnd_val(r);
	ret = do_ioctl(t, fd, FD_PART, C_REQUEST_INTERRUPT,
		       (unsigned long)place(t, pk, &irq, sizeof(irq)));
	if (pkind_bad(pk))
		expect_err(t, ret, EFAULT, "REQUEST_INTERRUPT, bad pointer");
	else if (pk == P_GOOD && (irq.reserved || irq.flags > 3 ||
				  irq.type == 2 || irq.type == 3 ||
				  irq.type > 7 ||
				  (irq.type != 4 && irq.type != 5 &&
				   irq.vector > 255) ||
				  (irq.type <= 1 && irq.vector < 16)))
		expect_err(t, ret, EINVAL, "REQUEST_INTERRUPT, bad message");
	close(fd);
	part_put(p);
}

static void op_eoi(struct thr *t)
{
	struct vhv_eoi_exits e;
	struct part *p;
	int fd, pk = rnd_pkind(t), i;
	long ret;

	p = part_get(t, &fd);
	if (!p)
		return;
	for (i = 0; i < 4; i++)
		e.bitmap[i] = chance(&t->rng, 30) ? ~0ULL : rnd_val(&t->rng);
	ret = do_ioctl(t, fd, FD_PART, C_SET_EOI_EXITS,
		       (unsigned long)place(t, pk, &e, sizeof(e)));
	if (pkind_bad(pk))
		expect_err(t, ret, EFAULT, "SET_EOI_EXITS, bad pointer");
	else if (pk != P_CROSS && ret)
		violation(t, "SET_EOI_EXITS failed: %s", strerror(errno));
	close(fd);
	part_put(p);
}

/* System ioctls, every capability and then some. */
static void op_sys(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned long arg;
	int fd = sys_dup(), which = rnd(r, 4);
	long ret;

	if (fd < 0)
		return;
	arg = chance(r, 50) ? 0 : rnd_val(r);
	if (which == 1 && chance(r, 60))
		arg = rnd(r, 14);
	if (which == 2)
		arg = chance(r, 50) ? rnd(r, 2) : rnd_val(r);
	ret = do_ioctl(t, fd, FD_SYS, which, arg);
	if ((which == 0 || which == 3) && arg)
		expect_err(t, ret, EINVAL, cmds[which].name);
	else if (which == 0 && ret != VHV_API_VERSION)
		violation(t, "GET_API_VERSION returned %ld", ret);
	else if (which == 3 && ret != VHV_RUN_PAGE_SIZE)
		violation(t, "GET_RUN_PAGE_SIZE returned %ld", ret);
	else if (which == 1 && arg > 11 && ret != 0)
		violation(t, "CHECK_CAP(0x%lx) returned %ld", arg, ret);
	else if (which == 2 && (arg & ~1UL))
		expect_err(t, ret, EINVAL, "CREATE_PARTITION with bad flags");
	if (which == 2 && ret >= 0)
		close(ret);
	close(fd);
}

/* Any known ioctl on a random fd type: mostly the wrong one. */
static void op_wrong_fd(struct thr *t)
{
	struct rng *r = &t->rng;
	int ci = rnd(r, NCMDS), type = rnd(r, NR_FD_TYPES), fd = -1;
	struct part *p = NULL;
	struct vp *v = NULL;
	long ret;

	if (type == FD_SYS)
		fd = sys_dup();
	else if (type == FD_PART)
		p = part_get(t, &fd);
	else
		v = vp_get(t, &fd);
	if (fd < 0)
		return;
	if (type != cmds[ci].fdtype) {
		ret = do_ioctl(t, fd, type, ci, (unsigned long)t->scratch);
		if (ret >= 0 && ci == C_CREATE_PARTITION)
			close(ret);
	}
	close(fd);
	if (p)
		part_put(p);
	if (v)
		vp_put(v);
}

/* Unknown ioctl numbers of type VHVIO, near misses of known ones. */
static void op_unknown(struct thr *t)
{
	struct rng *r = &t->rng;
	int type = rnd(r, NR_FD_TYPES), fd = -1;
	unsigned long cmd;
	struct part *p = NULL;
	struct vp *v = NULL;
	unsigned int i;
	long ret;

	if (chance(r, 50)) {
		cmd = cmds[rnd(r, NCMDS)].cmd;
		if (chance(r, 50))
			cmd ^= 1UL << (16 + rnd(r, 16));	/* size, dir */
		else
			cmd ^= 1UL << rnd(r, 8);		/* nr */
	} else {
		cmd = _IOC(rnd(r, 4), VHVIO, rnd(r, 256), rnd(r, 1 << 14));
	}
	for (i = 0; i < NCMDS; i++)
		if (cmds[i].cmd == cmd)
			return;
	if (type == FD_SYS)
		fd = sys_dup();
	else if (type == FD_PART)
		p = part_get(t, &fd);
	else
		v = vp_get(t, &fd);
	if (fd < 0)
		return;
	INC(nr_ioctls);
	ret = ioctl(fd, cmd, chance(r, 50) ? (unsigned long)t->scratch :
		    rnd_val(r));
	expect_err(t, ret, ENOTTY, "an unknown ioctl");
	if (ret >= 0 || errno != ENOTTY)
		say("# fuzz: (that was ioctl 0x%lx on a %s fd)\n", cmd,
		    fd_names[type]);
	close(fd);
	if (p)
		part_put(p);
	if (v)
		vp_put(v);
}

/* mmap of run pages: good and bad, mremap past the page, extras. */
static void op_runpage(struct thr *t)
{
	static const size_t lens[] = { 4096, 1, 100, 4095, 8192, 0, 1 << 20 };
	struct rng *r = &t->rng;
	size_t len = lens[rnd(r, ARRAY_SIZE(lens))];
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;
	off_t off = 0;
	bool must_fail;
	struct vp *v;
	u8 byte;
	void *m;
	int fd, i;

	v = vp_get(t, &fd);
	if (!v)
		return;
	if (chance(r, 20))
		off = (off_t)PAGE << (chance(r, 50) ? 0 : rnd(r, 40));
	if (chance(r, 15))
		flags = MAP_PRIVATE;
	if (chance(r, 10))
		prot = chance(r, 50) ? PROT_READ : PROT_READ | PROT_EXEC;
	if (chance(r, 5))
		flags |= MAP_POPULATE;
	must_fail = off || len > PAGE || !(flags & MAP_SHARED);
	m = mmap(NULL, len, prot, flags, fd, off);
	INC(nr_checks);
	if (m != MAP_FAILED && must_fail)
		violation(t, "mmap of a run page (len %zu off 0x%llx flags 0x%x) succeeded",
			  len, (unsigned long long)off, flags);
	if (m == MAP_FAILED && !must_fail && len && errno != ENOMEM &&
	    !(errno == EPERM && (prot & PROT_EXEC)))
		violation(t, "mmap of a run page (len %zu): %s", len,
			  strerror(errno));
	if (m == MAP_FAILED)
		goto out;
	guarded_copy(&byte, m, 1);
	if (prot & PROT_WRITE && chance(r, 20))
		guarded_copy((u8 *)m + rnd(r, PAGE), &byte, 1);
	if (chance(r, 10)) {
		/* Grow it past the page: the second page must SIGBUS. */
		void *g = mremap(m, PAGE, 2 * PAGE, MREMAP_MAYMOVE);

		if (g != MAP_FAILED) {
			m = g;
			len = 2 * PAGE;
			INC(nr_checks);
			if (guarded_copy(&byte, (u8 *)g + PAGE, 1))
				violation(t, "a run page mapping read past its page");
		}
	}
	if (chance(r, 5))
		mprotect(m, len, PROT_READ);
	if (chance(r, 30) || len > PAGE) {
		munmap(m, len);
		goto out;
	}
	pthread_mutex_lock(&lock);
	i = rnd(r, MAX_EXTRAS);
	if (extras[i]) {
		munmap(extras[i], extras_len[i]);
		extras[i] = NULL;
	}
	if (chance(r, 80)) {
		extras[i] = m;
		extras_len[i] = len;
	} else {
		munmap(m, len);
	}
	pthread_mutex_unlock(&lock);
out:
	close(fd);
	vp_put(v);
}

/* Change guest memory behind the kernel's back. */
static void op_slot(struct thr *t)
{
	struct rng *r = &t->rng;
	unsigned int i = rnd(r, NSLOTS);
	int kind = rnd(r, SLOT_LOST), vfd = -1;
	struct vp *v = NULL;

	if (kind == SLOT_RUNPAGE)
		v = vp_get(t, &vfd);
	pthread_mutex_lock(&lock);
	if (chance(r, 10)) {
		/* Shrink the memfd under its mappings, or grow it back. */
		if (ftruncate(memfd, chance(r, 50) ? NSLOTS * SLOT_SIZE :
			      rnd(r, NSLOTS) * SLOT_SIZE))
			note(t, "ftruncate: %s", strerror(errno));
	} else if (chance(r, 10) && slot_kind[i] == SLOT_ANON) {
		madvise(slot_addr(i), SLOT_SIZE, MADV_DONTNEED);
	} else if (chance(r, 10) && slot_kind[i] == SLOT_ANON) {
		mprotect(slot_addr(i), SLOT_SIZE, PROT_READ);
		slot_kind[i] = SLOT_RO;
	} else {
		/* Mostly memory a guest can use again. */
		if (chance(r, 50))
			kind = chance(r, 70) ? SLOT_ANON : SLOT_MEMFD;
		slot_set(t, i, kind, vfd);
	}
	pthread_mutex_unlock(&lock);
	if (v) {
		close(vfd);
		vp_put(v);
	}
}

/*
 * Another address space: a fork() child gets EPERM for every partition
 * and VP ioctl and for mmap of a VP fd, may still use /dev/vhv, and
 * exits holding the fds, maybe after the parent has closed its own.
 */
static void op_fork(struct thr *t)
{
	struct rng *r = &t->rng;
	int pfd = -1, vfd = -1, status, i;
	struct part *p;
	struct vp *v;
	pid_t pid;
	u64 seed = rnd64(r);

	p = part_get(t, &pfd);
	v = vp_get(t, &vfd);
	fflush(stdout);
	INC(nr_forks);
	pid = fork();
	if (pid == 0) {
		struct rng cr = { seed };
		int code = 0, fd;
		void *m;

		for (i = 0; i < 8 && pfd >= 0; i++) {
			int ci = C_MAP_GPA + rnd(&cr, 5);

			if (ioctl(pfd, cmds[ci].cmd, rnd_val(&cr)) != -1 ||
			    errno != EPERM)
				code = 10 + ci;
		}
		for (i = 0; i < 8 && vfd >= 0; i++) {
			int ci = C_RUN + rnd(&cr, 12);

			if (ioctl(vfd, cmds[ci].cmd, ci == C_RUN ? 0 :
				  rnd_val(&cr)) != -1 || errno != EPERM)
				code = 10 + ci;
		}
		if (pfd >= 0 && ioctl(pfd, _IO(VHVIO, 0x7f), 0) != -1)
			code = 40;
		if (vfd >= 0) {
			m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
				 vfd, 0);
			if (m != MAP_FAILED || errno != EPERM)
				code = 41;
		}
		/* The system fd has no owner: a partition of our own. */
		fd = ioctl(sysfd, VHV_CREATE_PARTITION, 0);
		if (fd >= 0) {
			int vp = ioctl(fd, VHV_CREATE_VP, rnd(&cr, 2));

			if (vp >= 0) {
				m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED, vp, 0);
				if (m != MAP_FAILED) {
					((struct vhv_run *)m)->immediate_exit = 1;
					if (ioctl(vp, VHV_RUN, 0) != -1 ||
					    errno != EINTR)
						code = 42;
				}
			}
		}
		if (chance(&cr, 50))
			usleep(rnd(&cr, 3000));
		_exit(code);	/* the fds and mappings go with the exit */
	}
	if (pfd >= 0)
		close(pfd);
	if (vfd >= 0)
		close(vfd);
	if (chance(r, 30)) {
		op_part_close(t);
		op_vp_close(t);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid) {
		INC(nr_checks);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			/*
			 * code: 10 + ioctl index without EPERM, 40 unknown
			 * ioctl, 41 mmap, 42 RUN of its own VP
			 */
			violation(t, "fork child: status 0x%x, code %d",
				  status, WIFEXITED(status) ?
				  WEXITSTATUS(status) : -1);
	}
	if (p)
		part_put(p);
	if (v)
		vp_put(v);
}

/* The VHV_MAX_* limits and one past them, on a partition of our own. */
static void op_limits(struct thr *t)
{
	static u8 page[PAGE] __attribute__((aligned(4096)));
	static struct {
		struct vhv_msrs h;
		struct vhv_msr_entry e[VHV_MAX_MSR_ENTRIES + 1];
	} msrs;
	static struct {
		struct vhv_cpuid h;
		struct vhv_cpuid_entry e[VHV_MAX_CPUID_ENTRIES + 1];
	} cpuid;
	static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
	struct rng *r = &t->rng;
	int pfd, vfds[VHV_MAX_VPS], nvps = 0, i;
	struct vhv_map_gpa m = { .size = PAGE, .uaddr = (u64)page,
				 .flags = VHV_MAP_READ };
	struct vhv_unmap_gpa u = { 0, (VHV_MAX_MAPPINGS + 1) * PAGE };
	long ret;

	if (pthread_mutex_trylock(&limits_lock))
		return;
	pfd = new_part(t, chance(r, 50));
	if (pfd < 0)
		goto out;
	for (i = 0; i < VHV_MAX_MAPPINGS; i++) {
		m.gpa = i * PAGE;
		if (do_ioctl(t, pfd, FD_PART, C_MAP_GPA, (unsigned long)&m)) {
			violation(t, "MAP_GPA %d of %d: %s", i + 1,
				  VHV_MAX_MAPPINGS, strerror(errno));
			break;
		}
	}
	m.gpa = VHV_MAX_MAPPINGS * PAGE;
	ret = do_ioctl(t, pfd, FD_PART, C_MAP_GPA, (unsigned long)&m);
	expect_err(t, ret, ENOSPC, "mapping VHV_MAX_MAPPINGS + 1");
	ret = do_ioctl(t, pfd, FD_PART, C_UNMAP_GPA, (unsigned long)&u);
	if (ret)
		violation(t, "UNMAP_GPA of all mappings: %s", strerror(errno));
	ret = do_ioctl(t, pfd, FD_PART, C_UNMAP_GPA, (unsigned long)&u);
	expect_err(t, ret, ENOENT, "UNMAP_GPA of nothing");

	nvps = chance(r, 20) ? VHV_MAX_VPS : 1 + rnd(r, 4);
	for (i = 0; i < nvps; i++) {
		vfds[i] = do_ioctl(t, pfd, FD_PART, C_CREATE_VP,
				   nvps == VHV_MAX_VPS ? i : VHV_MAX_VPS - 1 - i);
		if (vfds[i] < 0 && errno != ENOMEM && errno != ENOSPC)
			violation(t, "CREATE_VP %d: %s", i, strerror(errno));
	}
	ret = do_ioctl(t, pfd, FD_PART, C_CREATE_VP, VHV_MAX_VPS);
	expect_err(t, ret, EINVAL, "CREATE_VP of VHV_MAX_VPS");
	ret = do_ioctl(t, pfd, FD_PART, C_CREATE_VP, VHV_MAX_VPS - 1);
	if (vfds[nvps == VHV_MAX_VPS ? VHV_MAX_VPS - 1 : 0] >= 0)
		expect_err(t, ret, EEXIST, "CREATE_VP of an index in use");
	if (vfds[0] >= 0) {
		msrs.h.nmsrs = VHV_MAX_MSR_ENTRIES;
		for (i = 0; i <= VHV_MAX_MSR_ENTRIES; i++)
			msrs.e[i].index = 0x10;
		ret = do_ioctl(t, vfds[0], FD_VP, C_GET_MSRS,
			       (unsigned long)&msrs);
		INC(nr_checks);
		if (ret != VHV_MAX_MSR_ENTRIES)
			violation(t, "GET_MSRS of %d TSCs returned %ld (%s)",
				  VHV_MAX_MSR_ENTRIES, ret, strerror(errno));
		msrs.h.nmsrs++;
		ret = do_ioctl(t, vfds[0], FD_VP, C_GET_MSRS,
			       (unsigned long)&msrs);
		expect_err(t, ret, E2BIG, "GET_MSRS of VHV_MAX_MSR_ENTRIES + 1");
		cpuid.h.nent = VHV_MAX_CPUID_ENTRIES;
		ret = do_ioctl(t, vfds[0], FD_VP, C_SET_CPUID,
			       (unsigned long)&cpuid);
		if (ret)
			violation(t, "SET_CPUID of %d entries: %s",
				  VHV_MAX_CPUID_ENTRIES, strerror(errno));
		cpuid.h.nent++;
		ret = do_ioctl(t, vfds[0], FD_VP, C_SET_CPUID,
			       (unsigned long)&cpuid);
		expect_err(t, ret, E2BIG, "SET_CPUID of VHV_MAX_CPUID + 1");
	}
	for (i = 0; i < nvps; i++)
		if (vfds[i] >= 0)
			close(vfds[i]);
	close(pfd);
out:
	pthread_mutex_unlock(&limits_lock);
}

struct op {
	void (*fn)(struct thr *t);
	const char *name;
	unsigned int weight;
};

static const struct op ops[] = {
	{ op_run, "run", 220 },
	{ op_setup, "setup", 60 },
	{ op_vp_state, "vp_state", 170 },
	{ op_interrupt, "interrupt", 60 },
	{ op_eoi, "eoi_exits", 15 },
	{ op_map, "map", 80 },
	{ op_unmap, "unmap", 40 },
	{ op_slot, "slot", 25 },
	{ op_part_create, "part_create", 25 },
	{ op_part_close, "part_close", 12 },
	{ op_vp_create, "vp_create", 50 },
	{ op_vp_close, "vp_close", 25 },
	{ op_runpage, "runpage", 40 },
	{ op_fd_chaos, "fd_chaos", 20 },
	{ op_wrong_fd, "wrong_fd", 30 },
	{ op_unknown, "unknown", 25 },
	{ op_sys, "sys", 30 },
	{ op_fork, "fork", 2 },
	{ op_limits, "limits", 2 },
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	struct sigevent sev = { 0 };
	unsigned int total = 0, i, x;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_notify_thread_id = syscall(SYS_gettid);
	t->have_timer = !timer_create(CLOCK_MONOTONIC, &sev, &t->timer);
	if (!t->have_timer)
		say("# fuzz: thread %d: timer_create: %s (RUN only with immediate_exit)\n",
		    t->id, strerror(errno));
	while (!LOAD(stop)) {
		if (__atomic_add_fetch(&nr_ops, 1, __ATOMIC_RELAXED) > max_ops) {
			__atomic_fetch_sub(&nr_ops, 1, __ATOMIC_RELAXED);
			break;
		}
		/* Keep the table about half full. */
		pthread_mutex_lock(&lock);
		i = count_parts() < 2 ? 1 : count_vps() < 3 ? 2 : 0;
		pthread_mutex_unlock(&lock);
		if (i == 1) {
			STORE(t->op, "part_create");
			op_part_create(t);
			continue;
		}
		if (i == 2) {
			STORE(t->op, "vp_create");
			op_vp_create(t);
			continue;
		}
		x = rnd(&t->rng, total);
		for (i = 0; x >= ops[i].weight; i++)
			x -= ops[i].weight;
		STORE(t->op, ops[i].name);
		STORE(t->op_start, now_ns());
		if (trace)
			say("# fuzz: t%d op %llu %s\n", t->id,
			    (unsigned long long)LOAD(nr_ops), ops[i].name);
		if (!t->have_timer && ops[i].fn == op_run)
			continue;
		ops[i].fn(t);
		STORE(t->op, NULL);
	}
	if (t->have_timer)
		timer_delete(t->timer);
	STORE(t->done, true);
	return NULL;
}

/* ---------------------------------------------------------------------
 * Start-up checks, the final sanity run, main().
 */
static void check_caps(struct thr *t)
{
	static const long want[] = {
		-1, VHV_MAX_VPS, VHV_MAX_MAPPINGS, 1, VHV_MAX_CPUID_ENTRIES,
		VHV_MAX_MSR_ENTRIES, 48, 1, 1, 1, 1, 1000000000,
	};
	static const unsigned long unknown[] = {
		12, 13, 0x100, 0xffffffff, ~0UL, 0x8000000000000000UL,
	};
	unsigned int i;
	long v;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		v = do_ioctl(t, sysfd, FD_SYS, C_CHECK_CAP, i);
		INC(nr_checks);
		if (i == VHV_CAP_BACKEND) {
			backend = v;
			if (v != VHV_BACKEND_SVM && v != VHV_BACKEND_VMX)
				violation(t, "VHV_CAP_BACKEND is %ld", v);
		} else if (v != want[i]) {
			violation(t, "capability %u is %ld, expected %ld", i, v,
				  want[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		v = do_ioctl(t, sysfd, FD_SYS, C_CHECK_CAP, unknown[i]);
		INC(nr_checks);
		if (v)
			violation(t, "unknown capability 0x%lx is %ld",
				  unknown[i], v);
	}
}

/* After the storm: a fresh partition must still run a trivial guest. */
static void sanity_run(struct thr *t)
{
	static const u8 code[] = { 0xb0, 'A', 0xe6, 0xf4 };	/* out 0xf4 */
	struct vhv_map_gpa m = { 0, 0x10000, 0, 7, 0 };
	struct vhv_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct vhv_sregs s;
	struct vhv_run *run;
	int pfd, vfd;
	u8 *ram;

	ram = mmap(NULL, m.size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return;
	memcpy(ram + 0x1000, code, sizeof(code));
	m.uaddr = (u64)ram;
	pfd = ioctl(sysfd, VHV_CREATE_PARTITION, 0);
	if (pfd < 0 || ioctl(pfd, VHV_MAP_GPA, &m)) {
		violation(t, "sanity: partition or MAP_GPA: %s", strerror(errno));
		goto out;
	}
	vfd = ioctl(pfd, VHV_CREATE_VP, 0);
	run = vfd < 0 ? MAP_FAILED : mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					  MAP_SHARED, vfd, 0);
	if (run == MAP_FAILED) {
		violation(t, "sanity: VP: %s", strerror(errno));
		goto out;
	}
	ioctl(vfd, VHV_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(vfd, VHV_SET_SREGS, &s) || ioctl(vfd, VHV_SET_REGS, &regs) ||
	    ioctl(vfd, VHV_RUN, 0) || run->exit_reason != VHV_EXIT_IO ||
	    run->io.port != 0xf4 || run->rip != 0x1002)
		violation(t, "sanity: no OUT exit (exit %u, port 0x%x, rip 0x%llx)",
			  run->exit_reason, run->io.port,
			  (unsigned long long)run->rip);
	munmap(run, PAGE);
	close(vfd);
out:
	if (pfd >= 0)
		close(pfd);
	munmap(ram, m.size);
}

static void cleanup(void)
{
	int i;

	for (i = 0; i < MAX_VPS_T; i++) {
		if (vps[i]) {
			close(vps[i]->fd);
			vps[i]->fd = -1;
			vp_put(vps[i]);
			vps[i] = NULL;
		}
	}
	for (i = 0; i < MAX_PARTS; i++) {
		if (parts[i]) {
			close(parts[i]->fd);
			parts[i]->fd = -1;
			part_put(parts[i]);
			parts[i] = NULL;
		}
	}
	for (i = 0; i < MAX_EXTRAS; i++)
		if (extras[i])
			munmap(extras[i], extras_len[i]);
}

static void print_usage(const char *argv0)
{
	fprintf(stderr, "%s [-s SEED] [-n OPS] [-t SECONDS] [-j THREADS] [-v]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct thr thr[MAX_THREADS];
	struct thr *t0 = &thr[0];
	struct sigaction sa = { 0 };
	u64 seed = 0, t_start, t_end, deadline, grace, seedstate;
	double secs = DEFAULT_SECONDS;
	bool have_seed = false, have_ops = false, have_secs = false;
	int nthreads = DEFAULT_THREADS, c, i, hit = 0, ok = 0;
	const char *env;
	struct rng r;

	while ((c = getopt(argc, argv, "s:n:t:j:vh")) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'n':
			max_ops = strtoull(optarg, NULL, 0);
			have_ops = true;
			break;
		case 't':
			secs = strtod(optarg, NULL);
			have_secs = true;
			break;
		case 'j':
			nthreads = atoi(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS)
		print_usage(argv[0]);
	/*
	 * The lanes pass no arguments, but unknown kernel parameters reach
	 * /init's environment: VHV_FUZZ_SECONDS=600 on the kernel command
	 * line asks for a long run.  The others help replay a failure.
	 */
	env = getenv("VHV_FUZZ_SECONDS");
	if (!have_secs && env && *env) {
		secs = strtod(env, NULL);
		have_secs = true;
	}
	env = getenv("VHV_FUZZ_SEED");
	if (!have_seed && env && *env) {
		seed = strtoull(env, NULL, 0);
		have_seed = true;
	}
	env = getenv("VHV_FUZZ_THREADS");
	if (env && *env)
		nthreads = atoi(env);
	env = getenv("VHV_FUZZ_OPS");
	if (!have_ops && env && *env) {
		max_ops = strtoull(env, NULL, 0);
		have_ops = true;
	}
	env = getenv("VHV_FUZZ_TRACE");
	trace = env && *env == '1';
	if (nthreads < 1 || nthreads > MAX_THREADS)
		print_usage(argv[0]);
	if (have_ops && !have_secs)
		secs = 0;	/* -n alone: no time limit */
	if (!have_seed)
		seed = now_ns() ^ ((u64)getpid() << 32);
	printf("# fuzz: seed 0x%llx\n", (unsigned long long)seed);
	printf("1..1\n");
	printf("# fuzz: %d threads, %.1f s, at most %llu ops\n", nthreads, secs,
	       (unsigned long long)max_ops);
	fflush(stdout);

	sysfd = open("/dev/vhv", O_RDWR | O_CLOEXEC);
	if (sysfd < 0) {
		printf("ok 1 fuzz # SKIP cannot open /dev/vhv: %s\n",
		       strerror(errno));
		return 4;
	}
	sa.sa_handler = noop_handler;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = fault_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	seedstate = seed;
	r.s = splitmix(&seedstate);
	if (!arena_setup(&r)) {
		printf("not ok 1 fuzz # cannot set up guest memory: %s\n",
		       strerror(errno));
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		struct thr *t = &thr[i];

		t->id = i;
		t->seed = splitmix(&seedstate);
		t->rng.s = t->seed;
		t->scratch = mmap(NULL, SCRATCH_SIZE + 2 * PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t->scratch == MAP_FAILED)
			return 1;
		t->ro = t->scratch + SCRATCH_SIZE + PAGE;
		rnd_bytes(&t->rng, t->ro, PAGE);
		mprotect(t->scratch + SCRATCH_SIZE, PAGE, PROT_NONE);
		mprotect(t->ro, PAGE, PROT_READ);
		printf("# fuzz: thread %d seed 0x%llx\n", i,
		       (unsigned long long)t->seed);
	}
	check_caps(t0);
	printf("# fuzz: backend %s\n", backend == VHV_BACKEND_SVM ? "SVM" :
	       backend == VHV_BACKEND_VMX ? "VMX" : "?");
	fflush(stdout);

	t_start = now_ns();
	deadline = secs > 0 ? t_start + (u64)(secs * 1e9) : 0;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&thr[i].th, NULL, thread_main, &thr[i])) {
			printf("not ok 1 fuzz # pthread_create failed\n");
			return 1;
		}
	}
	for (;;) {
		bool all_done = true;

		usleep(20000);
		for (i = 0; i < nthreads; i++)
			all_done &= LOAD(thr[i].done);
		if (all_done || (deadline && now_ns() >= deadline))
			break;
	}
	STORE(stop, 1);
	/* Every op is bounded: a thread that does not come back is a hang. */
	grace = 20 + 2 * (u64)secs;
	for (i = 0; i < nthreads; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += grace;
		if (pthread_timedjoin_np(thr[i].th, NULL, &ts)) {
			const char *op = LOAD(thr[i].op);

			say("# fuzz: VIOLATION: thread %d (seed 0x%llx) stuck in %s for %llu s\n",
			    i, (unsigned long long)thr[i].seed, op ? op : "?",
			    (unsigned long long)((now_ns() - LOAD(thr[i].op_start)) /
						 1000000000ULL));
			printf("not ok 1 fuzz # a thread is stuck in the kernel\n");
			fflush(stdout);
			_exit(1);
		}
	}
	t_end = now_ns();
	cleanup();
	sanity_run(t0);

	for (i = 0; i < NCMDS; i++) {
		hit += cov_issued[i] > 0;
		ok += cov_ok[i] > 0;
		if (verbose || !cov_ok[i])
			printf("# fuzz:   %-18s issued %8llu, succeeded %8llu\n",
			       cmds[i].name,
			       (unsigned long long)cov_issued[i],
			       (unsigned long long)cov_ok[i]);
	}
	printf("# fuzz: exits:");
	for (i = 0; i < (int)ARRAY_SIZE(exits); i++)
		printf(" %s %llu", exit_names[i], (unsigned long long)exits[i]);
	printf("\n");
	printf("# fuzz: %llu runs (%llu EINTR), %llu forks, %llu checks, %llu faults, %llu notes\n",
	       (unsigned long long)nr_runs, (unsigned long long)nr_eintr,
	       (unsigned long long)nr_forks, (unsigned long long)nr_checks,
	       (unsigned long long)nr_faults, (unsigned long long)nr_notes);
	printf("# fuzz: %llu ops, %llu ioctls, coverage: %d of %d ioctl numbers hit, %d succeeded",
	       (unsigned long long)nr_ops, (unsigned long long)nr_ioctls, hit,
	       NCMDS, ok);
	printf(", %.1f s, %.0f ops/s, seed 0x%llx\n", (t_end - t_start) / 1e9,
	       nr_ops / ((t_end - t_start) / 1e9), (unsigned long long)seed);
	if (nr_violations) {
		printf("not ok 1 fuzz # %llu violations, seed 0x%llx\n",
		       (unsigned long long)nr_violations,
		       (unsigned long long)seed);
		return 1;
	}
	printf("ok 1 fuzz\n");
	return 0;
}
