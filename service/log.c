// SPDX-License-Identifier: GPL-2.0
/*
 * mpmud's log: native journal entries with the structured fields of SPEC §5
 * (MPMU_EVENT=, MPMU_PID=, MPMU_COMM=, MPMU_REFCOUNT=,
 * MPMU_INCLUDE_GUEST_EVENTS=).  When stderr is not the journal (mpmud run
 * by hand), each message is also printed there.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "mpmud.h"

#define FIELD_MAX	10
#define FIELD_LEN	(MPMU_GUEST_NAME_LEN + 32)
#define MESSAGE_LEN	1024

static int max_level = LOG_INFO;
static bool to_journal = true;

void log_set_level(int level)
{
	max_level = level;
}

void log_set_journal(bool on)
{
	to_journal = on;
}

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is a journal stream. */
static bool stderr_is_journal(void)
{
	unsigned long long dev, ino;
	const char *env = getenv("JOURNAL_STREAM");
	struct stat s;

	return env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(STDERR_FILENO, &s) && s.st_dev == dev && s.st_ino == ino;
}

struct entry {
	struct iovec iov[FIELD_MAX];
	char buf[FIELD_MAX][FIELD_LEN];
	int n;
};

static void add(struct entry *e, const char *text, int len)
{
	if (e->n == FIELD_MAX)
		return;
	e->iov[e->n].iov_base = (void *)text;
	e->iov[e->n].iov_len = len;
	e->n++;
}

static void field(struct entry *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void field(struct entry *e, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (e->n == FIELD_MAX)
		return;
	va_start(ap, fmt);
	len = vsnprintf(e->buf[e->n], FIELD_LEN, fmt, ap);
	va_end(ap);
	add(e, e->buf[e->n], len < FIELD_LEN ? len : FIELD_LEN - 1);
}

void log_event(int priority, const struct log_fields *f, const char *fmt, ...)
{
	static const char key[] = "MESSAGE=";
	char message[MESSAGE_LEN];
	struct entry e = { .n = 0 };
	const char *text = message + sizeof(key) - 1;
	va_list ap;
	int len;

	if (priority > max_level)
		return;
	memcpy(message, key, sizeof(key) - 1);
	va_start(ap, fmt);
	len = vsnprintf(message + sizeof(key) - 1, sizeof(message) - sizeof(key) + 1, fmt, ap);
	va_end(ap);
	len += sizeof(key) - 1;

	add(&e, message, len < MESSAGE_LEN ? len : MESSAGE_LEN - 1);
	field(&e, "PRIORITY=%d", priority);
	field(&e, "SYSLOG_IDENTIFIER=mpmud");
	/* SPEC §5: a transition always has all of its fields. */
	if (f && f->event) {
		field(&e, "MPMU_EVENT=%s", f->event);
		field(&e, "MPMU_PID=%d", (int)f->pid);
		field(&e, "MPMU_COMM=%s", f->comm ? f->comm : "");
	}
	if (f && f->guest && *f->guest)
		field(&e, "MPMU_GUEST=%s", f->guest);
	if (f && f->counts) {
		field(&e, "MPMU_REFCOUNT=%u", f->refcount);
		field(&e, "MPMU_INCLUDE_GUEST_EVENTS=%u", f->include_guest_events);
	}
	if (to_journal)
		sd_journal_sendv(e.iov, e.n);
	if (!to_journal || !stderr_is_journal())
		fprintf(stderr, "mpmud: %s\n", text);
}

/* "1 VM holds", "2 VMs hold". */
static const char *vms_hold(unsigned int n)
{
	return n == 1 ? "VM holds" : "VMs hold";
}

/* One journal entry per transition the module reports. */
void log_note(const struct mpmu_note *n)
{
	struct log_fields f = {
		.event = mpmu_note_kind_name(n->kind),
		.pid = n->pid,
		.comm = n->comm,
		.counts = true,
		.refcount = n->refcount,
		.include_guest_events = n->include_guest_events,
	};
	char guest[MPMU_GUEST_NAME_LEN] = "";

	switch (n->kind) {
	case MPMU_NOTIFY_VM_ACQUIRED:
		if (!mpmu_guest_name(n->pid, guest, sizeof(guest)))
			f.guest = guest;
		log_event(LOG_INFO, &f, "VM of pid %d (%s)%s%s took the mediated PMU; %u %s it",
			  n->pid, n->comm, *guest ? " guest " : "", guest, n->refcount,
			  vms_hold(n->refcount));
		break;
	case MPMU_NOTIFY_VM_RELEASED:
		log_event(LOG_INFO, &f, "VM of pid %d (%s) released the mediated PMU; %u %s it",
			  n->pid, n->comm, n->refcount, vms_hold(n->refcount));
		break;
	case MPMU_NOTIFY_VM_REJECTED:
		log_event(LOG_WARNING, &f,
			  "VM creation by pid %d (%s) refused (EBUSY): %u include-guest perf %s live; see 'mpmuctl events', or 'mpmuctl drain'",
			  n->pid, n->comm, n->include_guest_events,
			  n->include_guest_events == 1 ? "event is" : "events are");
		break;
	case MPMU_NOTIFY_EVENT_REJECTED:
		log_event(LOG_NOTICE, &f,
			  "perf event on PMU %s by pid %d (%s) refused (EOPNOTSUPP): %u %s the mediated PMU; count with exclude_guest (:H) instead",
			  n->pmu, n->pid, n->comm, n->refcount, vms_hold(n->refcount));
		break;
	case MPMU_NOTIFY_DRAINED:
		log_event(LOG_INFO, &f, "no include-guest perf event left: VMs can take the mediated PMU");
		break;
	default:
		log_event(LOG_DEBUG, &f, "notification of unknown kind %d", n->kind);
		break;
	}
}
