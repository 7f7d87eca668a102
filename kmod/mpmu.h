/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mediated_pmu: internal interfaces between the policy (core.c), the record
 * pool (pool.c), the guarded-PMU set (pmus.c), the kernel hooks (hooks.c),
 * the load-time scan (scan.c) and the sysfs ABI (sysfs.c).
 *
 * Lock order: mpmu_config_mutex -> hooks mutex -> mpmu_lock -> pool lock.
 * mpmu_lock and the pool lock are raw spinlocks because they are taken from
 * kprobe handlers (preemption disabled, also on PREEMPT_RT).  Under
 * mpmu_lock, a record allocation may wake the pool's worker (its raw
 * worker lock, then the scheduler's), never with the pool lock held.
 */
#ifndef MPMU_H
#define MPMU_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>

struct perf_event;
struct pmu;
struct task_struct;

#include "uapi/mediated_pmu.h"

/* A VM seen by the module: a holder of the knob, or unmanaged. */
struct mpmu_vm {
	u64 id;			/* module-wide sequence number */
	time64_t created;	/* wall-clock seconds */
	pid_t pid;		/* tgid of the creating process */
	bool managed;		/* holds a reference on the knob */
	bool native;		/* a reference on the kernel's own knob */
	char comm[TASK_COMM_LEN];
};

/* A live include-guest event on a guarded PMU. */
struct mpmu_event {
	u64 config;
	u64 owner_start;	/* the opener's start, clock ticks since boot */
	time64_t created;
	pid_t owner_pid;	/* tgid of the opener; 0: kernel-owned or gone */
	pid_t target_pid;	/* -1 for per-CPU events */
	s32 cpu;		/* -1 for per-task events */
	u32 type;		/* perf_event_attr.type as requested */
	u8 guard;		/* index into the guarded-PMU set */
	bool kernel;		/* a kernel counter, no user owner */
	bool owner_gone;	/* a user event whose opener had exited */
	bool pinned;
	char owner_comm[TASK_COMM_LEN];
};

/*
 * One record type for every table, so that one preallocated pool serves
 * all of them from probe context.  Each record is keyed by the object it
 * describes (struct kvm *, struct perf_event *, struct task_struct *).
 */
struct mpmu_rec {
	struct hlist_node node;
	const void *key;
	/*
	 * Insertion order, module-wide.  hash_add() puts a record at the head
	 * of its bucket, so every bucket is in decreasing seq order: a dump
	 * resumes at (bucket, seq) without skipping or repeating a record.
	 */
	u64 seq;
	union {
		struct mpmu_vm vm;
		struct mpmu_event ev;
		unsigned int depth;	/* nested kernel-counter creations */
	};
};

/* A transition, for the notify group and the recent-refusals ring. */
struct mpmu_note {
	u64 seq;
	u64 vm_id;
	time64_t time;
	u32 refcount;		/* after the transition */
	u32 events;		/* after the transition */
	pid_t pid;
	u8 kind;		/* enum mpmu_notify_kind */
	char comm[TASK_COMM_LEN];
	char pmu[MPMU_PMU_NAME_LEN];
};

/* pool.c: records usable from any context. */
int mpmu_pool_init(void);
void mpmu_pool_exit(void);
struct mpmu_rec *mpmu_rec_alloc(void);
void mpmu_rec_free(struct mpmu_rec *rec);
int mpmu_pool_fill(unsigned int nr);
void mpmu_pool_debugfs_init(void);
void mpmu_pool_debugfs_exit(void);

/*
 * The type an event was opened with.  6.12 routes cpu-clock and task-clock
 * to internal PMUs and rewrites attr.type; orig_type keeps the request.
 * Inherited copies carry the rewritten attr: callers pass the parent.
 */
#ifdef MPMU_HAVE_PERF_ORIG_TYPE
#define mpmu_requested_type(event)	((event)->orig_type)
#else
#define mpmu_requested_type(event)	((event)->attr.type)
#endif

/* pmus.c: the set of guarded PMUs. */
struct perf_event *mpmu_dummy_event(int cpu);
int mpmu_pmus_init(const char *names);
void mpmu_pmus_exit(void);
int mpmu_pmus_parse(const char *names, bool verbose, void **newset);
int mpmu_pmus_native(void **newset);
void mpmu_pmus_free(void *set);
void *mpmu_pmus_swap(void *set);
bool mpmu_pmus_match(const struct perf_event *event, u8 *guard);
const char *mpmu_pmus_name(u8 guard);
ssize_t mpmu_pmus_show(char *buf);
typedef void (*mpmu_pmu_fn)(struct pmu *pmu, void *data);
void mpmu_pmus_for_each(mpmu_pmu_fn fn, void *data);

/* core.c: the policy. */
extern struct mutex mpmu_config_mutex;
void mpmu_core_init(bool enable);
int mpmu_mode_init(enum mpmu_mode mode);
int mpmu_mode_switch(enum mpmu_mode mode);
void mpmu_native_created(int ret);
void mpmu_native_released(void);
void mpmu_core_exit(void);
int mpmu_vm_create(const void *kvm);
void mpmu_vm_destroy(const void *kvm);
int mpmu_vm_found(const void *kvm, struct task_struct *owner, bool *inserted);
int mpmu_event_create(struct perf_event *event);
void mpmu_event_destroy(const struct perf_event *event);
int mpmu_event_found(struct perf_event *event, struct task_struct *owner,
		     bool kernel, bool *inserted);
void mpmu_kernel_counter_begin(void);
void mpmu_kernel_counter_end(void);
void mpmu_scan_begin(void);
void mpmu_scan_end(void);
void mpmu_rescan_claim(void);
void mpmu_set_settling(unsigned int nr);
int mpmu_set_enabled(bool enable);
int mpmu_set_guarded(const char *names);
void mpmu_forget_vms(void);

/* Counters are unsigned long so that sysfs shows them all alike. */
struct mpmu_status {
	bool enabled;
	enum mpmu_mode mode;
	enum mpmu_native native;
	enum mpmu_kvm_hooks kvm_hooks;
	int kvm_error;
	const char *kvm_symbol;	/* static string, or NULL */
	unsigned long settling;
	unsigned long refcount;
	unsigned long include_guest_events;
	unsigned long unmanaged_vms;
	unsigned long rejected_vms;
	unsigned long rejected_events;
};

void mpmu_get_status(struct mpmu_status *st);
unsigned int mpmu_tables_gen(void);
int mpmu_holder_pids(pid_t *pids, int max);

/*
 * Walks for the netlink dumps, resumable: @pos is where the last call
 * stopped ({bucket, seq of the record not sent} for the tables, a sequence
 * number for the ring).  @fn runs
 * under mpmu_lock and returns non-zero to stop at that record (its message
 * did not fit); the walk returns non-zero when it stopped early.
 */
int mpmu_walk_holders(unsigned long pos[2], unsigned int *gen,
		      int (*fn)(const struct mpmu_vm *vm, void *data), void *data);
int mpmu_walk_events(unsigned long pos[2], unsigned int *gen,
		     int (*fn)(const struct mpmu_event *ev, void *data), void *data);
int mpmu_walk_rejections(unsigned long *pos,
			 int (*fn)(const struct mpmu_note *note, void *data), void *data);
void mpmu_note_skip(u64 *cursor);
bool mpmu_note_next(u64 *cursor, struct mpmu_note *note);
struct mpmu_pmu_name {
	char name[MPMU_PMU_NAME_LEN];
};

int mpmu_pmus_names(struct mpmu_pmu_name *names, int max);

/* netlink.c */
int mpmu_netlink_init(void);
void mpmu_netlink_exit(void);
void mpmu_netlink_kick(void);

/* scan.c: account for what exists already. */
int mpmu_scan(bool vms);
int mpmu_settle_start(void);
void mpmu_settle_go(void);
void mpmu_settle_drop(void);
void mpmu_settle_exit(void);
void mpmu_rescan_request(void);
void mpmu_settle_request(void);

/* hooks.c */
int mpmu_hooks_init(void);
void mpmu_hooks_exit(void);
enum mpmu_native mpmu_hooks_native(void);
void mpmu_hooks_kvm_state(enum mpmu_kvm_hooks *state, int *err, const char **symbol);

/* sysfs.c */
int mpmu_sysfs_init(void);
void mpmu_sysfs_exit(void);

#endif /* MPMU_H */
