// SPDX-License-Identifier: GPL-2.0
/* mpmuctl holders: the VMs holding the knob. */
#include <argp.h>
#include <stdlib.h>
#include <time.h>

#include "mpmuctl.h"

static const struct out_col holder_cols[] = {
	{ "pid", "PID" },
	{ "comm", "COMMAND" },
	{ "guest_name", "GUEST" },
	{ "vm_id", "VM" },
	{ "since_text", "SINCE" },
	{ NULL, NULL },
};

json_object *holder_json(const struct mpmu_holder *h)
{
	json_object *o = json_object_new_object();
	char name[MPMU_GUEST_NAME_LEN], since[32];
	time_t t = (time_t)h->created;
	struct tm tm;

	json_object_object_add(o, "pid", json_object_new_int(h->pid));
	json_object_object_add(o, "comm", json_object_new_string(h->comm));
	json_object_object_add(o, "guest_name", mpmu_guest_name(h->pid, name, sizeof(name)) ?
			       NULL : json_object_new_string(name));
	json_object_object_add(o, "vm_id", json_object_new_uint64(h->vm_id));
	json_object_object_add(o, "since", json_object_new_uint64(h->created));
	if (!g.json) {
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		json_object_object_add(o, "since_text", json_object_new_string(since));
	}
	return o;
}

const struct argp holders_argp = { .doc = "List the VMs holding the knob." };

int cmd_holders(const union verb_opts *opts)
{
	struct mpmu_client *client;
	struct mpmu_holder *list;
	json_object *rows;
	size_t nr, i;
	int ret;

	(void)opts;
	client = connect_or_report(&ret);
	if (!client)
		return ret;
	ret = mpmu_get_holders(client, &list, &nr);
	mpmu_close(client);
	if (ret)
		return report_dump_error(ret, "list the holders", "holders");

	rows = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(rows, holder_json(&list[i]));
	free(list);
	out_table(rows, holder_cols);
	json_object_put(rows);
	return 0;
}
