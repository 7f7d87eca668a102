// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: mpmuctl's command line, parsed and never run (make
 * check runs as root: a fuzzed drain must signal nobody, a fuzzed restore
 * write nothing).  The input is argv[1..], NUL-separated.  Whatever the
 * words, the parse says 0 or EX_USAGE; 0 names a known verb with every
 * option in its documented range, or that argp answered --help, --usage
 * or --version and nothing is to run.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/mpmuctl.h"

#define MAX_ARGS	64
/*
 * Under ARGP_NO_EXIT argp answers every -? of "-???..." (mpmuctl exits at
 * the first): ~1 ms each under ASan, so 4 KiB of them outlast -timeout=5.
 * Real command lines are far shorter.
 */
#define MAX_INPUT_LEN	256

static const char *const verbs[] = {
	"status", "holders", "events", "enable", "disable",
	"drain", "restore", "check", "watch", NULL,
};

/* Split data on NUL bytes into argv[1..]; 0 if there are too many words. */
static int split_args(char *buf, size_t size, char **argv)
{
	char *p = buf, *end = buf + size;
	int argc = 1;

	argv[0] = "mpmuctl";
	while (size && p <= end) {
		if (argc == MAX_ARGS + 1)
			return 0;
		/*
		 * glibc's argp has a hidden --HANG[=SECS] that sleeps an hour
		 * by default: a timeout of glibc's making, not mpmuctl's.
		 */
		if (!strncmp(p, "--H", 3))
			return 0;
		argv[argc++] = p;
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;
	return argc;
}

static bool known_verb(const char *name)
{
	const char *const *v;

	for (v = verbs; *v; v++)
		if (!strcmp(*v, name))
			return true;
	return false;
}

/*
 * argp answers these and stops there (without ARGP_NO_EXIT, it exits 0):
 * first on the command line, or first after the verb, nothing is to run.
 */
static bool asks_answer(int argc, char **argv)
{
	static const char *const answers[] = { "--help", "-?", "--usage", "--version", "-V", NULL };
	const char *const *a;
	int i = argc > 2 && known_verb(argv[1]) ? 2 : 1;

	for (a = answers; i < argc && *a; a++)
		if (!strcmp(argv[i], *a))
			return true;
	return false;
}

/* The ranges mpmuctl(8) gives: --signal none|term|kill, --timeout 0..3600, --count N > 0. */
static void check_parsed(const struct invocation *inv)
{
	const struct drain_opts *d = &inv->opts.drain;

	if (!known_verb(inv->cmd->name) || !inv->cmd->run || !inv->cmd->argp)
		abort();
	if (!strcmp(inv->cmd->name, "drain") &&
	    ((d->signal && d->signal != SIGTERM && d->signal != SIGKILL) ||
	     !(d->timeout >= 0 && d->timeout <= 3600)))
		abort();
	if (!strcmp(inv->cmd->name, "watch") && inv->opts.watch.count < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* --program-name points these into argv, which is freed below. */
	char *name = program_invocation_name, *short_name = program_invocation_short_name;
	char *argv[MAX_ARGS + 2];
	struct invocation inv;
	char *buf;
	int argc, ret;

	if (size > MAX_INPUT_LEN)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argc = split_args(buf, size, argv);
	if (argc) {
		ret = mpmuctl_parse(argc, argv, ARGP_NO_EXIT, &inv);
		program_invocation_name = name;
		program_invocation_short_name = short_name;
		if ((ret && ret != EX_USAGE) || (ret && inv.cmd))
			abort();
		if (asks_answer(argc, argv) && (ret || inv.cmd))
			abort();
		if (inv.cmd)
			check_parsed(&inv);
	}
	free(buf);
	return 0;
}
