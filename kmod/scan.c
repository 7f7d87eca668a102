// SPDX-License-Identifier: GPL-2.0
/*
 * Account for what existed before the hooks could see it being created.
 *
 *  - User perf events and VMs are files ("[perf_event]", "kvm-vm"): walk
 *    every process's file table.  iterate_fd() holds files->file_lock, so a
 *    file seen there cannot be released before its record is in place, and
 *    its release then finds the record.
 *  - Kernel counters bound to a CPU (the NMI watchdog's cycles counters) have
 *    no file: walk the per-CPU perf contexts.  Such an event may be on its
 *    way out; it is counted, then its state is checked again, so that either
 *    its free finds the record or the scan takes the record back.
 *
 * What neither walk finds: kernel counters bound to a task, and inherited
 * copies (they have no file; they live no longer than the event they were
 * copied from, which is found).  mediated_pmu(7) says so.
 *
 * Records come from the pool with a spinlock held; when it runs dry the
 * walk stops, the pool is refilled and the walk starts over.  Records are
 * keyed by object, so a second pass only adds what the first did not.
 */
#include <linux/dcache.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/cpu.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/rculist.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>

#include "mpmu.h"

#define SCAN_REFILL	1024

/* perf's own marker for kernel-owned events (private to kernel/events). */
#define MPMU_TASK_TOMBSTONE	((void *)-1L)

struct scan_ctx {
	struct task_struct *task;
	bool vms;
	int err;
};

static bool file_named(const struct file *file, const char *name)
{
	return !strcmp(file->f_path.dentry->d_name.name, name);
}

/* Only KVM names a file "kvm-vm" (6.1 leaves its f_op->owner unset). */
static bool file_is_vm(const struct file *file)
{
	return file_named(file, "kvm-vm");
}

static int scan_file(const void *data, struct file *file, unsigned int fd)
{
	struct scan_ctx *ctx = (struct scan_ctx *)data;
	bool inserted;

	if (file_named(file, "[perf_event]"))
		ctx->err = mpmu_event_found(file->private_data, ctx->task,
					    false, &inserted);
	else if (ctx->vms && file_is_vm(file))
		ctx->err = mpmu_vm_found(file->private_data, ctx->task);
	return ctx->err;
}

static int scan_files(bool vms)
{
	struct scan_ctx ctx = { .vms = vms };
	struct task_struct *p;

	rcu_read_lock();
	for_each_process(p) {
		ctx.task = p;
		task_lock(p);
		if (p->files)
			iterate_fd(p->files, 0, scan_file, &ctx);
		task_unlock(p);
		if (ctx.err)
			break;
	}
	rcu_read_unlock();
	return ctx.err;
}

/*
 * Count the kernel counters of one CPU context.  Called under RCU: events
 * leave the list with list_del_rcu() and are freed after a grace period.
 */
static int scan_context(struct perf_event_context *pctx)
{
	struct perf_event *event;
	bool inserted;
	int err = 0;

	list_for_each_entry_rcu(event, &pctx->event_list, event_entry) {
		if (READ_ONCE(event->owner) != MPMU_TASK_TOMBSTONE)
			continue;	/* a user event: found by its file */
		err = mpmu_event_found(event, NULL, true, &inserted);
		if (err)
			break;
		/*
		 * The event may be on its way out.  Its state turns DEAD or
		 * EXIT before it is freed: if it has not yet, its free will
		 * find the record; if it has, take the record back.
		 */
		smp_mb();
		if (inserted && READ_ONCE(event->state) <= PERF_EVENT_STATE_EXIT)
			mpmu_event_destroy(event);
	}
	return err;
}

#ifdef MPMU_HAVE_PERF_CPU_PMU_CONTEXT
/*
 * Since 6.2 one context per CPU holds the events of every PMU there (also
 * those of PMUs without a device, like 6.12's cpu_clock).  It is static in
 * kernel/events/core.c; a throwaway event on the CPU leads to it.
 */
static int scan_kernel_counters(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
		.exclude_guest = 1,
	};
	struct perf_event *probe;
	int cpu, err = 0;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		probe = perf_event_create_kernel_counter(&attr, cpu, NULL, NULL, NULL);
		if (IS_ERR(probe)) {
			err = PTR_ERR(probe);
			break;
		}
		rcu_read_lock();
		err = scan_context(probe->ctx);
		rcu_read_unlock();
		perf_event_release_kernel(probe);
		if (err)
			break;
	}
	cpus_read_unlock();
	return err;
}
#else
/* Before 6.2 each PMU (software ones share) has its own per-CPU context. */
static void scan_pmu_contexts(struct pmu *pmu, void *data)
{
	int *err = data;
	int cpu;

	for_each_possible_cpu(cpu) {
		rcu_read_lock();
		*err = scan_context(&per_cpu_ptr(pmu->pmu_cpu_context, cpu)->ctx);
		rcu_read_unlock();
		if (*err)
			return;
	}
}

static int scan_kernel_counters(void)
{
	int err = 0;

	mpmu_pmus_for_each(scan_pmu_contexts, &err);
	return err;
}
#endif

/*
 * Count the include-guest events (and, with @vms, the VMs) that exist now.
 * Called with the config mutex held, the hooks armed and VM creation held
 * off (mpmu_scan_begin()).
 */
int mpmu_scan(bool vms)
{
	int ret;

	lockdep_assert_held(&mpmu_config_mutex);
	do {
		ret = mpmu_pool_fill(SCAN_REFILL);
		if (ret)
			return ret;
		ret = scan_files(vms);
		if (!ret)
			ret = scan_kernel_counters();
	} while (ret == -ENOMEM);
	return ret;
}
