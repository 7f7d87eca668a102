// SPDX-License-Identifier: GPL-2.0
/*
 * mpmud's drain policy at start (SPEC §5) over lib/drain.c, and the restore
 * at stop.  Draining happens before READY=1: libvirt, ordered after mpmud,
 * starts VMs only once it is done.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "mpmud.h"

#define USEC_PER_SEC	1000000ULL

/* Each action, with the counts it left (SPEC §5: after the transition). */
static void on_action(const struct mpmu_drain_action *a, void *data)
{
	struct mpmud *d = data;
	struct log_fields f = {
		.event = "drain_action",
		.pid = a->pid,
		.comm = a->comm,
		.counts = !mpmu_get_status(d->client, &d->st),
		.refcount = d->st.refcount,
		.include_guest_events = d->st.include_guest_events,
	};

	/* A refused owner (gone, PID reused, PID 1...) keeps its event alive. */
	log_event(a->err || a->refused ? LOG_WARNING : LOG_NOTICE, &f, "drain: %s %s: %s",
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

/* A stop asked for during the start ends the wait (the loop then stops). */
static bool stop_pending(void)
{
	sigset_t set;

	return !sigpending(&set) && (sigismember(&set, SIGTERM) || sigismember(&set, SIGINT));
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
		if (ret || !d->st.include_guest_events || left <= 1 || stop_pending())
			return ret;
		left -= 1;
		sd_notifyf(0, "WATCHDOG=1\nEXTEND_TIMEOUT_USEC=%llu\n"
			   "STATUS=Draining: %u include-guest perf events left",
			   (unsigned long long)(left + 5) * USEC_PER_SEC,
			   d->st.include_guest_events);
	}
}

/*
 * The outcome, as one more drain_action entry: the module itself reports
 * "drained" (MPMU_EVENT=drained) when the last include-guest event goes.
 */
static void summarize(struct mpmud *d)
{
	struct log_fields f = {
		.event = "drain_action",
		.pid = getpid(),
		.comm = "mpmud",
		.counts = true,
		.refcount = d->st.refcount,
		.include_guest_events = d->st.include_guest_events,
	};

	if (!d->st.include_guest_events)
		log_event(LOG_INFO, &f, "drain (%s): done, no include-guest perf event left",
			  mpmu_drain_policy_name(d->cfg.drain));
	else
		log_event(LOG_WARNING, &f,
			  "drain (%s): %u include-guest perf %s; VMs will be refused until %s (see 'mpmuctl events')",
			  mpmu_drain_policy_name(d->cfg.drain), d->st.include_guest_events,
			  d->st.include_guest_events == 1 ? "event remains" : "events remain",
			  d->st.include_guest_events == 1 ? "it goes" : "they go");
}

void mpmud_drain(struct mpmud *d)
{
	enum mpmu_drain_policy policy = d->cfg.drain;
	struct mpmu_drain drain = {
		.root = d->root,
		.watchdog = policy != MPMU_DRAIN_REPORT,
		.owners = policy != MPMU_DRAIN_WATCHDOG,
		.signal = policy_signal(policy),
		.fn = on_action,
		.data = d,
	};
	int ret;

	if (policy == MPMU_DRAIN_NEVER)
		return;
	ret = mpmu_get_status(d->client, &d->st);
	if (!ret && !d->st.include_guest_events)
		return;		/* nothing blocks VMs: nothing to do or say */
	ret = mpmu_drain_run(d->client, &drain);
	if (ret) {
		/* Nothing was changed (the events come first): no point waiting. */
		log_msg(LOG_ERR, "drain: cannot list the events, nothing drained: %s%s", strerror(-ret),
			ret == -EPERM ? " (mpmud needs CAP_SYS_ADMIN or CAP_PERFMON)" : "");
		return;
	}
	if (drain.watchdog)
		d->drains++;
	ret = policy == MPMU_DRAIN_REPORT ? mpmu_get_status(d->client, &d->st) : wait_drained(d);
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
	ret = mpmu_watchdog_restore(d->client, d->root, &value);
	if (ret == -ENOENT)
		return;		/* nothing was drained */
	if (ret == -EBUSY)
		log_msg(LOG_WARNING,
			"restore: VMs hold the mediated PMU; the NMI watchdog stays off (its counters would be refused): run 'mpmuctl restore' after they stop");
	else if (ret)
		log_msg(LOG_ERR, "restore: cannot set the NMI watchdog back: %s", strerror(-ret));
	else
		log_msg(LOG_NOTICE, "restore: NMI watchdog set back to %d", value);
}
