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
	{ "event", "EVENT" },
	{ "pinned", "PINNED" },
	{ NULL, NULL },
};

/* For -p, the text table and drain's report: lib's JSON as json-c objects. */
json_object *event_json(const struct mpmu_event *e)
{
	char line[MPMU_EVENT_JSON_MAX], buf[32];
	json_object *o;

	mpmu_event_json(line, e);
	o = json_tokener_parse(line);
	if (!o || g.json)
		return o;
	/* The kernel names an exited opener "?": say what that means. */
	json_object_object_add(o, "owner_text", json_object_new_string(
		e->owner_gone ? "(exited)" : e->owner_comm));
	if (e->cpu >= 0)
		snprintf(buf, sizeof(buf), "cpu %d", e->cpu);
	else
		snprintf(buf, sizeof(buf), "task %d", e->target_pid);
	json_object_object_add(o, "where", json_object_new_string(buf));
	return o;
}

/* -j: tens of thousands of events, written as they are encoded. */
static void stream_events(const struct mpmu_event *list, size_t nr)
{
	char line[MPMU_EVENT_JSON_MAX];
	size_t i;

	putchar('[');
	for (i = 0; i < nr; i++) {
		if (i)
			putchar(',');
		fwrite(line, 1, mpmu_event_json(line, &list[i]), stdout);
	}
	puts("]");
	fflush(stdout);
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

	if (g.json && !g.pretty) {
		stream_events(list, nr);
		free(list);
		return 0;
	}
	rows = json_object_new_array();
	for (i = 0; i < nr; i++)
		json_object_array_add(rows, event_json(&list[i]));
	free(list);
	out_table(rows, event_cols);
	json_object_put(rows);
	return 0;
}
