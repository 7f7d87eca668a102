/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libmpmu: the only userspace code that talks to the mediated_pmu module
 * (generic netlink), reads its state or /proc.  Shared by mpmuctl and mpmud.
 * Every function returns 0 or a negative errno.
 */
#ifndef MPMU_LIB_H
#define MPMU_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../kmod/uapi/mediated_pmu.h"

#define MPMU_VERSION_LEN	32
#define MPMU_COMM_LEN		16
#define MPMU_GUEST_NAME_LEN	128
#define MPMU_SYMBOL_LEN		128

struct mpmu_client;

struct mpmu_status {
	bool enabled;
	enum mpmu_mode mode;
	uint32_t refcount;
	uint32_t include_guest_events;
	uint32_t unmanaged_vms;
	uint64_t rejected_vms;
	uint64_t rejected_events;
	unsigned int nr_guarded;
	char guarded[MPMU_MAX_GUARDED][MPMU_PMU_NAME_LEN];
	bool nmi_watchdog;		/* read from /proc, not from the module */
	char version[MPMU_VERSION_LEN];
	bool kvm_hooks_known;		/* the module said (else kvm_hooks is meaningless) */
	enum mpmu_kvm_hooks kvm_hooks;
	int kvm_error;			/* with MPMU_KVM_HOOKS_FAILED: negative errno */
	char kvm_symbol[MPMU_SYMBOL_LEN];	/* with FAILED: the function not probed */
	uint32_t settling;		/* perf calls begun before arming, still running */
	bool native_known;		/* the module said (else native is meaningless) */
	enum mpmu_native native;	/* the kernel's own knob */
	bool valid;			/* a reply arrived */
};

struct mpmu_holder {
	pid_t pid;
	char comm[MPMU_COMM_LEN];
	uint64_t vm_id;
	uint64_t created;		/* seconds since the epoch */
};

struct mpmu_event {
	pid_t owner_pid;		/* 0: kernel-owned, gone or unknown */
	char owner_comm[MPMU_COMM_LEN];
	bool owner_start_known;
	uint64_t owner_start;		/* clock ticks since boot, /proc/PID/stat field 22 */
	bool owner_gone;		/* a user event whose opener had exited when found */
	bool kernel;
	int cpu;			/* -1: per-task */
	int target_pid;			/* -1: per-CPU */
	char pmu[MPMU_PMU_NAME_LEN];
	uint32_t type;
	uint64_t config;
	bool pinned;
	uint64_t created;
};

struct mpmu_note {
	enum mpmu_notify_kind kind;
	pid_t pid;
	char comm[MPMU_COMM_LEN];
	uint64_t time;
	uint32_t refcount;
	uint32_t include_guest_events;
	char pmu[MPMU_PMU_NAME_LEN];
	uint64_t vm_id;
	uint64_t seq;
};

/*
 * Connect; -ENOENT when the family is missing (module not loaded: looking
 * the family up never loads it).
 */
int mpmu_open(struct mpmu_client **client);
void mpmu_close(struct mpmu_client *client);
/* Prefix for the /proc files status reads ("" by default; tests). */
void mpmu_set_root(struct mpmu_client *client, const char *root);

/* The module's counters, plus the NMI watchdog sysctl (false if absent). */
int mpmu_get_status(struct mpmu_client *client, struct mpmu_status *st);
/*
 * A VM created now would take the knob: armed, this module arbitrates, the
 * KVM hooks did not fail, nothing is settling, no include-guest event.
 */
bool mpmu_status_ready(const struct mpmu_status *st);
/* "armed", "no_kvm", "failed" (the JSON names); NULL when not known. */
const char *mpmu_kvm_hooks_name(const struct mpmu_status *st);
/* For people: "armed", "kvm not loaded", "FAILED (ENOENT at SYMBOL)". */
void mpmu_kvm_hooks_text(const struct mpmu_status *st, char *buf, size_t size);
/* With FAILED: "ENOENT at SYMBOL". */
void mpmu_kvm_hooks_failure(const struct mpmu_status *st, char *buf, size_t size);
/* "ENOENT" for -ENOENT or ENOENT; "errno N" when it has no name. */
const char *mpmu_errno_name(int err, char *buf, size_t size);
/*
 * Dumps: *list is malloc()ed, the caller frees it.  -EPERM without
 * CAP_SYS_ADMIN or CAP_PERFMON (per-process detail).
 */
int mpmu_get_holders(struct mpmu_client *client, struct mpmu_holder **list, size_t *nr);
int mpmu_get_events(struct mpmu_client *client, struct mpmu_event **list, size_t *nr);
int mpmu_get_rejections(struct mpmu_client *client, struct mpmu_note **list, size_t *nr);

/*
 * The event's name as perf prints it ("cycles", "cpu-clock", "r3c"), or
 * as perf's command line takes it ("PMU/config=0x../", at most 58 bytes).
 */
#define MPMU_EVENT_NAME_LEN	64
void mpmu_event_name(const struct mpmu_event *e, char *buf, size_t size);
/*
 * An event as one line of JSON (the "events" listing's objects); returns
 * its length.  The longest is 726 characters with the NUL: 133 of keys
 * and punctuation, 593 of values with names escaped to the last byte.
 */
#define MPMU_EVENT_JSON_MAX	768
size_t mpmu_event_json(char buf[MPMU_EVENT_JSON_MAX], const struct mpmu_event *e);
/* Changes: -EPERM without CAP_SYS_ADMIN, -EBUSY as the sysfs rules say. */
int mpmu_set_enabled(struct mpmu_client *client, bool enabled);
int mpmu_set_guarded(struct mpmu_client *client, const char *names);

/*
 * Follow the notify group: @fn is called for each notification until it
 * returns non-zero (returned), or an error occurs.
 */
typedef int (*mpmu_note_fn)(const struct mpmu_note *note, void *data);
int mpmu_watch(struct mpmu_client *client, mpmu_note_fn fn, void *data, int stop_fd);

/*
 * The same for an event loop: after watch_start(), the client only follows
 * (no requests); when mpmu_fd() is readable, watch_read() hands @fn what
 * has arrived without blocking.  Returns 0, @fn's non-zero, or an error.
 */
int mpmu_watch_start(struct mpmu_client *client);
int mpmu_watch_read(struct mpmu_client *client, mpmu_note_fn fn, void *data);
int mpmu_fd(const struct mpmu_client *client);

/*
 * The module's coming and going: a client of nlctrl's notify group, which
 * needs no module.  monitor_read() tells the last change of the family
 * since the previous read; reconnect on ADDED only.
 */
enum mpmu_family_change {
	MPMU_FAMILY_UNCHANGED,
	MPMU_FAMILY_ADDED,
	MPMU_FAMILY_REMOVED,
};

int mpmu_monitor_open(struct mpmu_client **monitor);
int mpmu_monitor_read(struct mpmu_client *monitor, enum mpmu_family_change *change);

const char *mpmu_note_kind_name(enum mpmu_notify_kind kind);
const char *mpmu_mode_name(enum mpmu_mode mode);
/* "absent", "unused", "in-use", or NULL when the module did not say. */
const char *mpmu_native_name(const struct mpmu_status *st);

/* The Prometheus textfile (textfile.c); write() is atomic (rename). */
int mpmu_textfile_format(FILE *f, const struct mpmu_status *st, uint64_t drains);
int mpmu_textfile_write(const char *path, const struct mpmu_status *st, uint64_t drains);

/* /proc and /run helpers (proc.c). */
int mpmu_parse_guest_name(const char *cmdline, size_t len, char *name, size_t size);
int mpmu_guest_name(pid_t pid, char *name, size_t size);
int mpmu_nmi_watchdog_get(const char *root, int *value);
int mpmu_nmi_watchdog_set(const char *root, int value);
int mpmu_saved_watchdog_get(const char *root, int *value);
int mpmu_saved_watchdog_put(const char *root, int value);
int mpmu_saved_watchdog_clear(const char *root);

#define MPMU_PF_KTHREAD	0x00200000	/* include/linux/sched.h: a kernel thread */

/* /proc/PID/stat, the fields drain needs (field numbers as in proc(5)). */
struct mpmu_proc_stat {
	pid_t pid;			/* 1 */
	char comm[64];			/* 2, without its parentheses (maybe cut) */
	char state;			/* 3 */
	pid_t ppid;			/* 4 */
	unsigned long flags;		/* 9: PF_* */
	unsigned long long starttime;	/* 22: clock ticks since boot */
};

/*
 * Parse @len bytes of /proc/PID/stat.  comm may hold any byte but NUL,
 * ')' and spaces included: it ends at the last ')'.  -EINVAL if malformed.
 */
int mpmu_parse_proc_stat(const char *buf, size_t len, struct mpmu_proc_stat *ps);
/* Read and parse the host's /proc/PID/stat; -ENOENT when there is no such process. */
int mpmu_proc_stat(pid_t pid, struct mpmu_proc_stat *ps);

/* Draining (drain.c), shared by "mpmuctl drain" and mpmud. */
struct mpmu_drain_action {
	const char *action;	/* "nmi_watchdog", "report", "term" or "kill" */
	const char *target;	/* the sysctl's path, "pid N (comm)", "exited owner (comm)" */
	pid_t pid;		/* the owner acted on; 0 for the watchdog or a gone owner */
	const char *comm;
	int err;		/* 0 or a negative errno */
	bool refused;		/* left alone on purpose: result says why */
	const char *result;	/* "planned", what was done, a refusal, or strerror(err) */
};

/* Refusals, as drain reports them in an action's result. */
#define MPMU_REFUSED_GONE	"owner gone"
#define MPMU_REFUSED_REUSED	"owner gone (PID reused)"
#define MPMU_REFUSED_INIT	"PID 1: never signalled"
#define MPMU_REFUSED_SELF	"drain's own process: never signalled"
#define MPMU_REFUSED_PARENT	"drain's parent: never signalled"
#define MPMU_REFUSED_KTHREAD	"kernel thread: never signalled"

/*
 * Why drain must leave the owner of @e alone, or NULL when it may signal
 * it.  @self and @parent: the caller's getpid() and getppid().  @ps: the
 * owner's /proc/PID/stat, read after pinning it with a pidfd, or NULL for
 * the checks that need none.  The owner is only the process that opened
 * the event if its start time is the one the module recorded.
 */
const char *mpmu_drain_refusal(const struct mpmu_event *e, const struct mpmu_proc_stat *ps,
			       pid_t self, pid_t parent);

typedef void (*mpmu_drain_fn)(const struct mpmu_drain_action *a, void *data);

struct mpmu_drain {
	const char *root;	/* prefix for /proc and /run ("" normally) */
	bool watchdog;		/* drain_run(): turn the NMI watchdog off */
	bool owners;		/* drain_run(): act on (or report) the owners */
	int signal;		/* 0: report the owners only */
	bool dry_run;		/* report what would be done, change nothing */
	mpmu_drain_fn fn;	/* called for every action */
	void *data;
	bool denied;		/* out: an action failed for lack of privilege */
};

/*
 * The steps d asks for: a fresh event dump first (with d->owners; if it
 * fails, e.g. -EPERM, nothing is changed), then the watchdog, then owners.
 */
int mpmu_drain_run(struct mpmu_client *client, struct mpmu_drain *d);
/* NMI watchdog off, its old value saved for restore (first save wins). */
int mpmu_drain_watchdog(struct mpmu_drain *d);
/*
 * Signal (or report) each distinct owner of a user event in @list: only
 * through a pidfd, and only when mpmu_drain_refusal() finds no reason not
 * to, checked after the pidfd pins the process.
 */
void mpmu_drain_owners(struct mpmu_drain *d, const struct mpmu_event *list, size_t nr);
/* Poll until no include-guest event is left or @timeout seconds pass. */
int mpmu_drain_wait(struct mpmu_client *client, double timeout, struct mpmu_status *st);
/*
 * Set the watchdog back to the saved value; -ENOENT when none was saved,
 * -EBUSY (nothing changed) while VMs hold the knob, checked through @client
 * unless it is NULL (module not loaded).
 */
int mpmu_watchdog_restore(struct mpmu_client *client, const char *root, int *value);

#endif /* MPMU_LIB_H */
