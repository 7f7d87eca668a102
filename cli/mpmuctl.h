/* SPDX-License-Identifier: GPL-2.0 */
/* mpmuctl: what the verbs share. */
#ifndef MPMUCTL_H
#define MPMUCTL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sysexits.h>

#include "../lib/mpmu.h"

#define EXIT_REFUSED	1	/* the operation was refused or failed */

struct globals {
	bool json;
	bool pretty;
	bool quiet;
	bool color;
	const char *root;	/* prefix for /proc and /run (tests) */
};
extern struct globals g;

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* Connect, or print why not and return the exit code through *code. */
struct mpmu_client *connect_or_report(int *code);
/* Parse a verb's options, then connect; NULL with the exit code in *code. */
struct argp;
struct mpmu_client *verb_connect(const struct argp *argp, int argc, char **argv,
				 void *input, int *code);
/* Print "mpmuctl: Failed to <what>: <reason>" and a hint; return the exit code. */
int report_error(int err, const char *what);
/* Parse a verb's options; returns 0, or an exit code. */
int parse_verb(const struct argp *argp, int argc, char **argv, void *input);

/* Output: one path for humans and JSON. */
struct out_col {
	const char *key;
	const char *head;
};
void out_object(json_object *obj, const struct out_col *fields);
int out_label_width(const struct out_col *fields);
void out_table(json_object *rows, const struct out_col *cols);
void out_json(json_object *obj);
const char *out_color(const char *code);

/* Shared object builders. */
json_object *status_json(const struct mpmu_status *st);
bool status_ready(const struct mpmu_status *st);
json_object *event_json(const struct mpmu_event *e);
extern const struct out_col event_cols[];

int cmd_status(int argc, char **argv);
int cmd_holders(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_enable_disable(int argc, char **argv, bool enable);
int cmd_drain(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif /* MPMUCTL_H */
