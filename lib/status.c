// SPDX-License-Identifier: GPL-2.0
/*
 * What a status means: the verdict (would a VM created now get the knob?)
 * and the names of the KVM hook states, in one place for mpmuctl's status,
 * its check, and mpmud.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mpmu.h"

static bool kvm_hooks_failed(const struct mpmu_status *st)
{
	return st->kvm_hooks_known && st->kvm_hooks == MPMU_KVM_HOOKS_FAILED;
}

/*
 * Would a VM created now get the mediated PMU?
 * Failed KVM hooks: VMs would be created without the module seeing them,
 * bypassing the knob.  Settling: the module refuses VMs until the
 * perf_event_open() calls begun before it armed have finished.
 */
bool mpmu_status_ready(const struct mpmu_status *st)
{
	/* Observing, the kernel's knob decides: only its blockers matter. */
	if (st->mode == MPMU_MODE_OBSERVE)
		return !st->include_guest_events;
	return st->enabled && !kvm_hooks_failed(st) && !st->settling &&
	       !st->include_guest_events;
}

const char *mpmu_kvm_hooks_name(const struct mpmu_status *st)
{
	if (!st->kvm_hooks_known)
		return NULL;
	switch (st->kvm_hooks) {
	case MPMU_KVM_HOOKS_NO_KVM: return "no_kvm";
	case MPMU_KVM_HOOKS_ARMED: return "armed";
	case MPMU_KVM_HOOKS_FAILED: return "failed";
	default: return NULL;
	}
}

const char *mpmu_errno_name(int err, char *buf, size_t size)
{
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(buf, size, "errno %d", err);
	return buf;
}

void mpmu_kvm_hooks_failure(const struct mpmu_status *st, char *buf, size_t size)
{
	char errbuf[32];

	snprintf(buf, size, "%s at %s", mpmu_errno_name(st->kvm_error, errbuf, sizeof(errbuf)),
		 *st->kvm_symbol ? st->kvm_symbol : "an unnamed function");
}

void mpmu_kvm_hooks_text(const struct mpmu_status *st, char *buf, size_t size)
{
	char failure[MPMU_SYMBOL_LEN + 48];

	if (!kvm_hooks_failed(st)) {
		snprintf(buf, size, "%s", !st->kvm_hooks_known ? "unknown" :
			 st->kvm_hooks == MPMU_KVM_HOOKS_ARMED ? "armed" :
			 st->kvm_hooks == MPMU_KVM_HOOKS_NO_KVM ? "kvm not loaded" : "unknown");
		return;
	}
	mpmu_kvm_hooks_failure(st, failure, sizeof(failure));
	snprintf(buf, size, "FAILED (%s)", failure);
}
