// SPDX-License-Identifier: GPL-2.0
/* mpmuctl enable | disable: arm or disarm arbitration for new VMs. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>

#include "mpmuctl.h"

const struct argp enable_argp = {
	.doc = "Arm arbitration for VMs created from now on.",
};

int cmd_enable_disable(bool enable)
{
	struct mpmu_client *client;
	int ret;

	client = connect_or_report(&ret);
	if (!client)
		return ret;
	ret = mpmu_set_enabled(client, enable);
	mpmu_close(client);
	if (ret == -EBUSY) {
		fprintf(stderr, "mpmuctl: Failed to disable arbitration: VMs hold the mediated PMU\n"
			"mpmuctl: see them with: mpmuctl holders\n");
		return EXIT_REFUSED;
	}
	if (ret == -EOPNOTSUPP) {
		fprintf(stderr, "mpmuctl: Failed to %s arbitration: KVM uses the kernel's own mediated PMU knob (observe mode), which has no switch\n"
			"mpmuctl: load kvm_amd/kvm_intel with enable_mediated_pmu=N to have this module arbitrate\n",
			enable ? "enable" : "disable");
		return EXIT_REFUSED;
	}
	if (ret)
		return report_error(ret, enable ? "enable arbitration" : "disable arbitration");
	if (g.json) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "enabled", json_object_new_boolean(enable));
		out_json(obj);
		json_object_put(obj);
	} else {
		printf("arbitration %s\n", enable ? "enabled" : "disabled");
	}
	return 0;
}

int cmd_enable(const union verb_opts *opts)
{
	(void)opts;
	return cmd_enable_disable(true);
}
