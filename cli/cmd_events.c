// SPDX-License-Identifier: GPL-2.0
/* mpmuctl events: the include-guest events that block VM creation. */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpmuctl.h"

const struct out_col event_cols[] = {
	{ "owner_pid", "PID" },
	{ "owner_text", "OWNER" },
	{ "where", "CPU/TASK" },
	{ "pmu", "PMU" },
	{ "type", "TYPE" },
	{ "config_hex", "CONFIG" },
	{ "pinned", "PINNED" },
	{ NULL, NULL },
};

json_object *event_json(const struct mpmu_event *e)
{
	json_object *o = json_object_new_object();
	char buf[32];

	json_object_object_add(o, "owner_pid", e->owner_pid ?
			       json_object_new_int(e->owner_pid) : NULL);
	json_object_object_add(o, "owner_comm", json_object_new_string(e->owner_comm));
	json_object_object_add(o, "owner_start", e->owner_start_known ?
			       json_object_new_uint64(e->owner_start) : NULL);
	json_object_object_add(o, "owner_gone", json_object_new_boolean(e->owner_gone));
	json_object_object_add(o, "kernel", json_object_new_boolean(e->kernel));
	json_object_object_add(o, "cpu", json_object_new_int(e->cpu));
	json_object_object_add(o, "target_pid", json_object_new_int(e->target_pid));
	json_object_object_add(o, "pmu", json_object_new_string(e->pmu));
	json_object_object_add(o, "type", json_object_new_int64(e->type));
	json_object_object_add(o, "config", json_object_new_uint64(e->config));
	json_object_object_add(o, "pinned", json_object_new_boolean(e->pinned));
	if (!g.json) {
		/* The kernel names an exited opener "?": say what that means. */
		json_object_object_add(o, "owner_text", json_object_new_string(
			e->owner_gone ? "(exited)" : e->owner_comm));
		if (e->cpu >= 0)
			snprintf(buf, sizeof(buf), "cpu %d", e->cpu);
		else
			snprintf(buf, sizeof(buf), "task %d", e->target_pid);
		json_object_object_add(o, "where", json_object_new_string(buf));
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)e->config);
		json_object_object_add(o, "config_hex", json_object_new_string(buf));
	}
	return o;
}

const struct argp events_argp = {
	.doc = "List the include-guest perf events that block VM creation.",
};

int cmd_events(const union verb_opts *opts)
{
	struct mpmu_client *client;
	struct mpmu_event *list;
	json_object *rows;
	size_t nr, i;
	int ret;

	(void)opts;
	client = connect_or_report(&ret);
	if (!client)
		return ret;
	ret = mpmu_get_events(client, &list, &nr);
	mpmu_close(client);
	if (ret)
		return report_dump_error(ret, "list the events", "events");

	rows = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(rows, event_json(&list[i]));
	free(list);
	out_table(rows, event_cols);
	json_object_put(rows);
	return 0;
}
