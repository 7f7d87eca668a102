// SPDX-License-Identifier: GPL-2.0
/*
 * mpmuctl's main(): parse the command line, then run the verb.  Kept apart
 * from the parser so that tests/fuzz/fuzz_mpmuctl_args.c links the parser
 * and never a way to run anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpmuctl.h"

/* Output goes nowhere with -q; errors still go to stderr. */
static void apply_quiet(void)
{
	if (g.quiet && !freopen("/dev/null", "w", stdout))
		g.quiet = false;
}

int main(int argc, char **argv)
{
	struct invocation inv;
	int ret;

	ret = mpmuctl_parse(argc, argv, 0, &inv);
	if (ret || !inv.cmd)
		return ret;
	g = inv.flags;
	g.color = !g.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	g.root = getenv("MPMU_ROOT") ? getenv("MPMU_ROOT") : "";
	apply_quiet();
	return inv.cmd->run(&inv.opts);
}
