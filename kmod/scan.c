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
 *  - Copies made by fork() point at the original event, and hold a reference
 *    on it: a copy found counts its original too, which may be in no
 *    context at all (its task exited, PERF_EVENT_STATE_EXIT, while an fd
 *    keeps it).  While the original is counted, no copy can outlive the
 *    count, including a copy the scan could not see (a task being forked).
 *  - Settle: an event whose perf_event_open() passed the LSM hook before the
 *    hooks were armed (or before the guarded set changed) and installs it
 *    after its context was walked is in no context the scan sees.  Such a
 *    call is still running when the hooks are armed: every user thread whose
 *    last kernel entry was perf_event_open() (orig_ax, which only changes
 *    at the next entry from user mode) is waited for, VMs refused, and then
 *    the scan runs again.  docs/design.md has the argument.
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
#include <linux/kprobes.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <linux/rculist.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <asm/unistd.h>

#include "mpmu.h"

#define SCAN_REFILL	1024

/* Records a scan pass added: a pass that fails and adds none ends the scan. */
static unsigned int scan_added;

/* perf's own marker for kernel-owned events (private to kernel/events). */
#define MPMU_TASK_TOMBSTONE	((void *)-1L)

/* --- events --- */

/*
 * Is @event (found in a context) on its way out?  Its state is DEAD or EXIT
 * before security_perf_event_free() runs; a copy detached because its
 * original was closed is set OFF, not EXIT, but the original was set DEAD
 * before any copy was detached (perf_event_release_kernel()).
 */
static bool scan_gone(const struct perf_event *event)
{
	return READ_ONCE(event->state) <= PERF_EVENT_STATE_EXIT ||
	       (event->parent && READ_ONCE(event->parent->state) == PERF_EVENT_STATE_DEAD);
}

/*
 * Count @event; take it back if @witness, read again after the insertion,
 * turned out to be on its way out (then the free may have run before the
 * record existed).  Called under RCU, which keeps the owner's task_struct
 * valid.
 */
static int scan_one(struct perf_event *event, const struct perf_event *witness)
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
	if (scan_gone(witness))
		mpmu_event_destroy(event);
	return 0;
}

static int scan_event(struct perf_event *event)
{
	int err = scan_one(event, event);

	/*
	 * The original of a copy: valid while the copy holds its reference,
	 * which the copy gives up only after it was taken out of its context
	 * (EXIT, or OFF with the original DEAD).  An original in EXIT state
	 * still has an fd and live copies: count it.
	 */
	if (!err && event->parent)
		err = scan_one(event->parent, event);
	return err;
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

/* --- settle: calls that passed the hooks' place before they were armed --- */

/*
 * The syscall numbers of perf_event_open() as a task's saved user
 * registers show them: x86-64, x32, and ia32 (arch/x86/entry/syscalls/
 * syscall_32.tbl).  A false match only makes the wait longer.
 */
#define NR_IA32_PERF_EVENT_OPEN	336

static bool nr_is_perf_event_open(unsigned long orig_ax)
{
	/* The entry code saves all of rax but runs the call its low half names. */
	u32 nr = orig_ax;

	return nr == __NR_perf_event_open ||
	       nr == (__NR_perf_event_open | __X32_SYSCALL_BIT) ||
	       nr == NR_IA32_PERF_EVENT_OPEN;
}

/*
 * Might @t be inside a perf_event_open() that began before now?  Its saved
 * user registers are written at each entry from user mode only: while the
 * call runs they name it; once it returned, the next entry (a syscall, an
 * interrupt of user mode) names something else.  A stopped, traced or
 * frozen task is at a syscall boundary, never between the LSM hook and
 * perf_install_in_context().  Under RCU: a task's stack is freed after a
 * grace period, or kept mapped in a cache.
 */
static bool in_perf_event_open(struct task_struct *t)
{
	unsigned int state = READ_ONCE(t->__state);
	void *stack = READ_ONCE(t->stack);
	struct pt_regs *regs;

	if (t->flags & (PF_KTHREAD | PF_EXITING) || !stack)
		return false;
	if (state & (__TASK_STOPPED | __TASK_TRACED))
		return false;
#ifdef TASK_FROZEN
	if (state & TASK_FROZEN)
		return false;
#endif
	regs = (struct pt_regs *)(stack + THREAD_SIZE - TOP_OF_KERNEL_STACK_PADDING) - 1;
	return nr_is_perf_event_open(READ_ONCE(regs->orig_ax));
}

/*
 * The threads waited for.  While there are any, a probe on the syscall's
 * entry marks a thread that enters perf_event_open() again: its earlier
 * call is over (a thread calling it in a loop would otherwise always look
 * busy).  The array is fixed while the probe is registered; an entry done
 * has its task cleared, then put.
 */
struct settle_entry {
	struct task_struct *task;
	bool reentered;
};

static struct settle_entry *settle_tasks;	/* config mutex */
static unsigned int settle_max, settle_nr;
static unsigned long settle_since;		/* jiffies */
static bool settle_reported, settle_wanted;
static void settle_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(settle_work, settle_fn);
#define SETTLE_POLL	msecs_to_jiffies(10)
#define SETTLE_REPORT	(5 * HZ)
#define RESCAN_RETRY	msecs_to_jiffies(1000)

static int settle_entry_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct settle_entry *tasks = READ_ONCE(settle_tasks);
	unsigned int i, max = READ_ONCE(settle_max);

	for (i = 0; tasks && i < max; i++)
		if (READ_ONCE(tasks[i].task) == current)
			WRITE_ONCE(tasks[i].reentered, true);
	return 0;
}

static struct kprobe settle_probes[] = {
	{ .symbol_name = "__x64_sys_perf_event_open", .pre_handler = settle_entry_pre },
	{ .symbol_name = "__ia32_sys_perf_event_open", .pre_handler = settle_entry_pre },
};

static bool settle_probed[ARRAY_SIZE(settle_probes)];

static void settle_probes_arm(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(settle_probes); i++) {
		settle_probes[i].addr = NULL;
		settle_probes[i].flags = 0;
		err = register_kprobe(&settle_probes[i]);
		settle_probed[i] = !err;
		if (err && err != -ENOENT)
			pr_warn("cannot probe %s: %d\n", settle_probes[i].symbol_name, err);
	}
}

static void settle_probes_disarm(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(settle_probes); i++)
		if (settle_probed[i])
			unregister_kprobe(&settle_probes[i]);
	memset(settle_probed, 0, sizeof(settle_probed));
}

/* Collect up to @max threads in perf_event_open(); returns how many there are. */
static unsigned int settle_collect(struct settle_entry *tasks, unsigned int max)
{
	struct task_struct *p, *t;
	unsigned int nr = 0;

	rcu_read_lock();
	for_each_process_thread(p, t) {
		if (!in_perf_event_open(t))
			continue;
		if (nr < max)
			tasks[nr].task = get_task_struct(t);
		nr++;
	}
	rcu_read_unlock();
	return nr;
}

static void settle_put(struct settle_entry *e)
{
	struct task_struct *t = e->task;

	WRITE_ONCE(e->task, NULL);
	put_task_struct(t);
}

/* Forget the calls waited for.  Config mutex held. */
void mpmu_settle_drop(void)
{
	unsigned int i;

	settle_probes_disarm();
	for (i = 0; settle_tasks && i < settle_max; i++)
		if (settle_tasks[i].task)
			settle_put(&settle_tasks[i]);
	kfree(settle_tasks);
	settle_tasks = NULL;
	settle_max = 0;
	settle_nr = 0;
}

/*
 * Called with the hooks armed (or the new guarded set published), VM
 * creation refused, and before the scan: a call not running now has
 * installed its event, which the scan will see; a call running now is
 * waited for (mpmu_settle_go()), and the scan runs again when the last one
 * is over.  Returns how many are waited for, or -ENOMEM.
 */
int mpmu_settle_start(void)
{
	struct settle_entry *tasks = NULL;
	unsigned int nr, max = 0;

	lockdep_assert_held(&mpmu_config_mutex);
	mpmu_settle_drop();
	/* The hooks' publication is ordered before the registers we read. */
	synchronize_rcu();
	for (;;) {
		nr = settle_collect(tasks, max);
		if (nr <= max)
			break;
		while (max)
			put_task_struct(tasks[--max].task);
		kfree(tasks);
		max = nr + 8;
		tasks = kcalloc(max, sizeof(*tasks), GFP_KERNEL);
		if (!tasks)
			return -ENOMEM;
	}
	if (!nr) {
		kfree(tasks);
		return 0;
	}
	settle_tasks = tasks;
	settle_max = nr;
	settle_nr = nr;
	settle_since = jiffies;
	settle_reported = false;
	settle_probes_arm();
	mpmu_set_settling(nr);
	pr_info("%u perf_event_open() %s begun before arming: VM creation waits for %s\n",
		nr, nr == 1 ? "call" : "calls", nr == 1 ? "it" : "them");
	return nr;
}

/* Start waiting for what mpmu_settle_start() found. */
void mpmu_settle_go(void)
{
	lockdep_assert_held(&mpmu_config_mutex);
	if (settle_nr)
		schedule_delayed_work(&settle_work, SETTLE_POLL);
}

/* Drop the calls that are over; true when none is left. */
static bool settle_prune(void)
{
	struct settle_entry *e;
	unsigned int i;
	bool running;

	for (i = 0; i < settle_max; i++) {
		e = &settle_tasks[i];
		if (!e->task)
			continue;
		rcu_read_lock();
		running = !READ_ONCE(e->reentered) && in_perf_event_open(e->task);
		rcu_read_unlock();
		if (running)
			continue;
		settle_put(e);
		settle_nr--;
	}
	mpmu_set_settling(settle_nr);
	return !settle_nr;
}

/* Name the threads that keep VM creation waiting, once per settle. */
static void settle_report(void)
{
	unsigned int i;

	if (settle_reported || time_before(jiffies, settle_since + SETTLE_REPORT))
		return;
	settle_reported = true;
	for (i = 0; i < settle_max; i++)
		if (settle_tasks[i].task)
			pr_warn("VM creation waits for perf_event_open() in pid %d (%s), begun before arming\n",
				task_pid_nr(settle_tasks[i].task), settle_tasks[i].task->comm);
}

/*
 * Process context: wait for the calls, then count what they installed.
 * Also the rescan a hook asks for (mpmu_rescan_request()), and the settle
 * a failed guard change asks for (mpmu_settle_request()).  A scan that
 * fails (no memory) keeps VMs out and is tried again.
 */
static void settle_fn(struct work_struct *work)
{
	int nr;

	guard(mutex)(&mpmu_config_mutex);
	if (settle_wanted) {
		nr = mpmu_settle_start();
		if (nr) {
			schedule_delayed_work(&settle_work, nr < 0 ? RESCAN_RETRY : SETTLE_POLL);
			settle_wanted = nr < 0;
			return;
		}
		settle_wanted = false;
	}
	if (!settle_prune()) {
		settle_report();
		schedule_delayed_work(&settle_work, SETTLE_POLL);
		return;
	}
	mpmu_settle_drop();
	mpmu_rescan_claim();
	if (mpmu_scan(false)) {
		pr_warn_ratelimited("cannot count include-guest events (no memory): VM creation stays refused, retrying\n");
		schedule_delayed_work(&settle_work, RESCAN_RETRY);
		return;
	}
	mpmu_scan_end();
}

/* Any context: VM creation is refused (scanning) until a scan has run. */
void mpmu_rescan_request(void)
{
	schedule_delayed_work(&settle_work, 0);
}

/*
 * Config mutex held, VM creation refused: wait for the calls running now,
 * then scan, from the work (after a failed change of the guarded set).
 */
void mpmu_settle_request(void)
{
	lockdep_assert_held(&mpmu_config_mutex);
	settle_wanted = true;
	schedule_delayed_work(&settle_work, 0);
}

/*
 * No hook can ask for a rescan any more (module exit, failed load): stop
 * the work.  Not under the config mutex, which the work takes.
 */
void mpmu_settle_exit(void)
{
	cancel_delayed_work_sync(&settle_work);
	guard(mutex)(&mpmu_config_mutex);
	mpmu_settle_drop();
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
