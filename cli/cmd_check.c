// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl check: would a VM created now get the mediated PMU?  Lines in the
 * style of virt-host-validate, for libvirt hooks and scripts; exit 0 or 1.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mpmuctl.h"

struct check {
	json_object *reasons;
	bool ready;
};

static void line(struct check *c, const char *what, bool pass, const char *hint)
{
	if (!pass) {
		c->ready = false;
		json_object_array_add(c->reasons, json_object_new_string(hint));
	}
	if (g.json)
		return;
	printf("mediated_pmu: Checking %-40s: %s%s%s", what,
	       out_color(pass ? "\033[32m" : "\033[31m"), pass ? "PASS" : "FAIL",
	       out_color("\033[0m"));
	printf(pass ? "\n" : " (%s)\n", hint);
}

static void check_include_guest_events(struct check *c, const struct mpmu_status *st)
{
	char hint[160];

	snprintf(hint, sizeof(hint),
		 "%u include-guest perf %s VM creation; see: mpmuctl events; try: mpmuctl drain",
		 st->include_guest_events,
		 st->include_guest_events == 1 ? "event blocks" : "events block");
	line(c, "for include-guest perf events", !st->include_guest_events, hint);
}

/*
 * Observe mode: the kernel's own knob decides (KVM takes it at a VM's first
 * vCPU and fails KVM_CREATE_VCPU with EBUSY while include-guest events
 * live on the PMUs it guards); this module's switch and hooks play no part.
 */
static void check_observed(struct check *c, const struct mpmu_status *st)
{
	line(c, "for the kernel's own knob (observe mode)", true, NULL);
	check_include_guest_events(c, st);
}

static void check_arbitrated(struct check *c, const struct mpmu_status *st)
{
	char hint[MPMU_SYMBOL_LEN + 160], hooks[MPMU_SYMBOL_LEN + 64];

	line(c, "if arbitration is enabled", st->enabled,
	     "arbitration is disabled; try: mpmuctl enable");
	mpmu_kvm_hooks_failure(st, hooks, sizeof(hooks));
	snprintf(hint, sizeof(hint),
		 "the module could not hook KVM (%s): VMs would bypass the knob; see: dmesg",
		 hooks);
	line(c, "if VM creation is hooked",
	     !st->kvm_hooks_known || st->kvm_hooks != MPMU_KVM_HOOKS_FAILED, hint);
	snprintf(hint, sizeof(hint),
		 "%u perf_event_open() %s begun before the module armed or its guarded PMUs changed %s still running; VMs are refused until they end; retry shortly",
		 st->settling, st->settling == 1 ? "call" : "calls",
		 st->settling == 1 ? "is" : "are");
	line(c, "for perf_event_open() calls settling", !st->settling, hint);
	check_include_guest_events(c, st);
}

const struct argp check_argp = {
	.doc = "Preflight for a VM start: exit 0 if a VM would get the knob now.",
};

int cmd_check(const union verb_opts *opts)
{
	struct check c = { .reasons = json_object_new_array(), .ready = true };
	struct mpmu_client *client = NULL;
	struct mpmu_status st;
	char hint[160];
	json_object *obj;
	int ret;

	(void)opts;
	/* GET_STATUS only: check works for every user. */
	ret = mpmu_open(&client);
	if (!ret) {
		mpmu_set_root(client, g.root);
		ret = mpmu_get_status(client, &st);
	}
	mpmu_close(client);
	snprintf(hint, sizeof(hint), "%s",
		 ret == -ENOENT ? "the module is not loaded; try: modprobe mediated_pmu" :
				  strerror(-ret));
	line(&c, "for the mediated_pmu module", !ret, hint);
	if (!ret && st.mode == MPMU_MODE_OBSERVE)
		check_observed(&c, &st);
	else if (!ret)
		check_arbitrated(&c, &st);

	obj = json_object_new_object();
	json_object_object_add(obj, "ready", json_object_new_boolean(c.ready));
	/* Which knob the answer is about: the kernel's own, or this module's. */
	json_object_object_add(obj, "knob", ret ? NULL : json_object_new_string(
		st.mode == MPMU_MODE_OBSERVE ? "kernel" : "module"));
	json_object_object_add(obj, "reasons", c.reasons);
	if (g.json)
		out_json(obj);
	json_object_put(obj);
	return c.ready ? 0 : EXIT_REFUSED;
}
