// SPDX-License-Identifier: GPL-2.0
/* mpmud's configuration files: see config.h and mpmud.conf(5). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"

#define MAX_FILE_SIZE	(64 * 1024)
#define MAX_TIMEOUT	3600.0

static const char *const drain_names[] = {
	[MPMU_DRAIN_NEVER] = "never",
	[MPMU_DRAIN_REPORT] = "report",
	[MPMU_DRAIN_WATCHDOG] = "watchdog",
	[MPMU_DRAIN_TERM] = "term",
	[MPMU_DRAIN_KILL] = "kill",
};

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "err", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

const char *mpmu_drain_policy_name(enum mpmu_drain_policy policy)
{
	return policy <= MPMU_DRAIN_KILL ? drain_names[policy] : "?";
}

const char *mpmu_log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "?";
}

void mpmu_config_defaults(struct mpmu_config *cfg)
{
	*cfg = (struct mpmu_config){
		.arm = true,
		.drain = MPMU_DRAIN_REPORT,
		.drain_timeout = 10,
		.restore_on_stop = true,
		.log_level = LOG_INFO,
	};
}

static int parse_bool(const char *value, bool *out)
{
	if (!strcmp(value, "yes"))
		*out = true;
	else if (!strcmp(value, "no"))
		*out = false;
	else
		return -1;
	return 0;
}

int mpmu_parse_seconds(const char *value, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (end == value || errno || !isfinite(v) || v < 0 || v > MAX_TIMEOUT)
		return -1;
	if (*end == 's')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* Apply one "key = value"; on error, describe it in @why. */
static int apply(struct mpmu_config *cfg, const char *key, const char *value,
		 char *why, size_t size)
{
	size_t i;

	if (!strcmp(key, "arm") || !strcmp(key, "restore_on_stop")) {
		if (!parse_bool(value, !strcmp(key, "arm") ? &cfg->arm : &cfg->restore_on_stop))
			return 0;
		snprintf(why, size, "%s: '%s' is not yes or no", key, value);
		return -1;
	}
	if (!strcmp(key, "drain")) {
		for (i = 0; i < sizeof(drain_names) / sizeof(drain_names[0]); i++)
			if (!strcmp(value, drain_names[i])) {
				cfg->drain = i;
				return 0;
			}
		snprintf(why, size, "drain: '%s' is not one of never, report, watchdog, term, kill",
			 value);
		return -1;
	}
	if (!strcmp(key, "drain_timeout")) {
		if (!mpmu_parse_seconds(value, &cfg->drain_timeout))
			return 0;
		snprintf(why, size, "drain_timeout: '%s' is not a number of seconds from 0 to 3600 (e.g. 10 or 10s)",
			 value);
		return -1;
	}
	if (!strcmp(key, "textfile")) {
		if (!*value || (value[0] == '/' && strlen(value) < sizeof(cfg->textfile))) {
			snprintf(cfg->textfile, sizeof(cfg->textfile), "%s", value);
			return 0;
		}
		snprintf(why, size, "textfile: '%s' is not an absolute path (or empty for off)", value);
		return -1;
	}
	if (!strcmp(key, "log_level")) {
		for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
			if (!strcmp(value, log_levels[i].name)) {
				cfg->log_level = log_levels[i].level;
				return 0;
			}
		snprintf(why, size, "log_level: '%s' is not one of err, warning, notice, info, debug",
			 value);
		return -1;
	}
	snprintf(why, size,
		 "unknown key '%s' (known: arm, drain, drain_timeout, restore_on_stop, textfile, log_level)",
		 key);
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

int mpmu_config_parse(struct mpmu_config *cfg, const char *text, size_t len,
		      const char *file, char *err, size_t errlen)
{
	struct mpmu_config next = *cfg;
	char why[300], *copy, *line, *save = NULL, *eq, *key;
	unsigned int lineno = 0;
	const char *p;
	int ret = 0;

	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text file", file);
		return -EINVAL;
	}
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	/* strtok_r would skip empty lines and miscount: walk by hand. */
	for (line = copy, p = copy; p; line = save) {
		p = strchr(line, '\n');
		save = p ? (char *)p + 1 : NULL;
		if (p)
			*(char *)p = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value', got '%.60s'",
				 file, lineno, key);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		if (apply(&next, trim(key), trim(eq + 1), why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
			ret = -EINVAL;
			break;
		}
	}
	free(copy);
	if (!ret)
		*cfg = next;
	return ret;
}

static int parse_file(struct mpmu_config *cfg, const char *path, bool optional,
		      char *err, size_t errlen)
{
	char *buf;
	ssize_t len;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(MAX_FILE_SIZE + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	len = read(fd, buf, MAX_FILE_SIZE + 1);
	ret = len < 0 ? -errno : 0;
	close(fd);
	if (!ret && len > MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, MAX_FILE_SIZE);
		ret = -EFBIG;
	} else if (ret) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
	} else {
		ret = mpmu_config_parse(cfg, buf, len, path, err, errlen);
	}
	free(buf);
	return ret;
}

static int conf_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 5 && !strcmp(d->d_name + len - 5, ".conf");
}

int mpmu_config_load(struct mpmu_config *cfg, const char *file, const char *dir,
		     char *err, size_t errlen)
{
	struct mpmu_config next;
	struct dirent **names = NULL;
	char path[PATH_MAX];
	int i, n, ret;

	mpmu_config_defaults(&next);
	ret = parse_file(&next, file, true, err, errlen);
	n = ret ? 0 : scandir(dir, &names, conf_filter, alphasort);
	if (n < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot list: %s", dir, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (!ret) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			ret = parse_file(&next, path, false, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	if (!ret)
		*cfg = next;
	return ret;
}
