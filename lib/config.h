/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mpmud's configuration (SPEC §5): "key = value" lines, "#" comment lines,
 * blank lines; /etc/mpmud.conf, then /etc/mpmud.conf.d/[*].conf in lexical
 * order, a later value winning.  Parsing is all-or-nothing: on an error the
 * caller's configuration is left as it was.
 */
#ifndef MPMU_CONFIG_H
#define MPMU_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum mpmu_drain_policy {
	MPMU_DRAIN_NEVER,	/* do nothing */
	MPMU_DRAIN_REPORT,	/* log the blockers only */
	MPMU_DRAIN_WATCHDOG,	/* NMI watchdog off */
	MPMU_DRAIN_TERM,	/* watchdog off, SIGTERM the owners */
	MPMU_DRAIN_KILL,	/* watchdog off, SIGKILL the owners */
};

struct mpmu_config {
	bool arm;
	enum mpmu_drain_policy drain;
	double drain_timeout;		/* seconds */
	bool restore_on_stop;
	char textfile[PATH_MAX];	/* "" = off */
	int log_level;			/* syslog priority: LOG_ERR .. LOG_DEBUG */
};

#define MPMU_CONFIG_FILE	"/etc/mpmud.conf"
#define MPMU_CONFIG_DIR		"/etc/mpmud.conf.d"
#define MPMU_CONFIG_ERR_LEN	512

void mpmu_config_defaults(struct mpmu_config *cfg);
/* One file's text, applied over *cfg; -EINVAL with "FILE:LINE: ..." in err. */
int mpmu_config_parse(struct mpmu_config *cfg, const char *text, size_t len,
		      const char *file, char *err, size_t errlen);
/* Defaults, then @file (may be absent), then @dir/[*].conf in order. */
int mpmu_config_load(struct mpmu_config *cfg, const char *file, const char *dir,
		     char *err, size_t errlen);
const char *mpmu_drain_policy_name(enum mpmu_drain_policy policy);
const char *mpmu_log_level_name(int level);
/* "10", "2.5s": 0 to 3600 seconds (drain_timeout, mpmuctl drain --timeout). */
int mpmu_parse_seconds(const char *value, double *out);

#endif /* MPMU_CONFIG_H */
