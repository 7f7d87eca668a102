// SPDX-License-Identifier: GPL-2.0
/* mpmuctl watch: stream the module's notifications until interrupted. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "mpmuctl.h"

struct watch {
	long count;	/* stop after this many; 0: never */
	long seen;
};

static const struct argp_option watch_options[] = {
	{ "count", 'n', "N", 0, "exit after N notifications", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static error_t parse_watch(int key, char *arg, struct argp_state *state)
{
	struct watch_opts *o = state->input;
	char *end;

	switch (key) {
	case ARGP_KEY_INIT:
		*o = (struct watch_opts) { .count = 0 };
		break;
	case 'n':
		o->count = strtol(arg, &end, 10);
		if (*end || o->count < 1)
			return usage_error(state, "--count takes a positive number, not '%s'", arg);
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp watch_argp = {
	.options = watch_options,
	.parser = parse_watch,
	.doc = "Stream notifications (VMs acquiring, releasing, refused; events refused; drained).",
};

static int print_note(const struct mpmu_note *n, void *data)
{
	struct watch *w = data;
	json_object *obj;
	time_t t = (time_t)n->time;
	char when[32];
	struct tm tm;

	if (g.json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "event",
				       json_object_new_string(mpmu_note_kind_name(n->kind)));
		json_object_object_add(obj, "pid", json_object_new_int(n->pid));
		json_object_object_add(obj, "comm", json_object_new_string(n->comm));
		json_object_object_add(obj, "time", json_object_new_uint64(n->time));
		json_object_object_add(obj, "refcount", json_object_new_int64(n->refcount));
		json_object_object_add(obj, "include_guest_events",
				       json_object_new_int64(n->include_guest_events));
		if (n->pmu[0])
			json_object_object_add(obj, "pmu", json_object_new_string(n->pmu));
		if (n->vm_id)
			json_object_object_add(obj, "vm_id", json_object_new_uint64(n->vm_id));
		json_object_object_add(obj, "seq", json_object_new_uint64(n->seq));
		out_json(obj);
		json_object_put(obj);
	} else {
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%s %-14s pid %d (%s)%s%s refcount=%u include_guest_events=%u\n", when,
		       mpmu_note_kind_name(n->kind), n->pid, n->comm,
		       n->pmu[0] ? " pmu " : "", n->pmu, n->refcount, n->include_guest_events);
		fflush(stdout);
	}
	return w->count && ++w->seen >= w->count;
}

/*
 * SIGINT and SIGTERM end the watch with status 0.  They are blocked before
 * anything else and read from a signalfd, so that one arriving while the
 * watch connects or reads is not lost (nor kills the program).
 */
int cmd_watch(const union verb_opts *opts)
{
	struct watch w = { .count = opts->watch.count };
	struct mpmu_client *client;
	sigset_t stop;
	int ret, sfd;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (sfd < 0)
		return report_error(-errno, "watch for signals");
	client = connect_or_report(&ret);
	if (!client) {
		close(sfd);
		return ret;
	}
	ret = mpmu_watch(client, print_note, &w, sfd);
	mpmu_close(client);
	close(sfd);
	if (ret < 0)
		return report_error(ret, "watch notifications");
	return 0;
}
