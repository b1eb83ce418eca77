// SPDX-License-Identifier: GPL-2.0
/*
 * Partitions: the fd, its memory map and its VPs.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vhv/vhv.h"

static atomic64_t vhv_partition_ids;

/* Partitions belong to the mm that created them. */
bool vhv_owner_ok(struct vhv_partition *p)
{
	return current->mm == p->mm;
}

static void vhv_partition_free(struct kref *ref)
{
	struct vhv_partition *p = container_of(ref, struct vhv_partition, ref);

	if (vhv_ops->partition_destroy)
		vhv_ops->partition_destroy(p);
	vhv_mmu_destroy(p);
	mmdrop(p->mm);
	kfree(p);
	vhv_hardware_put();
}

void vhv_partition_put(struct vhv_partition *p)
{
	kref_put(&p->ref, vhv_partition_free);
}

static void vhv_flush_ipi(void *unused)
{
}

/*
 * Make every VP drop the translations removed before this call.  A VP
 * compares tlb_gen with interrupts off just before it enters; the IPI
 * forces one that entered with the old value out of the guest, and
 * on_each_cpu() returns only when every CPU has taken it.
 */
void vhv_flush_tlb(struct vhv_partition *p)
{
	atomic_long_inc(&p->tlb_gen);
	on_each_cpu(vhv_flush_ipi, NULL, 1);
}

static long vhv_partition_ioctl(struct file *f, unsigned int cmd,
				unsigned long arg)
{
	struct vhv_partition *p = f->private_data;
	void __user *argp = (void __user *)arg;

	if (!vhv_owner_ok(p))
		return -EPERM;

	switch (cmd) {
	case VHV_MAP_GPA: {
		struct vhv_map_gpa m;

		if (copy_from_user(&m, argp, sizeof(m)))
			return -EFAULT;
		return vhv_map_gpa(p, &m);
	}
	case VHV_UNMAP_GPA: {
		struct vhv_unmap_gpa u;

		if (copy_from_user(&u, argp, sizeof(u)))
			return -EFAULT;
		return vhv_unmap_gpa(p, &u);
	}
	case VHV_CREATE_VP:
		return vhv_vp_create(p, arg);
	case VHV_REQUEST_INTERRUPT:
		return vhv_request_interrupt(p, argp);
	case VHV_SET_EOI_EXITS: {
		struct vhv_eoi_exits e;
		unsigned int i;

		if (copy_from_user(&e, argp, sizeof(e)))
			return -EFAULT;
		for (i = 0; i < 256; i++)
			assign_bit(i, p->eoi_exits, e.bitmap[i / 64] &
				   BIT_ULL(i % 64));
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static int vhv_partition_release(struct inode *inode, struct file *f)
{
	vhv_partition_put(f->private_data);
	return 0;
}

static const struct file_operations vhv_partition_fops = {
	.owner = THIS_MODULE,
	.release = vhv_partition_release,
	.unlocked_ioctl = vhv_partition_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

int vhv_partition_create(u32 flags)
{
	struct vhv_partition *p;
	int r;

	r = vhv_hardware_get();
	if (r)
		return r;

	p = kzalloc(sizeof(*p), VHV_GFP);
	if (!p) {
		r = -ENOMEM;
		goto put_hw;
	}
	kref_init(&p->ref);
	mutex_init(&p->lock);
	rwlock_init(&p->vps_lock);
	p->id = atomic64_inc_return(&vhv_partition_ids);
	p->flags = flags;
	p->mm = current->mm;
	mmgrab(p->mm);
	r = vhv_mmu_init(p);
	if (r)
		goto free;

	r = anon_inode_getfd("vhv-partition", &vhv_partition_fops, p,
			     O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto destroy;
	return r;

destroy:
	vhv_mmu_destroy(p);
free:
	mmdrop(p->mm);
	kfree(p);
put_hw:
	vhv_hardware_put();
	return r;
}
