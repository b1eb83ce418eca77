// SPDX-License-Identifier: GPL-2.0
/*
 * vhv selftest library: /dev/vhv, partitions, memory, VPs and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhv_util.h"
#include "apic.h"

void test_assert_fail(const char *file, int line, const char *cond,
		      const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "# ==== Test Assertion Failure ====\n");
	fprintf(stderr, "#   %s:%d: %s\n", file, line, cond);
	fprintf(stderr, "#   errno=%d (%s)\n#   ", err, strerror(err));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}

int vhv_open(void)
{
	int fd = open(VHV_DEV_PATH, O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open(%s) failed: is vhv.ko loaded?",
		    VHV_DEV_PATH);
	return fd;
}

int vhv_check_cap(unsigned long cap)
{
	int fd = vhv_open();
	int ret = ioctl(fd, VHV_CHECK_CAP, cap);

	TEST_ASSERT(ret >= 0, "VHV_CHECK_CAP(%lu) failed: %d", cap, ret);
	close(fd);
	return ret;
}

int vhv_run_page_size(void)
{
	int fd = vhv_open();
	int ret = ioctl(fd, VHV_GET_RUN_PAGE_SIZE, 0);

	TEST_ASSERT(ret > 0, "VHV_GET_RUN_PAGE_SIZE failed: %d", ret);
	close(fd);
	return ret;
}

struct vhv_partition *part_create_empty_flags(unsigned long flags)
{
	struct vhv_partition *part = calloc(1, sizeof(*part));
	int dev = vhv_open();

	TEST_ASSERT(part, "out of memory");
	part->run_size = ioctl(dev, VHV_GET_RUN_PAGE_SIZE, 0);
	TEST_ASSERT((long)part->run_size > 0, "VHV_GET_RUN_PAGE_SIZE failed");
	part->fd = ioctl(dev, VHV_CREATE_PARTITION, flags);
	TEST_ASSERT(part->fd >= 0, "VHV_CREATE_PARTITION(0x%lx) failed",
		    flags);
	close(dev);
	return part;
}

struct vhv_partition *part_create_empty(void)
{
	return part_create_empty_flags(0);
}

struct vhv_partition *part_create(size_t ram_bytes)
{
	return part_create_flags(ram_bytes, 0);
}

struct vhv_partition *part_create_flags(size_t ram_bytes, unsigned long flags)
{
	struct vhv_partition *part = part_create_empty_flags(flags);

	TEST_ASSERT(ram_bytes >= GUEST_SCRATCH_GPA && !(ram_bytes % PAGE_SIZE),
		    "guest RAM of 0x%zx bytes is too small or unaligned",
		    ram_bytes);
	part->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(part->ram != MAP_FAILED, "mmap of guest RAM failed");
	part->ram_size = ram_bytes;
	part_map(part, 0, ram_bytes, part->ram,
		 VHV_MAP_READ | VHV_MAP_WRITE | VHV_MAP_EXEC);

	guest_load_image(part);
	guest_setup_tables(part);
	part->image_loaded = true;
	return part;
}

void part_free(struct vhv_partition *part)
{
	unsigned int i;

	if (!part)
		return;
	for (i = 0; i < VHV_MAX_VPS; i++)
		vp_free(part->vps[i]);
	close(part->fd);
	if (part->ram)
		munmap(part->ram, part->ram_size);
	free(part);
}

int __part_map(struct vhv_partition *part, u64 gpa, u64 size, void *hva,
	       u32 flags)
{
	struct vhv_map_gpa map = {
		.gpa = gpa,
		.size = size,
		.uaddr = (u64)hva,
		.flags = flags,
	};

	return ioctl(part->fd, VHV_MAP_GPA, &map);
}

void part_map(struct vhv_partition *part, u64 gpa, u64 size, void *hva,
	      u32 flags)
{
	struct vhv_region *r;
	int ret;

	TEST_ASSERT(part->nregions < PART_MAX_REGIONS, "too many regions");
	ret = __part_map(part, gpa, size, hva, flags);
	TEST_ASSERT(!ret, "VHV_MAP_GPA gpa 0x%llx size 0x%llx flags 0x%x: %d",
		    (unsigned long long)gpa, (unsigned long long)size, flags,
		    ret);
	r = &part->regions[part->nregions++];
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->flags = flags;
}

int __part_unmap(struct vhv_partition *part, u64 gpa, u64 size)
{
	struct vhv_unmap_gpa unmap = { .gpa = gpa, .size = size };

	return ioctl(part->fd, VHV_UNMAP_GPA, &unmap);
}

void part_unmap(struct vhv_partition *part, u64 gpa, u64 size)
{
	unsigned int i = 0;
	int ret;

	ret = __part_unmap(part, gpa, size);
	TEST_ASSERT(!ret, "VHV_UNMAP_GPA gpa 0x%llx size 0x%llx: %d",
		    (unsigned long long)gpa, (unsigned long long)size, ret);
	while (i < part->nregions) {
		struct vhv_region *r = &part->regions[i];

		if (r->gpa >= gpa && r->gpa + r->size <= gpa + size)
			*r = part->regions[--part->nregions];
		else
			i++;
	}
}

void *addr_gpa2hva(struct vhv_partition *part, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < part->nregions; i++) {
		struct vhv_region *r = &part->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return (u8 *)r->hva + (gpa - r->gpa);
	}
	TEST_FAIL("no memory mapped at GPA 0x%llx", (unsigned long long)gpa);
}

void *addr_gva2hva(struct vhv_partition *part, u64 gva)
{
	TEST_ASSERT(part->image_loaded && gva < GUEST_IDENTITY_SIZE,
		    "GVA 0x%llx is not identity-mapped",
		    (unsigned long long)gva);
	return addr_gpa2hva(part, gva);
}

void part_write(struct vhv_partition *part, u64 gpa, const void *src,
		size_t len)
{
	u8 *dst = addr_gpa2hva(part, gpa);

	if (len)
		addr_gpa2hva(part, gpa + len - 1);
	memcpy(dst, src, len);
}

struct vhv_vp *vp_create(struct vhv_partition *part, u32 index)
{
	struct vhv_vp *vp = calloc(1, sizeof(*vp));

	TEST_ASSERT(vp, "out of memory");
	TEST_ASSERT(index < VHV_MAX_VPS && !part->vps[index],
		    "bad or used VP index %u", index);
	vp->part = part;
	vp->index = index;
	vp->fd = ioctl(part->fd, VHV_CREATE_VP, (unsigned long)index);
	TEST_ASSERT(vp->fd >= 0, "VHV_CREATE_VP(%u) failed", index);
	vp->run_size = part->run_size;
	vp->run = mmap(NULL, vp->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vp->fd, 0);
	TEST_ASSERT(vp->run != MAP_FAILED, "mmap of the run page failed");
	part->vps[index] = vp;
	return vp;
}

struct vhv_vp *vp_add(struct vhv_partition *part, u32 index,
		      void (*guest_code)(void))
{
	struct vhv_vp *vp = vp_create(part, index);

	if (guest_code)
		vp_setup_long_mode(vp, guest_code);
	return vp;
}

void vp_free(struct vhv_vp *vp)
{
	if (!vp)
		return;
	vp->part->vps[vp->index] = NULL;
	munmap(vp->run, vp->run_size);
	close(vp->fd);
	free(vp);
}

u64 vp_stack_top(u32 index)
{
	return GUEST_STACK_GPA + (u64)(index + 1) * GUEST_STACK_SIZE;
}

void vp_set_real_mode_entry(struct vhv_vp *vp, u16 cs, u16 ip)
{
	struct vhv_sregs sregs;
	struct vhv_regs regs;

	vp_sregs_get(vp, &sregs);
	sregs.cs.selector = cs;
	sregs.cs.base = (u64)cs << 4;
	sregs.cs.limit = 0xffff;
	vp_sregs_set(vp, &sregs);

	vp_regs_get(vp, &regs);
	regs.rip = ip;
	regs.rsp = 0xfff0;
	regs.rflags = X86_FLAGS_FIXED;
	vp_regs_set(vp, &regs);
	/* APs start waiting for INIT-SIPI: this VP is set up, run it. */
	vp_set_mp_state(vp, VHV_MP_RUNNABLE);
}

void vp_args_set(struct vhv_vp *vp, unsigned int nargs, ...)
{
	struct vhv_regs regs;
	unsigned int i;
	va_list ap;

	TEST_ASSERT(nargs <= 6, "too many guest arguments: %u", nargs);
	vp_regs_get(vp, &regs);
	va_start(ap, nargs);
	for (i = 0; i < nargs; i++) {
		u64 v = va_arg(ap, u64);

		switch (i) {
		case 0:
			regs.rdi = v;
			break;
		case 1:
			regs.rsi = v;
			break;
		case 2:
			regs.rdx = v;
			break;
		case 3:
			regs.rcx = v;
			break;
		case 4:
			regs.r8 = v;
			break;
		case 5:
			regs.r9 = v;
			break;
		}
	}
	va_end(ap);
	vp_regs_set(vp, &regs);
}

int __vp_run(struct vhv_vp *vp)
{
	return ioctl(vp->fd, VHV_RUN, 0);
}

void vp_run(struct vhv_vp *vp)
{
	int ret = __vp_run(vp);

	TEST_ASSERT(!ret, "VHV_RUN on VP %u returned %d, exit %s", vp->index,
		    ret, vp_exit_str(vp));
}

void vp_regs_get(struct vhv_vp *vp, struct vhv_regs *regs)
{
	int ret = ioctl(vp->fd, VHV_GET_REGS, regs);

	TEST_ASSERT(!ret, "VHV_GET_REGS failed: %d", ret);
}

void vp_regs_set(struct vhv_vp *vp, const struct vhv_regs *regs)
{
	int ret = ioctl(vp->fd, VHV_SET_REGS, regs);

	TEST_ASSERT(!ret, "VHV_SET_REGS failed: %d", ret);
}

void vp_sregs_get(struct vhv_vp *vp, struct vhv_sregs *sregs)
{
	int ret = ioctl(vp->fd, VHV_GET_SREGS, sregs);

	TEST_ASSERT(!ret, "VHV_GET_SREGS failed: %d", ret);
}

int __vp_sregs_set(struct vhv_vp *vp, const struct vhv_sregs *sregs)
{
	return ioctl(vp->fd, VHV_SET_SREGS, sregs);
}

void vp_sregs_set(struct vhv_vp *vp, const struct vhv_sregs *sregs)
{
	int ret = __vp_sregs_set(vp, sregs);

	TEST_ASSERT(!ret, "VHV_SET_SREGS failed: %d", ret);
}

int __vp_msrs(struct vhv_vp *vp, unsigned long ioctl_nr,
	      struct vhv_msr_entry *entries, u32 n)
{
	size_t size = sizeof(struct vhv_msrs) + n * sizeof(*entries);
	struct vhv_msrs *msrs = calloc(1, size);
	int ret;

	TEST_ASSERT(msrs, "out of memory");
	msrs->nmsrs = n;
	memcpy(msrs->entries, entries, n * sizeof(*entries));
	ret = ioctl(vp->fd, ioctl_nr, msrs);
	memcpy(entries, msrs->entries, n * sizeof(*entries));
	free(msrs);
	return ret;
}

u64 vp_get_msr(struct vhv_vp *vp, u32 index)
{
	struct vhv_msr_entry e = { .index = index };
	int ret = __vp_msrs(vp, VHV_GET_MSRS, &e, 1);

	TEST_ASSERT(ret == 1, "VHV_GET_MSRS(0x%x) returned %d", index, ret);
	return e.data;
}

void vp_set_msr(struct vhv_vp *vp, u32 index, u64 value)
{
	struct vhv_msr_entry e = { .index = index, .data = value };
	int ret = __vp_msrs(vp, VHV_SET_MSRS, &e, 1);

	TEST_ASSERT(ret == 1, "VHV_SET_MSRS(0x%x) returned %d", index, ret);
}

int __vp_set_cpuid(struct vhv_vp *vp, const struct vhv_cpuid_entry *entries,
		   u32 n)
{
	size_t size = sizeof(struct vhv_cpuid) + n * sizeof(*entries);
	struct vhv_cpuid *cpuid = calloc(1, size);
	int ret;

	TEST_ASSERT(cpuid, "out of memory");
	cpuid->nent = n;
	memcpy(cpuid->entries, entries, n * sizeof(*entries));
	ret = ioctl(vp->fd, VHV_SET_CPUID, cpuid);
	free(cpuid);
	return ret;
}

void vp_set_cpuid(struct vhv_vp *vp, const struct vhv_cpuid_entry *entries,
		  u32 n)
{
	int ret = __vp_set_cpuid(vp, entries, n);

	TEST_ASSERT(!ret, "VHV_SET_CPUID failed: %d", ret);
}

const char *exit_reason_str(u32 reason)
{
	static const char * const names[] = {
		[VHV_EXIT_NONE] = "NONE",
		[VHV_EXIT_IO] = "IO",
		[VHV_EXIT_MMIO] = "MMIO",
		[VHV_EXIT_HLT] = "HLT",
		[VHV_EXIT_SHUTDOWN] = "SHUTDOWN",
		[VHV_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[VHV_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[VHV_EXIT_INTR] = "INTR",
		[VHV_EXIT_EOI] = "EOI",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "UNKNOWN";
}

const char *vp_exit_str(struct vhv_vp *vp)
{
	struct vhv_run *run = vp->run;
	char *buf = vp->exit_str;
	size_t len = sizeof(vp->exit_str);
	u64 data;
	int n;

	n = snprintf(buf, len, "%s (%u) rip 0x%llx",
		     exit_reason_str(run->exit_reason), run->exit_reason,
		     (unsigned long long)run->rip);
	if (n < 0 || (size_t)n >= len)
		return buf;
	buf += n;
	len -= n;

	switch (run->exit_reason) {
	case VHV_EXIT_IO:
		snprintf(buf, len,
			 ": port 0x%x %s size %u string %u rep %u count %u",
			 run->io.port,
			 run->io.direction == VHV_IO_OUT ? "out" : "in",
			 run->io.size, run->io.string, run->io.rep,
			 run->io.count);
		break;
	case VHV_EXIT_MMIO:
		memcpy(&data, run->mmio.data, sizeof(data));
		snprintf(buf, len, ": gpa 0x%llx len %u %s data 0x%llx",
			 (unsigned long long)run->mmio.gpa, run->mmio.len,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)data);
		break;
	case VHV_EXIT_EOI:
		snprintf(buf, len, ": vector 0x%x", run->eoi.vector);
		break;
	case VHV_EXIT_FAIL_ENTRY:
		snprintf(buf, len, ": hardware reason 0x%llx cpu %u",
			 (unsigned long long)run->fail_entry.hardware_reason,
			 run->fail_entry.cpu);
		break;
	case VHV_EXIT_INTERNAL_ERROR:
		snprintf(buf, len,
			 ": suberror %u code 0x%llx info 0x%llx 0x%llx insn_len %u",
			 run->internal.suberror,
			 (unsigned long long)run->internal.code,
			 (unsigned long long)run->internal.info[0],
			 (unsigned long long)run->internal.info[1],
			 run->internal.insn_len);
		break;
	}
	return vp->exit_str;
}

void assert_io_exit(struct vhv_vp *vp, u16 port, u8 size, u8 direction,
		    bool string)
{
	struct vhv_run *run = vp->run;

	TEST_ASSERT_EXIT(vp, VHV_EXIT_IO);
	TEST_ASSERT(run->io.port == port && run->io.size == size &&
		    run->io.direction == direction &&
		    !!run->io.string == string,
		    "expected I/O port 0x%x size %u %s%s, got %s", port, size,
		    direction == VHV_IO_OUT ? "out" : "in",
		    string ? " string" : "", vp_exit_str(vp));
	TEST_ASSERT(run->io.count >= 1 &&
		    run->io.data_offset >= sizeof(*run) &&
		    run->io.data_offset + (u64)run->io.count * run->io.size <=
		    vp->run_size,
		    "I/O data area out of the run page: offset %u count %u",
		    run->io.data_offset, run->io.count);
}

void mmio_dev_init(struct mmio_dev *dev, u64 base)
{
	memset(dev, 0, sizeof(*dev));
	dev->base = base;
}

void mmio_dev_clear_log(struct mmio_dev *dev)
{
	dev->nlog = 0;
}

void mmio_dev_handle(struct vhv_vp *vp, struct mmio_dev *dev)
{
	struct vhv_run *run = vp->run;
	u64 gpa = run->mmio.gpa;
	u32 len = run->mmio.len;
	struct mmio_access *a;
	u64 off;

	TEST_ASSERT_EXIT(vp, VHV_EXIT_MMIO);
	TEST_ASSERT(len == 1 || len == 2 || len == 4 || len == 8,
		    "bad MMIO length: %s", vp_exit_str(vp));
	TEST_ASSERT(gpa >= dev->base && gpa - dev->base + len <= MMIO_DEV_SIZE,
		    "MMIO outside the device at 0x%llx: %s",
		    (unsigned long long)dev->base, vp_exit_str(vp));
	off = gpa - dev->base;
	if (run->mmio.is_write)
		memcpy(&dev->mem[off], run->mmio.data, len);
	else
		memcpy(run->mmio.data, &dev->mem[off], len);

	if (dev->nlog < MMIO_LOG_MAX) {
		a = &dev->log[dev->nlog];
		a->gpa = gpa;
		a->len = len;
		a->is_write = run->mmio.is_write;
		a->rip = run->rip;
		a->data = 0;
		memcpy(&a->data, run->mmio.data, len);
	}
	dev->nlog++;
}

u64 vp_run_mmio(struct vhv_vp *vp, struct mmio_dev *dev, struct ucall *uc)
{
	for (;;) {
		vp_run(vp);
		if (vp->run->exit_reason != VHV_EXIT_MMIO)
			return vp_check_ucall(vp, uc);
		mmio_dev_handle(vp, dev);
	}
}

void mmio_dev_check(struct mmio_dev *dev, unsigned int i, u64 gpa, u32 len,
		    bool is_write, u64 data)
{
	struct mmio_access *a = &dev->log[i];

	TEST_ASSERT(i < dev->nlog && i < MMIO_LOG_MAX,
		    "MMIO access #%u missing: %u logged", i, dev->nlog);
	TEST_ASSERT(a->gpa == gpa && a->len == len && a->is_write == is_write &&
		    (!is_write || a->data == data),
		    "MMIO access #%u: expected %s gpa 0x%llx len %u data 0x%llx, got %s gpa 0x%llx len %u data 0x%llx",
		    i, is_write ? "write" : "read", (unsigned long long)gpa,
		    len, (unsigned long long)data,
		    a->is_write ? "write" : "read", (unsigned long long)a->gpa,
		    a->len, (unsigned long long)a->data);
}
