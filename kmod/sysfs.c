// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/mediated_pmu/: one value per file, as mediated_pmu(7) says.
 * Writes need CAP_SYS_ADMIN on top of the file mode, change nothing when
 * they fail, and never log: a bad write is the writer's error to read.
 */
#include <linux/capability.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "mpmu.h"

static struct kobject *mpmu_kobj;

/* The counters: one show function, told which field by the attribute. */
struct counter_attr {
	struct kobj_attribute attr;
	size_t offset;		/* of an unsigned long in struct mpmu_status */
};

static ssize_t counter_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	const struct counter_attr *ca = container_of(attr, struct counter_attr, attr);
	struct mpmu_status st;

	mpmu_get_status(&st);
	return sysfs_emit(buf, "%lu\n", *(unsigned long *)((char *)&st + ca->offset));
}

static struct counter_attr counter_attrs[] = {
	{ __ATTR(refcount, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, refcount) },
	{ __ATTR(include_guest_events, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, include_guest_events) },
	{ __ATTR(unmanaged_vms, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, unmanaged_vms) },
	{ __ATTR(rejected_vms, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, rejected_vms) },
	{ __ATTR(rejected_events, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, rejected_events) },
	{ __ATTR(settling, 0444, counter_show, NULL),
	  offsetof(struct mpmu_status, settling) },
};

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct mpmu_status st;

	mpmu_get_status(&st);
	return sysfs_emit(buf, "%d\n", st.enabled);
}

/* Exactly "0" or "1", with an optional newline: no y/n/on/off guessing. */
static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	bool enable;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (sysfs_streq(buf, "1"))
		enable = true;
	else if (sysfs_streq(buf, "0"))
		enable = false;
	else
		return -EINVAL;

	guard(mutex)(&mpmu_config_mutex);
	ret = mpmu_set_enabled(enable);
	return ret ?: count;
}

static struct kobj_attribute enabled_attr = __ATTR_RW(enabled);

static ssize_t guarded_pmus_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return mpmu_pmus_show(buf);
}

static ssize_t guarded_pmus_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	guard(mutex)(&mpmu_config_mutex);
	ret = mpmu_set_guarded(buf);
	return ret ?: count;
}

static struct kobj_attribute guarded_pmus_attr = __ATTR_RW(guarded_pmus);

/*
 * One PID per holding VM, whole lines only: a page holds the first 512
 * (PIDs have at most 7 digits), the netlink dump has them all.
 */
#define HOLDERS_MAX	(PAGE_SIZE / 8)

static ssize_t holders_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	pid_t *pids = kmalloc_array(HOLDERS_MAX, sizeof(*pids), GFP_KERNEL);
	char line[16];
	ssize_t len = 0;
	int i, nr, n;

	if (!pids)
		return -ENOMEM;
	nr = mpmu_holder_pids(pids, HOLDERS_MAX);
	for (i = 0; i < nr; i++) {
		n = scnprintf(line, sizeof(line), "%d\n", pids[i]);
		if (len + n >= PAGE_SIZE)
			break;
		len += sysfs_emit_at(buf, len, "%s", line);
	}
	kfree(pids);
	return len;
}

static struct kobj_attribute holders_attr = __ATTR_RO(holders);

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct mpmu_status st;

	mpmu_get_status(&st);
	return sysfs_emit(buf, "%s\n",
			  st.mode == MPMU_MODE_OBSERVE ? "observe" : "arbitrate");
}

static struct kobj_attribute mode_attr = __ATTR_RO(mode);

/* The kernel's own knob: "absent", "unused" or "in-use" (SPEC §3a). */
static ssize_t native_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	static const char *const names[] = {
		[MPMU_NATIVE_ABSENT] = "absent",
		[MPMU_NATIVE_UNUSED] = "unused",
		[MPMU_NATIVE_IN_USE] = "in-use",
	};
	struct mpmu_status st;

	mpmu_get_status(&st);
	return sysfs_emit(buf, "%s\n", names[st.native]);
}

static struct kobj_attribute native_attr = __ATTR_RO(native);

/*
 * "armed", "no-kvm", or "failed <symbol> <errno>": VMs created while the
 * KVM probes are not armed bypass the knob, and status says so.
 */
static ssize_t kvm_hooks_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	struct mpmu_status st;

	mpmu_get_status(&st);
	if (st.kvm_hooks == MPMU_KVM_HOOKS_ARMED)
		return sysfs_emit(buf, "armed\n");
	if (st.kvm_hooks == MPMU_KVM_HOOKS_NO_KVM)
		return sysfs_emit(buf, "no-kvm\n");
	return sysfs_emit(buf, "failed %s %d\n", st.kvm_symbol ?: "?", st.kvm_error);
}

static struct kobj_attribute kvm_hooks_attr = __ATTR_RO(kvm_hooks);

static ssize_t version_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", MPMU_VERSION);
}

static struct kobj_attribute version_attr = __ATTR_RO(version);

static struct attribute *mpmu_attrs[] = {
	&enabled_attr.attr,
	&counter_attrs[0].attr.attr,	/* refcount */
	&holders_attr.attr,
	&counter_attrs[1].attr.attr,	/* include_guest_events */
	&guarded_pmus_attr.attr,
	&counter_attrs[2].attr.attr,	/* unmanaged_vms */
	&counter_attrs[3].attr.attr,	/* rejected_vms */
	&counter_attrs[4].attr.attr,	/* rejected_events */
	&mode_attr.attr,
	&native_attr.attr,
	&version_attr.attr,
	&kvm_hooks_attr.attr,
	&counter_attrs[5].attr.attr,	/* settling */
	NULL,
};

static const struct attribute_group mpmu_group = {
	.attrs = mpmu_attrs,
};

int mpmu_sysfs_init(void)
{
	int ret;

	mpmu_kobj = kobject_create_and_add("mediated_pmu", kernel_kobj);
	if (!mpmu_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(mpmu_kobj, &mpmu_group);
	if (ret)
		kobject_put(mpmu_kobj);
	return ret;
}

void mpmu_sysfs_exit(void)
{
	sysfs_remove_group(mpmu_kobj, &mpmu_group);
	kobject_put(mpmu_kobj);
}
