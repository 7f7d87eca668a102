// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl: see who holds the mediated PMU, what blocks it, and clear it.
 * This file parses the global options and dispatches; one file per verb.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpmuctl.h"


struct globals g = { .root = "" };

static const struct command commands[] = {
	{ "status", cmd_status, "knob state, counters and a verdict (default)" },
	{ "holders", cmd_holders, "VMs holding the knob" },
	{ "events", cmd_events, "include-guest perf events that block VM creation" },
	{ "enable", cmd_enable, "arm arbitration for new VMs" },
	{ "disable", cmd_disable, "disarm arbitration (refused while VMs hold it)" },
	{ "drain", cmd_drain, "make VM creation possible now" },
	{ "restore", cmd_restore, "undo what drain changed (NMI watchdog)" },
	{ "check", cmd_check, "preflight for a VM start: exit 0 if ready" },
	{ "watch", cmd_watch, "stream notifications until interrupted" },
	{ NULL, NULL, NULL },
};

const char *argp_program_version = "mpmuctl " MPMU_TOOLS_VERSION;
const char *argp_program_bug_address = NULL;

static const struct argp_option global_options[] = {
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "pretty", 'p', NULL, 0, "indented JSON (with -j)", 0 },
	{ "quiet", 'q', NULL, 0, "no output, only the exit status", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static int verb_argc;
static char **verb_argv;

static error_t parse_global(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	switch (key) {
	case 'j':
		g.json = true;
		break;
	case 'p':
		g.pretty = true;
		break;
	case 'q':
		g.quiet = true;
		break;
	case ARGP_KEY_ARG:
		/* The command and everything after it belong to the verb. */
		verb_argc = state->argc - state->next + 1;
		verb_argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static char *global_help(int key, const char *text, void *input)
{
	const struct command *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)input;
	if (key != ARGP_KEY_HELP_POST_DOC)
		return (char *)text;
	f = open_memstream(&buf, &len);
	if (!f)
		return (char *)text;
	fprintf(f, "Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->help);
	fprintf(f, "\n'mpmuctl COMMAND --help' shows a command's options.\n\n"
		   "Exit status:\n"
		   "  0   success; check: a VM would get the knob now\n"
		   "  1   refused or failed; check: not ready\n"
		   "  64  usage error\n"
		   "  69  the mediated_pmu module is not loaded\n"
		   "  75  drain timed out with blocking events left\n"
		   "  77  permission denied (changes need CAP_SYS_ADMIN)");
	fclose(f);
	return buf;
}

static const struct argp global_argp = {
	.options = global_options,
	.parser = parse_global,
	.args_doc = "[COMMAND [ARGS...]]",
	.doc = "Show and control the mediated_pmu knob.\v",
	.help_filter = global_help,
};

/* argp exits by itself: 0 after --help, EX_USAGE (64) on a bad option. */
int parse_verb(const struct argp *argp, int argc, char **argv, void *input)
{
	return argp_parse(argp, argc, argv, 0, NULL, input) ? EX_USAGE : 0;
}

int report_error(int err, const char *what)
{
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr, "mpmuctl: Failed to %s: %s\n"
			"mpmuctl: changes need CAP_SYS_ADMIN: run as root\n", what, strerror(-err));
		return EX_NOPERM;
	}
	fprintf(stderr, "mpmuctl: Failed to %s: %s\n", what, strerror(-err));
	return EXIT_REFUSED;
}

struct mpmu_client *connect_or_report(int *code)
{
	struct mpmu_client *client = NULL;
	int err = mpmu_open(&client);

	if (err == -ENOENT) {
		fprintf(stderr, "mpmuctl: Failed to connect to mediated_pmu: the netlink family is missing\n"
			"mpmuctl: is the mediated_pmu module loaded? try: modprobe mediated_pmu\n");
		*code = EX_UNAVAILABLE;
		return NULL;
	}
	if (err) {
		*code = report_error(err, "connect to mediated_pmu");
		return NULL;
	}
	return client;
}

struct mpmu_client *verb_connect(const struct argp *argp, int argc, char **argv,
				 void *input, int *code)
{
	*code = parse_verb(argp, argc, argv, input);
	return *code ? NULL : connect_or_report(code);
}

/* Output goes nowhere with -q; errors still go to stderr. */
static void apply_quiet(void)
{
	if (g.quiet && !freopen("/dev/null", "w", stdout))
		g.quiet = false;
}

int main(int argc, char **argv)
{
	char *default_verb[] = { "status", NULL };
	static char verb_name[32];
	const struct command *c;
	int ret;

	argp_err_exit_status = EX_USAGE;
	ret = argp_parse(&global_argp, argc, argv, ARGP_IN_ORDER, NULL, NULL);
	if (ret)
		return EX_USAGE;
	if (!verb_argc) {
		verb_argc = 1;
		verb_argv = default_verb;
	}
	g.color = !g.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (getenv("MPMU_ROOT"))
		g.root = getenv("MPMU_ROOT");
	apply_quiet();

	for (c = commands; c->name; c++) {
		if (strcmp(c->name, verb_argv[0]))
			continue;
		/* argp names the program after argv[0]: "mpmuctl drain". */
		snprintf(verb_name, sizeof(verb_name), "mpmuctl %s", c->name);
		verb_argv[0] = verb_name;
		return c->run(verb_argc, verb_argv);
	}
	fprintf(stderr, "mpmuctl: unknown command '%s'; see: mpmuctl --help\n", verb_argv[0]);
	return EX_USAGE;
}
