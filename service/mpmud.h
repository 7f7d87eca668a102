/* SPDX-License-Identifier: GPL-2.0 */
/* mpmud: what its files share. */
#ifndef MPMUD_H
#define MPMUD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "../lib/config.h"
#include "../lib/mpmu.h"

/* Exit codes (sysexits.h), as systemd reports them: status=78/CONFIG. */
#define MPMUD_EXIT_CONFIG	78	/* EX_CONFIG: bad configuration */
#define MPMUD_EXIT_NOMODULE	69	/* EX_UNAVAILABLE: module not loaded */
#define MPMUD_EXIT_NOPERM	77	/* EX_NOPERM: not allowed to arm */

struct mpmud {
	struct mpmu_config cfg;
	const char *config_file;
	const char *config_dir;
	const char *root;		/* prefix for /proc and /run (tests) */

	sd_event *loop;
	sd_event_source *watch_io;
	struct mpmu_client *client;	/* requests; NULL while the module is away */
	struct mpmu_client *watch;	/* the notify group */
	struct mpmu_client *monitor;	/* the family's coming and going */

	struct mpmu_status st;		/* after the last refresh */
	bool dirty;			/* refresh after this loop iteration */
	bool kvm_failed_said;		/* the KVM hooks' failure was logged */
	uint64_t drains;		/* drains run since start (textfile) */
	uint64_t last_seq;		/* of the last notification, */
	bool have_seq;			/* if one came on this connection */
};

/* log.c: the journal, with SPEC §5's structured fields. */
struct log_fields {
	const char *event;		/* MPMU_EVENT=; NULL: a plain message */
	pid_t pid;			/* MPMU_PID=, MPMU_COMM= (with an event; */
	const char *comm;		/* 0 and "": the kernel) */
	const char *guest;		/* MPMU_GUEST= when set */
	bool counts;			/* MPMU_REFCOUNT=, MPMU_INCLUDE_GUEST_EVENTS=
					 * (known for every module transition) */
	uint32_t refcount;
	uint32_t include_guest_events;
};

void log_set_level(int level);
/* Off: stderr only (--check-config, which changes nothing, logs nothing). */
void log_set_journal(bool on);
void log_event(int priority, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define log_msg(priority, ...) log_event(priority, NULL, __VA_ARGS__)
void log_note(const struct mpmu_note *n);

/* drain.c: SPEC §5's drain policy at start. */
void mpmud_drain(struct mpmud *d);
/* Stop: set the NMI watchdog back, unless VMs would lose it. */
void mpmud_restore(struct mpmud *d);

#endif /* MPMUD_H */
