// SPDX-License-Identifier: GPL-2.0
/*
 * Preallocated records.  Hooks run with preemption disabled, where
 * PREEMPT_RT allows no allocation at all (and no kmem_cache_free either), so
 * records are taken from and returned to a free list under a raw spinlock,
 * kept between its low and high watermarks.  On other kernels an empty list
 * falls back to an atomic allocation.  When both fail, the caller fails
 * closed (-ENOMEM) rather than lose track.
 *
 * Below the low watermark two refills start:
 *
 * - The task that took the record refills the list itself, on its way back
 *   to user space (task_work, TWA_RESUME): a loop of perf_event_open() can
 *   open no further event before the list is full again, whatever its
 *   priority.  That is back-pressure, not a race with a thread: a worker
 *   thread alone left the loop POOL_LOW opens to lose, and lost them to a
 *   normal task on 7.3-rt under QEMU's round-robin TCG (a wakeup of the
 *   other vCPU waits for its turn, up to 100 ms).  As many refills as CPUs
 *   can be pending; each holds a module reference, and the module's exit
 *   waits (RCU Tasks) until the last one has left the module's text.
 *
 * - A worker thread (SCHED_FIFO, the lowest real-time priority, not bound
 *   to a CPU) refills it for kernel threads, which never return to user
 *   space, and for other openers meanwhile; it also trims the list above
 *   the high watermark.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "mpmu.h"

#define POOL_LOW	256
#define POOL_TARGET	1024
#define POOL_HIGH	4096

static struct kmem_cache *mpmu_rec_cache;
static DEFINE_RAW_SPINLOCK(pool_lock);
static HLIST_HEAD(pool_free);
static unsigned int pool_nr;
/* Records taken from the cache and not given back: free ones and in use. */
static atomic_t pool_owned = ATOMIC_INIT(0);
static struct dentry *pool_debugfs;

static struct kthread_worker *pool_worker;
static void pool_balance(struct kthread_work *work);
static DEFINE_KTHREAD_WORK(pool_work, pool_balance);

/* Any context: kthread_queue_work() takes only raw spinlocks. */
static void pool_kick(void)
{
	kthread_queue_work(pool_worker, &pool_work);
}

/* A refill that a task runs on its way back to user space. */
struct pool_resume {
	struct callback_head work;
	atomic_t queued;
};

static DEFINE_PER_CPU(struct pool_resume, pool_resume);

/*
 * Tasks left to the worker: those that never return to user space (kernel
 * threads, vhost workers; io_uring's would run it, but no need) and those
 * already on their way out.
 */
#ifdef PF_USER_WORKER
#define POOL_NO_RESUME	(PF_KTHREAD | PF_USER_WORKER | PF_EXITING)
#else
#define POOL_NO_RESUME	(PF_KTHREAD | PF_IO_WORKER | PF_EXITING)
#endif
/* A refill was queued since load: the exit must wait for RCU Tasks. */
static bool pool_resume_used;

static void pool_resume_fill(struct callback_head *work)
{
	struct pool_resume *pr = container_of(work, struct pool_resume, work);

	mpmu_pool_fill(POOL_TARGET);
	/* task_work_run() read work->next before the call: reusable now. */
	atomic_set_release(&pr->queued, 0);
	/* What follows the put may still run: see mpmu_pool_exit(). */
	module_put(THIS_MODULE);
}

static bool pool_resume_claim(struct pool_resume *pr)
{
	return !atomic_read(&pr->queued) && !atomic_xchg(&pr->queued, 1);
}

/*
 * A free slot: this CPU's, or else another's, so that a task whose CPU's
 * refill is pending on another task (preempted in a syscall, a vfork
 * parent) still refills.  All taken means as many refills pending as CPUs.
 */
static struct pool_resume *pool_resume_get(void)
{
	struct pool_resume *pr = raw_cpu_ptr(&pool_resume);
	int cpu;

	if (pool_resume_claim(pr))
		return pr;
	for_each_possible_cpu(cpu) {
		pr = per_cpu_ptr(&pool_resume, cpu);
		if (pool_resume_claim(pr))
			return pr;
	}
	return NULL;
}

/*
 * Make current refill the list before it returns to user space.  From the
 * hooks (preemption disabled) and the load-time scan.  Only once the load
 * can no longer fail: a failed init frees the module whatever references
 * it holds, and the queued work would call into freed text.
 */
static void pool_refill_on_resume(void)
{
	struct pool_resume *pr;

	if (current->flags & POOL_NO_RESUME ||
	    READ_ONCE(THIS_MODULE->state) != MODULE_STATE_LIVE)
		return;
	pr = pool_resume_get();
	if (!pr)
		return;
	/* Fails once rmmod has begun: the exit then waits for none. */
	if (try_module_get(THIS_MODULE)) {
		WRITE_ONCE(pool_resume_used, true);
		init_task_work(&pr->work, pool_resume_fill);
		if (!task_work_add(current, &pr->work, TWA_RESUME))
			return;
		module_put(THIS_MODULE);
	}
	atomic_set(&pr->queued, 0);
}

#ifdef MPMU_FAULT_INJECT
/*
 * Debug builds (make MPMU_FAULT_INJECT=y) only: the Debian kernels have no
 * CONFIG_FAULT_INJECTION, so the tests make every Nth record allocation
 * fail here to prove that the callers fail closed.
 */
static unsigned int fail_alloc_every;
module_param(fail_alloc_every, uint, 0600);
MODULE_PARM_DESC(fail_alloc_every, "debug: fail every Nth record allocation (0: never)");
static atomic_t alloc_nr = ATOMIC_INIT(0);

static bool alloc_should_fail(void)
{
	unsigned int every = READ_ONCE(fail_alloc_every);

	return every && (unsigned int)atomic_inc_return(&alloc_nr) % every == 0;
}
#else
static bool alloc_should_fail(void)
{
	return false;
}
#endif

static void pool_push(struct mpmu_rec *rec)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&pool_lock, flags);
	hlist_add_head(&rec->node, &pool_free);
	pool_nr++;
	raw_spin_unlock_irqrestore(&pool_lock, flags);
}

static struct mpmu_rec *pool_pop(unsigned int *left)
{
	struct mpmu_rec *rec = NULL;
	unsigned long flags;

	raw_spin_lock_irqsave(&pool_lock, flags);
	if (!hlist_empty(&pool_free)) {
		rec = hlist_entry(pool_free.first, struct mpmu_rec, node);
		hlist_del(&rec->node);
		pool_nr--;
	}
	*left = pool_nr;
	raw_spin_unlock_irqrestore(&pool_lock, flags);
	return rec;
}

/* Fill the pool up to @nr free records.  Process context. */
int mpmu_pool_fill(unsigned int nr)
{
	struct mpmu_rec *rec;

	while (READ_ONCE(pool_nr) < nr) {
		rec = kmem_cache_alloc(mpmu_rec_cache, GFP_KERNEL);
		if (!rec)
			return -ENOMEM;
		atomic_inc(&pool_owned);
		pool_push(rec);
	}
	return 0;
}

static void pool_balance(struct kthread_work *work)
{
	struct mpmu_rec *rec;
	unsigned int left;

	mpmu_pool_fill(POOL_TARGET);
	while (READ_ONCE(pool_nr) > POOL_HIGH) {
		rec = pool_pop(&left);
		if (!rec)
			break;
		kmem_cache_free(mpmu_rec_cache, rec);
		atomic_dec(&pool_owned);
	}
}

struct mpmu_rec *mpmu_rec_alloc(void)
{
	struct mpmu_rec *rec;
	unsigned int left;

	if (alloc_should_fail())
		return NULL;
	rec = pool_pop(&left);
	if (left < POOL_LOW) {
		pool_refill_on_resume();
		pool_kick();
	}
	if (!rec && !IS_ENABLED(CONFIG_PREEMPT_RT)) {
		rec = kmem_cache_alloc(mpmu_rec_cache, GFP_ATOMIC | __GFP_NOWARN);
		if (rec)
			atomic_inc(&pool_owned);
	}
	return rec;
}

/*
 * Records in use: owned and not free.  Each one is in a table (a VM, an
 * event, a task creating a kernel counter); the tests compare it before and
 * after a workload to find a record that was lost, which the slab's own
 * counts cannot show behind the free list.  debugfs, for tests and
 * debugging: "in_use N" and "free N".
 */
static int records_show(struct seq_file *m, void *unused)
{
	unsigned int free = READ_ONCE(pool_nr);

	seq_printf(m, "in_use %d\nfree %u\n", atomic_read(&pool_owned) - (int)free, free);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(records);

void mpmu_pool_debugfs_init(void)
{
	/* Optional: without debugfs the module works the same. */
	pool_debugfs = debugfs_create_dir("mediated_pmu", NULL);
	debugfs_create_file("records", 0400, pool_debugfs, NULL, &records_fops);
}

void mpmu_pool_debugfs_exit(void)
{
	debugfs_remove(pool_debugfs);
}

void mpmu_rec_free(struct mpmu_rec *rec)
{
	unsigned int nr;

	pool_push(rec);
	nr = READ_ONCE(pool_nr);
	if (nr > POOL_HIGH)
		pool_kick();
}

int mpmu_pool_init(void)
{
	int ret;

	/* Kernel memory per tracked event or VM: keep it small. */
	BUILD_BUG_ON(sizeof(struct mpmu_rec) > 128);
	mpmu_rec_cache = KMEM_CACHE(mpmu_rec, 0);
	if (!mpmu_rec_cache)
		return -ENOMEM;
	pool_worker = kthread_create_worker(0, "mpmu_pool");
	if (IS_ERR(pool_worker)) {
		kmem_cache_destroy(mpmu_rec_cache);
		return PTR_ERR(pool_worker);
	}
	sched_set_fifo_low(pool_worker->task);
	/*
	 * Start it now.  Kernels with kthread_run_worker() (7.x, not 6.12)
	 * leave a worker from kthread_create_worker() unstarted, in state D in
	 * kthread() (seen on 7.3); older ones start it, and this wakeup finds
	 * it idle.  Unstarted, it would first run at the first refill, through
	 * the kthread's start-up (its affinity, under a mutex) while a burst
	 * uses up the last records.
	 */
	wake_up_process(pool_worker->task);
	ret = mpmu_pool_fill(POOL_TARGET);
	if (ret)
		mpmu_pool_exit();
	return ret;
}

/* Every record is back in the pool: the tables were emptied first. */
void mpmu_pool_exit(void)
{
	struct mpmu_rec *rec;
	unsigned int left;

	/* Runs a queued refill, then stops: nothing queues one any more. */
	kthread_destroy_worker(pool_worker);
	/*
	 * Every task refill has put its module reference (rmmod got here;
	 * none is queued before the load succeeded), but its task may still
	 * be in its last instructions, preempted: RCU Tasks waits until every
	 * task has switched voluntarily or been in user space since, as for
	 * kprobe and ftrace trampolines.
	 */
	if (READ_ONCE(pool_resume_used))
		synchronize_rcu_tasks();
	while ((rec = pool_pop(&left))) {
		kmem_cache_free(mpmu_rec_cache, rec);
		atomic_dec(&pool_owned);
	}
	/* A record not back here leaked: kmem_cache_destroy() warns too. */
	WARN_ON(atomic_read(&pool_owned));
	kmem_cache_destroy(mpmu_rec_cache);
}
