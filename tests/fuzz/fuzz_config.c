// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: mpmud's configuration parser (SPEC §5).  Whatever the
 * text, parsing either succeeds with every value in its range, or fails
 * with a "FILE:LINE: ..." message and the configuration untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "../../lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpmu_config cfg, before;
	char err[MPMU_CONFIG_ERR_LEN] = "";

	mpmu_config_defaults(&cfg);
	before = cfg;
	if (mpmu_config_parse(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof(err))) {
		if (memcmp(&cfg, &before, sizeof(cfg)) || strncmp(err, "fuzz.conf:", 10))
			abort();
		return 0;
	}
	if (cfg.drain > MPMU_DRAIN_KILL || !(cfg.drain_timeout >= 0 && cfg.drain_timeout <= 3600) ||
	    cfg.log_level < LOG_ERR || cfg.log_level > LOG_DEBUG ||
	    memchr(cfg.textfile, '\0', sizeof(cfg.textfile)) == NULL ||
	    (cfg.textfile[0] && cfg.textfile[0] != '/'))
		abort();
	return 0;
}
