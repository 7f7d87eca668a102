// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl status: the knob, its counters, and whether a VM would get it.
 * The counters are every user's; who holds the knob and who was refused
 * (per-process detail) only CAP_SYS_ADMIN's or CAP_PERFMON's: without
 * them status says so and shows the rest.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpmuctl.h"

json_object *status_json(const struct mpmu_status *st)
{
	json_object *o = json_object_new_object(), *pmus = json_object_new_array();
	const char *hooks = mpmu_kvm_hooks_name(st);
	bool failed = st->kvm_hooks_known && st->kvm_hooks == MPMU_KVM_HOOKS_FAILED;
	char errbuf[32];
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
	json_object_object_add(o, "kvm_hooks", hooks ? json_object_new_string(hooks) : NULL);
	json_object_object_add(o, "kvm_error", failed ? json_object_new_string(
			       mpmu_errno_name(st->kvm_error, errbuf, sizeof(errbuf))) : NULL);
	json_object_object_add(o, "kvm_symbol", failed && *st->kvm_symbol ?
			       json_object_new_string(st->kvm_symbol) : NULL);
	json_object_object_add(o, "settling", json_object_new_int64(st->settling));
	json_object_object_add(o, "native", mpmu_native_name(st) ?
			       json_object_new_string(mpmu_native_name(st)) : NULL);
	json_object_object_add(o, "ready", json_object_new_boolean(mpmu_status_ready(st)));
	json_object_object_add(o, "version", json_object_new_string(st->version));
	return o;
}

static const struct out_col status_fields[] = {
	{ "version", "version:" },
	{ "mode", "mode:" },
	{ "native", "kernel's own knob:" },
	{ "enabled", "enabled:" },
	{ "kvm_hooks_text", "KVM hooks:" },
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
	char hooks[MPMU_SYMBOL_LEN + 64], why[MPMU_SYMBOL_LEN + 192];

	mpmu_kvm_hooks_failure(st, hooks, sizeof(hooks));
	why[0] = '\0';
	if (st->mode == MPMU_MODE_OBSERVE) {
		/* The kernel's knob decides: only its blockers matter. */
		if (st->include_guest_events)
			snprintf(why, sizeof(why),
				 "include-guest perf events exist on the PMUs the kernel guards (mpmuctl events; mpmuctl drain)");
	} else if (!st->enabled)
		snprintf(why, sizeof(why), "arbitration is disabled (mpmuctl enable)");
	else if (st->kvm_hooks_known && st->kvm_hooks == MPMU_KVM_HOOKS_FAILED)
		snprintf(why, sizeof(why),
			 "the module could not hook KVM (%s): VMs would bypass the knob (see the kernel log)",
			 hooks);
	else if (st->settling)
		snprintf(why, sizeof(why),
			 "%u perf_event_open() %s begun before the module armed or its guarded PMUs changed %s still running; VMs are refused until they end (retry shortly)",
			 st->settling, st->settling == 1 ? "call" : "calls",
			 st->settling == 1 ? "is" : "are");
	else if (st->include_guest_events)
		snprintf(why, sizeof(why),
			 "include-guest perf events exist (mpmuctl events; mpmuctl drain)");
	if (*why)
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

static void print_label(size_t i, const char *label)
{
	printf("%-*s ", out_label_width(status_fields), i ? "" : label);
}

static void print_holders(json_object *arr)
{
	const char *guest;
	json_object *o;
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		guest = json_object_get_string(json_object_object_get(o, "guest_name"));
		print_label(i, "holders:");
		printf("pid %d (%s)%s%s, since %s\n",
		       json_object_get_int(json_object_object_get(o, "pid")),
		       json_object_get_string(json_object_object_get(o, "comm")),
		       guest ? " guest " : "", guest ? guest : "",
		       json_object_get_string(json_object_object_get(o, "since_text")));
	}
}

static void print_recent(json_object *arr)
{
	json_object *o;
	time_t t;
	struct tm tm;
	char when[32];
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		t = (time_t)json_object_get_uint64(json_object_object_get(o, "time"));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		print_label(i, "recent refusals:");
		printf("%s %s by pid %d (%s)\n",
		       when, json_object_get_string(json_object_object_get(o, "event")),
		       json_object_get_int(json_object_object_get(o, "pid")),
		       json_object_get_string(json_object_object_get(o, "comm")));
	}
}

static bool denied(int err)
{
	return err == -EPERM || err == -EACCES;
}

/* The detail: an array, or NULL (JSON null) when not permitted. */
struct detail {
	json_object *holders;
	json_object *recent;
	bool hidden;
};

static int read_detail(struct mpmu_client *client, struct detail *d)
{
	struct mpmu_holder *holders = NULL;
	struct mpmu_note *recent = NULL;
	size_t nr = 0, i;
	int ret;

	ret = mpmu_get_holders(client, &holders, &nr);
	if (!ret) {
		d->holders = json_object_new_array();
		for (i = 0; i < nr; i++)
			json_object_array_add(d->holders, holder_json(&holders[i]));
		free(holders);
	} else if (denied(ret)) {
		d->hidden = true;
	} else {
		return ret;
	}
	ret = mpmu_get_rejections(client, &recent, &nr);
	if (!ret) {
		d->recent = recent_json(recent, nr);
		free(recent);
	} else if (denied(ret)) {
		d->hidden = true;
	} else {
		return ret;
	}
	return 0;
}

const struct argp status_argp = { .doc = "Show the knob and its counters." };

int cmd_status(const union verb_opts *opts)
{
	struct detail d = { NULL, NULL, false };
	struct mpmu_client *client;
	struct mpmu_status st;
	char hooks[MPMU_SYMBOL_LEN + 64];
	json_object *obj;
	int ret;

	(void)opts;
	client = connect_or_report(&ret);
	if (!client)
		return ret;
	ret = mpmu_get_status(client, &st);
	if (!ret)
		ret = read_detail(client, &d);
	mpmu_close(client);
	if (ret) {
		json_object_put(d.holders);
		json_object_put(d.recent);
		return report_error(ret, "read the status");
	}

	obj = status_json(&st);
	json_object_object_add(obj, "holders", json_object_get(d.holders));
	json_object_object_add(obj, "recent_rejections", json_object_get(d.recent));
	json_object_object_add(obj, "detail_hidden", json_object_new_boolean(d.hidden));
	if (!g.json) {
		mpmu_kvm_hooks_text(&st, hooks, sizeof(hooks));
		json_object_object_add(obj, "kvm_hooks_text", json_object_new_string(hooks));
	}
	out_object(obj, status_fields);
	if (!g.json) {
		if (st.settling) {
			print_label(0, "settling:");
			printf("%u perf_event_open() %s begun before arming or a guarded PMU change, still running\n",
			       st.settling, st.settling == 1 ? "call" : "calls");
		}
		print_holders(d.holders);
		print_recent(d.recent);
		if (d.hidden) {
			print_label(0, "detail:");
			printf("holders and recent refusals are not shown without " DETAIL_PRIVILEGE " (run as root)\n");
		}
		print_verdict(&st);
	}
	json_object_put(d.holders);
	json_object_put(d.recent);
	json_object_put(obj);
	return 0;
}
