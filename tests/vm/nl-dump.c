// SPDX-License-Identifier: GPL-2.0
/*
 * nl-dump: the least a client can do to read the mediated_pmu family's
 * events or holders dump with libnl: the same request as mpmuctl, each
 * message received and validated (nlmsg_parse() against the same sizes),
 * nothing kept, nothing printed but the count.  make bench times
 * "mpmuctl -j events" against it: what mpmuctl adds to reading the data.
 *
 *   nl-dump events|holders     prints the number of messages; exit 1 on error
 */
#include <stdio.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "../../kmod/uapi/mediated_pmu.h"

static int count(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MPMU_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MPMU_A_MAX, NULL) == 0)
		++*(unsigned long *)arg;
	return NL_OK;
}

int main(int argc, char **argv)
{
	struct nl_sock *sock = nl_socket_alloc();
	unsigned long n = 0;
	int family, cmd, ret;

	if (argc != 2 || (strcmp(argv[1], "events") && strcmp(argv[1], "holders")))
		return fprintf(stderr, "usage: nl-dump events|holders\n"), 64;
	cmd = strcmp(argv[1], "events") ? MPMU_CMD_GET_HOLDERS : MPMU_CMD_GET_EVENTS;
	if (!sock || genl_connect(sock))
		return fprintf(stderr, "nl-dump: cannot open a generic netlink socket\n"), 1;
	family = genl_ctrl_resolve(sock, MPMU_GENL_NAME);
	if (family < 0)
		return fprintf(stderr, "nl-dump: no %s family\n", MPMU_GENL_NAME), 1;
	nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, count, &n);
	ret = genl_send_simple(sock, family, cmd, MPMU_GENL_VERSION, NLM_F_DUMP);
	if (ret >= 0)
		ret = nl_recvmsgs_default(sock);
	if (ret < 0 && ret != -NLE_DUMP_INTR)
		return fprintf(stderr, "nl-dump: %s\n", nl_geterror(ret)), 1;
	printf("%lu\n", n);
	nl_socket_free(sock);
	return 0;
}
