// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl: see who holds the mediated PMU, what blocks it, and clear it.
 * This file parses the command line up to the verb's own options; one file
 * per verb; main.c runs what was parsed.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpmuctl.h"

struct globals g = { .root = "" };

static const struct command commands[] = {
	{ "status", cmd_status, &status_argp, "knob state, counters and a verdict (default)" },
	{ "holders", cmd_holders, &holders_argp, "VMs holding the knob" },
	{ "events", cmd_events, &events_argp, "include-guest perf events that block VM creation" },
	{ "enable", cmd_enable, &enable_argp, "arm arbitration for new VMs" },
	{ "disable", cmd_disable, &disable_argp, "disarm arbitration (refused while VMs hold it)" },
	{ "drain", cmd_drain, &drain_argp, "make VM creation possible now" },
	{ "restore", cmd_restore, &restore_argp, "undo what drain changed (NMI watchdog)" },
	{ "check", cmd_check, &check_argp, "preflight for a VM start: exit 0 if ready" },
	{ "watch", cmd_watch, &watch_argp, "stream notifications until interrupted" },
	{ NULL, NULL, NULL, NULL },
};

const char *argp_program_version = "mpmuctl " MPMU_TOOLS_VERSION;
const char *argp_program_bug_address = NULL;

static const struct argp_option global_options[] = {
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "pretty", 'p', NULL, 0, "indented JSON (with -j)", 0 },
	{ "quiet", 'q', NULL, 0, "no output, only the exit status", 0 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

/* One parse of a command line; nothing outlives mpmuctl_parse(). */
struct parse {
	struct invocation *inv;
	int verb_argc;		/* the verb and its arguments */
	char **verb_argv;
	FILE *out;		/* where argp answers --help, --usage, --version */
	char *answer;		/* under ARGP_NO_EXIT: what it answered */
	size_t answer_len;
};

/*
 * argp writes to out_stream only to answer --help, --usage and --version,
 * then exits 0.  Under ARGP_NO_EXIT it carries on as if nothing happened:
 * catching the answer is how to know that it was given.
 */
static void redirect_answers(struct parse *p, struct argp_state *state)
{
	if (p->out)
		state->out_stream = p->out;
}

/* A memstream's length is known once flushed; /dev/null's stays 0. */
static bool answered(struct parse *p)
{
	return p->out && !fflush(p->out) && p->answer_len;
}

/*
 * What argp exits with, or would have: 0 once it answered, even if an
 * error follows (under ARGP_NO_EXIT it parses on), else EX_USAGE on error.
 */
static int exit_status(struct parse *p, error_t err)
{
	if (answered(p))
		return 0;
	return err ? EX_USAGE : 0;
}

static error_t parse_global(int key, char *arg, struct argp_state *state)
{
	struct parse *p = state->input;

	(void)arg;
	switch (key) {
	case 'j':
		p->inv->flags.json = true;
		break;
	case 'p':
		p->inv->flags.pretty = true;
		break;
	case 'q':
		p->inv->flags.quiet = true;
		break;
	case ARGP_KEY_INIT:
		redirect_answers(p, state);
		break;
	case ARGP_KEY_ARG:
		/* The command and everything after it belong to the verb. */
		p->verb_argc = state->argc - state->next + 1;
		p->verb_argv = &state->argv[state->next - 1];
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
		   "  75  drain timed out with blocking events left; restore: VMs hold\n"
		   "      the knob, nothing changed (try again later)\n"
		   "  77  permission denied (changes need CAP_SYS_ADMIN; holders, events\n"
		   "      and drain need CAP_SYS_ADMIN or CAP_PERFMON)");
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

/* The verb's argp is a child of this one, which hands it its options. */
static error_t parse_verb_root(int key, char *arg, struct argp_state *state)
{
	struct parse *p = state->input;

	(void)arg;
	if (key != ARGP_KEY_INIT)
		return ARGP_ERR_UNKNOWN;
	state->child_inputs[0] = &p->inv->opts;
	redirect_answers(p, state);
	return 0;
}

static int parse_verb(struct parse *p, const struct command *c, unsigned int flags)
{
	const struct argp_child children[] = {
		{ c->argp, 0, NULL, 0 },
		{ NULL, 0, NULL, 0 },
	};
	const struct argp root = { .parser = parse_verb_root, .children = children };

	/* argp names the program after argv[0]: "mpmuctl drain". */
	snprintf(p->inv->prog, sizeof(p->inv->prog), "mpmuctl %s", c->name);
	p->verb_argv[0] = p->inv->prog;
	/* -q silences what follows it, a verb's --help too. */
	if (p->inv->flags.quiet && !p->out)
		p->out = fopen("/dev/null", "w");
	return exit_status(p, argp_parse(&root, p->verb_argc, p->verb_argv, flags, NULL, p));
}

static const struct command *find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	fprintf(stderr, "mpmuctl: unknown command '%s'; see: mpmuctl --help\n", name);
	return NULL;
}

static int parse_args(struct parse *p, int argc, char **argv, unsigned int flags)
{
	char *default_verb[] = { "status", NULL };
	const struct command *c;
	int ret;

	ret = exit_status(p, argp_parse(&global_argp, argc, argv, ARGP_IN_ORDER | flags, NULL, p));
	if (ret || answered(p))
		return ret;
	if (!p->verb_argc) {
		p->verb_argc = 1;
		p->verb_argv = default_verb;
	}
	c = find_command(p->verb_argv[0]);
	if (!c)
		return EX_USAGE;
	ret = parse_verb(p, c, flags);
	if (!ret && !answered(p))
		p->inv->cmd = c;
	return ret;
}

int mpmuctl_parse(int argc, char **argv, unsigned int flags, struct invocation *inv)
{
	struct parse p = { .inv = inv };
	int ret;

	*inv = (struct invocation) { .cmd = NULL };
	argp_err_exit_status = EX_USAGE;
	if (flags & ARGP_NO_EXIT) {
		p.out = open_memstream(&p.answer, &p.answer_len);
		if (!p.out)
			return EX_USAGE;
	}
	ret = parse_args(&p, argc, argv, flags);
	if (p.out)
		fclose(p.out);
	free(p.answer);
	return ret;
}

int report_dump_error(int err, const char *what, const char *cmd)
{
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr, "mpmuctl: Failed to %s: %s\n"
			"mpmuctl: 'mpmuctl %s' needs " DETAIL_PRIVILEGE " (run as root); "
			"'mpmuctl status' shows the counters to every user\n", what, strerror(-err), cmd);
		return EX_NOPERM;
	}
	return report_error(err, what);
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
		fprintf(stderr, "mpmuctl: Failed to connect to mediated_pmu: the module is not loaded (no netlink family mediated_pmu)\n"
			"mpmuctl: load it as root; try: modprobe mediated_pmu\n");
		*code = EX_UNAVAILABLE;
		return NULL;
	}
	if (err) {
		*code = report_error(err, "connect to mediated_pmu");
		return NULL;
	}
	mpmu_set_root(client, g.root);
	return client;
}
