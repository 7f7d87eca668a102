// SPDX-License-Identifier: GPL-2.0
/* mpmuctl disable: the other half of cmd_enable.c. */
#include "mpmuctl.h"


int cmd_disable(int argc, char **argv)
{
	return cmd_enable_disable(argc, argv, false);
}
