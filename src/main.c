// SPDX-License-Identifier: GPL-2.0
/*
 * vhv module: /dev/vhv, backend selection, capabilities and the per-CPU
 * enabling of hardware virtualization.
 */
#define pr_fmt(fmt) "vhv: " fmt

#include <linux/cpu.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "vhv/vhv.h"

const struct vhv_backend_ops *vhv_ops;

/*
 * Hardware virtualization is enabled on every online CPU while at least one
 * partition exists.  This mutex protects: hw_users and hw_cpuhp; it is
 * taken outside the CPU hotplug lock.
 */
static DEFINE_MUTEX(hw_lock);
static unsigned int hw_users;
static int hw_cpuhp = -1;
static DEFINE_PER_CPU(bool, hw_enabled);

static int vhv_cpu_online(unsigned int cpu)
{
	int r;

	if (__this_cpu_read(hw_enabled))
		return 0;
	r = vhv_ops->cpu_enable();
	if (r)
		return r;
	__this_cpu_write(hw_enabled, true);
	return 0;
}

static int vhv_cpu_offline(unsigned int cpu)
{
	if (__this_cpu_read(hw_enabled)) {
		vhv_ops->cpu_disable();
		__this_cpu_write(hw_enabled, false);
	}
	return 0;
}

/*
 * The cpuhp state runs the callbacks on each CPU now and on every CPU
 * that comes online later; removing it runs the offline callback.
 */
int vhv_hardware_get(void)
{
	int r = 0;

	mutex_lock(&hw_lock);
	if (hw_users++ == 0) {
		r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "vhv:online",
				      vhv_cpu_online, vhv_cpu_offline);
		if (r < 0) {
			hw_users = 0;
			if (r != -EBUSY)
				pr_info("cannot enable %s on all CPUs: %d\n",
					vhv_ops->name, r);
		} else {
			hw_cpuhp = r;
			r = 0;
		}
	}
	mutex_unlock(&hw_lock);
	return r;
}

void vhv_hardware_put(void)
{
	mutex_lock(&hw_lock);
	if (!WARN_ON_ONCE(!hw_users) && --hw_users == 0) {
		cpuhp_remove_state(hw_cpuhp);
		hw_cpuhp = -1;
	}
	mutex_unlock(&hw_lock);
}

static long vhv_check_cap(unsigned long cap)
{
	switch (cap) {
	case VHV_CAP_BACKEND:
		return vhv_ops->id;
	case VHV_CAP_MAX_VPS:
		return VHV_MAX_VPS;
	case VHV_CAP_MAX_MAPPINGS:
		return VHV_MAX_MAPPINGS;
	case VHV_CAP_IMMEDIATE_EXIT:
	case VHV_CAP_READONLY_MEM:
	case VHV_CAP_LAPIC:
	case VHV_CAP_X2APIC:
	case VHV_CAP_TSC_DEADLINE:
		return 1;
	case VHV_CAP_MAX_CPUID:
		return VHV_MAX_CPUID_ENTRIES;
	case VHV_CAP_MAX_MSRS:
		return VHV_MAX_MSR_ENTRIES;
	case VHV_CAP_MAX_GPA_BITS:
		return ilog2(VHV_MAX_GPA);
	case VHV_CAP_APIC_BUS_HZ:
		return VHV_APIC_BUS_HZ;
	default:
		return 0;
	}
}

static long vhv_dev_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case VHV_GET_API_VERSION:
		return arg ? -EINVAL : VHV_API_VERSION;
	case VHV_CHECK_CAP:
		return vhv_check_cap(arg);
	case VHV_CREATE_PARTITION:
		return arg & ~VHV_PARTITION_X2APIC ? -EINVAL :
		       vhv_partition_create(arg);
	case VHV_GET_RUN_PAGE_SIZE:
		return arg ? -EINVAL : VHV_RUN_PAGE_SIZE;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vhv_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vhv_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vhv_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vhv",
	.fops = &vhv_dev_fops,
	.mode = 0600,
};

static int __init vhv_init(void)
{
	int r;

	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON)
		vhv_ops = &vhv_svm_ops;
	else if (boot_cpu_data.x86_vendor == X86_VENDOR_INTEL ||
		 boot_cpu_data.x86_vendor == X86_VENDOR_CENTAUR ||
		 boot_cpu_data.x86_vendor == X86_VENDOR_ZHAOXIN)
		vhv_ops = &vhv_vmx_ops;
	if (!vhv_ops) {
		pr_info("no supported virtualization extension\n");
		return -ENODEV;
	}
	r = vhv_ops->hardware_setup();
	if (r)
		return r;
	r = vhv_cpuid_setup();
	if (r)
		goto unsetup;
	/*
	 * Preempt notifiers sit behind a static key: turn it on once, not
	 * per VP, since every flip patches the scheduler's text.
	 */
	preempt_notifier_inc();
	r = misc_register(&vhv_dev);
	if (r)
		goto notifiers;
	pr_info("%s backend ready\n", vhv_ops->name);
	return 0;

notifiers:
	preempt_notifier_dec();
	vhv_cpuid_cleanup();
unsetup:
	vhv_ops->hardware_unsetup();
	return r;
}

static void __exit vhv_exit(void)
{
	misc_deregister(&vhv_dev);
	preempt_notifier_dec();
	vhv_cpuid_cleanup();
	vhv_ops->hardware_unsetup();
}

module_init(vhv_init);
module_exit(vhv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vhv: partitions and virtual processors on VMX and SVM");
