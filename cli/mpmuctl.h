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

/* The options of the verbs that have some; their argp parsers fill them. */
struct drain_opts {
	int signal;		/* 0: none, report only */
	double timeout;		/* seconds, 0 to 3600 */
	bool dry_run;
};

struct watch_opts {
	long count;		/* stop after this many; 0: never */
};

union verb_opts {
	struct drain_opts drain;
	struct watch_opts watch;
};

struct argp;
struct command {
	const char *name;
	int (*run)(const union verb_opts *opts);
	const struct argp *argp;	/* the verb's options, ARGS and --help */
	const char *help;
};

/* A command line, parsed: what main() runs, with which options. */
struct invocation {
	const struct command *cmd;	/* NULL: argp answered --help, --usage or --version */
	struct globals flags;		/* -j, -p, -q; main() adds color and root */
	union verb_opts opts;
	char prog[32];			/* "mpmuctl drain", as argp names the verb */
};

/*
 * Parse global options, find the verb, parse its options; run nothing.
 * Returns 0 or EX_USAGE.  flags go to argp_parse(): without ARGP_NO_EXIT,
 * argp exits as mpmuctl always has (0 after --help, EX_USAGE on an error).
 */
int mpmuctl_parse(int argc, char **argv, unsigned int flags, struct invocation *inv);

/*
 * For a verb's argp parser: argp_error() exits, except under ARGP_NO_EXIT,
 * where the parse must fail all the same.
 */
#define usage_error(state, ...)	(argp_error(state, __VA_ARGS__), EINVAL)

/* Connect, or print why not and return the exit code through *code. */
struct mpmu_client *connect_or_report(int *code);
/* Print "mpmuctl: Failed to <what>: <reason>" and a hint; return the exit code. */
int report_error(int err, const char *what);
/*
 * The same for a dump of per-process detail (holders, events, refusals),
 * which needs CAP_SYS_ADMIN or CAP_PERFMON: @cmd names the verb.
 */
int report_dump_error(int err, const char *what, const char *cmd);
#define DETAIL_PRIVILEGE	"CAP_SYS_ADMIN or CAP_PERFMON"

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
json_object *event_json(const struct mpmu_event *e);
json_object *holder_json(const struct mpmu_holder *h);
extern const struct out_col event_cols[];

extern const struct argp status_argp, holders_argp, events_argp, enable_argp,
	disable_argp, drain_argp, restore_argp, check_argp, watch_argp;
int cmd_status(const union verb_opts *opts);
int cmd_holders(const union verb_opts *opts);
int cmd_events(const union verb_opts *opts);
int cmd_enable(const union verb_opts *opts);
int cmd_disable(const union verb_opts *opts);
int cmd_enable_disable(bool enable);
int cmd_drain(const union verb_opts *opts);
int cmd_restore(const union verb_opts *opts);
int cmd_check(const union verb_opts *opts);
int cmd_watch(const union verb_opts *opts);

#endif /* MPMUCTL_H */
