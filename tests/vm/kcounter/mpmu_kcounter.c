// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper, not shipped: a kernel-owned per-CPU counter, as the NMI
 * watchdog makes one (include-guest), or, with exclude_host=1, as KVM's
 * emulated vPMU makes one for a guest.  Loading it creates the counter;
 * the load fails with the error perf gave; unloading releases it.
 */
#include <linux/module.h>
#include <linux/perf_event.h>

static int cpu;
module_param(cpu, int, 0444);
MODULE_PARM_DESC(cpu, "CPU to count on (default 0)");

static bool exclude_host;
module_param(exclude_host, bool, 0444);
MODULE_PARM_DESC(exclude_host, "Count the guest only, like KVM's vPMU counters");

static struct perf_event *counter;

static int __init kcounter_init(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.pinned = 1,
		.disabled = 1,
		.exclude_host = exclude_host,
	};

	counter = perf_event_create_kernel_counter(&attr, cpu, NULL, NULL, NULL);
	return PTR_ERR_OR_ZERO(counter);
}

static void __exit kcounter_exit(void)
{
	perf_event_release_kernel(counter);
}

module_init(kcounter_init);
module_exit(kcounter_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mediated_pmu test helper: one kernel perf counter");
