// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl drain: make VM creation possible now, with the steps of
 * lib/drain.c (NMI watchdog off, owners signalled per --signal, wait), and
 * report what remains.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpmuctl.h"
#include "../lib/config.h"

struct drain {
	struct drain_opts o;
	json_object *actions;
	struct mpmu_drain lib;
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

	switch (key) {
	case ARGP_KEY_INIT:
		*o = (struct drain_opts) { .timeout = 10 };
		break;
	case 's':
		if (!strcmp(arg, "none"))
			o->signal = 0;
		else if (!strcmp(arg, "term"))
			o->signal = SIGTERM;
		else if (!strcmp(arg, "kill"))
			o->signal = SIGKILL;
		else
			return usage_error(state, "--signal takes none, term or kill, not '%s'", arg);
		break;
	case 't':
		if (mpmu_parse_seconds(arg, &o->timeout))
			return usage_error(state, "--timeout takes seconds from 0 to 3600, not '%s'", arg);
		break;
	case 'n':
		o->dry_run = true;
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp drain_argp = {
	.options = drain_options,
	.parser = parse_drain,
	.doc = "Make VM creation possible now: NMI watchdog off, act on blocking events, wait.",
};

static void on_action(const struct mpmu_drain_action *a, void *data)
{
	json_object *obj = json_object_new_object();
	json_object *actions = data;

	json_object_object_add(obj, "action", json_object_new_string(a->action));
	json_object_object_add(obj, "target", json_object_new_string(a->target));
	json_object_object_add(obj, "pid", a->pid ? json_object_new_int(a->pid) : NULL);
	json_object_object_add(obj, "result", json_object_new_string(a->result));
	json_object_array_add(actions, obj);
	if (!g.json)
		printf("drain: %-12s %-40s %s\n", a->action, a->target, a->result);
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
		bool one = st->include_guest_events == 1;

		printf("drain: %u include-guest %s:\n", st->include_guest_events,
		       d->o.dry_run ? (one ? "event blocks VM creation now" :
					     "events block VM creation now") :
				      (one ? "event remains" : "events remain"));
		out_table(rows, event_cols);
	}
	json_object_put(rows);
	json_object_put(obj);
	if (drained || d->o.dry_run)
		return 0;
	return d->lib.denied ? EX_NOPERM : EX_TEMPFAIL;
}

int cmd_drain(const union verb_opts *opts)
{
	struct drain d = { .o = opts->drain };
	struct mpmu_client *client;
	struct mpmu_status st;
	int ret;

	client = connect_or_report(&ret);
	if (!client)
		return ret;
	d.actions = json_object_new_array();
	d.lib = (struct mpmu_drain) {
		.root = g.root,
		.watchdog = true,
		.owners = true,
		.signal = d.o.signal,
		.dry_run = d.o.dry_run,
		.fn = on_action,
		.data = d.actions,
	};
	ret = mpmu_drain_run(client, &d.lib);
	if (ret) {
		mpmu_close(client);
		json_object_put(d.actions);
		return report_dump_error(ret, "list the events", "drain");
	}

	ret = d.o.dry_run ? mpmu_get_status(client, &st) :
			    mpmu_drain_wait(client, d.o.timeout, &st);
	if (ret)
		ret = report_error(ret, "read the status");
	else
		ret = finish(&d, client, &st);
	mpmu_close(client);
	json_object_put(d.actions);
	return ret;
}
