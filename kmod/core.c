// SPDX-License-Identifier: GPL-2.0
/*
 * The mediated-PMU knob: the policy proposed on LKML in April 2024
 * ("Re: [RFC PATCH 02/41] perf: Support guest enter/exit interfaces").
 *
 *  - get, when a VM is created: fast path refcount_inc_not_zero(); the slow
 *    path, under mpmu_lock, fails with -EBUSY while any include-guest event
 *    (attr.exclude_guest == 0) lives on a guarded PMU;
 *  - put, when the VM is destroyed or its creation fails;
 *  - while the refcount is non-zero, a new include-guest event on a guarded
 *    PMU is refused with -EOPNOTSUPP.
 *
 * The invariant "never a holder and a live include-guest event at once"
 * holds because the event count only grows under mpmu_lock after checking
 * the refcount, and the refcount only leaves zero under mpmu_lock after
 * checking the event count.  The fast paths touch the refcount only when it
 * is already non-zero, i.e. when no such event can exist.
 *
 * Every function here may run in a kprobe handler: no sleeping, records come
 * from the preallocated pool.  Records are keyed by the object they describe,
 * so that seeing the same object twice (a scan racing with a hook, an object
 * address reused after a missed return probe) updates instead of leaking.
 */
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/refcount.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>

#include "mpmu.h"

/* Serialises configuration changes (sysfs writes) and scans. */
DEFINE_MUTEX(mpmu_config_mutex);

static DEFINE_RAW_SPINLOCK(mpmu_lock);
static refcount_t mpmu_holders = REFCOUNT_INIT(0);
static bool mpmu_enabled;
static bool mpmu_scanning;	/* refuse VMs until what exists is counted */
static unsigned int mpmu_settling;	/* calls begun before arming, running */
static bool mpmu_rescan_pending;	/* a hook found an original uncounted */
static enum mpmu_mode mpmu_mode;
static unsigned int mpmu_nr_events;
static unsigned int mpmu_nr_unmanaged;
/* Observe mode: references on the kernel's own knob taken since load. */
static unsigned int mpmu_nr_native;
/* Observe mode: the guarded set arbitration goes back to. */
static void *mpmu_arbitrate_set;
static unsigned long mpmu_nr_rejected_vms;
static unsigned long mpmu_nr_rejected_events;
static u64 mpmu_vm_seq;
static u64 mpmu_rec_seq;
/* Bumped on every table change: a dump that spans one is flagged. */
static unsigned int mpmu_gen = 1;

/* Transitions (notify group) and refusals (GET_REJECTIONS): two rings. */
#define MPMU_NOTES_MAX	256
static struct mpmu_note mpmu_notes[MPMU_NOTES_MAX];
static u64 mpmu_notes_seq;
static struct mpmu_note mpmu_rejections[MPMU_REJECTIONS_MAX];
static u64 mpmu_rejections_seq;

static DEFINE_HASHTABLE(mpmu_vms, 8);
static DEFINE_HASHTABLE(mpmu_events, 12);
static DEFINE_HASHTABLE(mpmu_creators, 6);	/* tasks creating kernel counters */

#define MPMU_GET_UNMANAGED 1
#define MPMU_GET_OBSERVED 2

/*
 * Record a transition, with the counters as they are after it, and have
 * netlink.c multicast it.  Rejections also go to their own ring, so that a
 * burst of other transitions does not push them out.
 */
static void note(u8 kind, pid_t pid, const char *comm, u64 vm_id,
		 const char *pmu)
{
	struct mpmu_note *n;
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	n = &mpmu_notes[mpmu_notes_seq % MPMU_NOTES_MAX];
	n->seq = mpmu_notes_seq++;
	n->kind = kind;
	n->pid = pid;
	strscpy(n->comm, comm, sizeof(n->comm));
	n->vm_id = vm_id;
	strscpy(n->pmu, pmu ?: "", sizeof(n->pmu));
	n->time = ktime_get_real_seconds();
	/* What status says: in observe mode, the kernel knob's references. */
	n->refcount = mpmu_mode == MPMU_MODE_OBSERVE ? mpmu_nr_native :
			refcount_read(&mpmu_holders);
	n->events = mpmu_nr_events;
	if (kind == MPMU_NOTIFY_VM_REJECTED || kind == MPMU_NOTIFY_EVENT_REJECTED)
		mpmu_rejections[mpmu_rejections_seq++ % MPMU_REJECTIONS_MAX] = *n;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	mpmu_netlink_kick();
}

/* Past every transition recorded so far: nobody was listening for them. */
void mpmu_note_skip(u64 *cursor)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	*cursor = mpmu_notes_seq;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/* The next transition from *@cursor on; skips what the ring overwrote. */
bool mpmu_note_next(u64 *cursor, struct mpmu_note *out)
{
	unsigned long flags;
	bool found = false;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (*cursor + MPMU_NOTES_MAX < mpmu_notes_seq)
		*cursor = mpmu_notes_seq - MPMU_NOTES_MAX;
	if (*cursor < mpmu_notes_seq) {
		*out = mpmu_notes[*cursor % MPMU_NOTES_MAX];
		(*cursor)++;
		found = true;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	return found;
}

/* The bucket hash_add() puts @key's record in. */
static struct hlist_head *rec_bucket(struct hlist_head *table, unsigned int bits,
				     const void *key)
{
	return &table[hash_min((unsigned long)key, bits)];
}

static struct mpmu_rec *rec_find(struct hlist_head *table, unsigned int bits,
				 const void *key)
{
	struct mpmu_rec *rec;

	hlist_for_each_entry(rec, rec_bucket(table, bits, key), node)
		if (rec->key == key)
			return rec;
	return NULL;
}

#define vm_find(key)		rec_find(mpmu_vms, HASH_BITS(mpmu_vms), key)
#define event_find(key)		rec_find(mpmu_events, HASH_BITS(mpmu_events), key)
#define creator_find(key)	rec_find(mpmu_creators, HASH_BITS(mpmu_creators), key)

/*
 * Take a reference on the knob.  Returns 0 with a reference held, -EBUSY,
 * or MPMU_GET_UNMANAGED when arbitration is not armed.
 */
static int mpmu_get(void)
{
	unsigned long flags;
	int ret = 0;

	/* A holder exists, so no include-guest event can: share the knob. */
	if (refcount_inc_not_zero(&mpmu_holders))
		return 0;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (mpmu_mode == MPMU_MODE_OBSERVE)
		ret = MPMU_GET_OBSERVED;
	else if (!mpmu_enabled)
		ret = MPMU_GET_UNMANAGED;
	else if (refcount_inc_not_zero(&mpmu_holders))
		ret = 0;
	else if (mpmu_nr_events || mpmu_scanning)
		ret = -EBUSY;
	else if (!try_module_get(THIS_MODULE))	/* unload in progress */
		ret = -EBUSY;
	else
		refcount_set(&mpmu_holders, 1);
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	return ret;
}

static void mpmu_put(void)
{
	unsigned long flags;

	if (refcount_dec_not_one(&mpmu_holders))
		return;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (refcount_dec_and_test(&mpmu_holders))
		module_put(THIS_MODULE);
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/*
 * get_task_comm() takes task_lock(), a sleeping lock on PREEMPT_RT and one
 * the scan already holds: copy without it, as "%s" of current->comm does.
 */
static void copy_comm(char *dst, const struct task_struct *task)
{
	memcpy(dst, task->comm, TASK_COMM_LEN);
	dst[TASK_COMM_LEN - 1] = '\0';
}

static void vm_fill(struct mpmu_rec *rec, const void *kvm,
		    struct task_struct *task, bool managed)
{
	rec->key = kvm;
	rec->vm.id = ++mpmu_vm_seq;
	rec->vm.created = ktime_get_real_seconds();
	rec->vm.pid = task_tgid_nr(task);
	rec->vm.managed = managed;
	copy_comm(rec->vm.comm, task);
}

/*
 * Unlink the record of a VM; the caller puts the knob if it was managed.
 * Returns the record, or NULL.  Called with mpmu_lock held.
 */
static struct mpmu_rec *vm_unlink(const void *kvm)
{
	struct mpmu_rec *rec = vm_find(kvm);

	if (!rec)
		return NULL;
	hash_del(&rec->node);
	mpmu_gen++;
	if (!rec->vm.managed)
		mpmu_nr_unmanaged--;
	return rec;
}

static void vm_release(struct mpmu_rec *rec)
{
	if (!rec)
		return;
	if (rec->vm.managed) {
		mpmu_put();
		note(MPMU_NOTIFY_VM_RELEASED, rec->vm.pid, rec->vm.comm,
		     rec->vm.id, NULL);
	}
	mpmu_rec_free(rec);
}

/*
 * kvm_arch_init_vm() entry: take the knob for a new VM, or refuse it.  In
 * observe mode the kernel's knob is taken later, at the first vCPU, and
 * the native hooks see that.
 */
int mpmu_vm_create(const void *kvm)
{
	struct mpmu_rec *rec, *stale;
	unsigned long flags;
	unsigned int events;
	u64 vm_id;
	int ret;

	ret = mpmu_get();
	if (ret == MPMU_GET_OBSERVED)
		return 0;
	if (ret < 0) {
		raw_spin_lock_irqsave(&mpmu_lock, flags);
		mpmu_nr_rejected_vms++;
		events = mpmu_nr_events;
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		pr_info_ratelimited("refused VM creation by pid %d (%s): %u include-guest perf event%s on guarded PMUs\n",
				    task_tgid_nr(current), current->comm, events,
				    events == 1 ? "" : "s");
		note(MPMU_NOTIFY_VM_REJECTED, task_tgid_nr(current), current->comm,
		     0, NULL);
		return ret;
	}

	rec = mpmu_rec_alloc();
	if (!rec) {
		/* Without a record the put would be lost: fail closed. */
		if (ret == 0) {
			mpmu_put();
			pr_warn_ratelimited("no memory to track a VM of pid %d (%s)\n",
					    task_tgid_nr(current), current->comm);
			return -ENOMEM;
		}
		return 0;	/* unmanaged: nothing to give back */
	}

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	/* A record for this address outlived its VM: its free was missed. */
	stale = vm_unlink(kvm);
	vm_fill(rec, kvm, current, ret == 0);
	if (!rec->vm.managed)
		mpmu_nr_unmanaged++;
	rec->seq = ++mpmu_rec_seq;
	hash_add(mpmu_vms, &rec->node, (unsigned long)kvm);
	mpmu_gen++;
	vm_id = rec->vm.id;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	vm_release(stale);
	if (ret == 0)
		note(MPMU_NOTIFY_VM_ACQUIRED, task_tgid_nr(current), current->comm,
		     vm_id, NULL);
	return 0;
}

/* kvm_arch_free_vm(): after destruction, or after a failed creation. */
void mpmu_vm_destroy(const void *kvm)
{
	struct mpmu_rec *rec;
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	rec = vm_unlink(kvm);
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	vm_release(rec);
}

/* A VM that existed before arbitration could see its creation. */
int mpmu_vm_found(const void *kvm, struct task_struct *owner, bool *inserted)
{
	struct mpmu_rec *rec = mpmu_rec_alloc();
	unsigned long flags;

	*inserted = false;
	if (!rec)
		return -ENOMEM;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (!vm_find(kvm)) {
		*inserted = true;
		vm_fill(rec, kvm, owner, false);
		mpmu_nr_unmanaged++;
		rec->seq = ++mpmu_rec_seq;
		hash_add(mpmu_vms, &rec->node, (unsigned long)kvm);
		mpmu_gen++;
		rec = NULL;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	if (rec)
		mpmu_rec_free(rec);
	return 0;
}

/* Forget every VM: kvm.ko is going away, so none can exist any more. */
void mpmu_forget_vms(void)
{
	struct mpmu_rec *rec;
	struct hlist_node *tmp;
	unsigned long flags;
	unsigned int bkt;
	HLIST_HEAD(gone);

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	hash_for_each_safe(mpmu_vms, bkt, tmp, rec, node) {
		if (rec->vm.native)	/* not a struct kvm: see native_key() */
			continue;
		hash_del(&rec->node);
		hlist_add_head(&rec->node, &gone);
	}
	mpmu_nr_unmanaged = 0;
	mpmu_gen++;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	/* A VM cannot outlive kvm.ko: a record left means a missed free. */
	hlist_for_each_entry_safe(rec, tmp, &gone, node) {
		WARN_ON_ONCE(rec->vm.managed);
		vm_release(rec);
	}
}

/*
 * --- the kernel's own knob (observe mode) ---
 *
 * perf_create_mediated_pmu() and perf_release_mediated_pmu() take no
 * argument: a reference is the process that took it.  Its record sits in
 * the VM table (holders dumps list it like a VM) under a key that no
 * struct kvm can have, the process's tgid, so that the release finds the
 * record of the releasing process in one bucket.
 */
static const void *native_key(pid_t tgid)
{
	return (const void *)(unsigned long)tgid;
}

static struct mpmu_rec *native_find(pid_t tgid)
{
	struct mpmu_rec *rec;

	hash_for_each_possible(mpmu_vms, rec, node, (unsigned long)native_key(tgid))
		if (rec->vm.native && rec->key == native_key(tgid))
			return rec;
	return NULL;
}

/*
 * A reference given back by a task of another process (the last user of a
 * VM's file, say): the oldest record goes.  Only then is the table walked.
 */
static struct mpmu_rec *native_oldest(void)
{
	struct mpmu_rec *rec, *oldest = NULL;
	unsigned int bkt;

	hash_for_each(mpmu_vms, bkt, rec, node)
		if (rec->vm.native && (!oldest || rec->seq < oldest->seq))
			oldest = rec;
	return oldest;
}

/* perf_create_mediated_pmu() returned @ret to the current task. */
void mpmu_native_created(int ret)
{
	struct mpmu_rec *rec;
	unsigned long flags;
	unsigned int events;
	u64 vm_id = 0;

	if (ret) {
		raw_spin_lock_irqsave(&mpmu_lock, flags);
		mpmu_nr_rejected_vms++;
		events = mpmu_nr_events;
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		pr_info_ratelimited("the kernel refuses the mediated PMU to pid %d (%s): error %d, %u include-guest perf event%s on the PMUs it guards\n",
				    task_tgid_nr(current), current->comm, ret, events,
				    events == 1 ? "" : "s");
		note(MPMU_NOTIFY_VM_REJECTED, task_tgid_nr(current), current->comm,
		     0, NULL);
		return;
	}

	/* No record (no memory): counted, only missing from the list. */
	rec = mpmu_rec_alloc();
	raw_spin_lock_irqsave(&mpmu_lock, flags);
	mpmu_nr_native++;
	if (rec) {
		vm_fill(rec, native_key(task_tgid_nr(current)), current, true);
		rec->vm.native = true;
		rec->seq = ++mpmu_rec_seq;
		hash_add(mpmu_vms, &rec->node, (unsigned long)rec->key);
		mpmu_gen++;
		vm_id = rec->vm.id;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	note(MPMU_NOTIFY_VM_ACQUIRED, task_tgid_nr(current), current->comm,
	     vm_id, NULL);
}

/*
 * perf_release_mediated_pmu() entry.  A reference taken before the module
 * was loaded was never counted: its release is not either.
 */
void mpmu_native_released(void)
{
	struct mpmu_rec *rec = NULL;
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (mpmu_nr_native) {
		mpmu_nr_native--;
		rec = native_find(task_tgid_nr(current)) ?: native_oldest();
		if (rec) {
			hash_del(&rec->node);
			mpmu_gen++;
		}
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	if (!rec)
		return;
	note(MPMU_NOTIFY_VM_RELEASED, rec->vm.pid, rec->vm.comm, rec->vm.id, NULL);
	mpmu_rec_free(rec);
}

/*
 * Is the current task creating a kernel counter?  One bucket's walk;
 * hash_empty() would test all 64 on every event.
 */
static bool event_is_kernel(void)
{
	return creator_find(current);
}

/* The part of an event's description that needs no lock. */
static void event_fill(struct mpmu_rec *rec, struct perf_event *event, u8 guard)
{
	const struct perf_event *origin = event->parent ?: event;

	rec->key = event;
	rec->ev.config = event->attr.config;
	rec->ev.created = ktime_get_real_seconds();
	rec->ev.cpu = event->cpu;
	rec->ev.target_pid = event->hw.target ? task_pid_nr(event->hw.target) : -1;
	rec->ev.type = mpmu_requested_type(origin);
	rec->ev.guard = guard;
	rec->ev.pinned = event->attr.pinned;
}

/*
 * The process that opened the event: its tgid, its name (the group
 * leader's, not the opening thread's) and its start time as field 22 of
 * /proc/PID/stat shows it, so that drain can tell a reused PID apart.
 * @owner is NULL for a kernel counter, or for a user event found after its
 * opener exited (owner_gone).
 */
static void event_set_owner(struct mpmu_rec *rec, struct task_struct *owner,
			    bool kernel)
{
	struct task_struct *leader = owner ? owner->group_leader : NULL;

	rec->ev.kernel = kernel;
	rec->ev.owner_gone = !kernel && !leader;
	rec->ev.owner_pid = leader ? task_tgid_nr(leader) : 0;
	rec->ev.owner_start = leader ?
		div_u64(leader->start_boottime, NSEC_PER_SEC / USER_HZ) : 0;
	if (leader)
		copy_comm(rec->ev.owner_comm, leader);
	else
		strscpy(rec->ev.owner_comm, kernel ? "[kernel]" : "?",
			sizeof(rec->ev.owner_comm));
}

/* An inherited copy belongs to whoever owns the event it was copied from. */
static void event_inherit_owner(struct mpmu_rec *rec, const struct perf_event *parent)
{
	const struct mpmu_rec *prec = event_find(parent);

	if (prec) {
		rec->ev.kernel = prec->ev.kernel;
		rec->ev.owner_gone = prec->ev.owner_gone;
		rec->ev.owner_pid = prec->ev.owner_pid;
		rec->ev.owner_start = prec->ev.owner_start;
		memcpy(rec->ev.owner_comm, prec->ev.owner_comm, sizeof(rec->ev.owner_comm));
	}
}

static void event_insert(struct mpmu_rec *rec)
{
	rec->seq = ++mpmu_rec_seq;
	hash_add(mpmu_events, &rec->node, (unsigned long)rec->key);
	mpmu_nr_events++;
	mpmu_gen++;
}

/*
 * security_perf_event_alloc() entry: admit or refuse a new event.  Returns
 * 0 to let the allocation go on, or the error perf_event_open() returns.
 */
int mpmu_event_create(struct perf_event *event)
{
	struct mpmu_rec *rec, *stale;
	unsigned long flags;
	unsigned int holders;
	bool kernel, rescan, native_refused = false;
	u8 guard;

	if (event->attr.exclude_guest || !mpmu_pmus_match(event, &guard))
		return 0;

	rec = mpmu_rec_alloc();

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	kernel = event_is_kernel();
	/* KVM's own emulated-vPMU counters count the guest for the guest. */
	if (kernel && event->attr.exclude_host && !event->parent)
		goto out_admit;

	/*
	 * Observe mode: the kernel refuses this event right after the LSM
	 * hook (mediated_pmu_account_event(), while its knob is held).  It is
	 * counted here, where the module sees it; the count can miss a refusal
	 * that races with the first reference being taken (between the
	 * kernel's increment and the return probe) or the last being given
	 * back (between the entry probe and the kernel's decrement).  The
	 * event is recorded as usual: its free removes the record.
	 */
	native_refused = mpmu_mode == MPMU_MODE_OBSERVE && mpmu_nr_native;
	if (native_refused)
		mpmu_nr_rejected_events++;
	holders = refcount_read(&mpmu_holders);
	/* Refusing an inherited copy would make fork() fail: never do that. */
	if (holders && !event->parent && mpmu_mode == MPMU_MODE_ARBITRATE) {
		mpmu_nr_rejected_events++;
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		if (rec)
			mpmu_rec_free(rec);
		pr_info_ratelimited("refused include-guest perf event on PMU %s by pid %d (%s): %u %s the mediated PMU\n",
				    mpmu_pmus_name(guard), task_tgid_nr(current),
				    current->comm, holders,
				    holders == 1 ? "VM holds" : "VMs hold");
		note(MPMU_NOTIFY_EVENT_REJECTED, task_tgid_nr(current),
		     current->comm, 0, mpmu_pmus_name(guard));
		return -EOPNOTSUPP;
	}
	/* Observing, the kernel decides: only the count misses the event. */
	if (!rec && mpmu_mode == MPMU_MODE_OBSERVE)
		goto out_admit;
	if (!rec && event->parent) {
		/*
		 * Never fail fork().  A copy holds a reference on the event it
		 * was copied from (always the original, never a copy), so while
		 * that one is counted the copy cannot outlive the count.  When it
		 * is not (it had escaped a scan), keep VMs out and count again.
		 */
		rescan = !event_find(event->parent);
		if (rescan) {
			mpmu_scanning = true;
			mpmu_rescan_pending = true;
		}
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		if (rescan)
			mpmu_rescan_request();
		return 0;
	}
	if (!rec) {
		/* Fail closed: an event the module cannot track is refused. */
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		pr_warn_ratelimited("no memory to track a perf event of pid %d (%s)\n",
				    task_tgid_nr(current), current->comm);
		return -ENOMEM;
	}

	/* The address of a freed event whose failure we missed: reuse. */
	stale = event_find(event);
	if (stale) {
		hash_del(&stale->node);
		mpmu_nr_events--;
	}
	event_fill(rec, event, guard);
	event_set_owner(rec, kernel ? NULL : current, kernel);
	if (event->parent)
		event_inherit_owner(rec, event->parent);
	event_insert(rec);
	rec = stale;
out_admit:
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	if (rec)
		mpmu_rec_free(rec);
	if (native_refused) {
		pr_info_ratelimited("the kernel refuses an include-guest perf event on PMU %s by pid %d (%s): VMs hold its mediated PMU knob\n",
				    mpmu_pmus_name(guard), task_tgid_nr(current),
				    current->comm);
		note(MPMU_NOTIFY_EVENT_REJECTED, task_tgid_nr(current),
		     current->comm, 0, mpmu_pmus_name(guard));
	}
	return 0;
}

/* security_perf_event_free(), or security_perf_event_alloc() failure. */
void mpmu_event_destroy(const struct perf_event *event)
{
	struct mpmu_rec *rec;
	unsigned long flags;
	bool drained = false;

	/*
	 * Every event free in the system comes here: skip the lock when the
	 * event's bucket is empty (an exclude-guest event's, nearly always).
	 * A record it still has was inserted before the event could be freed,
	 * and it keeps the bucket non-empty whatever else leaves it, so an
	 * empty bucket, read without the lock, means it has none.
	 */
	if (hlist_empty(rec_bucket(mpmu_events, HASH_BITS(mpmu_events), event)))
		return;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	rec = event_find(event);
	if (rec) {
		hash_del(&rec->node);
		mpmu_nr_events--;
		mpmu_gen++;
		drained = !mpmu_nr_events;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	if (rec)
		mpmu_rec_free(rec);
	if (drained)
		note(MPMU_NOTIFY_DRAINED, 0, "", 0, NULL);
}

/*
 * An event that existed before the module could see its creation.  Never
 * refused: it exists already, it can only be counted.  *inserted tells the
 * caller whether this call added it (and may have to take it back).
 */
int mpmu_event_found(struct perf_event *event, struct task_struct *owner,
		     bool kernel, bool *inserted)
{
	struct mpmu_rec *rec;
	unsigned long flags;
	u8 guard;

	*inserted = false;
	if (event->attr.exclude_guest || !mpmu_pmus_match(event, &guard))
		return 0;
	if (kernel && event->attr.exclude_host)
		return 0;

	rec = mpmu_rec_alloc();
	if (!rec)
		return -ENOMEM;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (!event_find(event)) {
		event_fill(rec, event, guard);
		event_set_owner(rec, kernel ? NULL : owner, kernel);
		event_insert(rec);
		*inserted = true;
		rec = NULL;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	if (rec)
		mpmu_rec_free(rec);
	return 0;
}

/*
 * perf_event_create_kernel_counter() entry and return: events allocated in
 * between are kernel-owned.  Nesting is counted; a missing record only means
 * the event is treated as a user event (refused while VMs hold the knob).
 */
void mpmu_kernel_counter_begin(void)
{
	struct mpmu_rec *rec = mpmu_rec_alloc();
	struct mpmu_rec *cur;
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	cur = creator_find(current);
	if (cur) {
		cur->depth++;
	} else if (rec) {
		rec->key = current;
		rec->depth = 1;
		hash_add(mpmu_creators, &rec->node, (unsigned long)current);
		rec = NULL;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	if (rec)
		mpmu_rec_free(rec);
}

void mpmu_kernel_counter_end(void)
{
	struct mpmu_rec *rec;
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	rec = creator_find(current);
	if (rec && --rec->depth == 0)
		hash_del(&rec->node);
	else
		rec = NULL;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	if (rec)
		mpmu_rec_free(rec);
}

/* While what exists is being counted, no VM may take the knob. */
void mpmu_scan_begin(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	mpmu_scanning = true;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

void mpmu_scan_end(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	/* A rescan asked for since the last one began keeps VMs out. */
	mpmu_scanning = mpmu_rescan_pending;
	mpmu_settling = 0;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/* The rescan about to run answers every request made so far. */
void mpmu_rescan_claim(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	mpmu_rescan_pending = false;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/* How many calls begun before the hooks saw them are still running. */
void mpmu_set_settling(unsigned int nr)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	mpmu_settling = nr;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/*
 * Make every event record agree with the guarded set now published: fix
 * its guard index, or drop it when its PMU is no longer guarded.  One
 * bucket per lock hold.
 */
static void events_rematch(void)
{
	struct mpmu_rec *rec;
	struct hlist_node *tmp;
	unsigned long flags;
	unsigned int bkt;
	HLIST_HEAD(gone);
	u8 guard;

	for (bkt = 0; bkt < HASH_SIZE(mpmu_events); bkt++) {
		raw_spin_lock_irqsave(&mpmu_lock, flags);
		hlist_for_each_entry_safe(rec, tmp, &mpmu_events[bkt], node) {
			if (mpmu_pmus_match(rec->key, &guard)) {
				rec->ev.guard = guard;
				continue;
			}
			hash_del(&rec->node);
			hlist_add_head(&rec->node, &gone);
			mpmu_nr_events--;
			mpmu_gen++;
		}
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	}
	hlist_for_each_entry_safe(rec, tmp, &gone, node)
		mpmu_rec_free(rec);
}

int mpmu_set_enabled(bool enable)
{
	unsigned long flags;
	int ret = 0;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (mpmu_mode == MPMU_MODE_OBSERVE)
		ret = -EOPNOTSUPP;	/* the kernel decides */
	else if (!enable && refcount_read(&mpmu_holders))
		ret = -EBUSY;
	else
		mpmu_enabled = enable;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	return ret;
}

/*
 * Count what exists under the guarded set just published: scan, then wait
 * for the perf_event_open() calls that were past the hook (settle); VM
 * creation stays refused until both are done.  On failure the settle is
 * dropped and VMs stay refused; the caller decides what comes back.
 */
static int count_again(void)
{
	int pending = mpmu_settle_start();
	int ret = pending < 0 ? pending : mpmu_scan(false);

	if (ret) {
		mpmu_settle_drop();
		return ret;
	}
	if (pending)
		mpmu_settle_go();
	else
		mpmu_scan_end();
	return 0;
}

/*
 * Change the guarded PMUs.  Only while nothing depends on the old set: no
 * holder and no counted event.  VM creation is refused until the events on
 * the new set are counted: those that exist (the scan), those whose
 * perf_event_open() passed the LSM hook under the old set and is still
 * running (settle: they are counted once those calls are over).
 *
 * When counting fails (no memory) the old set comes back, as if nothing
 * had been written; VMs stay refused until the calls running then are over
 * and a background scan has counted what the old set guards (events opened
 * while the new set was in force were matched against it).
 */
int mpmu_set_guarded(const char *names)
{
	unsigned long flags;
	void *set, *old;
	int ret;

	lockdep_assert_held(&mpmu_config_mutex);

	if (mpmu_mode == MPMU_MODE_OBSERVE)
		return -EOPNOTSUPP;	/* the kernel guards what it guards */
	ret = mpmu_pmus_parse(names, false, &set);
	if (ret)
		return ret;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	if (refcount_read(&mpmu_holders) || mpmu_nr_events) {
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		mpmu_pmus_free(set);
		return -EBUSY;
	}
	mpmu_scanning = true;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);

	old = mpmu_pmus_swap(set);
	events_rematch();
	ret = count_again();
	if (ret) {
		mpmu_pmus_free(mpmu_pmus_swap(old));
		events_rematch();
		/* Calls past the hook under either set may still install. */
		mpmu_settle_request();
		return ret;
	}
	mpmu_pmus_free(old);
	return 0;
}

/* The tables' generation: it changes with every insertion and removal. */
unsigned int mpmu_tables_gen(void)
{
	unsigned long flags;
	unsigned int gen;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	gen = mpmu_gen;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	return gen;
}

void mpmu_get_status(struct mpmu_status *st)
{
	unsigned long flags;

	mpmu_hooks_kvm_state(&st->kvm_hooks, &st->kvm_error, &st->kvm_symbol);
	st->native = mpmu_hooks_native();
	raw_spin_lock_irqsave(&mpmu_lock, flags);
	st->enabled = mpmu_enabled;
	st->mode = mpmu_mode;
	st->settling = mpmu_settling;
	st->refcount = mpmu_mode == MPMU_MODE_OBSERVE ? mpmu_nr_native :
			refcount_read(&mpmu_holders);
	st->include_guest_events = mpmu_nr_events;
	st->unmanaged_vms = mpmu_nr_unmanaged;
	st->rejected_vms = mpmu_nr_rejected_vms;
	st->rejected_events = mpmu_nr_rejected_events;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
}

/*
 * Copy the PIDs of up to @max holding VMs; returns how many.  One bucket
 * per lock hold, and no formatting under the lock: interrupts stay off
 * only for a bucket's walk, also when a world-readable file is read.
 */
int mpmu_holder_pids(pid_t *pids, int max)
{
	struct mpmu_rec *rec;
	unsigned long flags;
	unsigned int bkt;
	int nr = 0;

	for (bkt = 0; bkt < HASH_SIZE(mpmu_vms) && nr < max; bkt++) {
		raw_spin_lock_irqsave(&mpmu_lock, flags);
		hlist_for_each_entry(rec, &mpmu_vms[bkt], node)
			if (rec->vm.managed && nr < max)
				pids[nr++] = rec->vm.pid;
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	}
	return nr;
}

/*
 * Walk @table from @pos, one bucket per lock hold so that interrupts are
 * never off for long.  pos[1] is 0 or the seq of the record that did not
 * fit last time: a bucket is in decreasing seq order, so the walk resumes
 * at the first record not above it, whatever was added or removed since.
 * *@gen receives the table generation: the caller flags its dump as
 * interrupted when it changed between calls.
 */
static int walk_table(struct hlist_head *table, unsigned int size,
		      unsigned long pos[2], unsigned int *gen,
		      bool (*want)(const struct mpmu_rec *),
		      int (*fn)(const struct mpmu_rec *rec, void *data), void *data)
{
	struct mpmu_rec *rec;
	unsigned long flags;
	int stop = 0;

	for (; pos[0] < size; pos[0]++, pos[1] = 0) {
		raw_spin_lock_irqsave(&mpmu_lock, flags);
		*gen = mpmu_gen;
		hlist_for_each_entry(rec, &table[pos[0]], node) {
			if ((pos[1] && rec->seq > pos[1]) || !want(rec))
				continue;
			stop = fn(rec, data);
			if (stop) {
				pos[1] = rec->seq;
				break;
			}
		}
		raw_spin_unlock_irqrestore(&mpmu_lock, flags);
		if (stop)
			break;
	}
	return stop;
}

struct walk_adapter {
	int (*vm_fn)(const struct mpmu_vm *vm, void *data);
	int (*ev_fn)(const struct mpmu_event *ev, void *data);
	void *data;
};

static bool want_holder(const struct mpmu_rec *rec)
{
	return rec->vm.managed;
}

static bool want_any(const struct mpmu_rec *rec)
{
	return true;
}

static int call_vm_fn(const struct mpmu_rec *rec, void *data)
{
	struct walk_adapter *wa = data;

	return wa->vm_fn(&rec->vm, wa->data);
}

static int call_ev_fn(const struct mpmu_rec *rec, void *data)
{
	struct walk_adapter *wa = data;

	return wa->ev_fn(&rec->ev, wa->data);
}

int mpmu_walk_holders(unsigned long pos[2], unsigned int *gen,
		      int (*fn)(const struct mpmu_vm *vm, void *data), void *data)
{
	struct walk_adapter wa = { .vm_fn = fn, .data = data };

	return walk_table(mpmu_vms, HASH_SIZE(mpmu_vms), pos, gen, want_holder,
			  call_vm_fn, &wa);
}

int mpmu_walk_events(unsigned long pos[2], unsigned int *gen,
		     int (*fn)(const struct mpmu_event *ev, void *data), void *data)
{
	struct walk_adapter wa = { .ev_fn = fn, .data = data };

	return walk_table(mpmu_events, HASH_SIZE(mpmu_events), pos, gen, want_any,
			  call_ev_fn, &wa);
}

/*
 * The recent refusals, oldest first.  *@pos is the sequence number of the
 * next one to send (0 at the start of a dump): absolute, so that refusals
 * arriving between two calls neither repeat nor skip what is still there.
 */
int mpmu_walk_rejections(unsigned long *pos,
			 int (*fn)(const struct mpmu_note *note, void *data), void *data)
{
	unsigned long flags;
	u64 first;
	int stop = 0;

	raw_spin_lock_irqsave(&mpmu_lock, flags);
	first = mpmu_rejections_seq - min_t(u64, mpmu_rejections_seq, MPMU_REJECTIONS_MAX);
	if (*pos < first)
		*pos = first;
	for (; *pos < mpmu_rejections_seq; (*pos)++) {
		stop = fn(&mpmu_rejections[*pos % MPMU_REJECTIONS_MAX], data);
		if (stop)
			break;
	}
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	return stop;
}

/*
 * Guard what @mode guards: in observe mode the PMUs the kernel's knob
 * guards, else the set arbitration had (kept aside meanwhile).  Returns
 * the set to free.  What exists is counted by the caller.
 */
static int mode_apply(enum mpmu_mode mode, void **to_free)
{
	unsigned long flags;
	void *set, *old;
	int ret;

	*to_free = NULL;
	if (mode == MPMU_MODE_OBSERVE) {
		ret = mpmu_pmus_native(&set);
		if (ret)
			return ret;
	} else {
		set = mpmu_arbitrate_set;
		mpmu_arbitrate_set = NULL;
	}
	raw_spin_lock_irqsave(&mpmu_lock, flags);
	mpmu_mode = mode;
	mpmu_scanning = true;
	raw_spin_unlock_irqrestore(&mpmu_lock, flags);
	old = mpmu_pmus_swap(set);
	if (mode == MPMU_MODE_OBSERVE)
		mpmu_arbitrate_set = old;
	else
		*to_free = old;
	return 0;
}

/* At load, before the first scan. */
int mpmu_mode_init(enum mpmu_mode mode)
{
	void *old;
	int ret;

	lockdep_assert_held(&mpmu_config_mutex);
	if (mode == mpmu_mode)
		return 0;
	ret = mode_apply(mode, &old);
	mpmu_pmus_free(old);
	return ret;
}

/*
 * A KVM vendor module started or stopped using the kernel's own knob (no
 * VM of its can exist yet, or any more).  The events counted so far were
 * matched against the other set: match them again, and count what exists
 * as after a guarded_pmus change (scan, then settle the calls running).
 */
int mpmu_mode_switch(enum mpmu_mode mode)
{
	void *old;
	int ret;

	lockdep_assert_held(&mpmu_config_mutex);
	if (mode == mpmu_mode)
		return 0;
	ret = mode_apply(mode, &old);
	if (ret)
		return ret;
	events_rematch();
	mpmu_pmus_free(old);
	ret = count_again();
	if (ret)	/* VMs stay refused until a background scan succeeds. */
		mpmu_settle_request();
	return ret;
}

void mpmu_core_init(bool enable)
{
	mpmu_enabled = enable;
	mpmu_mode = MPMU_MODE_ARBITRATE;
}

/* No hook runs any more and no VM holds the knob: drop every record. */
void mpmu_core_exit(void)
{
	struct hlist_node *tmp;
	struct mpmu_rec *rec;
	unsigned int bkt;

	WARN_ON_ONCE(refcount_read(&mpmu_holders));
	hash_for_each_safe(mpmu_vms, bkt, tmp, rec, node)
		mpmu_rec_free(rec);
	hash_for_each_safe(mpmu_events, bkt, tmp, rec, node)
		mpmu_rec_free(rec);
	hash_for_each_safe(mpmu_creators, bkt, tmp, rec, node)
		mpmu_rec_free(rec);
	mpmu_pmus_free(mpmu_arbitrate_set);
	mpmu_arbitrate_set = NULL;
}
