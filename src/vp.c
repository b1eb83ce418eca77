// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual processors: the fd, the shared run page, register access and
 * the arch-neutral run loop.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/pkru.h>

#include "vhv/vhv.h"
#include "vhv/compat.h"

/* The partition whose VP ran last on each CPU: an ID, never a pointer. */
static DEFINE_PER_CPU(u64, vhv_last_partition);

static struct vhv_vp *pn_to_vp(struct preempt_notifier *pn)
{
	return container_of(pn, struct vhv_vp, pn);
}

static void vhv_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct vhv_vp *vp = pn_to_vp(pn);

	/* One partition's branch predictions must not steer another's. */
	if (__this_cpu_read(vhv_last_partition) != vp->part->id) {
		__this_cpu_write(vhv_last_partition, vp->part->id);
		indirect_branch_prediction_barrier();
	}
	if (vhv_ops->vp_load)
		vhv_ops->vp_load(vp, cpu);
}

static void vhv_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
	struct vhv_vp *vp = pn_to_vp(pn);

	if (vhv_ops->vp_put)
		vhv_ops->vp_put(vp);
}

static struct preempt_ops vhv_preempt_ops = {
	.sched_in = vhv_sched_in,
	.sched_out = vhv_sched_out,
};

/*
 * Bind the VP to this thread's CPU for the duration of an ioctl; the
 * preempt notifier follows it to whatever CPU the thread runs on.
 */
static void vhv_vp_load(struct vhv_vp *vp)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vp->pn);
	vhv_sched_in(&vp->pn, cpu);
	put_cpu();
}

static void vhv_vp_put(struct vhv_vp *vp)
{
	preempt_disable();
	vhv_sched_out(&vp->pn, NULL);
	preempt_notifier_unregister(&vp->pn);
	preempt_enable();
}

/*
 * The run loop.  Each turn enters the guest once; the backend describes
 * the exit in vp->exit and vhv_handle_exit() either handles it here
 * (>0: enter again) or fills the run page for the VMM (0).  A VP that
 * is halted or waits for a SIPI sleeps here until its APIC has work.
 *
 * in_guest is set, with interrupts off, before the APIC is looked at
 * for events to inject: a thread that makes an event pending after
 * that look sees in_guest and sends an IPI, which stays pending until
 * the guest runs and then makes it exit at once (see vhv_kick).
 */
static int vhv_vp_run(struct vhv_vp *vp)
{
	struct vhv_run *run = vp->run;
	u32 pkru;
	int r;

	run->exit_reason = VHV_EXIT_NONE;
	if (vp->pending != VHV_PEND_NONE) {
		r = vhv_complete_pending(vp);
		if (r <= 0)
			return r;
	}
	if (READ_ONCE(run->immediate_exit)) {
		run->exit_reason = VHV_EXIT_INTR;
		return -EINTR;
	}

	fpu_swap_kvm_fpstate(&vp->fpu, true);
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = VHV_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();

		vhv_lapic_accept_events(vp);
		if (vp->mp_state != VHV_MP_RUNNABLE) {
			rcuwait_wait_event(&vp->wait, vhv_lapic_has_work(vp),
					   TASK_INTERRUPTIBLE);
			continue;
		}

		preempt_disable();
		local_irq_disable();
		if (test_thread_flag(TIF_NEED_FPU_LOAD))
			switch_fpu_return();
		WRITE_ONCE(vp->cpu, smp_processor_id());
		/* Pairs with the barrier in vhv_kick(). */
		smp_store_mb(vp->in_guest, true);
		vhv_lapic_inject(vp);
		/*
		 * PKRU is not part of the swapped FPU state, and a guest can
		 * write it (CR4.PKE is not intercepted): never let its value
		 * reach the host.
		 */
		pkru = read_pkru();
		r = vhv_ops->vp_run(vp);
		WRITE_ONCE(vp->in_guest, false);
		write_pkru(pkru);
		vp->exit.cpu = smp_processor_id();
		local_irq_enable();
		preempt_enable();
		if (r)
			break;
		r = vhv_handle_exit(vp);
		if (r <= 0)
			break;
	}
	fpu_swap_kvm_fpstate(&vp->fpu, false);
	return r;
}

static int vhv_get_set_msrs(struct vhv_vp *vp, struct vhv_msrs __user *arg,
			    bool set)
{
	struct vhv_msr_entry *e;
	struct vhv_msrs hdr;
	size_t size;
	int r;
	u32 i;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.reserved)
		return -EINVAL;
	if (hdr.nmsrs > VHV_MAX_MSR_ENTRIES)
		return -E2BIG;
	if (!hdr.nmsrs)
		return 0;
	size = hdr.nmsrs * sizeof(*e);
	e = vmemdup_user(arg->entries, size);
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < hdr.nmsrs; i++) {
		if (e[i].reserved) {
			r = -EINVAL;
			goto out;
		}
	}
	for (i = 0; i < hdr.nmsrs; i++) {
		if (set ? vhv_set_msr(vp, e[i].index, e[i].data, true) :
			  vhv_get_msr(vp, e[i].index, &e[i].data))
			break;
	}
	r = i;
	if (!set && copy_to_user(arg->entries, e, size))
		r = -EFAULT;
out:
	kvfree(e);
	return r;
}

static long vhv_vp_ioctl_locked(struct vhv_vp *vp, unsigned int cmd,
				unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct vhv_sregs sregs;
	struct vhv_regs regs;
	int r;

	BUILD_BUG_ON(sizeof(regs) != sizeof(vp->regs));

	switch (cmd) {
	case VHV_RUN:
		return arg ? -EINVAL : vhv_vp_run(vp);
	case VHV_GET_REGS:
		return copy_to_user(argp, vp->regs, sizeof(regs)) ? -EFAULT : 0;
	case VHV_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		if (regs.rflags & ~(X86_RFLAGS_VALID | X86_RFLAGS_FIXED))
			return -EINVAL;
		regs.rflags |= X86_RFLAGS_FIXED;
		memcpy(vp->regs, &regs, sizeof(regs));
		return 0;
	case VHV_GET_SREGS:
		memset(&sregs, 0, sizeof(sregs));
		vhv_ops->get_sregs(vp, &sregs);
		sregs.cr8 = vhv_lapic_tpr(vp) >> 4;
		sregs.apic_base = vp->apic_base;
		return copy_to_user(argp, &sregs, sizeof(sregs)) ? -EFAULT : 0;
	case VHV_SET_SREGS:
		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		r = vhv_check_sregs(&sregs);
		if (r)
			return r;
		r = vhv_lapic_set_msr(vp, MSR_IA32_APICBASE, sregs.apic_base,
				      true);
		if (r)
			return r;
		vhv_ops->set_sregs(vp, &sregs);
		vhv_lapic_set_tpr(vp, sregs.cr8 << 4);
		return 0;
	case VHV_GET_MSRS:
		return vhv_get_set_msrs(vp, argp, false);
	case VHV_SET_MSRS:
		return vhv_get_set_msrs(vp, argp, true);
	case VHV_SET_CPUID:
		return vhv_set_cpuid(vp, argp);
	case VHV_GET_LAPIC:
		return vhv_get_lapic(vp, argp);
	case VHV_SET_LAPIC:
		return vhv_set_lapic(vp, argp);
	case VHV_GET_MP_STATE: {
		struct vhv_mp_state mp = { .state = vp->mp_state };

		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	case VHV_SET_MP_STATE: {
		struct vhv_mp_state mp;

		if (copy_from_user(&mp, argp, sizeof(mp)))
			return -EFAULT;
		if (mp.reserved || mp.state > VHV_MP_WAIT_SIPI)
			return -EINVAL;
		vp->mp_state = mp.state;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static long vhv_vp_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct vhv_vp *vp = f->private_data;
	long r;

	if (!vhv_owner_ok(vp->part))
		return -EPERM;
	if (mutex_lock_killable(&vp->mutex))
		return -EINTR;
	vhv_vp_load(vp);
	r = vhv_vp_ioctl_locked(vp, cmd, arg);
	vhv_vp_put(vp);
	mutex_unlock(&vp->mutex);
	return r;
}

static vm_fault_t vhv_run_page_fault(struct vm_fault *vmf)
{
	struct vhv_vp *vp = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff)
		return VM_FAULT_SIGBUS;
	page = virt_to_page(vp->run);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vhv_run_page_ops = {
	.fault = vhv_run_page_fault,
};

static int vhv_vp_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct vhv_vp *vp = f->private_data;

	if (!vhv_owner_ok(vp->part))
		return -EPERM;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start > VHV_RUN_PAGE_SIZE ||
	    !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* One page, for good: no mremap() growth, no merging with another. */
	vhv_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vhv_run_page_ops;
	return 0;
}

static void vhv_vp_free(struct vhv_vp *vp)
{
	vhv_lapic_free(vp);
	vhv_ops->vp_free(vp);
	fpu_free_guest_fpstate(&vp->fpu);
	kvfree(vp->cpuid);
	free_page((unsigned long)vp->run);
	kfree(vp);
}

static int vhv_vp_release(struct inode *inode, struct file *f)
{
	struct vhv_vp *vp = f->private_data;
	struct vhv_partition *p = vp->part;

	mutex_lock(&p->lock);
	write_lock(&p->vps_lock);
	p->vps[vp->index] = NULL;
	write_unlock(&p->vps_lock);
	mutex_unlock(&p->lock);
	vhv_vp_free(vp);
	vhv_partition_put(p);
	return 0;
}

static const struct file_operations vhv_vp_fops = {
	.owner = THIS_MODULE,
	.release = vhv_vp_release,
	.unlocked_ioctl = vhv_vp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = vhv_vp_mmap,
	.llseek = noop_llseek,
};

int vhv_vp_create(struct vhv_partition *p, unsigned long index)
{
	struct vhv_vp *vp;
	int r;

	if (index >= VHV_MAX_VPS)
		return -EINVAL;
	index = array_index_nospec(index, VHV_MAX_VPS);

	vp = kzalloc(vhv_ops->vp_size, VHV_GFP);
	if (!vp)
		return -ENOMEM;
	vp->run = (void *)get_zeroed_page(VHV_GFP);
	if (!vp->run) {
		r = -ENOMEM;
		goto free_vp;
	}
	if (!fpu_alloc_guest_fpstate(&vp->fpu)) {
		r = -ENOMEM;
		goto free_run;
	}
	vp->part = p;
	vp->index = index;
	mutex_init(&vp->mutex);
	rcuwait_init(&vp->wait);
	preempt_notifier_init(&vp->pn, &vhv_preempt_ops);
	vhv_reset_regs(vp);
	/* The BSP runs; application processors wait for INIT and SIPI. */
	vp->mp_state = index ? VHV_MP_WAIT_SIPI : VHV_MP_RUNNABLE;
	r = vhv_lapic_init(vp);
	if (r)
		goto free_fpu;
	r = vhv_ops->vp_create(vp);
	if (r)
		goto free_lapic;

	mutex_lock(&p->lock);
	if (p->vps[index]) {
		r = -EEXIST;
		goto unlock;
	}
	r = anon_inode_getfd("vhv-vp", &vhv_vp_fops, vp, O_RDWR | O_CLOEXEC);
	if (r < 0)
		goto unlock;
	/* A racing close of the new fd waits for p->lock in release. */
	kref_get(&p->ref);
	write_lock(&p->vps_lock);
	p->vps[index] = vp;
	write_unlock(&p->vps_lock);
	mutex_unlock(&p->lock);
	return r;

unlock:
	mutex_unlock(&p->lock);
	vhv_ops->vp_free(vp);
free_lapic:
	vhv_lapic_free(vp);
free_fpu:
	fpu_free_guest_fpstate(&vp->fpu);
free_run:
	free_page((unsigned long)vp->run);
free_vp:
	kfree(vp);
	return r;
}
