// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl drain: make VM creation possible now.  Turn the NMI watchdog off
 * (its counters are include-guest events; the old value is saved under /run
 * for restore), act on the owners of blocking user events per --signal,
 * wait for include_guest_events to reach 0, report what remains.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <math.h>
#include <fcntl.h>
#include <unistd.h>

#include "mpmuctl.h"

struct drain_opts {
	int signal;		/* 0: none, report only */
	double timeout;
	bool dry_run;
};

struct drain {
	struct drain_opts o;
	json_object *actions;
	bool denied;		/* an action failed for lack of privilege */
};

static const struct argp_option drain_options[] = {
	{ "signal", 's', "none|term|kill", 0, "signal owners of blocking events (default: none)", 0 },
	{ "timeout", 't', "SECONDS", 0, "wait this long for the events to go (default: 10)", 0 },
	{ "dry-run", 'n', NULL, 0, "print the plan, change nothing", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static error_t parse_drain(int key, char *arg, struct argp_state *state)
{
	struct drain_opts *o = state->input;
	char *end;

	switch (key) {
	case 's':
		if (!strcmp(arg, "none"))
			o->signal = 0;
		else if (!strcmp(arg, "term"))
			o->signal = SIGTERM;
		else if (!strcmp(arg, "kill"))
			o->signal = SIGKILL;
		else
			argp_error(state, "--signal takes none, term or kill, not '%s'", arg);
		break;
	case 't':
		o->timeout = strtod(arg, &end);
		if (end == arg || *end || !isfinite(o->timeout) || o->timeout < 0 ||
		    o->timeout > 3600)
			argp_error(state, "--timeout takes seconds from 0 to 3600, not '%s'", arg);
		break;
	case 'n':
		o->dry_run = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp drain_argp = {
	.options = drain_options,
	.parser = parse_drain,
	.doc = "Make VM creation possible now: NMI watchdog off, act on blocking events, wait.",
};

static void action(struct drain *d, const char *what, const char *target, int err,
		   const char *done)
{
	json_object *a = json_object_new_object();
	const char *result = d->o.dry_run ? "planned" : err ? strerror(-err) : done;

	if (err == -EPERM || err == -EACCES)
		d->denied = true;
	json_object_object_add(a, "action", json_object_new_string(what));
	json_object_object_add(a, "target", json_object_new_string(target));
	json_object_object_add(a, "result", json_object_new_string(result));
	json_object_array_add(d->actions, a);
	if (!g.json)
		printf("drain: %-12s %-40s %s\n", what, target, result);
}

static void watchdog_off(struct drain *d)
{
	int value, err;

	if (mpmu_nmi_watchdog_get(g.root, &value) || !value)
		return;
	err = 0;
	if (!d->o.dry_run) {
		err = mpmu_saved_watchdog_put(g.root, value);
		if (!err)
			err = mpmu_nmi_watchdog_set(g.root, 0);
	}
	action(d, "nmi_watchdog", "/proc/sys/kernel/nmi_watchdog", err, "off");
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

static void act_on_owners(struct drain *d, const struct mpmu_event *list, size_t nr)
{
	const char *what = d->o.signal == SIGKILL ? "kill" :
			   d->o.signal == SIGTERM ? "term" : "report";
	char target[64];
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		if (list[i].kernel || !list[i].owner_pid || seen_before(list, i))
			continue;
		snprintf(target, sizeof(target), "pid %d (%s)", list[i].owner_pid,
			 list[i].owner_comm);
		err = 0;
		if (d->o.signal && !d->o.dry_run)
			err = signal_owner(list[i].owner_pid, list[i].owner_comm, d->o.signal);
		action(d, what, target, err, d->o.signal ? "sent" : "blocking");
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Poll until no include-guest event is left or the timeout passes. */
static int wait_drained(struct mpmu_client *client, double timeout, struct mpmu_status *st)
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

static int finish(struct drain *d, struct mpmu_client *client, struct mpmu_status *st)
{
	struct mpmu_event *list = NULL;
	json_object *obj, *rows;
	bool drained = !st->include_guest_events;
	size_t nr = 0, i;

	if (!drained)
		mpmu_get_events(client, &list, &nr);
	rows = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(rows, event_json(&list[i]));
	free(list);

	obj = json_object_new_object();
	json_object_object_add(obj, "drained", json_object_new_boolean(drained));
	json_object_object_add(obj, "dry_run", json_object_new_boolean(d->o.dry_run));
	json_object_object_add(obj, "actions", json_object_get(d->actions));
	json_object_object_add(obj, "remaining", json_object_new_int64(st->include_guest_events));
	json_object_object_add(obj, "remaining_events", json_object_get(rows));
	if (g.json) {
		out_json(obj);
	} else if (drained) {
		printf("drain: no include-guest event left: a VM can get the mediated PMU\n");
	} else {
		printf("drain: %u include-guest events %s:\n", st->include_guest_events,
		       d->o.dry_run ? "block VM creation now" : "remain");
		out_table(rows, event_cols);
	}
	json_object_put(rows);
	json_object_put(obj);
	if (drained || d->o.dry_run)
		return 0;
	return d->denied ? EX_NOPERM : EX_TEMPFAIL;
}

int cmd_drain(int argc, char **argv)
{
	struct drain d = { .o = { .timeout = 10 } };
	struct mpmu_event *list = NULL;
	struct mpmu_client *client;
	struct mpmu_status st;
	size_t nr = 0;
	int ret;

	client = verb_connect(&drain_argp, argc, argv, &d.o, &ret);
	if (!client)
		return ret;
	ret = mpmu_get_events(client, &list, &nr);
	if (ret) {
		mpmu_close(client);
		return report_error(ret, "list the events");
	}

	d.actions = json_object_new_array();
	watchdog_off(&d);
	act_on_owners(&d, list, nr);
	free(list);

	ret = d.o.dry_run ? mpmu_get_status(client, &st) :
			    wait_drained(client, d.o.timeout, &st);
	if (ret)
		ret = report_error(ret, "read the status");
	else
		ret = finish(&d, client, &st);
	mpmu_close(client);
	json_object_put(d.actions);
	return ret;
}
