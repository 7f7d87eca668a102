// SPDX-License-Identifier: GPL-2.0
/*
 * Test stand-in for a KVM vendor module that uses the kernel's own mediated
 * PMU knob (Linux 7.0+), for the VM tier only: never packaged.
 *
 * Under TCG there is no core PMU, so the real KVM can never take the knob.
 * This module takes it instead, through the kernel's own functions.  Those
 * are exported to KVM's modules only, so it is named kvm-intel (the test
 * guests are AMD-like and use the real kvm_amd).  It offers what the real
 * thing would show:
 *
 *  - enable_mediated_pmu (bool, 0444, default Y), the parameter by which
 *    mediated_pmu tells whether a vendor module uses the knob;
 *  - a counting PMU "mpmu_native" flagged PERF_PMU_CAP_MEDIATED_VPMU, so
 *    that the kernel guards its include-guest events as it would a core
 *    PMU's (it counts nothing);
 *  - /dev/mpmu_native: open() takes the knob with perf_create_mediated_pmu()
 *    and fails with its error (-EBUSY while include-guest events exist),
 *    the last close gives it back: an open file is a VM holding it.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/perf_event.h>

static bool enable_mediated_pmu = true;
module_param(enable_mediated_pmu, bool, 0444);
MODULE_PARM_DESC(enable_mediated_pmu, "Announce use of the kernel's mediated PMU knob (default Y)");

static struct pmu native_pmu;

static int native_event_init(struct perf_event *event)
{
	if (event->attr.type != native_pmu.type)
		return -ENOENT;
	if (is_sampling_event(event))
		return -EOPNOTSUPP;
	return 0;
}

static void native_start(struct perf_event *event, int flags)
{
	event->hw.state = 0;
}

static void native_stop(struct perf_event *event, int flags)
{
	event->hw.state = PERF_HES_STOPPED | PERF_HES_UPTODATE;
}

static int native_add(struct perf_event *event, int flags)
{
	if (flags & PERF_EF_START)
		native_start(event, flags);
	else
		native_stop(event, flags);
	return 0;
}

static void native_del(struct perf_event *event, int flags)
{
	native_stop(event, flags);
}

static void native_read(struct perf_event *event)
{
}

/* The software context takes both per-task and CPU-wide events. */
static struct pmu native_pmu = {
	.module		= THIS_MODULE,
	.task_ctx_nr	= perf_sw_context,
	.capabilities	= PERF_PMU_CAP_MEDIATED_VPMU | PERF_PMU_CAP_NO_INTERRUPT,
	.event_init	= native_event_init,
	.add		= native_add,
	.del		= native_del,
	.start		= native_start,
	.stop		= native_stop,
	.read		= native_read,
};

static int knob_open(struct inode *inode, struct file *file)
{
	return perf_create_mediated_pmu();
}

static int knob_release(struct inode *inode, struct file *file)
{
	perf_release_mediated_pmu();
	return 0;
}

static const struct file_operations knob_fops = {
	.owner		= THIS_MODULE,
	.open		= knob_open,
	.release	= knob_release,
	.llseek		= noop_llseek,
};

static struct miscdevice knob_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mpmu_native",
	.fops	= &knob_fops,
};

static int __init native_init(void)
{
	int ret;

	ret = perf_pmu_register(&native_pmu, "mpmu_native", -1);
	if (ret)
		return ret;
	ret = misc_register(&knob_dev);
	if (ret)
		perf_pmu_unregister(&native_pmu);
	return ret;
}

static void __exit native_exit(void)
{
	misc_deregister(&knob_dev);
	perf_pmu_unregister(&native_pmu);
}

module_init(native_init);
module_exit(native_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mediated_pmu test stand-in: a KVM vendor module using the native knob");
