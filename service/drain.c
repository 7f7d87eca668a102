// SPDX-License-Identifier: GPL-2.0
/*
 * mpmud's drain policy at start (SPEC §5) over lib/drain.c, and the restore
 * at stop.  Draining happens before READY=1: libvirt, ordered after mpmud,
 * starts VMs only once it is done.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "mpmud.h"

#define USEC_PER_SEC	1000000ULL

static void on_action(const struct mpmu_drain_action *a, void *data)
{
	struct mpmud *d = data;
	struct log_fields f = {
		.event = "drain_action",
		.pid = a->pid,
		.comm = a->comm,
	};

	(void)d;
	log_event(a->err ? LOG_WARNING : LOG_NOTICE, &f, "drain: %s %s: %s",
		  a->action, a->target, a->result);
}

static int policy_signal(enum mpmu_drain_policy policy)
{
	switch (policy) {
	case MPMU_DRAIN_TERM: return SIGTERM;
	case MPMU_DRAIN_KILL: return SIGKILL;
	default: return 0;
	}
}

/*
 * Wait for the events to go, a second at a time, telling systemd that the
 * start is still making progress so that neither TimeoutStartSec= nor
 * WatchdogSec= ends it.
 */
static int wait_drained(struct mpmud *d)
{
	double left = d->cfg.drain_timeout;
	int ret;

	for (;;) {
		ret = mpmu_drain_wait(d->client, left < 1 ? left : 1, &d->st);
		if (ret || !d->st.include_guest_events || left <= 1)
			return ret;
		left -= 1;
		sd_notifyf(0, "WATCHDOG=1\nEXTEND_TIMEOUT_USEC=%llu\n"
			   "STATUS=Draining: %u include-guest perf events left",
			   (unsigned long long)(left + 5) * USEC_PER_SEC,
			   d->st.include_guest_events);
	}
}

static void summarize(struct mpmud *d)
{
	struct log_fields f = {
		.event = "drained",
		.counts = true,
		.refcount = d->st.refcount,
		.include_guest_events = d->st.include_guest_events,
	};

	if (!d->st.include_guest_events) {
		log_event(LOG_INFO, &f, "drain (%s): no include-guest perf event left",
			  mpmu_drain_policy_name(d->cfg.drain));
		return;
	}
	f.event = "drain_action";
	log_event(LOG_WARNING, &f,
		  "drain (%s): %u include-guest perf events remain; VMs will be refused until they go (see 'mpmuctl events')",
		  mpmu_drain_policy_name(d->cfg.drain), d->st.include_guest_events);
}

void mpmud_drain(struct mpmud *d)
{
	struct mpmu_drain drain = {
		.root = d->root,
		.signal = policy_signal(d->cfg.drain),
		.fn = on_action,
		.data = d,
	};
	struct mpmu_event *list = NULL;
	size_t nr = 0;
	int ret;

	if (d->cfg.drain == MPMU_DRAIN_NEVER)
		return;
	ret = mpmu_get_status(d->client, &d->st);
	if (!ret && !d->st.include_guest_events)
		return;		/* nothing blocks VMs: nothing to do or say */
	if (d->cfg.drain != MPMU_DRAIN_REPORT) {
		d->drains++;
		mpmu_drain_watchdog(&drain);
	}
	if (d->cfg.drain != MPMU_DRAIN_WATCHDOG) {
		ret = mpmu_get_events(d->client, &list, &nr);
		if (ret)
			log_msg(LOG_ERR, "drain: cannot list the events: %s", strerror(-ret));
		mpmu_drain_owners(&drain, list, nr);
		free(list);
	}
	ret = d->cfg.drain == MPMU_DRAIN_REPORT ? mpmu_get_status(d->client, &d->st) :
						  wait_drained(d);
	if (ret)
		log_msg(LOG_ERR, "drain: cannot read the module's status: %s", strerror(-ret));
	else
		summarize(d);
}

void mpmud_restore(struct mpmud *d)
{
	int ret, value;

	if (!d->cfg.restore_on_stop)
		return;
	/* A VM holds the knob: the watchdog's counters would be refused. */
	if (d->client && !mpmu_get_status(d->client, &d->st) && d->st.refcount) {
		log_msg(LOG_WARNING,
			"restore: %u VMs hold the mediated PMU; the NMI watchdog stays off (run 'mpmuctl restore' after they stop)",
			d->st.refcount);
		return;
	}
	ret = mpmu_watchdog_restore(d->root, &value);
	if (ret == -ENOENT)
		return;		/* nothing was drained */
	if (ret)
		log_msg(LOG_ERR, "restore: cannot set the NMI watchdog back: %s", strerror(-ret));
	else
		log_msg(LOG_NOTICE, "restore: NMI watchdog set back to %d", value);
}
