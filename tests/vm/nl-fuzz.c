// SPDX-License-Identifier: GPL-2.0
/*
 * nl-fuzz: send random, mostly malformed messages to the mediated_pmu
 * family for a bounded time and check that the kernel keeps answering.
 *
 *   nl-fuzz SECONDS [SEED]
 *
 * The seed is printed first: the same seed gives the same message #N, so a
 * failure can be replayed.  Messages are built as raw bytes and sent on a
 * plain NETLINK_GENERIC socket, so that wrong lengths reach the kernel as
 * they are.  Each one is followed by a NOOP "barrier" request: the kernel
 * handles a datagram synchronously, so the barrier's ACK marks the end of
 * the message's replies and only dumps need the 200 ms silence rule.
 *
 * Exit 1, with the seed and the message in hex on stderr: a request with
 * NLM_F_ACK left unanswered for 5 s, a socket error other than
 * ENOBUFS/EAGAIN, a kernel message (reply or notification) that does not
 * parse, a SET_CONFIG accepted without CAP_SYS_ADMIN, or no answer to a
 * well-formed GET_STATUS at the end.  Exit 2: bad usage, or the family is
 * missing (module not loaded).  Exit 0 after one summary line.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "../../kmod/uapi/mediated_pmu.h"

#define MSG_MAX		4096	/* one fuzz message, headers included */
#define RX_MAX		65536	/* above the kernel's 32 KiB cap on a dump skb */
#define HANG_MS		5000	/* an ACK request unanswered this long: a hang */
#define SILENCE_MS	200	/* a dump quiet this long is left for later */
#define MAX_DEPTH	3	/* attribute nesting, the top level being 1 */
#define MAX_MARKS	64	/* attributes whose nla_len may be corrupted */
#define STR_MAX		300	/* longest generated string, NUL included */

struct msg {
	uint8_t buf[MSG_MAX] __attribute__((aligned(8)));
	size_t len;
	size_t marks[MAX_MARKS];	/* offsets of the attributes built */
	int nr_marks;
};

/* What the drain needs to know about the request just sent. */
struct req {
	uint32_t seq;		/* the barrier has seq + 1 */
	bool want_answer;	/* NLM_F_ACK on a message the kernel will parse */
	bool set_config;	/* a SET_CONFIG doit request */
	bool answered;
	bool barrier_seen;
	bool lost;		/* ENOBUFS: replies were dropped, cannot judge */
};

static struct {
	unsigned long sent, acked, errors, dumps;
	unsigned long einval, erange, eopnotsupp, eperm, other;
} st;

static uint64_t seed, rng;
static unsigned long msg_no;	/* messages generated: #N replays with the seed */
static int family, mc_group, mc_fd = -1;
static bool no_sys_admin, dump_open, mc_seen;
static uint64_t mc_last_seq;
static struct msg m;
static uint8_t rx[RX_MAX] __attribute__((aligned(8)));

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	size_t i;

	fprintf(stderr, "nl-fuzz: FAIL seed=%" PRIu64 " message #%lu: ", seed, msg_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nnl-fuzz: last message (%zu bytes):", m.len);
	for (i = 0; i < m.len && i < 256; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", m.buf[i]);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- a local PRNG: rand() would make replays depend on the libc --- */

static void rng_init(uint64_t s)
{
	/* splitmix64 once, so that small seeds do not start in a weak state */
	s += 0x9e3779b97f4a7c15ULL;
	s = (s ^ (s >> 30)) * 0xbf58476d1ce4e5b9ULL;
	s = (s ^ (s >> 27)) * 0x94d049bb133111ebULL;
	rng = s ^ (s >> 31);
	if (!rng)
		rng = 1;	/* xorshift never leaves 0 */
}

static uint64_t rnd64(void)	/* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* In [0, n), n > 0. */
static uint32_t rnd(uint32_t n)
{
	return (uint32_t)((rnd64() >> 32) % n);
}

static bool one_in(uint32_t n)
{
	return rnd(n) == 0;
}

/* --- building a message --- */

static bool room(size_t payload)
{
	return m.len + NLA_HDRLEN + NLA_ALIGN(payload) <= MSG_MAX;
}

static void mark(size_t off)
{
	if (m.nr_marks < MAX_MARKS)
		m.marks[m.nr_marks++] = off;
}

static void put_attr(uint16_t type, const void *data, size_t len)
{
	struct nlattr *nla = (struct nlattr *)(m.buf + m.len);

	if (!room(len))
		return;
	nla->nla_type = type;
	nla->nla_len = NLA_HDRLEN + len;
	memcpy(m.buf + m.len + NLA_HDRLEN, data, len);
	mark(m.len);
	m.len += NLA_ALIGN(nla->nla_len);
}

static const char *const pmu_names[] = {
	"", "cpu", "software", "cpu,software", "cpu software", "nosuchpmu",
	"cpu_core,cpu_atom", ",", " , ,", "breakpoint,tracepoint,kprobe",
};

/* Plausible PMU lists, random printables, or long ones around the 255 limit. */
static size_t gen_string(uint8_t *p, bool nul, bool plausible)
{
	const char *name;
	size_t len, i;

	switch (plausible ? 0 : rnd(3)) {
	case 0:
		name = pmu_names[rnd(sizeof(pmu_names) / sizeof(pmu_names[0]))];
		len = strlen(name);
		memcpy(p, name, len);
		break;
	case 1:
		len = rnd(64);
		for (i = 0; i < len; i++)
			p[i] = ' ' + rnd(95);
		break;
	default:
		len = 200 + rnd(STR_MAX - 200);	/* < STR_MAX: room for a NUL */
		for (i = 0; i < len; i++)
			p[i] = one_in(8) ? ',' : 'a' + rnd(26);
		break;
	}
	if (nul)
		p[len++] = '\0';
	return len;
}

/* The sizes of every integer type, and strings with and without a NUL. */
static size_t gen_random_payload(uint8_t *p)
{
	static const uint8_t sizes[] = { 0, 1, 2, 4, 8 };
	size_t len, i;

	switch (rnd(4)) {
	case 0:
	case 1:
		len = sizes[rnd(sizeof(sizes))];
		for (i = 0; i < len; i++)	/* small values hit range checks */
			p[i] = one_in(2) ? rnd(3) : rnd(256);
		return len;
	case 2:
		return gen_string(p, true, false);
	default:
		return gen_string(p, false, false);
	}
}

/* A payload SET_CONFIG's policy would accept for @type, when there is one. */
static size_t gen_plausible_payload(uint16_t type, uint8_t *p)
{
	switch (type) {
	case MPMU_A_CONFIG_ENABLED:
		p[0] = rnd(2);
		return 1;
	case MPMU_A_CONFIG_GUARDED_PMUS:
		return gen_string(p, true, true);
	default:
		return gen_random_payload(p);
	}
}

static uint16_t gen_attr_type(void)
{
	switch (rnd(8)) {
	case 0:
	case 1:
	case 2:		/* SET_CONFIG's: the one policy with teeth */
		return one_in(2) ? MPMU_A_CONFIG_ENABLED : MPMU_A_CONFIG_GUARDED_PMUS;
	case 3:
	case 4:
	case 5:
		return rnd(MPMU_A_MAX + 1);
	case 6:
		return rnd(MPMU_A_MAX + 4);
	default:	/* any type, the byte-order flag included */
		return rnd(0x10000) & ~NLA_F_NESTED;
	}
}

static void put_attrs(int n, int depth);

static void put_nest(uint16_t type, int depth)
{
	size_t off = m.len;
	struct nlattr *nla = (struct nlattr *)(m.buf + off);

	if (!room(0))
		return;
	mark(off);
	m.len += NLA_HDRLEN;
	put_attrs(1 + rnd(4), depth + 1);
	nla->nla_type = type | NLA_F_NESTED;
	nla->nla_len = m.len - off;
}

static void put_attrs(int n, int depth)
{
	uint8_t payload[STR_MAX];
	uint16_t type;
	size_t len;
	int i;

	for (i = 0; i < n && room(0); i++) {
		type = gen_attr_type();
		if (depth < MAX_DEPTH && one_in(12)) {
			put_nest(type, depth);
			continue;
		}
		len = one_in(2) ? gen_plausible_payload(type, payload) :
				  gen_random_payload(payload);
		put_attr(type, payload, len);
	}
}

static int gen_attr_count(void)
{
	if (one_in(3))
		return 0;		/* the valid form of every GET */
	if (one_in(16))
		return 8 + rnd(40);	/* up to the 4 KiB bound */
	return 1 + rnd(4);
}

/* An nla_len past the end, shorter than a header, or cutting the payload. */
static void corrupt_attr_len(void)
{
	struct nlattr *nla;
	size_t off;

	if (!m.nr_marks)
		return;
	off = m.marks[rnd(m.nr_marks)];
	nla = (struct nlattr *)(m.buf + off);
	switch (rnd(3)) {
	case 0:
		nla->nla_len = m.len - off + 1 + rnd(64);
		break;
	case 1:
		nla->nla_len = rnd(NLA_HDRLEN);
		break;
	default:
		if (nla->nla_len > NLA_HDRLEN)
			nla->nla_len = NLA_HDRLEN + rnd(nla->nla_len - NLA_HDRLEN);
		else
			nla->nla_len = 0xffff;
		break;
	}
}

/* Mostly ours; else a control type, or one above any family's id. */
static uint16_t gen_type(void)
{
	if (!one_in(16))
		return family;
	if (one_in(2))
		return rnd(NLMSG_MIN_TYPE);
	return GENL_MAX_ID + 1 + rnd(0xffff - GENL_MAX_ID);
}

static uint16_t gen_flags(void)
{
	uint16_t flags = 0;

	if (!one_in(16))
		flags |= NLM_F_REQUEST;
	if (!one_in(4))
		flags |= NLM_F_ACK;
	if (one_in(4)) {
		flags |= NLM_F_DUMP;
	} else {
		if (one_in(8))
			flags |= NLM_F_ROOT;
		if (one_in(8))
			flags |= NLM_F_MATCH;
	}
	if (one_in(8))
		flags |= NLM_F_ECHO;
	if (one_in(16))
		flags |= rnd(0x10000);
	return flags;
}

static uint8_t gen_cmd(void)
{
	if (!one_in(4))
		return 1 + rnd(MPMU_CMD_MAX);
	return rnd(MPMU_CMD_MAX + 4);
}

/*
 * A short nlmsg_len makes the kernel read the rest of the datagram as more
 * messages.  Point any that would reach another genetlink family (or the
 * controller) at ours, so that fuzzing as root touches no other subsystem.
 */
static void tame_tail(void)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m.buf;
	size_t off;

	if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > m.len)
		return;		/* the kernel drops the whole datagram */
	for (off = NLMSG_ALIGN(nlh->nlmsg_len); m.len - off >= NLMSG_HDRLEN;
	     off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (struct nlmsghdr *)(m.buf + off);
		if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > m.len - off)
			return;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE && nlh->nlmsg_type <= GENL_MAX_ID)
			nlh->nlmsg_type = family;
	}
}

static void classify(struct req *r, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)m.buf;
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);
	bool framed = nlh->nlmsg_len >= NLMSG_HDRLEN && nlh->nlmsg_len <= m.len;

	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->want_answer = framed && (nlh->nlmsg_flags & NLM_F_ACK);
	r->set_config = framed && nlh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN &&
			nlh->nlmsg_type == family && (nlh->nlmsg_flags & NLM_F_REQUEST) &&
			(nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP &&
			gh->cmd == MPMU_CMD_SET_CONFIG;
}

static void gen_message(struct req *r, uint32_t seq)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m.buf;
	struct genlmsghdr *gh = NLMSG_DATA(nlh);

	memset(m.buf, 0, sizeof(m.buf));	/* padding is zero, as libnl's */
	msg_no++;
	m.nr_marks = 0;
	nlh->nlmsg_type = gen_type();
	nlh->nlmsg_flags = gen_flags();
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = one_in(16) ? (uint32_t)rnd64() : 0;
	gh->cmd = gen_cmd();
	gh->version = one_in(4) ? rnd(256) : MPMU_GENL_VERSION;
	gh->reserved = one_in(16) ? rnd(0x10000) : 0;
	m.len = NLMSG_HDRLEN + GENL_HDRLEN;
	put_attrs(gen_attr_count(), 1);
	if (one_in(12))
		corrupt_attr_len();
	nlh->nlmsg_len = m.len;
	if (one_in(16))
		nlh->nlmsg_len = one_in(2) ? rnd(m.len) : m.len + 1 + rnd(64);
	tame_tail();
	classify(r, seq);
}

/* --- checking what the kernel sends --- */

enum kind { K_NEVER, K_U8, K_U32, K_U64, K_FLAG, K_STR, K_NEST, K_PAD };

/* Every attribute the kernel sends, as uapi/mediated_pmu.h documents it. */
static const uint8_t attr_kind[MPMU_A_MAX + 1] = {
	[MPMU_A_STATUS_ENABLED] = K_U8,
	[MPMU_A_STATUS_MODE] = K_U8,
	[MPMU_A_STATUS_REFCOUNT] = K_U32,
	[MPMU_A_STATUS_INCLUDE_GUEST_EVENTS] = K_U32,
	[MPMU_A_STATUS_UNMANAGED_VMS] = K_U32,
	[MPMU_A_STATUS_REJECTED_VMS] = K_U64,
	[MPMU_A_STATUS_REJECTED_EVENTS] = K_U64,
	[MPMU_A_STATUS_GUARDED_PMUS] = K_NEST,
	[MPMU_A_STATUS_NMI_WATCHDOG] = K_NEVER,	/* no longer sent */
	[MPMU_A_STATUS_KVM_HOOKS] = K_U8,
	[MPMU_A_STATUS_KVM_ERROR] = K_U32,
	[MPMU_A_STATUS_KVM_SYMBOL] = K_STR,
	[MPMU_A_STATUS_SETTLING] = K_U32,
	[MPMU_A_STATUS_NATIVE] = K_U8,
	[MPMU_A_STATUS_VERSION] = K_STR,
	[MPMU_A_PMU_NAME] = K_STR,
	[MPMU_A_HOLDER_PID] = K_U32,
	[MPMU_A_HOLDER_COMM] = K_STR,
	[MPMU_A_HOLDER_VM_ID] = K_U64,
	[MPMU_A_HOLDER_CREATED] = K_U64,
	[MPMU_A_EVENT_OWNER_PID] = K_U32,
	[MPMU_A_EVENT_OWNER_COMM] = K_STR,
	[MPMU_A_EVENT_OWNER_START] = K_U64,
	[MPMU_A_EVENT_OWNER_GONE] = K_FLAG,
	[MPMU_A_EVENT_KERNEL] = K_FLAG,
	[MPMU_A_EVENT_CPU] = K_U32,
	[MPMU_A_EVENT_TARGET_PID] = K_U32,
	[MPMU_A_EVENT_PMU] = K_STR,
	[MPMU_A_EVENT_TYPE] = K_U32,
	[MPMU_A_EVENT_CONFIG] = K_U64,
	[MPMU_A_EVENT_PINNED] = K_FLAG,
	[MPMU_A_EVENT_CREATED] = K_U64,
	[MPMU_A_NOTIFY_KIND] = K_U8,
	[MPMU_A_NOTIFY_PID] = K_U32,
	[MPMU_A_NOTIFY_COMM] = K_STR,
	[MPMU_A_NOTIFY_TIME] = K_U64,
	[MPMU_A_NOTIFY_REFCOUNT] = K_U32,
	[MPMU_A_NOTIFY_INCLUDE_GUEST_EVENTS] = K_U32,
	[MPMU_A_NOTIFY_PMU] = K_STR,
	[MPMU_A_NOTIFY_VM_ID] = K_U64,
	[MPMU_A_NOTIFY_SEQ] = K_U64,
	[MPMU_A_PAD] = K_PAD,
};

static void check_attrs(const uint8_t *p, size_t len, bool in_nest,
			const struct nlattr **tb);

static void check_payload(const struct nlattr *nla, uint16_t type)
{
	const uint8_t *data = (const uint8_t *)nla + NLA_HDRLEN;
	size_t n = nla->nla_len - NLA_HDRLEN;
	bool ok;

	switch (attr_kind[type]) {
	case K_U8:
		ok = n == 1;
		break;
	case K_U32:
		ok = n == 4;
		break;
	case K_U64:
		ok = n == 8;
		break;
	case K_FLAG:
		ok = n == 0;
		break;
	case K_STR:
		ok = n && data[n - 1] == '\0';
		break;
	case K_NEST:
		check_attrs(data, n, true, NULL);
		ok = true;
		break;
	case K_PAD:
		ok = true;
		break;
	default:
		ok = false;
		break;
	}
	if (!ok)
		fail("kernel attribute %u: a %zu-byte payload of the wrong shape", type, n);
}

/* Bounds, types and shapes of a kernel attribute stream; @tb may be NULL. */
static void check_attrs(const uint8_t *p, size_t len, bool in_nest,
			const struct nlattr **tb)
{
	const struct nlattr *nla;
	uint16_t type;
	size_t step;

	while (len >= NLA_HDRLEN) {
		nla = (const struct nlattr *)p;
		type = nla->nla_type & NLA_TYPE_MASK;
		if (nla->nla_len < NLA_HDRLEN || nla->nla_len > len)
			fail("kernel attribute %u claims %u of %zu bytes", type,
			     nla->nla_len, len);
		if (in_nest ? type != MPMU_A_PMU_NAME : !type || type > MPMU_A_MAX)
			fail("kernel attribute of unknown type %u", type);
		check_payload(nla, type);
		if (tb)
			tb[type] = nla;
		step = NLA_ALIGN(nla->nla_len);
		step = step < len ? step : len;
		p += step;
		len -= step;
	}
	if (len)
		fail("%zu stray bytes after the kernel's attributes", len);
}

static uint64_t get_u64(const struct nlattr *nla)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)nla + NLA_HDRLEN, sizeof(v));
	return v;
}

/* A note, in a notification or a GET_REJECTIONS dump. */
static void check_note(const struct nlattr **tb)
{
	uint8_t kind;

	if (!tb[MPMU_A_NOTIFY_KIND] || !tb[MPMU_A_NOTIFY_SEQ])
		fail("a note without KIND or SEQ");
	kind = *((const uint8_t *)tb[MPMU_A_NOTIFY_KIND] + NLA_HDRLEN);
	if (kind < MPMU_NOTIFY_VM_ACQUIRED || kind > MPMU_NOTIFY_MAX)
		fail("a note of unknown kind %u", kind);
}

/* Returns the genetlink command after checking the whole message. */
static uint8_t check_family_msg(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);

	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		fail("a %u-byte family message has no genetlink header", nlh->nlmsg_len);
	if (!gh->cmd || gh->cmd > MPMU_CMD_MAX || gh->version != MPMU_GENL_VERSION)
		fail("a family message with cmd %u version %u", gh->cmd, gh->version);
	check_attrs((const uint8_t *)gh + GENL_HDRLEN,
		    nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, false, tb);
	if (gh->cmd == MPMU_CMD_NOTIFY || gh->cmd == MPMU_CMD_GET_REJECTIONS)
		check_note(tb);
	return gh->cmd;
}

/* The errno of an NLMSG_ERROR or NLMSG_DONE (0: an ACK), checked. */
static int errno_of(const struct nlmsghdr *nlh)
{
	const int *error = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type == NLMSG_ERROR &&
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
		fail("a %u-byte error message", nlh->nlmsg_len);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
		return 0;	/* a DONE without its error: old kernels */
	if (*error > 0 || *error < -4095)
		fail("error %d out of range", *error);
	return -*error;
}

static void count_errno(int err)
{
	st.errors++;
	switch (err) {
	case EINVAL:
		st.einval++;
		break;
	case ERANGE:
		st.erange++;
		break;
	case EOPNOTSUPP:
		st.eopnotsupp++;
		break;
	case EPERM:
		st.eperm++;
		break;
	default:
		st.other++;
		break;
	}
}

static void on_reply(const struct nlmsghdr *nlh, struct req *r)
{
	const struct nlattr *tb[MPMU_A_MAX + 1] = { NULL };
	int err;

	if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == r->seq + 1) {
		if (errno_of(nlh))
			fail("the NOOP barrier was refused: %s", strerror(errno_of(nlh)));
		r->barrier_seen = true;
		return;
	}
	if (nlh->nlmsg_seq == r->seq)
		r->answered = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		err = errno_of(nlh);
		if (err) {
			count_errno(err);
			break;
		}
		if (no_sys_admin && r->set_config && nlh->nlmsg_seq == r->seq)
			fail("SET_CONFIG accepted without CAP_SYS_ADMIN");
		st.acked++;
		break;
	case NLMSG_DONE:
		err = errno_of(nlh);
		if (err)
			count_errno(err);
		dump_open = false;
		break;
	default:
		if (nlh->nlmsg_type != family)
			fail("a reply of unexpected type %u", nlh->nlmsg_type);
		check_family_msg(nlh, tb);
		if (nlh->nlmsg_flags & NLM_F_MULTI) {
			st.dumps++;
			dump_open = true;
		} else {
			st.acked++;
		}
		break;
	}
}

static void on_notification(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[MPMU_A_MAX + 1] = { NULL };
	uint64_t seq;

	if (nlh->nlmsg_type != family)
		fail("a notification of unexpected type %u", nlh->nlmsg_type);
	if (check_family_msg(nlh, tb) != MPMU_CMD_NOTIFY)
		fail("a notification that is not MPMU_CMD_NOTIFY");
	/* SEQ is module-wide: a gap is a loss, going back is a bug. */
	seq = get_u64(tb[MPMU_A_NOTIFY_SEQ]);
	if (mc_seen && seq <= mc_last_seq)
		fail("notification SEQ went from %" PRIu64 " to %" PRIu64, mc_last_seq, seq);
	mc_seen = true;
	mc_last_seq = seq;
}

/* Every message of a datagram; the kernel frames them exactly. */
static void walk(size_t len, struct req *r)
{
	const uint8_t *p = rx;
	const struct nlmsghdr *nlh;
	size_t step;

	while (len >= NLMSG_HDRLEN) {
		nlh = (const struct nlmsghdr *)p;
		if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
			fail("a kernel message claims %u of %zu bytes", nlh->nlmsg_len, len);
		if (r)
			on_reply(nlh, r);
		else
			on_notification(nlh);
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		step = step < len ? step : len;
		p += step;
		len -= step;
	}
	if (len)
		fail("%zu stray bytes after the kernel's messages", len);
}

/* --- sockets --- */

static int open_socket(void)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)))
		fail("netlink socket: %s", strerror(errno));
	return fd;
}

/* False when the kernel had no buffer for it: nothing to wait for then. */
static bool send_raw(int fd, const void *buf, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) >= 0)
		return true;
	if (errno != ENOBUFS && errno != EAGAIN)
		fail("send: %s", strerror(errno));
	return false;
}

/* One datagram into rx: its length, 0 when none is queued, -1 on a loss. */
static ssize_t recv_one(int fd)
{
	ssize_t n = recv(fd, rx, sizeof(rx), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS)
			return -1;
		fail("recv: %s", strerror(errno));
	}
	if ((size_t)n > sizeof(rx))
		fail("a %zd-byte datagram does not fit %zu bytes", n, sizeof(rx));
	return n;
}

/*
 * Replies until the barrier's ACK, the request's own answer when it asked
 * for one, and the end of any dump; a dump quiet for 200 ms is left for the
 * next round.  Nothing may take more than 5 s.
 */
static void drain(int fd, struct req *r, int64_t t_sent)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool waiting;
	int64_t left;
	ssize_t n;
	int rc;

	for (;;) {
		waiting = r->want_answer && !r->answered && !r->lost;
		if (r->barrier_seen && !dump_open && !waiting)
			return;
		left = t_sent + HANG_MS - now_ms();
		if (left <= 0)
			fail(waiting ? "no answer to a request with NLM_F_ACK in 5 s" :
				       "replies still coming after 5 s");
		rc = poll(&pfd, 1, (waiting || left < SILENCE_MS) ? left : SILENCE_MS);
		if (rc < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (rc == 0 && !waiting)
			return;
		if (rc <= 0)
			continue;
		n = recv_one(fd);
		if (n < 0)
			r->lost = true;
		else if (n > 0)
			walk(n, r);
	}
}

/* Flip one of the options that change how the kernel answers. */
static void toggle_sockopt(int fd)
{
	static const int opts[] = { NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK };
	int opt = opts[rnd(3)], on = rnd(2);

	if (setsockopt(fd, SOL_NETLINK, opt, &on, sizeof(on)) && errno != ENOPROTOOPT)
		fail("setsockopt %d: %s", opt, strerror(errno));
}

/* Now and then join the notify group on a second socket, or leave it. */
static void mc_step(void)
{
	ssize_t n;
	int i;

	if (mc_fd < 0 && one_in(64)) {
		mc_fd = open_socket();
		if (setsockopt(mc_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &mc_group,
			       sizeof(mc_group)))
			fail("join group %d: %s", mc_group, strerror(errno));
	} else if (mc_fd >= 0 && one_in(512)) {
		close(mc_fd);
		mc_fd = -1;
	}
	/* Bounded: a flood of notifications must not stall the fuzzing. */
	for (i = 0; i < 64 && mc_fd >= 0 && (n = recv_one(mc_fd)) != 0; i++)
		if (n > 0)
			walk(n, NULL);
}

static void fuzz_one(int fd, uint32_t seq)
{
	struct nlmsghdr barrier = {
		.nlmsg_len = NLMSG_HDRLEN,
		.nlmsg_type = NLMSG_NOOP,
		.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		.nlmsg_seq = seq + 1,
	};
	int64_t t_sent = now_ms();
	struct req r;

	gen_message(&r, seq);
	if (send_raw(fd, m.buf, m.len))
		st.sent++;
	else
		r.want_answer = false;
	/* A separate datagram, so that a wrong nlmsg_len cannot swallow it. */
	if (!send_raw(fd, &barrier, sizeof(barrier)))
		r.barrier_seen = true;
	drain(fd, &r, t_sent);
}

static void fuzz(int fd, long seconds)
{
	int64_t end = now_ms() + seconds * 1000;
	uint32_t seq = 0;

	while (now_ms() < end) {
		seq += 2;
		if (one_in(128))
			toggle_sockopt(fd);
		fuzz_one(fd, seq);
		mc_step();
	}
}

/* --- setup and the final check --- */

/* Without CAP_SYS_ADMIN here, there is none in the initial namespace. */
static bool lacks_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return false;	/* cannot tell: do not check */
	return !(data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN));
}

static int on_status(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MPMU_A_MAX + 1];
	bool *ok = arg;

	if (!genlmsg_parse(nlmsg_hdr(msg), 0, tb, MPMU_A_MAX, NULL) &&
	    tb[MPMU_A_STATUS_ENABLED] && tb[MPMU_A_STATUS_VERSION])
		*ok = true;
	return NL_OK;
}

/* A well-formed GET_STATUS through libnl: is the module still alive? */
static bool status_answers(struct nl_sock *sock)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(sock), .events = POLLIN };
	int64_t end = now_ms() + HANG_MS;
	struct nl_msg *msg = nlmsg_alloc();
	bool ok = false;
	int ret = -NLE_NOMEM;

	nl_socket_disable_auto_ack(sock);
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, on_status, &ok);
	if (msg && genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
			       MPMU_CMD_GET_STATUS, MPMU_GENL_VERSION))
		ret = nl_send_auto(sock, msg);
	if (msg)
		nlmsg_free(msg);
	while (ret >= 0 && !ok && now_ms() < end && poll(&pfd, 1, end - now_ms()) > 0)
		ret = nl_recvmsgs_default(sock);
	if (!ok)
		fprintf(stderr, "nl-fuzz: GET_STATUS: %s\n",
			ret < 0 ? nl_geterror(ret) : "no answer in 5 s");
	return ok;
}

static uint64_t parse_args(int argc, char **argv, long *seconds)
{
	char *end;
	struct timespec ts;
	uint64_t s;

	if (argc < 2 || argc > 3)
		goto usage;
	*seconds = strtol(argv[1], &end, 10);
	if (*end || end == argv[1] || *seconds < 1 || *seconds > 86400)
		goto usage;
	if (argc == 3) {
		errno = 0;
		s = strtoull(argv[2], &end, 10);
		if (*end || end == argv[2] || errno)
			goto usage;
		return s;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
usage:
	fprintf(stderr, "usage: nl-fuzz SECONDS [SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct nl_sock *sock;
	long seconds;
	int fd;

	seed = parse_args(argc, argv, &seconds);
	rng_init(seed);
	printf("nl-fuzz: start seed=%" PRIu64 " seconds=%ld (replay: nl-fuzz %ld %" PRIu64 ")\n",
	       seed, seconds, seconds, seed);
	fflush(stdout);

	sock = nl_socket_alloc();
	if (!sock || genl_connect(sock))
		return fprintf(stderr, "nl-fuzz: no netlink\n"), 2;
	family = genl_ctrl_resolve(sock, MPMU_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "nl-fuzz: netlink family %s not found (%s): module not loaded? try: modprobe mediated_pmu\n",
			MPMU_GENL_NAME, nl_geterror(family));
		nl_socket_free(sock);
		return 2;
	}
	mc_group = genl_ctrl_resolve_grp(sock, MPMU_GENL_NAME, MPMU_GENL_MCGRP_NOTIFY);
	if (mc_group < 0)
		fail("multicast group %s not found: %s", MPMU_GENL_MCGRP_NOTIFY,
		     nl_geterror(mc_group));
	no_sys_admin = lacks_sys_admin();

	fd = open_socket();
	fuzz(fd, seconds);
	close(fd);
	if (mc_fd >= 0)
		close(mc_fd);
	if (!status_answers(sock))
		fail("the module no longer answers GET_STATUS");
	nl_socket_free(sock);

	printf("nl-fuzz: seed=%" PRIu64 " sent=%lu acked=%lu errors=%lu dumps=%lu einval=%lu erange=%lu eopnotsupp=%lu eperm=%lu other=%lu\n",
	       seed, st.sent, st.acked, st.errors, st.dumps, st.einval, st.erange,
	       st.eopnotsupp, st.eperm, st.other);
	return 0;
}
