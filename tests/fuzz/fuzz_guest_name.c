// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the guest name from a QEMU command line as
 * /proc/PID/cmdline holds it (NUL-separated, possibly cut short).  Found or
 * not, the name is a terminated string within its buffer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/mpmu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[MPMU_GUEST_NAME_LEN];
	int ret;

	memset(name, 'x', sizeof(name));
	ret = mpmu_parse_guest_name((const char *)data, size, name, sizeof(name));
	if (ret == 0 && !memchr(name, '\0', sizeof(name)))
		abort();
	if (ret != 0 && ret != -ENOENT && ret != -ENAMETOOLONG && ret != -EINVAL)
		abort();
	return 0;
}
