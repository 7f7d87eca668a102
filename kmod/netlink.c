// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "mediated_pmu": a thin layer over core.c.
 * uapi/mediated_pmu.h documents every command and attribute.
 *
 * Dumps walk the core's tables under its lock, one message per record, and
 * resume where the previous skb filled up.  Notifications are recorded by
 * the core in a ring (its hooks cannot allocate) and multicast from a work
 * item in process context.
 */
#include <linux/capability.h>
#include <linux/module.h>
#include <net/genetlink.h>

#include "mpmu.h"

static struct genl_family mpmu_family;

enum mpmu_mcgrp { MPMU_MCGRP_NOTIFY };

static const struct genl_multicast_group mpmu_mcgrps[] = {
	[MPMU_MCGRP_NOTIFY] = { .name = MPMU_GENL_MCGRP_NOTIFY },
};

/*
 * Only SET_CONFIG takes attributes.  The other commands have no policy, so
 * the genetlink core rejects any attribute sent with them; with
 * resv_start_op left at 0 it also checks the reserved header fields.
 */
static const struct nla_policy mpmu_config_policy[MPMU_A_MAX + 1] = {
	[MPMU_A_CONFIG_ENABLED]		= NLA_POLICY_MAX(NLA_U8, 1),
	[MPMU_A_CONFIG_GUARDED_PMUS]	= { .type = NLA_NUL_STRING, .len = 255 },
};

static int put_status(struct sk_buff *skb)
{
	struct mpmu_pmu_name names[MPMU_MAX_GUARDED];
	struct mpmu_status st;
	struct nlattr *nest;
	int i, nr;

	mpmu_get_status(&st);
	if (nla_put_u8(skb, MPMU_A_STATUS_ENABLED, st.enabled) ||
	    nla_put_u8(skb, MPMU_A_STATUS_MODE, st.mode) ||
	    nla_put_u32(skb, MPMU_A_STATUS_REFCOUNT, st.refcount) ||
	    nla_put_u32(skb, MPMU_A_STATUS_INCLUDE_GUEST_EVENTS, st.include_guest_events) ||
	    nla_put_u32(skb, MPMU_A_STATUS_UNMANAGED_VMS, st.unmanaged_vms) ||
	    nla_put_u64_64bit(skb, MPMU_A_STATUS_REJECTED_VMS, st.rejected_vms, MPMU_A_PAD) ||
	    nla_put_u64_64bit(skb, MPMU_A_STATUS_REJECTED_EVENTS, st.rejected_events,
			      MPMU_A_PAD) ||
	    nla_put_string(skb, MPMU_A_STATUS_VERSION, MPMU_VERSION) ||
	    nla_put_u8(skb, MPMU_A_STATUS_KVM_HOOKS, st.kvm_hooks) ||
	    nla_put_u32(skb, MPMU_A_STATUS_SETTLING, st.settling) ||
	    nla_put_u8(skb, MPMU_A_STATUS_NATIVE, st.native))
		return -EMSGSIZE;
	if (st.kvm_hooks == MPMU_KVM_HOOKS_FAILED &&
	    (nla_put_s32(skb, MPMU_A_STATUS_KVM_ERROR, st.kvm_error) ||
	     nla_put_string(skb, MPMU_A_STATUS_KVM_SYMBOL, st.kvm_symbol ?: "?")))
		return -EMSGSIZE;

	nest = nla_nest_start(skb, MPMU_A_STATUS_GUARDED_PMUS);
	if (!nest)
		return -EMSGSIZE;
	nr = mpmu_pmus_names(names, MPMU_MAX_GUARDED);
	for (i = 0; i < nr; i++)
		if (nla_put_string(skb, MPMU_A_PMU_NAME, names[i].name))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int nl_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &mpmu_family, 0, MPMU_CMD_GET_STATUS);
	if (!hdr || put_status(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int nl_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *enabled = info->attrs[MPMU_A_CONFIG_ENABLED];
	struct nlattr *pmus = info->attrs[MPMU_A_CONFIG_GUARDED_PMUS];
	int ret;

	/* GENL_ADMIN_PERM checked CAP_NET_ADMIN; this is a system setting. */
	if (!netlink_capable(skb, CAP_SYS_ADMIN))
		return -EPERM;
	if (!enabled && !pmus) {
		NL_SET_ERR_MSG(info->extack, "nothing to set: give enabled or guarded PMUs");
		return -EINVAL;
	}

	guard(mutex)(&mpmu_config_mutex);
	if (enabled) {
		ret = mpmu_set_enabled(nla_get_u8(enabled));
		if (ret) {
			NL_SET_ERR_MSG_ATTR(info->extack, enabled,
					    "VMs hold the mediated PMU: cannot disable");
			return ret;
		}
	}
	if (pmus) {
		ret = mpmu_set_guarded(nla_data(pmus));
		if (ret == -EBUSY)
			NL_SET_ERR_MSG_ATTR(info->extack, pmus,
					    "VMs or include-guest events exist: cannot change guarded PMUs");
		else if (ret == -EINVAL)
			NL_SET_ERR_MSG_ATTR(info->extack, pmus, "unknown PMU name");
		if (ret)
			return ret;
	}
	return 0;
}

/* --- dumps --- */

struct dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u8 cmd;
	unsigned int gen;	/* table generation, set by the walk */
};

/*
 * Per-process detail (pids, comms, event configs) is for CAP_SYS_ADMIN or
 * CAP_PERFMON in the initial user namespace, as /proc/PID/fdinfo would be.
 */
static int dump_start(struct netlink_callback *cb)
{
	if (netlink_capable(cb->skb, CAP_SYS_ADMIN) ||
	    netlink_capable(cb->skb, CAP_PERFMON))
		return 0;
	NL_SET_ERR_MSG(cb->extack, "per-process detail needs CAP_SYS_ADMIN or CAP_PERFMON");
	return -EPERM;
}

/*
 * cb->seq is the table generation, as the walk read it under the lock of
 * the bucket it is at: a message (genl_dump_check_consistent()) or the
 * closing NLMSG_DONE (netlink_dump()) after a change is flagged with
 * NLM_F_DUMP_INTR, and userspace asks again.  The first call sets
 * cb->prev_seq, which netlink leaves 0 until the first message, to the
 * generation before the walk: a change before the first message, or in a
 * dump with none, is flagged too.  The last call, which only adds
 * NLMSG_DONE, keeps the generation the walk ended with: a change after the
 * walk, while userspace read, leaves the dump consistent.
 * dump_begin() and dump_end() go around every walk of a table.
 */
static struct dump_ctx dump_begin(struct sk_buff *skb, struct netlink_callback *cb,
				  u8 cmd)
{
	if (!cb->prev_seq)
		cb->prev_seq = mpmu_tables_gen();
	return (struct dump_ctx){ skb, cb, cmd, cb->seq };
}

static int dump_end(const struct dump_ctx *dc)
{
	dc->cb->seq = dc->gen;
	return dc->skb->len;
}

static void *dump_start_msg(struct dump_ctx *dc)
{
	void *hdr = genlmsg_put(dc->skb, NETLINK_CB(dc->cb->skb).portid,
				dc->cb->nlh->nlmsg_seq, &mpmu_family, NLM_F_MULTI,
				dc->cmd);

	if (hdr) {
		dc->cb->seq = dc->gen;
		genl_dump_check_consistent(dc->cb, hdr);
	}
	return hdr;
}

static int dump_end_msg(struct dump_ctx *dc, void *hdr, int err)
{
	if (err) {
		genlmsg_cancel(dc->skb, hdr);
		return -EMSGSIZE;	/* stop here, resume next time */
	}
	genlmsg_end(dc->skb, hdr);
	return 0;
}

static int dump_holder(const struct mpmu_vm *vm, void *data)
{
	struct dump_ctx *dc = data;
	void *hdr = dump_start_msg(dc);

	if (!hdr)
		return -EMSGSIZE;
	return dump_end_msg(dc, hdr,
			    nla_put_u32(dc->skb, MPMU_A_HOLDER_PID, vm->pid) ||
			    nla_put_string(dc->skb, MPMU_A_HOLDER_COMM, vm->comm) ||
			    nla_put_u64_64bit(dc->skb, MPMU_A_HOLDER_VM_ID, vm->id, MPMU_A_PAD) ||
			    nla_put_u64_64bit(dc->skb, MPMU_A_HOLDER_CREATED, vm->created,
					      MPMU_A_PAD));
}

static int put_event(struct sk_buff *skb, const struct mpmu_event *ev)
{
	if (ev->owner_pid &&
	    (nla_put_u32(skb, MPMU_A_EVENT_OWNER_PID, ev->owner_pid) ||
	     nla_put_u64_64bit(skb, MPMU_A_EVENT_OWNER_START, ev->owner_start, MPMU_A_PAD)))
		return -EMSGSIZE;
	if (ev->owner_gone && nla_put_flag(skb, MPMU_A_EVENT_OWNER_GONE))
		return -EMSGSIZE;
	if (ev->kernel && nla_put_flag(skb, MPMU_A_EVENT_KERNEL))
		return -EMSGSIZE;
	if (ev->pinned && nla_put_flag(skb, MPMU_A_EVENT_PINNED))
		return -EMSGSIZE;
	if (nla_put_string(skb, MPMU_A_EVENT_OWNER_COMM, ev->owner_comm) ||
	    nla_put_s32(skb, MPMU_A_EVENT_CPU, ev->cpu) ||
	    nla_put_s32(skb, MPMU_A_EVENT_TARGET_PID, ev->target_pid) ||
	    nla_put_string(skb, MPMU_A_EVENT_PMU, mpmu_pmus_name(ev->guard)) ||
	    nla_put_u32(skb, MPMU_A_EVENT_TYPE, ev->type) ||
	    nla_put_u64_64bit(skb, MPMU_A_EVENT_CONFIG, ev->config, MPMU_A_PAD) ||
	    nla_put_u64_64bit(skb, MPMU_A_EVENT_CREATED, ev->created, MPMU_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int dump_event(const struct mpmu_event *ev, void *data)
{
	struct dump_ctx *dc = data;
	void *hdr = dump_start_msg(dc);

	if (!hdr)
		return -EMSGSIZE;
	return dump_end_msg(dc, hdr, put_event(dc->skb, ev));
}

static int put_note(struct sk_buff *skb, const struct mpmu_note *n)
{
	if (nla_put_u8(skb, MPMU_A_NOTIFY_KIND, n->kind) ||
	    nla_put_u32(skb, MPMU_A_NOTIFY_PID, n->pid) ||
	    nla_put_string(skb, MPMU_A_NOTIFY_COMM, n->comm) ||
	    nla_put_u64_64bit(skb, MPMU_A_NOTIFY_TIME, n->time, MPMU_A_PAD) ||
	    nla_put_u32(skb, MPMU_A_NOTIFY_REFCOUNT, n->refcount) ||
	    nla_put_u32(skb, MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS, n->events) ||
	    nla_put_u64_64bit(skb, MPMU_A_NOTIFY_SEQ, n->seq, MPMU_A_PAD))
		return -EMSGSIZE;
	if (n->pmu[0] && nla_put_string(skb, MPMU_A_NOTIFY_PMU, n->pmu))
		return -EMSGSIZE;
	if (n->vm_id && nla_put_u64_64bit(skb, MPMU_A_NOTIFY_VM_ID, n->vm_id, MPMU_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int dump_rejection(const struct mpmu_note *n, void *data)
{
	struct dump_ctx *dc = data;
	void *hdr = dump_start_msg(dc);

	if (!hdr)
		return -EMSGSIZE;
	return dump_end_msg(dc, hdr, put_note(dc->skb, n));
}

/* cb->args[0..1] hold the walk position between calls. */
static int nl_dump_holders(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dump_ctx dc = dump_begin(skb, cb, MPMU_CMD_GET_HOLDERS);

	mpmu_walk_holders(cb->args, &dc.gen, dump_holder, &dc);
	return dump_end(&dc);
}

static int nl_dump_events(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dump_ctx dc = dump_begin(skb, cb, MPMU_CMD_GET_EVENTS);

	mpmu_walk_events(cb->args, &dc.gen, dump_event, &dc);
	return dump_end(&dc);
}

static int nl_dump_rejections(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct dump_ctx dc = { skb, cb, MPMU_CMD_GET_REJECTIONS, 0 };

	mpmu_walk_rejections(&cb->args[0], dump_rejection, &dc);
	return skb->len;
}

/* --- notifications --- */

static u64 notify_cursor;

static void notify_work_fn(struct work_struct *work)
{
	struct mpmu_note n;
	struct sk_buff *skb;
	void *hdr;

	while (mpmu_note_next(&notify_cursor, &n)) {
		if (!genl_has_listeners(&mpmu_family, &init_net, MPMU_MCGRP_NOTIFY))
			continue;
		skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
		if (!skb)
			continue;	/* listeners see the gap in SEQ */
		hdr = genlmsg_put(skb, 0, 0, &mpmu_family, 0, MPMU_CMD_NOTIFY);
		if (!hdr || put_note(skb, &n)) {
			nlmsg_free(skb);
			continue;
		}
		genlmsg_end(skb, hdr);
		genlmsg_multicast(&mpmu_family, skb, 0, MPMU_MCGRP_NOTIFY, GFP_KERNEL);
	}
}

static DECLARE_WORK(notify_work, notify_work_fn);
static bool notify_ready;

/*
 * Any context: the hooks call this after recording a transition.  Without
 * a listener there is nothing to send, and waking a worker from
 * perf_event_open() or close() would cost them for nothing: the cursor
 * moves past the note instead (dumps read the rings, not the cursor).
 */
void mpmu_netlink_kick(void)
{
	if (!READ_ONCE(notify_ready))
		return;
	if (genl_has_listeners(&mpmu_family, &init_net, MPMU_MCGRP_NOTIFY))
		schedule_work(&notify_work);
	else
		mpmu_note_skip(&notify_cursor);
}

static const struct genl_ops mpmu_ops[] = {
	{
		.cmd = MPMU_CMD_GET_STATUS,
		.doit = nl_get_status,
	},
	{
		.cmd = MPMU_CMD_GET_HOLDERS,
		.start = dump_start,
		.dumpit = nl_dump_holders,
	},
	{
		.cmd = MPMU_CMD_GET_EVENTS,
		.start = dump_start,
		.dumpit = nl_dump_events,
	},
	{
		.cmd = MPMU_CMD_GET_REJECTIONS,
		.start = dump_start,
		.dumpit = nl_dump_rejections,
	},
	{
		.cmd = MPMU_CMD_SET_CONFIG,
		.doit = nl_set_config,
		.policy = mpmu_config_policy,
		.maxattr = MPMU_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family mpmu_family __ro_after_init = {
	.name = MPMU_GENL_NAME,
	.version = MPMU_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = mpmu_ops,
	.n_ops = ARRAY_SIZE(mpmu_ops),
	.mcgrps = mpmu_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mpmu_mcgrps),
	.parallel_ops = true,
};

int mpmu_netlink_init(void)
{
	int ret = genl_register_family(&mpmu_family);

	if (!ret)
		WRITE_ONCE(notify_ready, true);
	return ret;
}

/* The hooks are gone: no kick can come any more. */
void mpmu_netlink_exit(void)
{
	WRITE_ONCE(notify_ready, false);
	cancel_work_sync(&notify_work);
	genl_unregister_family(&mpmu_family);
}

/*
 * No MODULE_ALIAS_GENL_FAMILY: any user's lookup of the family would load
 * the module, and loading arms arbitration.  Loading is the admin's act
 * (modules-load.d, modprobe); mediated_pmu(7) says so.
 */
