// SPDX-License-Identifier: GPL-2.0
/*
 * nl-bad: send malformed messages to the mediated_pmu family and check that
 * each gets an EINVAL-class error (or EPERM/EOPNOTSUPP where that is the
 * rule).  Prints "OK <case>" or "FAIL <case>: <what>" per case; exit 1 on a
 * failure.  The caller checks that the module's state did not change.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "../../kmod/uapi/mediated_pmu.h"

static struct nl_sock *sock;
static int family, failures, kernel_error;

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	(void)nla;
	(void)arg;
	kernel_error = err->error;
	return NL_STOP;
}

/* Send @msg; return the kernel's errno (0 for an ACK), negative. */
static int send_recv(struct nl_msg *msg)
{
	int ret;

	kernel_error = 1;
	ret = nl_send_auto(sock, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	while (kernel_error == 1) {
		ret = nl_recvmsgs_default(sock);
		if (ret < 0 && kernel_error == 1)
			return -EIO;
	}
	return kernel_error;
}

static struct nl_msg *new_msg(uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags | NLM_F_ACK, cmd,
		    MPMU_GENL_VERSION);
	return msg;
}

static void expect(const char *name, struct nl_msg *msg, int want1, int want2)
{
	int got = send_recv(msg);

	if (got == -want1 || got == -want2) {
		printf("OK %s\n", name);
		return;
	}
	printf("FAIL %s: got %s (%d)\n", name, strerror(-got), got);
	failures++;
}

int main(int argc, char **argv)
{
	struct nl_msg *msg;
	struct nlattr *attr;
	char big[300];
	uint32_t u32 = 1;

	(void)argv;
	sock = nl_socket_alloc();
	if (!sock || genl_connect(sock))
		return fprintf(stderr, "nl-bad: no netlink\n"), 2;
	family = genl_ctrl_resolve(sock, MPMU_GENL_NAME);
	if (family < 0)
		return fprintf(stderr, "nl-bad: family missing\n"), 2;
	nl_socket_modify_err_cb(sock, NL_CB_CUSTOM, on_error, NULL);
	nl_socket_disable_auto_ack(sock);

	if (argc > 1) {		/* as an unprivileged user: only the change */
		msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
		nla_put_u8(msg, MPMU_A_CONFIG_ENABLED, 0);
		expect("set_config_unprivileged", msg, EPERM, EPERM);
		return failures ? 1 : 0;
	}

	expect("unknown_command", new_msg(99, 0), EOPNOTSUPP, EOPNOTSUPP);
	expect("set_config_without_attributes", new_msg(MPMU_CMD_SET_CONFIG, 0),
	       EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put(msg, MPMU_A_CONFIG_ENABLED, sizeof(u32), &u32);
	expect("enabled_with_wrong_length", msg, EINVAL, ERANGE);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_u8(msg, MPMU_A_CONFIG_ENABLED, 2);
	expect("enabled_out_of_range", msg, EINVAL, ERANGE);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put(msg, MPMU_A_CONFIG_GUARDED_PMUS, 8, "software");	/* no NUL */
	expect("guarded_pmus_not_terminated", msg, EINVAL, ERANGE);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_string(msg, MPMU_A_CONFIG_GUARDED_PMUS, big);
	expect("guarded_pmus_oversized", msg, EINVAL, ERANGE);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_string(msg, MPMU_A_CONFIG_GUARDED_PMUS, "nosuchpmu");
	expect("guarded_pmus_unknown_name", msg, EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_u32(msg, MPMU_A_MAX + 50, 1);
	expect("unknown_attribute_type", msg, EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_u32(msg, MPMU_A_STATUS_REFCOUNT, 0);
	expect("attribute_of_another_command", msg, EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_SET_CONFIG, 0);
	nla_put_u8(msg, MPMU_A_CONFIG_ENABLED, 0);
	attr = (struct nlattr *)((char *)nlmsg_data(nlmsg_hdr(msg)) + GENL_HDRLEN);
	attr->nla_len = 200;	/* runs past the message */
	expect("attribute_longer_than_message", msg, EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_GET_STATUS, 0);
	nla_put_u8(msg, MPMU_A_CONFIG_ENABLED, 0);
	expect("get_status_with_an_attribute", msg, EINVAL, EINVAL);

	msg = new_msg(MPMU_CMD_GET_STATUS, 0);
	((struct genlmsghdr *)nlmsg_data(nlmsg_hdr(msg)))->reserved = 1;
	expect("reserved_header_field_set", msg, EINVAL, EINVAL);

	expect("dump_of_a_doit_command", new_msg(MPMU_CMD_GET_STATUS, NLM_F_DUMP),
	       EOPNOTSUPP, EINVAL);
	expect("doit_of_a_dump_command", new_msg(MPMU_CMD_GET_EVENTS, 0),
	       EOPNOTSUPP, EINVAL);

	nl_socket_free(sock);
	return failures ? 1 : 0;
}
