// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-physical memory: the map of GPA ranges onto VMM memory, and the
 * second-level tables (NPT or EPT) built from it on demand.
 *
 * A table entry is created on the first nested page fault at a GPA; the
 * VMM page behind it is pinned (FOLL_LONGTERM) until the range is
 * unmapped or the partition goes away.  The entry format comes from the
 * backend (spte_table/spte_leaf); the walk is the same for both.
 */
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>

#include "vhv/vhv.h"

#define SPTE_PA_MASK	GENMASK_ULL(51, 12)
#define ZAP_BATCH	512

static unsigned int level_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static unsigned int spte_index(u64 gpa, int level)
{
	return (gpa >> level_shift(level)) & 511;
}

static bool spte_present(u64 spte)
{
	return spte & vhv_ops->spte_present;
}

static u64 *spte_child(u64 spte)
{
	return __va(spte & SPTE_PA_MASK);
}

int vhv_mmu_init(struct vhv_partition *p)
{
	struct vhv_mmu *mmu = &p->mmu;

	mutex_init(&mmu->lock);
	mmu->pin_unlimited = capable(CAP_IPC_LOCK);
	mmu->levels = vhv_ops->mmu_levels();
	mmu->root = (u64 *)get_zeroed_page(VHV_GFP);
	return mmu->root ? 0 : -ENOMEM;
}

static struct page *spte_page(u64 spte)
{
	return pfn_to_page((spte & SPTE_PA_MASK) >> PAGE_SHIFT);
}

static void unpin_guest_page(u64 spte)
{
	struct page *page = spte_page(spte);

	unpin_user_pages_dirty_lock(&page, 1,
				    spte & vhv_ops->spte_writable);
}

static void free_table(u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		if (!spte_present(table[i]))
			continue;
		if (level == 1) {
			unpin_guest_page(table[i]);
		} else {
			free_table(spte_child(table[i]), level - 1);
			cond_resched();
		}
	}
	free_page((unsigned long)table);
}

/*
 * No VP can run any more, so no TLB can be used with these tables again:
 * SVM never reuses an ASID without a flush, VMX flushes the EPTP in its
 * partition_destroy.
 */
void vhv_mmu_destroy(struct vhv_partition *p)
{
	if (p->mmu.root)
		free_table(p->mmu.root, p->mmu.levels);
	p->mmu.root = NULL;
	atomic64_sub(p->mmu.npinned, &p->mm->pinned_vm);
	p->mmu.npinned = 0;
}

/*
 * Count @n more pinned pages against the owner's RLIMIT_MEMLOCK, as RDMA
 * and io_uring count theirs.  Called in the VMM's thread.
 */
static bool pin_charge(struct vhv_partition *p, unsigned long n)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned = atomic64_add_return(n, &p->mm->pinned_vm);

	if (p->mmu.pin_unlimited || pinned <= limit) {
		p->mmu.npinned += n;
		return true;
	}
	atomic64_sub(n, &p->mm->pinned_vm);
	return false;
}

static void pin_uncharge(struct vhv_partition *p, unsigned long n)
{
	p->mmu.npinned -= n;
	atomic64_sub(n, &p->mm->pinned_vm);
}

/* The mapping holding gpa, or NULL.  Called with mmu->lock held. */
static struct vhv_mapping *mapping_find(struct vhv_mmu *mmu, u64 gpa)
{
	unsigned int lo = 0, hi = mmu->nmaps;

	lockdep_assert_held(&mmu->lock);
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		struct vhv_mapping *m = &mmu->maps[mid];

		if (gpa < m->gpa)
			hi = mid;
		else if (gpa - m->gpa >= m->size)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

/* Every page of [uaddr, uaddr + size) must be in a VMA we may pin. */
static int check_vmas(u64 uaddr, u64 size, bool write)
{
	struct mm_struct *mm = current->mm;
	u64 addr = uaddr, end = uaddr + size;
	int r = 0;

	mmap_read_lock(mm);
	while (addr < end) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);

		if (!vma || !(vma->vm_flags & VM_READ) ||
		    (vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
		    (write && !(vma->vm_flags & VM_WRITE))) {
			r = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return r;
}

int vhv_map_gpa(struct vhv_partition *p, const struct vhv_map_gpa *m)
{
	struct vhv_mmu *mmu = &p->mmu;
	unsigned int i;
	int r;

	if (m->reserved || (m->flags & ~(VHV_MAP_READ | VHV_MAP_WRITE |
					 VHV_MAP_EXEC)) ||
	    !(m->flags & VHV_MAP_READ))
		return -EINVAL;
	if (!m->size || !PAGE_ALIGNED(m->gpa | m->size | m->uaddr))
		return -EINVAL;
	if (m->gpa + m->size < m->gpa || m->gpa + m->size > VHV_MAX_GPA)
		return -EINVAL;
	if (m->uaddr + m->size < m->uaddr ||
	    !access_ok((void __user *)m->uaddr, m->size))
		return -EFAULT;
	r = check_vmas(m->uaddr, m->size, m->flags & VHV_MAP_WRITE);
	if (r)
		return r;

	mutex_lock(&mmu->lock);
	for (i = 0; i < mmu->nmaps; i++) {
		struct vhv_mapping *o = &mmu->maps[i];

		if (m->gpa < o->gpa + o->size && o->gpa < m->gpa + m->size) {
			r = -EEXIST;
			goto out;
		}
		if (o->gpa > m->gpa)
			break;
	}
	if (mmu->nmaps == VHV_MAX_MAPPINGS) {
		r = -ENOSPC;
		goto out;
	}
	memmove(&mmu->maps[i + 1], &mmu->maps[i],
		(mmu->nmaps - i) * sizeof(mmu->maps[0]));
	mmu->maps[i] = (struct vhv_mapping) {
		.gpa = m->gpa, .size = m->size,
		.uaddr = m->uaddr, .flags = m->flags,
	};
	mmu->nmaps++;
out:
	mutex_unlock(&mmu->lock);
	return r;
}

/*
 * Clear up to @max leaf entries in [gpa, end), queueing their pages
 * (writable ones in queue[], read-only ones in queue[max..2 * max)).
 * Returns where it stopped.
 */
static u64 zap_some(struct vhv_mmu *mmu, u64 gpa, u64 end,
		    struct page **queue, unsigned int max, unsigned int *n,
		    unsigned int *nro)
{
	while (gpa < end && *n < max && *nro < max) {
		u64 *table = mmu->root;
		int level;

		for (level = mmu->levels; level > 1; level--) {
			u64 e = table[spte_index(gpa, level)];

			if (!spte_present(e))
				break;
			table = spte_child(e);
		}
		if (level > 1) {
			/* A hole: skip the whole region of this entry. */
			gpa = (gpa | ((1ULL << level_shift(level)) - 1)) + 1;
			continue;
		}
		table += spte_index(gpa, 1);
		if (spte_present(*table)) {
			if (*table & vhv_ops->spte_writable)
				queue[(*n)++] = spte_page(*table);
			else
				queue[max + (*nro)++] = spte_page(*table);
			WRITE_ONCE(*table, 0);
		}
		gpa += PAGE_SIZE;
	}
	return gpa;
}

static void zap_range(struct vhv_partition *p, u64 gpa, u64 end,
		      struct page **queue)
{
	unsigned int n, nro;

	while (gpa < end) {
		n = 0;
		nro = 0;
		gpa = zap_some(&p->mmu, gpa, end, queue, ZAP_BATCH, &n, &nro);
		if (!n && !nro)
			continue;
		/* No VP may use these pages past this point. */
		vhv_flush_tlb(p);
		unpin_user_pages_dirty_lock(queue, n, true);
		unpin_user_pages(queue + ZAP_BATCH, nro);
		pin_uncharge(p, n + nro);
		cond_resched();
	}
}

int vhv_unmap_gpa(struct vhv_partition *p, const struct vhv_unmap_gpa *u)
{
	struct vhv_mmu *mmu = &p->mmu;
	u64 end = u->gpa + u->size;
	unsigned int i, first, count = 0;
	struct page **queue;
	int r = 0;

	if (!u->size || !PAGE_ALIGNED(u->gpa | u->size) || end < u->gpa ||
	    end > VHV_MAX_GPA)
		return -EINVAL;
	queue = kmalloc_array(2 * ZAP_BATCH, sizeof(*queue), GFP_KERNEL);
	if (!queue)
		return -ENOMEM;

	mutex_lock(&mmu->lock);
	for (i = 0; i < mmu->nmaps; i++) {
		struct vhv_mapping *m = &mmu->maps[i];

		if (m->gpa >= end || m->gpa + m->size <= u->gpa)
			continue;
		if (m->gpa < u->gpa || m->gpa + m->size > end) {
			r = -EINVAL;
			goto out;
		}
		if (!count++)
			first = i;
	}
	if (!count) {
		r = -ENOENT;
		goto out;
	}
	/* The mappings inside the range are contiguous in the array. */
	memmove(&mmu->maps[first], &mmu->maps[first + count],
		(mmu->nmaps - first - count) * sizeof(mmu->maps[0]));
	mmu->nmaps -= count;
	zap_range(p, u->gpa, end, queue);
out:
	mutex_unlock(&mmu->lock);
	kfree(queue);
	return r;
}

/* Install the leaf for gpa, allocating tables on the way. */
static int spte_install(struct vhv_partition *p, u64 gpa,
			struct vhv_mapping *m)
{
	struct vhv_mmu *mmu = &p->mmu;
	u64 *table = mmu->root, *leaf;
	unsigned int gup = FOLL_LONGTERM;
	struct page *page;
	int level;

	for (level = mmu->levels; level > 1; level--) {
		u64 *e = &table[spte_index(gpa, level)];

		if (!spte_present(*e)) {
			u64 *child = (u64 *)get_zeroed_page(VHV_GFP);

			if (!child)
				return -ENOMEM;
			WRITE_ONCE(*e, vhv_ops->spte_table(__pa(child)));
		}
		table = spte_child(*e);
	}
	leaf = &table[spte_index(gpa, 1)];
	if (spte_present(*leaf))
		return 0;	/* another VP faulted it in */

	if (m->flags & VHV_MAP_WRITE)
		gup |= FOLL_WRITE;
	if (!pin_charge(p, 1))
		return -ENOMEM;
	if (pin_user_pages_fast(m->uaddr + (gpa & PAGE_MASK) - m->gpa, 1, gup,
				&page) != 1) {
		pin_uncharge(p, 1);
		return -EFAULT;
	}
	WRITE_ONCE(*leaf, vhv_ops->spte_leaf(page_to_phys(page), m->flags));
	return 0;
}

int vhv_mmu_fault(struct vhv_partition *p, u64 gpa, bool write, bool fetch)
{
	struct vhv_mmu *mmu = &p->mmu;
	struct vhv_mapping *m;
	int r;

	if (gpa >= VHV_MAX_GPA)
		return VHV_FAULT_MMIO;
	mutex_lock(&mmu->lock);
	m = mapping_find(mmu, gpa);
	if (!m || (write && !(m->flags & VHV_MAP_WRITE)))
		r = VHV_FAULT_MMIO;
	else if (fetch && !(m->flags & VHV_MAP_EXEC))
		r = VHV_FAULT_NOEXEC;
	else
		r = spte_install(p, gpa, m);
	mutex_unlock(&mmu->lock);
	return r;
}

/* The VMM address of [gpa, gpa + len), or 0 if that is not all RAM. */
static u64 gpa_to_hva(struct vhv_partition *p, u64 gpa, u32 len, bool write)
{
	struct vhv_mapping *m;
	u64 hva = 0;

	mutex_lock(&p->mmu.lock);
	m = mapping_find(&p->mmu, gpa);
	if (m && gpa + len - m->gpa <= m->size &&
	    (!write || (m->flags & VHV_MAP_WRITE)))
		hva = m->uaddr + gpa - m->gpa;
	mutex_unlock(&p->mmu.lock);
	return hva;
}

/*
 * Guest memory is the VMM's memory, and these run in the VMM's thread:
 * plain user copies reach it.  -ENOENT means "not RAM" (MMIO).
 */
int vhv_gpa_read(struct vhv_partition *p, u64 gpa, void *buf, u32 len)
{
	u64 hva = gpa_to_hva(p, gpa, len, false);

	if (!hva)
		return -ENOENT;
	return copy_from_user(buf, (void __user *)hva, len) ? -EFAULT : 0;
}

int vhv_gpa_write(struct vhv_partition *p, u64 gpa, const void *buf,
		  u32 len)
{
	u64 hva = gpa_to_hva(p, gpa, len, true);

	if (!hva)
		return -ENOENT;
	return copy_to_user((void __user *)hva, buf, len) ? -EFAULT : 0;
}
