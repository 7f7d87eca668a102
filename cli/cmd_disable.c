// SPDX-License-Identifier: GPL-2.0
/* mpmuctl disable: the other half of cmd_enable.c. */
#include <argp.h>

#include "mpmuctl.h"

const struct argp disable_argp = {
	.doc = "Disarm arbitration (refused while VMs hold the knob).",
};

int cmd_disable(const union verb_opts *opts)
{
	(void)opts;
	return cmd_enable_disable(false);
}
