// SPDX-License-Identifier: GPL-2.0
/*
 * mediated_pmu: a global knob, taken at VM creation, that keeps host perf
 * events which also count guest time off the PMU a mediated vPMU owns.
 * This file only sets up and tears down; the policy is in core.c.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "mpmu.h"

static bool enable = true;
module_param(enable, bool, 0444);
MODULE_PARM_DESC(enable, "Arbitrate VM creation from load on (default: Y)");

static char *guarded_pmus = "";
module_param(guarded_pmus, charp, 0444);
MODULE_PARM_DESC(guarded_pmus,
		 "PMUs to guard, by name, comma or space separated (default: the CPU core PMU)");

/*
 * VM creation stays refused (scan_begin) until the hooks are armed, what
 * exists is counted, sysfs and netlink are up: nothing after can fail,
 * so a failed load never leaves a VM holding a reference on this module.
 * perf_event_open() calls that were past the LSM hook when it was armed
 * keep it refused until they are over and counted (settle, in scan.c).
 */
static int __init mpmu_init(void)
{
	int ret, pending;

	ret = mpmu_pool_init();
	if (ret)
		return ret;
	mpmu_pool_debugfs_init();

	mutex_lock(&mpmu_config_mutex);
	ret = mpmu_pmus_init(guarded_pmus);
	if (ret)
		goto err_unlock;

	mpmu_core_init(enable);
	mpmu_scan_begin();
	ret = mpmu_hooks_init();
	if (ret)
		goto err_pmus;
	pending = mpmu_settle_start();
	ret = pending < 0 ? pending : mpmu_scan(true);
	if (ret)
		goto err_hooks;
	mutex_unlock(&mpmu_config_mutex);

	ret = mpmu_sysfs_init();
	if (ret)
		goto err_relock;
	ret = mpmu_netlink_init();
	if (ret)
		goto err_sysfs;
	mutex_lock(&mpmu_config_mutex);
	if (pending)
		mpmu_settle_go();
	else
		mpmu_scan_end();
	mutex_unlock(&mpmu_config_mutex);

	pr_info("version %s loaded, %s, %s\n", MPMU_VERSION,
		mpmu_hooks_native() == MPMU_NATIVE_IN_USE ?
		"observing the kernel's own knob" : "arbitrating",
		enable ? "enabled" : "disabled");
	return 0;

err_sysfs:
	mpmu_sysfs_exit();
err_relock:
	mutex_lock(&mpmu_config_mutex);
err_hooks:
	/*
	 * Unlocked: a hook may have asked for a rescan, and a vendor module's
	 * notifier may wait; both take the mutex.
	 */
	mutex_unlock(&mpmu_config_mutex);
	mpmu_hooks_exit();
	mpmu_settle_exit();
	mutex_lock(&mpmu_config_mutex);
err_pmus:
	mpmu_core_exit();
	mpmu_pmus_exit();
err_unlock:
	mutex_unlock(&mpmu_config_mutex);
	mpmu_pool_debugfs_exit();
	mpmu_pool_exit();
	return ret;
}

/* Only reached with no holder: each one pins the module. */
static void __exit mpmu_exit(void)
{
	mpmu_sysfs_exit();
	mpmu_hooks_exit();
	mpmu_netlink_exit();
	mpmu_settle_exit();
	mpmu_core_exit();
	mutex_lock(&mpmu_config_mutex);
	mpmu_pmus_exit();
	mutex_unlock(&mpmu_config_mutex);
	mpmu_pool_debugfs_exit();
	mpmu_pool_exit();
}

module_init(mpmu_init);
module_exit(mpmu_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mediated_pmu developers");
MODULE_DESCRIPTION("Global mediated-PMU knob for KVM on stock kernels");
MODULE_VERSION(MPMU_VERSION);
MODULE_SOFTDEP("pre: kvm");
