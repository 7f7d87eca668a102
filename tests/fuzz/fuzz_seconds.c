// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the seconds parser of drain_timeout and
 * "mpmuctl drain --timeout" (a command-line argument).  Accepted values are
 * in 0..3600; a refused one leaves the output alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *arg = malloc(size + 1);
	double v = -1;

	if (!arg)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	if (!mpmu_parse_seconds(arg, &v)) {
		if (!(v >= 0 && v <= 3600))
			abort();
	} else if (v != -1) {
		abort();
	}
	free(arg);
	return 0;
}
