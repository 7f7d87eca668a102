// SPDX-License-Identifier: GPL-2.0
/* mpmuctl status: the knob, its counters, and whether a VM would get it. */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpmuctl.h"

/* A VM created now would take the knob. */
bool status_ready(const struct mpmu_status *st)
{
	return st->enabled && st->mode == MPMU_MODE_ARBITRATE && !st->include_guest_events;
}

json_object *status_json(const struct mpmu_status *st)
{
	json_object *o = json_object_new_object(), *pmus = json_object_new_array();
	unsigned int i;

	for (i = 0; i < st->nr_guarded; i++)
		json_object_array_add(pmus, json_object_new_string(st->guarded[i]));
	json_object_object_add(o, "enabled", json_object_new_boolean(st->enabled));
	json_object_object_add(o, "mode", json_object_new_string(mpmu_mode_name(st->mode)));
	json_object_object_add(o, "refcount", json_object_new_int64(st->refcount));
	json_object_object_add(o, "include_guest_events",
			       json_object_new_int64(st->include_guest_events));
	json_object_object_add(o, "guarded_pmus", pmus);
	json_object_object_add(o, "rejected_vms", json_object_new_uint64(st->rejected_vms));
	json_object_object_add(o, "rejected_events", json_object_new_uint64(st->rejected_events));
	json_object_object_add(o, "unmanaged_vms", json_object_new_int64(st->unmanaged_vms));
	json_object_object_add(o, "nmi_watchdog", json_object_new_boolean(st->nmi_watchdog));
	json_object_object_add(o, "ready", json_object_new_boolean(status_ready(st)));
	json_object_object_add(o, "version", json_object_new_string(st->version));
	return o;
}

static const struct out_col status_fields[] = {
	{ "version", "version:" },
	{ "mode", "mode:" },
	{ "enabled", "enabled:" },
	{ "guarded_pmus", "guarded PMUs:" },
	{ "refcount", "VMs holding the knob:" },
	{ "include_guest_events", "include-guest events:" },
	{ "unmanaged_vms", "unmanaged VMs:" },
	{ "rejected_vms", "VM creations refused:" },
	{ "rejected_events", "events refused:" },
	{ "nmi_watchdog", "NMI watchdog on:" },
	{ NULL, NULL },
};

static void print_verdict(const struct mpmu_status *st)
{
	const char *why = NULL;

	if (st->mode != MPMU_MODE_ARBITRATE)
		why = "the kernel arbitrates natively (observe mode)";
	else if (!st->enabled)
		why = "arbitration is disabled (mpmuctl enable)";
	else if (st->include_guest_events)
		why = "include-guest perf events exist (mpmuctl events; mpmuctl drain)";
	if (why)
		printf("%sA new VM cannot get the mediated PMU now:%s %s\n",
		       out_color("\033[31m"), out_color("\033[0m"), why);
	else
		printf("%sA new VM can get the mediated PMU now.%s\n",
		       out_color("\033[32m"), out_color("\033[0m"));
}

#define RECENT_SHOWN	5

/* The newest refusals, newest first: who was turned away, and when. */
static json_object *recent_json(const struct mpmu_note *list, size_t nr)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i;

	for (i = nr; i-- > 0 && nr - i <= RECENT_SHOWN;) {
		o = json_object_new_object();
		json_object_object_add(o, "event",
				       json_object_new_string(mpmu_note_kind_name(list[i].kind)));
		json_object_object_add(o, "pid", json_object_new_int(list[i].pid));
		json_object_object_add(o, "comm", json_object_new_string(list[i].comm));
		json_object_object_add(o, "time", json_object_new_uint64(list[i].time));
		json_object_object_add(o, "pmu", list[i].pmu[0] ?
				       json_object_new_string(list[i].pmu) : NULL);
		json_object_array_add(arr, o);
	}
	return arr;
}

static void print_recent(json_object *arr)
{
	json_object *o;
	time_t t;
	struct tm tm;
	char when[32];
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		t = (time_t)json_object_get_uint64(json_object_object_get(o, "time"));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("%-*s %s %s by pid %d (%s)\n", out_label_width(status_fields),
		       i ? "" : "recent refusals:",
		       when, json_object_get_string(json_object_object_get(o, "event")),
		       json_object_get_int(json_object_object_get(o, "pid")),
		       json_object_get_string(json_object_object_get(o, "comm")));
	}
}

const struct argp status_argp = { .doc = "Show the knob and its counters." };

int cmd_status(const union verb_opts *opts)
{
	struct mpmu_note *recent = NULL;
	struct mpmu_client *client;
	struct mpmu_status st;
	json_object *obj, *arr;
	size_t nr = 0;
	int ret;

	(void)opts;
	client = connect_or_report(&ret);
	if (!client)
		return ret;
	ret = mpmu_get_status(client, &st);
	if (!ret)
		ret = mpmu_get_rejections(client, &recent, &nr);
	mpmu_close(client);
	if (ret)
		return report_error(ret, "read the status");

	obj = status_json(&st);
	arr = recent_json(recent, nr);
	free(recent);
	json_object_object_add(obj, "recent_rejections", json_object_get(arr));
	out_object(obj, status_fields);
	if (!g.json) {
		print_recent(arr);
		print_verdict(&st);
	}
	json_object_put(arr);
	json_object_put(obj);
	return 0;
}
