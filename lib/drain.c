// SPDX-License-Identifier: GPL-2.0
/*
 * Draining: the steps that make VM creation possible now, shared by
 * "mpmuctl drain" and mpmud's drain policy.  Turn the NMI watchdog off (its
 * counters are include-guest events; the old value is saved under /run for
 * restore), act on the owners of blocking user events, wait for
 * include_guest_events to reach 0.  Each action is reported through d->fn.
 * A signal goes only to the process that opened the event (SPEC §3b).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "mpmu.h"

#define NMI_WATCHDOG_PATH "/proc/sys/kernel/nmi_watchdog"

static void report(struct mpmu_drain *d, struct mpmu_drain_action *a, int err,
		   const char *done)
{
	a->err = err;
	a->result = err ? strerror(-err) : d->dry_run ? "planned" : done;
	if (err == -EPERM || err == -EACCES)
		d->denied = true;
	d->fn(a, d->data);
}

int mpmu_drain_watchdog(struct mpmu_drain *d)
{
	struct mpmu_drain_action a = {
		.action = "nmi_watchdog",
		.target = NMI_WATCHDOG_PATH,
	};
	int value, err;

	err = mpmu_nmi_watchdog_get(d->root, &value);
	if (err || !value)
		return err == -ENOENT ? 0 : err;
	if (!d->dry_run) {
		err = mpmu_saved_watchdog_put(d->root, value);
		if (!err)
			err = mpmu_nmi_watchdog_set(d->root, 0);
	}
	report(d, &a, err, "off");
	return err;
}

/* The same owner: one action per process, however many events it holds. */
static bool same_owner(const struct mpmu_event *a, const struct mpmu_event *b)
{
	return a->owner_pid == b->owner_pid && a->owner_gone == b->owner_gone &&
	       a->owner_start_known == b->owner_start_known &&
	       a->owner_start == b->owner_start && !strcmp(a->owner_comm, b->owner_comm);
}

static bool seen_before(const struct mpmu_event *list, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!list[j].kernel && same_owner(&list[j], &list[i]))
			return true;
	return false;
}

/*
 * comm is no identity (any process may take any name) and a PID may be
 * reused: the owner is the process with the recorded PID *and* start time.
 * Never PID 1, drain itself or its parent (a shell, libvirt, systemd),
 * whose death would take more down than the event; never a kernel thread.
 */
const char *mpmu_drain_refusal(const struct mpmu_event *e, const struct mpmu_proc_stat *ps,
			       pid_t self, pid_t parent)
{
	if (e->owner_gone || !e->owner_pid || !e->owner_start_known)
		return MPMU_REFUSED_GONE;
	if (e->owner_pid == 1)
		return MPMU_REFUSED_INIT;
	if (e->owner_pid == self)
		return MPMU_REFUSED_SELF;
	if (e->owner_pid == parent)
		return MPMU_REFUSED_PARENT;
	if (!ps)
		return NULL;
	if (ps->pid != e->owner_pid || ps->starttime != e->owner_start)
		return MPMU_REFUSED_REUSED;
	if (ps->flags & MPMU_PF_KTHREAD)
		return MPMU_REFUSED_KTHREAD;
	return NULL;
}

/*
 * Check the owner of @e and, when d asks for it, signal it.  The pidfd
 * comes first: from then on the PID cannot go to another process while the
 * pidfd's process lives, so /proc/PID/stat read next is that process's (or,
 * if it has already died, the signal through the pidfd reaches nobody).
 * Returns a refusal, or NULL with *err 0 (done, or allowed) or -errno.
 */
static const char *check_and_signal(struct mpmu_drain *d, const struct mpmu_event *e,
				    int *err)
{
	bool send = d->signal && !d->dry_run;
	pid_t self = getpid(), parent = getppid();
	struct mpmu_proc_stat ps;
	const char *why;
	int pidfd = -1, ret;

	*err = 0;
	why = mpmu_drain_refusal(e, NULL, self, parent);
	if (why)
		return why;
	if (send) {
		pidfd = pidfd_open(e->owner_pid, 0);
		if (pidfd < 0) {
			if (errno == ESRCH)
				return MPMU_REFUSED_GONE;
			*err = -errno;
			return NULL;
		}
	}
	ret = mpmu_proc_stat(e->owner_pid, &ps);
	if (ret == -ENOENT)
		why = MPMU_REFUSED_GONE;
	else if (ret)
		*err = ret;
	else
		why = mpmu_drain_refusal(e, &ps, self, parent);
	if (!why && !*err && send && pidfd_send_signal(pidfd, d->signal, NULL, 0)) {
		if (errno == ESRCH)
			why = MPMU_REFUSED_GONE;
		else
			*err = -errno;
	}
	if (pidfd >= 0)
		close(pidfd);
	return why;
}

void mpmu_drain_owners(struct mpmu_drain *d, const struct mpmu_event *list, size_t nr)
{
	struct mpmu_drain_action a = {
		.action = d->signal == SIGKILL ? "kill" :
			  d->signal == SIGTERM ? "term" : "report",
	};
	const struct mpmu_event *e;
	const char *why;
	char target[64];
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		e = &list[i];
		if (e->kernel || seen_before(list, i))
			continue;
		if (e->owner_pid)
			snprintf(target, sizeof(target), "pid %d (%s)", e->owner_pid, e->owner_comm);
		else
			snprintf(target, sizeof(target), "exited owner%s%s%s", *e->owner_comm ? " (" : "",
				 e->owner_comm, *e->owner_comm ? ")" : "");
		a.target = target;
		a.pid = e->owner_pid;
		a.comm = e->owner_comm;
		why = check_and_signal(d, e, &err);
		a.refused = why != NULL;
		if (why) {
			a.err = 0;
			a.result = why;
			d->fn(&a, d->data);
		} else {
			report(d, &a, err, d->signal ? "sent" : "blocking");
		}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int mpmu_drain_wait(struct mpmu_client *client, double timeout, struct mpmu_status *st)
{
	struct timespec step = { 0, 100 * 1000 * 1000 };
	double deadline = now_s() + timeout;
	int ret;

	for (;;) {
		ret = mpmu_get_status(client, st);
		if (ret || !st->include_guest_events || now_s() >= deadline)
			return ret;
		nanosleep(&step, NULL);
	}
}

/*
 * The dump comes first: without it (EPERM: no CAP_SYS_ADMIN or
 * CAP_PERFMON) the drain cannot do what it was asked, so it changes
 * nothing at all.
 */
int mpmu_drain_run(struct mpmu_client *client, struct mpmu_drain *d)
{
	struct mpmu_event *list = NULL;
	size_t nr = 0;
	int ret;

	if (d->owners) {
		ret = mpmu_get_events(client, &list, &nr);
		if (ret)
			return ret;
	}
	if (d->watchdog)
		mpmu_drain_watchdog(d);
	if (d->owners)
		mpmu_drain_owners(d, list, nr);
	free(list);
	return 0;
}

int mpmu_watchdog_restore(struct mpmu_client *client, const char *root, int *value)
{
	struct mpmu_status st;
	int ret;

	/* While a VM holds the knob, the watchdog's counters would be refused. */
	if (client && !mpmu_get_status(client, &st) && st.refcount)
		return -EBUSY;
	ret = mpmu_saved_watchdog_get(root, value);
	if (!ret)
		ret = mpmu_nmi_watchdog_set(root, *value);
	if (!ret)
		ret = mpmu_saved_watchdog_clear(root);
	return ret;
}
