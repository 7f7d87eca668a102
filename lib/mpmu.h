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
	bool nmi_watchdog;
	char version[MPMU_VERSION_LEN];
	bool valid;			/* a reply arrived */
};

struct mpmu_holder {
	pid_t pid;
	char comm[MPMU_COMM_LEN];
	uint64_t vm_id;
	uint64_t created;		/* seconds since the epoch */
};

struct mpmu_event {
	pid_t owner_pid;		/* 0: kernel-owned or unknown */
	char owner_comm[MPMU_COMM_LEN];
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

/* Connect; -ENOENT when the family is missing (module not loaded). */
int mpmu_open(struct mpmu_client **client);
void mpmu_close(struct mpmu_client *client);

int mpmu_get_status(struct mpmu_client *client, struct mpmu_status *st);
/* Dumps: *list is malloc()ed, the caller frees it. */
int mpmu_get_holders(struct mpmu_client *client, struct mpmu_holder **list, size_t *nr);
int mpmu_get_events(struct mpmu_client *client, struct mpmu_event **list, size_t *nr);
int mpmu_get_rejections(struct mpmu_client *client, struct mpmu_note **list, size_t *nr);
/* Changes: -EPERM without CAP_SYS_ADMIN, -EBUSY as the sysfs rules say. */
int mpmu_set_enabled(struct mpmu_client *client, bool enabled);
int mpmu_set_guarded(struct mpmu_client *client, const char *names);

/*
 * Follow the notify group: @fn is called for each notification until it
 * returns non-zero (returned), or an error occurs.
 */
typedef int (*mpmu_note_fn)(const struct mpmu_note *note, void *data);
int mpmu_watch(struct mpmu_client *client, mpmu_note_fn fn, void *data);

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
 * since the previous read.  (Reconnect on ADDED only: mpmu_open() while the
 * family is gone would load the module again, undoing an admin's rmmod.)
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

/* Draining (drain.c), shared by "mpmuctl drain" and mpmud. */
struct mpmu_drain_action {
	const char *action;	/* "nmi_watchdog", "report", "term" or "kill" */
	const char *target;	/* the sysctl's path, or "pid N (comm)" */
	pid_t pid;		/* the owner acted on; 0 for the watchdog */
	const char *comm;
	int err;		/* 0 or a negative errno */
	const char *result;	/* "planned", what was done, or strerror(err) */
};

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

/* The steps d asks for: watchdog, then owners (from a fresh event dump). */
int mpmu_drain_run(struct mpmu_client *client, struct mpmu_drain *d);
/* NMI watchdog off, its old value saved for restore (first save wins). */
int mpmu_drain_watchdog(struct mpmu_drain *d);
/* Signal (or report) each distinct owner of a user event in @list. */
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
