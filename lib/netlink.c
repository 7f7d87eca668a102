// SPDX-License-Identifier: GPL-2.0
/*
 * The mediated_pmu generic netlink client (libnl-genl-3).  The protocol is
 * kmod/uapi/mediated_pmu.h; errors are the kernel's own errno, taken from
 * the NLMSG_ERROR reply rather than libnl's translation of it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "mpmu.h"

struct mpmu_client {
	struct nl_sock *sock;
	int family;
	const char *root;	/* prefix for /proc (tests) */
	int error;		/* errno of the last NLMSG_ERROR, negative */
	bool acked;		/* the ACK of the last doit arrived */
};

static struct nla_policy policy[MPMU_A_MAX + 1] = {
	[MPMU_A_STATUS_ENABLED] = { .type = NLA_U8 },
	[MPMU_A_STATUS_MODE] = { .type = NLA_U8 },
	[MPMU_A_STATUS_REFCOUNT] = { .type = NLA_U32 },
	[MPMU_A_STATUS_INCLUDE_GUEST_EVENTS] = { .type = NLA_U32 },
	[MPMU_A_STATUS_UNMANAGED_VMS] = { .type = NLA_U32 },
	[MPMU_A_STATUS_REJECTED_VMS] = { .type = NLA_U64 },
	[MPMU_A_STATUS_REJECTED_EVENTS] = { .type = NLA_U64 },
	[MPMU_A_STATUS_GUARDED_PMUS] = { .type = NLA_NESTED },
	[MPMU_A_STATUS_VERSION] = { .type = NLA_STRING },
	[MPMU_A_STATUS_KVM_HOOKS] = { .type = NLA_U8 },
	[MPMU_A_STATUS_KVM_ERROR] = { .type = NLA_U32 },	/* s32 */
	[MPMU_A_STATUS_KVM_SYMBOL] = { .type = NLA_STRING },
	[MPMU_A_STATUS_SETTLING] = { .type = NLA_U32 },
	[MPMU_A_STATUS_NATIVE] = { .type = NLA_U8 },
	[MPMU_A_HOLDER_PID] = { .type = NLA_U32 },
	[MPMU_A_HOLDER_COMM] = { .type = NLA_STRING },
	[MPMU_A_HOLDER_VM_ID] = { .type = NLA_U64 },
	[MPMU_A_HOLDER_CREATED] = { .type = NLA_U64 },
	[MPMU_A_EVENT_OWNER_PID] = { .type = NLA_U32 },
	[MPMU_A_EVENT_OWNER_COMM] = { .type = NLA_STRING },
	[MPMU_A_EVENT_OWNER_START] = { .type = NLA_U64 },
	[MPMU_A_EVENT_OWNER_GONE] = { .type = NLA_FLAG },
	[MPMU_A_EVENT_KERNEL] = { .type = NLA_FLAG },
	[MPMU_A_EVENT_CPU] = { .type = NLA_U32 },
	[MPMU_A_EVENT_TARGET_PID] = { .type = NLA_U32 },
	[MPMU_A_EVENT_PMU] = { .type = NLA_STRING },
	[MPMU_A_EVENT_TYPE] = { .type = NLA_U32 },
	[MPMU_A_EVENT_CONFIG] = { .type = NLA_U64 },
	[MPMU_A_EVENT_PINNED] = { .type = NLA_FLAG },
	[MPMU_A_EVENT_CREATED] = { .type = NLA_U64 },
	[MPMU_A_NOTIFY_KIND] = { .type = NLA_U8 },
	[MPMU_A_NOTIFY_PID] = { .type = NLA_U32 },
	[MPMU_A_NOTIFY_COMM] = { .type = NLA_STRING },
	[MPMU_A_NOTIFY_TIME] = { .type = NLA_U64 },
	[MPMU_A_NOTIFY_REFCOUNT] = { .type = NLA_U32 },
	[MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS] = { .type = NLA_U32 },
	[MPMU_A_NOTIFY_PMU] = { .type = NLA_STRING },
	[MPMU_A_NOTIFY_VM_ID] = { .type = NLA_U64 },
	[MPMU_A_NOTIFY_SEQ] = { .type = NLA_U64 },
};

static int parse(struct nl_msg *msg, struct nlattr **tb)
{
	return genlmsg_parse(nlmsg_hdr(msg), 0, tb, MPMU_A_MAX, policy) ? -EPROTO : 0;
}

static void copy_str(char *dst, size_t size, const struct nlattr *attr)
{
	dst[0] = '\0';
	if (attr)
		nla_strlcpy(dst, attr, size);
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct mpmu_client *client = arg;

	(void)nla;
	client->error = err->error;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct mpmu_client *client = arg;

	(void)msg;
	client->acked = true;
	return NL_STOP;
}

static int nle_to_errno(int nle)
{
	switch (-nle) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_BUSY: return -EBUSY;
	case NLE_INVAL: return -EINVAL;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_MSGSIZE: return -EMSGSIZE;
	case NLE_DUMP_INTR: return -EAGAIN;
	default: return -EIO;
	}
}

/* A client with a connected generic netlink socket, no family yet. */
static int client_new(struct mpmu_client **out)
{
	struct mpmu_client *client;
	int ret;

	client = calloc(1, sizeof(*client));
	if (!client)
		return -ENOMEM;
	client->root = "";
	client->sock = nl_socket_alloc();
	if (!client->sock) {
		free(client);
		return -ENOMEM;
	}
	ret = genl_connect(client->sock);
	if (ret) {
		mpmu_close(client);
		return nle_to_errno(ret);
	}
	*out = client;
	return 0;
}

int mpmu_open(struct mpmu_client **out)
{
	struct mpmu_client *client;
	int ret;

	ret = client_new(&client);
	if (ret)
		return ret;
	client->family = genl_ctrl_resolve(client->sock, MPMU_GENL_NAME);
	if (client->family < 0) {
		ret = nle_to_errno(client->family);
		mpmu_close(client);
		return ret;
	}
	nl_socket_modify_err_cb(client->sock, NL_CB_CUSTOM, on_error, client);
	nl_socket_modify_cb(client->sock, NL_CB_ACK, NL_CB_CUSTOM, on_ack, client);
	*out = client;
	return 0;
}

void mpmu_set_root(struct mpmu_client *client, const char *root)
{
	client->root = root ? root : "";
}

void mpmu_close(struct mpmu_client *client)
{
	if (!client)
		return;
	nl_socket_free(client->sock);
	free(client);
}

/* Send @cmd (with @fill's attributes) and feed each reply to @valid. */
static int request(struct mpmu_client *client, uint8_t cmd, int flags,
		   int (*fill)(struct nl_msg *msg, const void *arg), const void *arg,
		   nl_recvmsg_msg_cb_t valid, void *data)
{
	struct nl_msg *msg;
	int ret;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, client->family, 0,
			 flags & NLM_F_DUMP ? flags : flags | NLM_F_ACK, cmd,
			 MPMU_GENL_VERSION) ||
	    (fill && fill(msg, arg))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nl_socket_modify_cb(client->sock, NL_CB_VALID, NL_CB_CUSTOM, valid, data);
	client->error = 0;
	ret = nl_send_auto(client->sock, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return nle_to_errno(ret);
	/*
	 * A dump ends with NLMSG_DONE.  A doit's reply and its ACK may come in
	 * separate reads: read until the ACK, or the next request would take
	 * this one's ACK for its own.
	 */
	client->acked = false;
	do {
		ret = nl_recvmsgs_default(client->sock);
		if (client->error)
			return client->error;
		if (ret < 0)
			return nle_to_errno(ret);
	} while (!(flags & NLM_F_DUMP) && !client->acked);
	return 0;
}

static int ignore(struct nl_msg *msg, void *data)
{
	(void)msg;
	(void)data;
	return NL_OK;
}

/* --- status --- */

static int on_status(struct nl_msg *msg, void *data)
{
	struct mpmu_status *st = data;
	struct nlattr *tb[MPMU_A_MAX + 1], *pos;
	int rem;

	if (parse(msg, tb) || !tb[MPMU_A_STATUS_VERSION])
		return NL_SKIP;
	memset(st, 0, sizeof(*st));
	st->valid = true;
	st->enabled = tb[MPMU_A_STATUS_ENABLED] && nla_get_u8(tb[MPMU_A_STATUS_ENABLED]);
	if (tb[MPMU_A_STATUS_MODE])
		st->mode = nla_get_u8(tb[MPMU_A_STATUS_MODE]);
	if (tb[MPMU_A_STATUS_REFCOUNT])
		st->refcount = nla_get_u32(tb[MPMU_A_STATUS_REFCOUNT]);
	if (tb[MPMU_A_STATUS_INCLUDE_GUEST_EVENTS])
		st->include_guest_events = nla_get_u32(tb[MPMU_A_STATUS_INCLUDE_GUEST_EVENTS]);
	if (tb[MPMU_A_STATUS_UNMANAGED_VMS])
		st->unmanaged_vms = nla_get_u32(tb[MPMU_A_STATUS_UNMANAGED_VMS]);
	if (tb[MPMU_A_STATUS_REJECTED_VMS])
		st->rejected_vms = nla_get_u64(tb[MPMU_A_STATUS_REJECTED_VMS]);
	if (tb[MPMU_A_STATUS_REJECTED_EVENTS])
		st->rejected_events = nla_get_u64(tb[MPMU_A_STATUS_REJECTED_EVENTS]);
	copy_str(st->version, sizeof(st->version), tb[MPMU_A_STATUS_VERSION]);
	if (tb[MPMU_A_STATUS_KVM_HOOKS]) {
		st->kvm_hooks_known = true;
		st->kvm_hooks = nla_get_u8(tb[MPMU_A_STATUS_KVM_HOOKS]);
	}
	if (tb[MPMU_A_STATUS_KVM_ERROR])
		st->kvm_error = (int32_t)nla_get_u32(tb[MPMU_A_STATUS_KVM_ERROR]);
	copy_str(st->kvm_symbol, sizeof(st->kvm_symbol), tb[MPMU_A_STATUS_KVM_SYMBOL]);
	if (tb[MPMU_A_STATUS_SETTLING])
		st->settling = nla_get_u32(tb[MPMU_A_STATUS_SETTLING]);
	st->native_known = tb[MPMU_A_STATUS_NATIVE];
	if (st->native_known)
		st->native = nla_get_u8(tb[MPMU_A_STATUS_NATIVE]);
	if (tb[MPMU_A_STATUS_GUARDED_PMUS]) {
		nla_for_each_nested(pos, tb[MPMU_A_STATUS_GUARDED_PMUS], rem) {
			if (nla_type(pos) != MPMU_A_PMU_NAME || st->nr_guarded == MPMU_MAX_GUARDED)
				continue;
			copy_str(st->guarded[st->nr_guarded++], MPMU_PMU_NAME_LEN, pos);
		}
	}
	return NL_OK;
}

/*
 * The NMI watchdog is read here, not by the module: the sysctl is
 * userspace's to read (a request handler must not open files).  No such
 * file (no hard lockup detector built in) means off.
 */
int mpmu_get_status(struct mpmu_client *client, struct mpmu_status *st)
{
	int ret, nmi;

	memset(st, 0, sizeof(*st));
	ret = request(client, MPMU_CMD_GET_STATUS, 0, NULL, NULL, on_status, st);
	if (ret)
		return ret;
	if (!st->valid)
		return -EPROTO;
	st->nmi_watchdog = !mpmu_nmi_watchdog_get(client->root, &nmi) && nmi;
	return 0;
}

/* --- dumps --- */

struct list {
	void *items;
	size_t nr, alloc, size;
	int error;
};

static void *list_add(struct list *l)
{
	void *items;

	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 64;
		items = realloc(l->items, l->alloc * l->size);
		if (!items) {
			l->error = -ENOMEM;
			return NULL;
		}
		l->items = items;
	}
	return memset((char *)l->items + l->nr++ * l->size, 0, l->size);
}

static int on_holder(struct nl_msg *msg, void *data)
{
	struct nlattr *tb[MPMU_A_MAX + 1];
	struct mpmu_holder *h;

	if (parse(msg, tb) || !tb[MPMU_A_HOLDER_PID])
		return NL_SKIP;
	h = list_add(data);
	if (!h)
		return NL_STOP;
	h->pid = nla_get_u32(tb[MPMU_A_HOLDER_PID]);
	copy_str(h->comm, sizeof(h->comm), tb[MPMU_A_HOLDER_COMM]);
	if (tb[MPMU_A_HOLDER_VM_ID])
		h->vm_id = nla_get_u64(tb[MPMU_A_HOLDER_VM_ID]);
	if (tb[MPMU_A_HOLDER_CREATED])
		h->created = nla_get_u64(tb[MPMU_A_HOLDER_CREATED]);
	return NL_OK;
}

static int on_event(struct nl_msg *msg, void *data)
{
	struct nlattr *tb[MPMU_A_MAX + 1];
	struct mpmu_event *e;

	if (parse(msg, tb) || !tb[MPMU_A_EVENT_PMU])
		return NL_SKIP;
	e = list_add(data);
	if (!e)
		return NL_STOP;
	if (tb[MPMU_A_EVENT_OWNER_PID])
		e->owner_pid = nla_get_u32(tb[MPMU_A_EVENT_OWNER_PID]);
	copy_str(e->owner_comm, sizeof(e->owner_comm), tb[MPMU_A_EVENT_OWNER_COMM]);
	if (tb[MPMU_A_EVENT_OWNER_START]) {
		e->owner_start_known = true;
		e->owner_start = nla_get_u64(tb[MPMU_A_EVENT_OWNER_START]);
	}
	e->owner_gone = tb[MPMU_A_EVENT_OWNER_GONE];
	e->kernel = tb[MPMU_A_EVENT_KERNEL];
	e->pinned = tb[MPMU_A_EVENT_PINNED];
	e->cpu = tb[MPMU_A_EVENT_CPU] ? (int32_t)nla_get_u32(tb[MPMU_A_EVENT_CPU]) : -1;
	e->target_pid = tb[MPMU_A_EVENT_TARGET_PID] ?
			(int32_t)nla_get_u32(tb[MPMU_A_EVENT_TARGET_PID]) : -1;
	copy_str(e->pmu, sizeof(e->pmu), tb[MPMU_A_EVENT_PMU]);
	if (tb[MPMU_A_EVENT_TYPE])
		e->type = nla_get_u32(tb[MPMU_A_EVENT_TYPE]);
	if (tb[MPMU_A_EVENT_CONFIG])
		e->config = nla_get_u64(tb[MPMU_A_EVENT_CONFIG]);
	if (tb[MPMU_A_EVENT_CREATED])
		e->created = nla_get_u64(tb[MPMU_A_EVENT_CREATED]);
	return NL_OK;
}

static int parse_note(struct nl_msg *msg, struct mpmu_note *n)
{
	struct nlattr *tb[MPMU_A_MAX + 1];

	if (parse(msg, tb) || !tb[MPMU_A_NOTIFY_KIND])
		return -EPROTO;
	memset(n, 0, sizeof(*n));
	n->kind = nla_get_u8(tb[MPMU_A_NOTIFY_KIND]);
	if (tb[MPMU_A_NOTIFY_PID])
		n->pid = nla_get_u32(tb[MPMU_A_NOTIFY_PID]);
	copy_str(n->comm, sizeof(n->comm), tb[MPMU_A_NOTIFY_COMM]);
	if (tb[MPMU_A_NOTIFY_TIME])
		n->time = nla_get_u64(tb[MPMU_A_NOTIFY_TIME]);
	if (tb[MPMU_A_NOTIFY_REFCOUNT])
		n->refcount = nla_get_u32(tb[MPMU_A_NOTIFY_REFCOUNT]);
	if (tb[MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS])
		n->include_guest_events = nla_get_u32(tb[MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS]);
	copy_str(n->pmu, sizeof(n->pmu), tb[MPMU_A_NOTIFY_PMU]);
	if (tb[MPMU_A_NOTIFY_VM_ID])
		n->vm_id = nla_get_u64(tb[MPMU_A_NOTIFY_VM_ID]);
	if (tb[MPMU_A_NOTIFY_SEQ])
		n->seq = nla_get_u64(tb[MPMU_A_NOTIFY_SEQ]);
	return 0;
}

static int on_rejection(struct nl_msg *msg, void *data)
{
	struct mpmu_note *n;
	struct mpmu_note tmp;

	if (parse_note(msg, &tmp))
		return NL_SKIP;
	n = list_add(data);
	if (!n)
		return NL_STOP;
	*n = tmp;
	return NL_OK;
}

#define DUMP_TRIES	5

/*
 * A dump that spanned a change of the table (NLM_F_DUMP_INTR) is redone,
 * for a snapshot.  While the table changes faster than a dump completes
 * (hundreds of opens a second), the last try is the answer: the module's
 * walk never repeats an entry and never misses one that lived throughout
 * it; only entries that came or went meanwhile may be missing.
 */
static int dump(struct mpmu_client *client, uint8_t cmd, size_t size,
		nl_recvmsg_msg_cb_t cb, void **items, size_t *nr)
{
	struct list l = { .size = size };
	int ret, tries = 0;

	do {
		free(l.items);
		l = (struct list){ .size = size };
		ret = request(client, cmd, NLM_F_DUMP, NULL, NULL, cb, &l);
		/* A list that could not grow is short: that wins over -EAGAIN. */
		if (l.error)
			ret = l.error;
	} while (ret == -EAGAIN && ++tries < DUMP_TRIES);
	if (ret == -EAGAIN)
		ret = 0;
	if (ret) {
		free(l.items);
		return ret;
	}
	*items = l.items;
	*nr = l.nr;
	return 0;
}

int mpmu_get_holders(struct mpmu_client *client, struct mpmu_holder **list, size_t *nr)
{
	return dump(client, MPMU_CMD_GET_HOLDERS, sizeof(**list), on_holder,
		    (void **)list, nr);
}

int mpmu_get_events(struct mpmu_client *client, struct mpmu_event **list, size_t *nr)
{
	return dump(client, MPMU_CMD_GET_EVENTS, sizeof(**list), on_event,
		    (void **)list, nr);
}

int mpmu_get_rejections(struct mpmu_client *client, struct mpmu_note **list, size_t *nr)
{
	return dump(client, MPMU_CMD_GET_REJECTIONS, sizeof(**list), on_rejection,
		    (void **)list, nr);
}

/* --- changes --- */

static int fill_enabled(struct nl_msg *msg, const void *arg)
{
	return nla_put_u8(msg, MPMU_A_CONFIG_ENABLED, *(const bool *)arg);
}

static int fill_guarded(struct nl_msg *msg, const void *arg)
{
	return nla_put_string(msg, MPMU_A_CONFIG_GUARDED_PMUS, arg);
}

int mpmu_set_enabled(struct mpmu_client *client, bool enabled)
{
	return request(client, MPMU_CMD_SET_CONFIG, 0, fill_enabled, &enabled, ignore, NULL);
}

int mpmu_set_guarded(struct mpmu_client *client, const char *names)
{
	return request(client, MPMU_CMD_SET_CONFIG, 0, fill_guarded, names, ignore, NULL);
}

/* --- notifications --- */

#define WATCH_RCVBUF	(1 << 20)

/*
 * A client that follows notifications reads without blocking and is never
 * used for requests: replies and notifications would interleave.
 */
static int subscribe(struct mpmu_client *client, const char *family, const char *group)
{
	int grp, ret;

	grp = genl_ctrl_resolve_grp(client->sock, family, group);
	if (grp < 0)
		return nle_to_errno(grp);
	ret = nl_socket_add_membership(client->sock, grp);
	if (ret < 0)
		return nle_to_errno(ret);
	nl_socket_disable_seq_check(client->sock);
	nl_socket_set_buffer_size(client->sock, WATCH_RCVBUF, 0);
	ret = nl_socket_set_nonblocking(client->sock);
	return ret < 0 ? nle_to_errno(ret) : 0;
}

int mpmu_watch_start(struct mpmu_client *client)
{
	return subscribe(client, MPMU_GENL_NAME, MPMU_GENL_MCGRP_NOTIFY);
}

int mpmu_fd(const struct mpmu_client *client)
{
	return nl_socket_get_fd(client->sock);
}

/* Read what has arrived, without blocking (libnl: NLE_AGAIN, nothing left). */
static int read_pending(struct mpmu_client *client, nl_recvmsg_msg_cb_t fn, void *data)
{
	int ret;

	nl_socket_modify_cb(client->sock, NL_CB_VALID, NL_CB_CUSTOM, fn, data);
	do {
		ret = nl_recvmsgs_default(client->sock);
		/* An overrun (ENOBUFS) loses notifications: SEQ shows the gap. */
	} while (ret >= 0 || ret == -NLE_NOMEM);
	return ret == -NLE_AGAIN ? 0 : nle_to_errno(ret);
}

struct watch_ctx {
	mpmu_note_fn fn;
	void *data;
	int stop;
};

static int on_note(struct nl_msg *msg, void *data)
{
	struct watch_ctx *wc = data;
	struct mpmu_note n;

	if (wc->stop || parse_note(msg, &n))
		return NL_SKIP;
	wc->stop = wc->fn(&n, wc->data);
	return NL_OK;
}

int mpmu_watch_read(struct mpmu_client *client, mpmu_note_fn fn, void *data)
{
	struct watch_ctx wc = { .fn = fn, .data = data };
	int ret;

	ret = read_pending(client, on_note, &wc);
	return ret ? ret : wc.stop;
}

int mpmu_watch(struct mpmu_client *client, mpmu_note_fn fn, void *data, int stop_fd)
{
	struct pollfd pfd[2] = {
		{ .fd = mpmu_fd(client), .events = POLLIN },
		{ .fd = stop_fd, .events = POLLIN },
	};
	int ret;

	ret = mpmu_watch_start(client);
	while (!ret) {
		/*
		 * Wait in poll(), not in libnl's recvmsg() (which retries after
		 * a signal), on the socket and on @stop_fd (a signalfd: a
		 * signal that came before poll() is not lost).
		 */
		if (poll(pfd, stop_fd < 0 ? 1 : 2, -1) < 0)
			return errno == EINTR ? -EINTR : -errno;
		if (stop_fd >= 0 && pfd[1].revents)
			return 0;
		ret = mpmu_watch_read(client, fn, data);
	}
	return ret;
}

/* --- the family's coming and going (nlctrl's notify group) --- */

int mpmu_monitor_open(struct mpmu_client **out)
{
	struct mpmu_client *client;
	int ret;

	ret = client_new(&client);
	if (ret)
		return ret;
	ret = subscribe(client, "nlctrl", "notify");
	if (ret) {
		mpmu_close(client);
		return ret;
	}
	*out = client;
	return 0;
}

static int on_ctrl(struct nl_msg *msg, void *data)
{
	struct genlmsghdr *hdr = genlmsg_hdr(nlmsg_hdr(msg));
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	enum mpmu_family_change *change = data;

	if (hdr->cmd != CTRL_CMD_NEWFAMILY && hdr->cmd != CTRL_CMD_DELFAMILY)
		return NL_SKIP;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL) ||
	    !tb[CTRL_ATTR_FAMILY_NAME])
		return NL_SKIP;
	if (!strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), MPMU_GENL_NAME))
		*change = hdr->cmd == CTRL_CMD_NEWFAMILY ? MPMU_FAMILY_ADDED : MPMU_FAMILY_REMOVED;
	return NL_OK;
}

int mpmu_monitor_read(struct mpmu_client *monitor, enum mpmu_family_change *change)
{
	*change = MPMU_FAMILY_UNCHANGED;
	return read_pending(monitor, on_ctrl, change);
}

const char *mpmu_note_kind_name(enum mpmu_notify_kind kind)
{
	switch (kind) {
	case MPMU_NOTIFY_VM_ACQUIRED: return "vm_acquired";
	case MPMU_NOTIFY_VM_RELEASED: return "vm_released";
	case MPMU_NOTIFY_VM_REJECTED: return "vm_rejected";
	case MPMU_NOTIFY_EVENT_REJECTED: return "event_rejected";
	case MPMU_NOTIFY_DRAINED: return "drained";
	default: return "unknown";
	}
}

const char *mpmu_mode_name(enum mpmu_mode mode)
{
	return mode == MPMU_MODE_OBSERVE ? "observe" : "arbitrate";
}

const char *mpmu_native_name(const struct mpmu_status *st)
{
	if (!st->native_known)
		return NULL;
	switch (st->native) {
	case MPMU_NATIVE_ABSENT: return "absent";
	case MPMU_NATIVE_UNUSED: return "unused";
	case MPMU_NATIVE_IN_USE: return "in-use";
	default: return NULL;
	}
}
