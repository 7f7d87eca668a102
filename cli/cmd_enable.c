// SPDX-License-Identifier: GPL-2.0
/* mpmuctl enable | disable: arm or disarm arbitration for new VMs. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>

#include "mpmuctl.h"

int cmd_enable_disable(int argc, char **argv, bool enable)
{
	const struct argp argp = {
		.doc = enable ? "Arm arbitration for VMs created from now on." :
				"Disarm arbitration (refused while VMs hold the knob).",
	};
	struct mpmu_client *client;
	int ret;

	client = verb_connect(&argp, argc, argv, NULL, &ret);
	if (!client)
		return ret;
	ret = mpmu_set_enabled(client, enable);
	mpmu_close(client);
	if (ret == -EBUSY) {
		fprintf(stderr, "mpmuctl: Failed to disable arbitration: VMs hold the mediated PMU\n"
			"mpmuctl: see them with: mpmuctl holders\n");
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

int cmd_enable(int argc, char **argv)
{
	return cmd_enable_disable(argc, argv, true);
}
