/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * mediated_pmu generic netlink ABI, version 1.
 *
 * Family MPMU_GENL_NAME ("mediated_pmu"), version MPMU_GENL_VERSION.  The
 * kernel module and userspace include this one header; no number is
 * written anywhere else.  Every attribute has a strict policy: unknown
 * attributes, wrong types and wrong lengths fail with EINVAL and change
 * nothing.  Reads are open to every user; MPMU_CMD_SET_CONFIG needs
 * CAP_SYS_ADMIN.
 *
 * MPMU_CMD_GET_STATUS (doit)
 *   Request: no attribute.  Reply: MPMU_A_STATUS_* (all of them).
 *     ENABLED (u8)            arbitration armed for new VMs
 *     MODE (u8)               enum mpmu_mode: arbitrate or observe
 *     REFCOUNT (u32)          VMs holding the knob
 *     INCLUDE_GUEST_EVENTS (u32)  live include-guest events on guarded PMUs
 *     UNMANAGED_VMS (u32)     VMs that hold no reference
 *     REJECTED_VMS (u64)      VM creations refused since load
 *     REJECTED_EVENTS (u64)   event creations refused since load
 *     GUARDED_PMUS (nest)     one MPMU_A_PMU_NAME (string) per guarded PMU
 *     VERSION (string)        module version
 *     KVM_HOOKS (u8)          enum mpmu_kvm_hooks: are VM creations seen?
 *     KVM_ERROR (s32)         with KVM_HOOKS_FAILED: the errno of the probe
 *     KVM_SYMBOL (string)     with KVM_HOOKS_FAILED: the function not probed
 *     NATIVE (u8)             enum mpmu_native: the kernel's own knob
 *     SETTLING (u32)          perf_event_open() calls begun before the
 *                             hooks were armed or the guarded PMUs
 *                             changed, still running: VM creation is
 *                             refused until they are done
 *   NMI_WATCHDOG is no longer sent: the sysctl is userspace's
 *   to read, and reading it from a handler could block on the caller's
 *   mount namespace.
 *
 * MPMU_CMD_GET_HOLDERS (dump)
 *   One message per VM holding the knob, MPMU_A_HOLDER_*:
 *     PID (u32), COMM (string), VM_ID (u64, module-wide sequence),
 *     CREATED (u64, seconds since the epoch).
 *
 * MPMU_CMD_GET_EVENTS (dump)
 *   One message per live include-guest event on a guarded PMU, MPMU_A_EVENT_*:
 *     OWNER_PID (u32, the opener's process (tgid); absent when
 *     kernel-owned or unknown), OWNER_COMM (string, that process's name),
 *     OWNER_START (u64, its start time in clock ticks since boot, as field
 *     22 of /proc/PID/stat: tells a reused PID apart), OWNER_GONE (flag: a
 *     user event whose opener had exited when it was found),
 *     KERNEL (flag: a kernel counter), CPU (s32, -1 for per-task),
 *     TARGET_PID (s32, -1 for per-CPU), PMU (string, the guarded PMU it
 *     belongs to), TYPE (u32, attr.type as requested), CONFIG (u64),
 *     PINNED (flag), CREATED (u64, seconds since the epoch, or since load
 *     for events found at load).
 *
 * MPMU_CMD_GET_REJECTIONS (dump)
 *   The most recent refusals (a ring of MPMU_REJECTIONS_MAX), oldest first,
 *   as MPMU_A_NOTIFY_* messages of kind VM_REJECTED or EVENT_REJECTED.
 *
 * MPMU_CMD_SET_CONFIG (doit, CAP_SYS_ADMIN)
 *   MPMU_A_CONFIG_ENABLED (u8, 0 or 1) and/or MPMU_A_CONFIG_GUARDED_PMUS
 *   (string, names separated by commas or spaces; empty: the core PMU).
 *   Same rules as the sysfs files: EBUSY while VMs hold the knob (or, for
 *   GUARDED_PMUS, include-guest events exist); EINVAL for an unknown PMU.
 *   Applied in that order; a failure stops there.
 *
 * Multicast group MPMU_GENL_MCGRP_NOTIFY ("notify")
 *   MPMU_CMD_NOTIFY messages, one per transition, MPMU_A_NOTIFY_*:
 *     KIND (u8, enum mpmu_notify_kind), PID (u32), COMM (string),
 *     TIME (u64, seconds since the epoch), REFCOUNT (u32) and
 *     INCLUDE_GUEST_EVENTS (u32) after the transition, PMU (string, for
 *     events), VM_ID (u64, for VMs), SEQ (u64, module-wide sequence: a gap
 *     means notifications were lost).
 */
#ifndef _UAPI_LINUX_MEDIATED_PMU_H
#define _UAPI_LINUX_MEDIATED_PMU_H

#define MPMU_GENL_NAME		"mediated_pmu"
#define MPMU_GENL_VERSION	1
#define MPMU_GENL_MCGRP_NOTIFY	"notify"
#define MPMU_REJECTIONS_MAX	64
#define MPMU_MAX_GUARDED	8	/* guarded PMUs at most */
#define MPMU_PMU_NAME_LEN	32	/* a PMU name, with its NUL */

enum mpmu_mode {
	MPMU_MODE_ARBITRATE,	/* this module enforces the knob */
	MPMU_MODE_OBSERVE,	/* the kernel does, natively */
};

/* The kernel's own knob (SPEC §3a): MODE follows it. */
enum mpmu_native {
	MPMU_NATIVE_ABSENT,	/* no perf_create_mediated_pmu(): this module arbitrates */
	MPMU_NATIVE_UNUSED,	/* present, no KVM vendor module uses it: arbitrate */
	MPMU_NATIVE_IN_USE,	/* a vendor module has enable_mediated_pmu=Y: observe */
};

enum mpmu_kvm_hooks {
	MPMU_KVM_HOOKS_NO_KVM,	/* kvm.ko is not loaded: no VM can exist */
	MPMU_KVM_HOOKS_ARMED,	/* every VM creation and destruction is seen */
	MPMU_KVM_HOOKS_FAILED,	/* kvm.ko is loaded but could not be probed */
};

enum mpmu_notify_kind {
	MPMU_NOTIFY_VM_ACQUIRED = 1,
	MPMU_NOTIFY_VM_RELEASED,
	MPMU_NOTIFY_VM_REJECTED,
	MPMU_NOTIFY_EVENT_REJECTED,
	MPMU_NOTIFY_DRAINED,	/* include-guest events reached zero */
	__MPMU_NOTIFY_MAX,
};

#define MPMU_NOTIFY_MAX (__MPMU_NOTIFY_MAX - 1)

enum mpmu_cmd {
	MPMU_CMD_UNSPEC,
	MPMU_CMD_GET_STATUS,
	MPMU_CMD_GET_HOLDERS,
	MPMU_CMD_GET_EVENTS,
	MPMU_CMD_GET_REJECTIONS,
	MPMU_CMD_SET_CONFIG,
	MPMU_CMD_NOTIFY,
	__MPMU_CMD_MAX,
};

#define MPMU_CMD_MAX (__MPMU_CMD_MAX - 1)

/* One attribute space, so that every command shares one strict policy. */
enum mpmu_attr {
	MPMU_A_UNSPEC,
	/* GET_STATUS */
	MPMU_A_STATUS_ENABLED,
	MPMU_A_STATUS_MODE,
	MPMU_A_STATUS_REFCOUNT,
	MPMU_A_STATUS_INCLUDE_GUEST_EVENTS,
	MPMU_A_STATUS_UNMANAGED_VMS,
	MPMU_A_STATUS_REJECTED_VMS,
	MPMU_A_STATUS_REJECTED_EVENTS,
	MPMU_A_STATUS_GUARDED_PMUS,
	MPMU_A_STATUS_NMI_WATCHDOG,
	MPMU_A_STATUS_VERSION,
	MPMU_A_PMU_NAME,		/* inside STATUS_GUARDED_PMUS */
	/* GET_HOLDERS */
	MPMU_A_HOLDER_PID,
	MPMU_A_HOLDER_COMM,
	MPMU_A_HOLDER_VM_ID,
	MPMU_A_HOLDER_CREATED,
	/* GET_EVENTS */
	MPMU_A_EVENT_OWNER_PID,
	MPMU_A_EVENT_OWNER_COMM,
	MPMU_A_EVENT_KERNEL,
	MPMU_A_EVENT_CPU,
	MPMU_A_EVENT_TARGET_PID,
	MPMU_A_EVENT_PMU,
	MPMU_A_EVENT_TYPE,
	MPMU_A_EVENT_CONFIG,
	MPMU_A_EVENT_PINNED,
	MPMU_A_EVENT_CREATED,
	/* SET_CONFIG */
	MPMU_A_CONFIG_ENABLED,
	MPMU_A_CONFIG_GUARDED_PMUS,
	/* NOTIFY, GET_REJECTIONS */
	MPMU_A_NOTIFY_KIND,
	MPMU_A_NOTIFY_PID,
	MPMU_A_NOTIFY_COMM,
	MPMU_A_NOTIFY_TIME,
	MPMU_A_NOTIFY_REFCOUNT,
	MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS,
	MPMU_A_NOTIFY_PMU,
	MPMU_A_NOTIFY_VM_ID,
	MPMU_A_NOTIFY_SEQ,
	MPMU_A_PAD,
	/* Added later, after PAD, so that no number above changes. */
	MPMU_A_EVENT_OWNER_START,
	MPMU_A_EVENT_OWNER_GONE,
	MPMU_A_STATUS_KVM_HOOKS,
	MPMU_A_STATUS_KVM_ERROR,
	MPMU_A_STATUS_KVM_SYMBOL,
	MPMU_A_STATUS_SETTLING,
	MPMU_A_STATUS_NATIVE,
	__MPMU_A_MAX,
};

#define MPMU_A_MAX (__MPMU_A_MAX - 1)

#endif /* _UAPI_LINUX_MEDIATED_PMU_H */
