// SPDX-License-Identifier: GPL-2.0
/*
 * Account for what existed before the hooks could see it being created.
 *
 *  - Events: every live event sits in a perf context, of a CPU or of a
 *    task, whoever holds it (an fd, an mmap, a BPF map, nothing at all for
 *    kernel counters and inherited copies).  Walk all of them under RCU:
 *    events leave a context's event_list with list_del_rcu() and are freed
 *    after a grace period, contexts too.  An event found may be on its way
 *    out: it is counted, then its state is read again; DEAD or EXIT is set
 *    before security_perf_event_free(), so either the free finds the record
 *    or the scan takes it back.
 *  - VMs: open files named "kvm-vm" on the anonymous-inode filesystem, in
 *    every thread's file table.  iterate_fd() holds files->file_lock, so a
 *    VM seen there cannot be destroyed before its record is in place.
 *
 * Not seen: an event whose perf_event_open() allocated it before the hooks
 * were armed and had not yet installed it when its context was walked.
 *
 * Records come from the pool with locks held; when it runs dry the walk
 * stops, the pool is refilled and the walk starts over.  Records are keyed
 * by object, so a second pass only adds what the first did not.
 */
#include <linux/cpu.h>
#include <linux/dcache.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <linux/rculist.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>

#include "mpmu.h"

#define SCAN_REFILL	1024

/* Records a scan pass added: a pass that fails and adds none ends the scan. */
static unsigned int scan_added;

/* perf's own marker for kernel-owned events (private to kernel/events). */
#define MPMU_TASK_TOMBSTONE	((void *)-1L)

/* --- events --- */

/* Called under RCU, which keeps the owner's task_struct valid. */
static int scan_event(struct perf_event *event)
{
	struct task_struct *owner = READ_ONCE((event->parent ?: event)->owner);
	bool kernel = owner == MPMU_TASK_TOMBSTONE;
	bool inserted;
	int err;

	err = mpmu_event_found(event, kernel ? NULL : owner, kernel, &inserted);
	if (err || !inserted)
		return err;
	scan_added++;
	/* Pairs with the state change that precedes the event's free. */
	smp_mb();
	if (READ_ONCE(event->state) <= PERF_EVENT_STATE_EXIT)
		mpmu_event_destroy(event);
	return 0;
}

static int scan_context(struct perf_event_context *pctx)
{
	struct perf_event *event;
	int err = 0;

	if (!pctx)
		return 0;
	list_for_each_entry_rcu(event, &pctx->event_list, event_entry) {
		err = scan_event(event);
		if (err)
			break;
	}
	return err;
}

#ifdef MPMU_HAVE_PERF_CPU_PMU_CONTEXT
/*
 * Since 6.2 one context per CPU holds the events of every PMU there (also
 * those of PMUs without a device, like 6.12's cpu_clock).  It is static in
 * kernel/events/core.c; a throwaway event on the CPU leads to it.
 */
static int scan_cpu_contexts(void)
{
	struct perf_event *probe;
	int cpu, err = 0;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		probe = mpmu_dummy_event(cpu);
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

static int scan_task_contexts(struct task_struct *t)
{
	return scan_context(rcu_dereference(t->perf_event_ctxp));
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

static int scan_cpu_contexts(void)
{
	int err = 0;

	mpmu_pmus_for_each(scan_pmu_contexts, &err);
	return err;
}

static int scan_task_contexts(struct task_struct *t)
{
	int ctxn, err = 0;

	for (ctxn = 0; ctxn < perf_nr_task_contexts && !err; ctxn++)
		err = scan_context(rcu_dereference(t->perf_event_ctxp[ctxn]));
	return err;
}
#endif

static int scan_events(void)
{
	struct task_struct *p, *t;
	int err;

	err = scan_cpu_contexts();
	if (err)
		return err;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		err = scan_task_contexts(t);
		if (err)
			break;
	}
	rcu_read_unlock();
	return err;
}

/* --- VMs --- */

/* Only kernel code names anonymous-inode files; KVM names VMs "kvm-vm". */
static bool file_is_vm(const struct file *file)
{
	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "kvm-vm");
}

static int scan_file(const void *data, struct file *file, unsigned int fd)
{
	struct task_struct *task = (struct task_struct *)data;
	bool inserted;
	int err;

	if (!file_is_vm(file))
		return 0;
	err = mpmu_vm_found(file->private_data, task, &inserted);
	scan_added += inserted;
	return err;
}

static int scan_vms(void)
{
	struct task_struct *p, *t;
	int err = 0;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		/* Threads share their leader's table, unless it has exited. */
		if (t != p && t->files == p->files)
			continue;
		task_lock(t);
		if (t->files)
			err = iterate_fd(t->files, 0, scan_file, t);
		task_unlock(t);
		if (err)
			break;
	}
	rcu_read_unlock();
	return err;
}

/*
 * Count the include-guest events (and, with @vms, the VMs) that exist now.
 * Called with the config mutex held, the hooks armed and VM creation held
 * off (mpmu_scan_begin()).
 */
int mpmu_scan(bool vms)
{
	int ret;

	lockdep_assert_held(&mpmu_config_mutex);
	/*
	 * The scan takes records without sleeping: when the pool runs dry it
	 * stops with -ENOMEM, and a refill lets the next pass go further
	 * (records found before are kept).  A pass that added nothing would
	 * fail the same way again: give up with the error instead of looping.
	 */
	do {
		ret = mpmu_pool_fill(SCAN_REFILL);
		if (ret)
			return ret;
		scan_added = 0;
		ret = scan_events();
		if (!ret && vms)
			ret = scan_vms();
	} while (ret == -ENOMEM && scan_added);
	return ret;
}
