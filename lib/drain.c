// SPDX-License-Identifier: GPL-2.0
/*
 * Draining: the steps that make VM creation possible now, shared by
 * "mpmuctl drain" and mpmud's drain policy.  Turn the NMI watchdog off (its
 * counters are include-guest events; the old value is saved under /run for
 * restore), act on the owners of blocking user events, wait for
 * include_guest_events to reach 0.  Each action is reported through d->fn.
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
	a->result = d->dry_run ? "planned" : err ? strerror(-err) : done;
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

static bool seen_before(const struct mpmu_event *list, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (list[j].owner_pid == list[i].owner_pid)
			return true;
	return false;
}

/*
 * Signal @pid only if it is still the process the module named: pin it with
 * a pidfd, then compare its command, so that a PID reused since the dump is
 * left alone.  Returns 0 or a negative errno; -ESRCH when it is gone.
 */
static int signal_owner(pid_t pid, const char *comm, int sig)
{
	char path[64], now[MPMU_COMM_LEN + 2] = "";
	ssize_t len;
	int pidfd, fd, ret = 0;

	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd < 0 ? -1 : read(fd, now, sizeof(now) - 1);
	if (fd >= 0)
		close(fd);
	if (len > 0 && now[len - 1] == '\n')
		now[len - 1] = '\0';
	if (len <= 0 || strcmp(now, comm))
		ret = -ESRCH;
	else if (pidfd_send_signal(pidfd, sig, NULL, 0))
		ret = -errno;
	close(pidfd);
	return ret;
}

void mpmu_drain_owners(struct mpmu_drain *d, const struct mpmu_event *list, size_t nr)
{
	struct mpmu_drain_action a = {
		.action = d->signal == SIGKILL ? "kill" :
			  d->signal == SIGTERM ? "term" : "report",
	};
	char target[64];
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		if (list[i].kernel || !list[i].owner_pid || seen_before(list, i))
			continue;
		snprintf(target, sizeof(target), "pid %d (%s)", list[i].owner_pid,
			 list[i].owner_comm);
		a.target = target;
		a.pid = list[i].owner_pid;
		a.comm = list[i].owner_comm;
		err = 0;
		if (d->signal && !d->dry_run)
			err = signal_owner(a.pid, a.comm, d->signal);
		report(d, &a, err, d->signal ? "sent" : "blocking");
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

int mpmu_drain_run(struct mpmu_client *client, struct mpmu_drain *d)
{
	struct mpmu_event *list = NULL;
	size_t nr = 0;
	int ret = 0;

	if (d->watchdog)
		mpmu_drain_watchdog(d);
	if (d->owners) {
		ret = mpmu_get_events(client, &list, &nr);
		mpmu_drain_owners(d, list, nr);
		free(list);
	}
	return ret;
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
