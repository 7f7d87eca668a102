// SPDX-License-Identifier: GPL-2.0
/* mpmuctl restore: undo what drain changed that can be undone. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>

#include "mpmuctl.h"

const struct argp restore_argp = {
	.doc = "Turn the NMI watchdog back to the value drain saved (refused while VMs hold the knob).",
};

int cmd_restore(const union verb_opts *opts)
{
	struct mpmu_client *client;
	json_object *obj;
	int ret, value;

	(void)opts;
	/* Without the module nothing can refuse the watchdog's counters. */
	if (mpmu_open(&client))
		client = NULL;
	ret = mpmu_watchdog_restore(client, g.root, &value);
	mpmu_close(client);
	if (ret == -EBUSY) {
		fprintf(stderr, "mpmuctl: Failed to restore the NMI watchdog: VMs hold the mediated PMU, so its counters would be refused\n"
			"mpmuctl: nothing changed; run 'mpmuctl restore' again once 'mpmuctl holders' is empty\n");
		return EX_TEMPFAIL;
	}
	if (ret == -ENOENT) {
		if (g.json) {
			obj = json_object_new_object();
			json_object_object_add(obj, "restored", json_object_new_boolean(false));
			out_json(obj);
			json_object_put(obj);
		} else {
			printf("restore: nothing to restore (drain saved nothing)\n");
		}
		return 0;
	}
	if (ret)
		return report_error(ret, "restore the NMI watchdog");

	if (g.json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "restored", json_object_new_boolean(true));
		json_object_object_add(obj, "nmi_watchdog", json_object_new_int(value));
		out_json(obj);
		json_object_put(obj);
	} else {
		printf("restore: NMI watchdog set back to %d\n", value);
	}
	return 0;
}
