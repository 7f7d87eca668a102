// SPDX-License-Identifier: GPL-2.0
/* mpmuctl watch: stream the module's notifications until interrupted. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static void on_signal(int sig)
{
	(void)sig;	/* interrupts recvmsg(); mpmu_watch() returns -EINTR */
}

int cmd_watch(const union verb_opts *opts)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct watch w = { .count = opts->watch.count };
	struct mpmu_client *client;
	int ret;

	client = connect_or_report(&ret);
	if (!client)
		return ret;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = mpmu_watch(client, print_note, &w);
	mpmu_close(client);
	if (ret < 0 && ret != -EINTR)
		return report_error(ret, "watch notifications");
	return 0;
}
