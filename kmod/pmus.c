// SPDX-License-Identifier: GPL-2.0
/*
 * The guarded PMUs.  An event belongs to a guarded PMU when it was opened
 * with that PMU's type (so guarding "software" also covers the cpu-clock and
 * task-clock events 6.12 routes to internal PMUs) or when it landed on that
 * PMU (PERF_TYPE_HARDWARE events land on the core PMU "cpu").
 *
 * The set is immutable once published and read under RCU from the hooks.
 * Each guarded PMU's module is pinned so that its struct pmu stays valid.
 */
#include <linux/device.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mpmu.h"

struct mpmu_guard {
	struct pmu *pmu;
	int type;
	char name[MPMU_PMU_NAME_LEN];
};

struct mpmu_guard_set {
	struct rcu_head rcu;
	unsigned int nr;
	bool pinned;		/* holds a reference on each PMU's module */
	struct mpmu_guard guard[MPMU_MAX_GUARDED];
};

static struct mpmu_guard_set __rcu *mpmu_guarded;
/* the "event_source" bus; const only on newer kernels */
static typeof(((struct device *)NULL)->bus) pmu_bus;

/* Names of the CPU core PMUs, by preference: "cpu", else the hybrid pair. */
static const char *const core_pmus[][2] = {
	{ "cpu", NULL },
	{ "cpu_core", "cpu_atom" },
};

/*
 * A disabled dummy software event, never counted by the hooks
 * (exclude_guest): a way into perf's private structures through exported
 * interfaces.  On @cpu, or on the current task with @cpu -1.
 */
struct perf_event *mpmu_dummy_event(int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
		.exclude_guest = 1,
	};

	return perf_event_create_kernel_counter(&attr, cpu, cpu < 0 ? current : NULL,
						NULL, NULL);
}

/* core.c keeps the event_source bus to itself; every PMU device sits on it. */
static int find_pmu_bus(void)
{
	struct perf_event *event;

	event = mpmu_dummy_event(-1);
	if (IS_ERR(event))
		return PTR_ERR(event);
	if (event->pmu->dev)
		pmu_bus = event->pmu->dev->bus;
	perf_event_release_kernel(event);
	return pmu_bus ? 0 : -ENODEV;
}

static struct pmu *pmu_get_by_name(const char *name)
{
	struct device *dev;
	struct pmu *pmu;

	dev = bus_find_device_by_name(pmu_bus, NULL, name);
	if (!dev)
		return NULL;
	pmu = dev_get_drvdata(dev);
	if (pmu && !try_module_get(pmu->module))
		pmu = NULL;
	put_device(dev);
	return pmu;
}

static void set_release(struct mpmu_guard_set *set)
{
	unsigned int i;

	for (i = 0; set->pinned && i < set->nr; i++)
		module_put(set->guard[i].pmu->module);
	kfree(set);
}

void mpmu_pmus_free(void *set)
{
	if (set)
		set_release(set);
}

static int set_add(struct mpmu_guard_set *set, const char *name, bool verbose)
{
	struct pmu *pmu;
	unsigned int i;

	for (i = 0; i < set->nr; i++)
		if (!strcmp(set->guard[i].name, name))
			return 0;
	if (set->nr == MPMU_MAX_GUARDED || strlen(name) >= MPMU_PMU_NAME_LEN) {
		if (verbose)
			pr_err("guarded_pmus: too many names, or '%s' too long\n", name);
		return -EINVAL;
	}
	pmu = pmu_get_by_name(name);
	if (!pmu) {
		if (verbose)
			pr_err("guarded_pmus: no PMU named '%s' (see /sys/bus/event_source/devices/)\n",
			       name);
		return -EINVAL;
	}
	set->guard[set->nr].pmu = pmu;
	set->guard[set->nr].type = pmu->type;
	strscpy(set->guard[set->nr].name, name, MPMU_PMU_NAME_LEN);
	set->nr++;
	return 0;
}

static void set_add_core(struct mpmu_guard_set *set)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(core_pmus) && !set->nr; i++)
		for (j = 0; j < ARRAY_SIZE(core_pmus[i]) && core_pmus[i][j]; j++)
			set_add(set, core_pmus[i][j], false);
}

/*
 * Build a set from names separated by commas or white space; nothing at
 * all means the core PMU(s).  Unknown names fail with -EINVAL.
 */
int mpmu_pmus_parse(const char *names, bool verbose, void **newset)
{
	struct mpmu_guard_set *set;
	char *copy, *cur, *name;
	int ret = 0;

	set = kzalloc(sizeof(*set), GFP_KERNEL);
	if (set)
		set->pinned = true;
	copy = kstrdup(names ?: "", GFP_KERNEL);
	if (!set || !copy) {
		ret = -ENOMEM;
		goto out;
	}

	cur = copy;
	while ((name = strsep(&cur, ", \t\n"))) {
		if (!*name)
			continue;
		ret = set_add(set, name, verbose);
		if (ret)
			goto out;
	}
	if (!set->nr)
		set_add_core(set);
out:
	kfree(copy);
	if (ret && set) {
		set_release(set);
		set = NULL;
	}
	*newset = set;
	return ret;
}

#ifdef PERF_PMU_CAP_MEDIATED_VPMU
static int add_if_native(struct device *dev, void *data)
{
	struct mpmu_guard_set *set = data;
	struct pmu *pmu = dev_get_drvdata(dev);

	if (!pmu || !(pmu->capabilities & PERF_PMU_CAP_MEDIATED_VPMU))
		return 0;
	if (set->nr == MPMU_MAX_GUARDED)
		return -E2BIG;
	set->guard[set->nr].pmu = pmu;
	set->guard[set->nr].type = pmu->type;
	strscpy(set->guard[set->nr].name, dev_name(dev), MPMU_PMU_NAME_LEN);
	set->nr++;
	return 0;
}
#endif

/*
 * The PMUs the kernel's own knob guards: those with
 * PERF_PMU_CAP_MEDIATED_VPMU (Linux 7.0+), as they are when a KVM vendor
 * module goes live (a PMU driver registers before that).  Not pinned:
 * observing must not keep a module loaded; the pointers are only compared,
 * and an event on a PMU pins that PMU's module itself.
 */
int mpmu_pmus_native(void **newset)
{
	struct mpmu_guard_set *set = kzalloc(sizeof(*set), GFP_KERNEL);
	int ret = 0;

	if (!set)
		return -ENOMEM;
#ifdef PERF_PMU_CAP_MEDIATED_VPMU
	ret = bus_for_each_dev(pmu_bus, NULL, set, add_if_native);
	if (ret == -E2BIG) {
		pr_warn("more than %d PMUs have PERF_PMU_CAP_MEDIATED_VPMU: showing the first\n",
			MPMU_MAX_GUARDED);
		ret = 0;
	}
#endif
	*newset = set;
	return ret;
}

/* Publish @set; returns the old one, to free once no hook can see it. */
void *mpmu_pmus_swap(void *set)
{
	struct mpmu_guard_set *old;

	old = rcu_replace_pointer(mpmu_guarded, set,
				  lockdep_is_held(&mpmu_config_mutex));
	synchronize_rcu();
	return old;
}

bool mpmu_pmus_match(const struct perf_event *event, u8 *guard)
{
	const struct perf_event *origin = event->parent ?: event;
	u32 type = mpmu_requested_type(origin);
	const struct mpmu_guard_set *set;
	bool match = false;
	unsigned int i;

	rcu_read_lock();
	set = rcu_dereference(mpmu_guarded);
	for (i = 0; set && i < set->nr && !match; i++) {
		match = event->pmu == set->guard[i].pmu ||
			type == set->guard[i].type;
		*guard = i;
	}
	rcu_read_unlock();
	return match;
}

/* The name of guard @idx of the current set, for messages. */
const char *mpmu_pmus_name(u8 idx)
{
	const struct mpmu_guard_set *set;
	const char *name = "?";

	rcu_read_lock();
	set = rcu_dereference(mpmu_guarded);
	if (set && idx < set->nr)
		name = set->guard[idx].name;
	rcu_read_unlock();
	return name;
}

ssize_t mpmu_pmus_show(char *buf)
{
	const struct mpmu_guard_set *set;
	ssize_t len = 0;
	unsigned int i;

	rcu_read_lock();
	set = rcu_dereference(mpmu_guarded);
	for (i = 0; set && i < set->nr; i++)
		len += sysfs_emit_at(buf, len, "%s%s", i ? " " : "",
				     set->guard[i].name);
	rcu_read_unlock();
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

/* Copy up to @max guarded PMU names; returns how many. */
int mpmu_pmus_names(struct mpmu_pmu_name *names, int max)
{
	const struct mpmu_guard_set *set;
	int i, nr = 0;

	rcu_read_lock();
	set = rcu_dereference(mpmu_guarded);
	for (i = 0; set && i < set->nr && i < max; i++, nr++)
		strscpy(names[i].name, set->guard[i].name, MPMU_PMU_NAME_LEN);
	rcu_read_unlock();
	return nr;
}

/* Call @fn for each guarded PMU.  Process context, config mutex held. */
void mpmu_pmus_for_each(mpmu_pmu_fn fn, void *data)
{
	const struct mpmu_guard_set *set;
	unsigned int i;

	set = rcu_dereference_protected(mpmu_guarded,
					lockdep_is_held(&mpmu_config_mutex));
	for (i = 0; set && i < set->nr; i++)
		fn(set->guard[i].pmu, data);
}

int mpmu_pmus_init(const char *names)
{
	void *set;
	int ret;

	ret = find_pmu_bus();
	if (ret) {
		pr_err("cannot find the event_source bus: %d\n", ret);
		return ret;
	}
	ret = mpmu_pmus_parse(names, true, &set);
	if (ret)
		return ret;
	if (!((struct mpmu_guard_set *)set)->nr)
		pr_warn("no core PMU found (cpu, cpu_core/cpu_atom): nothing is guarded\n");
	rcu_assign_pointer(mpmu_guarded, set);
	return 0;
}

void mpmu_pmus_exit(void)
{
	mpmu_pmus_free(rcu_dereference_protected(mpmu_guarded, 1));
	RCU_INIT_POINTER(mpmu_guarded, NULL);
}
