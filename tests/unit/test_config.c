// SPDX-License-Identifier: GPL-2.0
/*
 * Host tier: mpmud's configuration parser (lib/config.c), under ASan and
 * UBSan.  Prints PASS/FAIL per test, then "unit: N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../../lib/config.h"
#include "harness.h"

static char err[MPMU_CONFIG_ERR_LEN];

static int parse(struct mpmu_config *cfg, const char *text)
{
	err[0] = '\0';
	return mpmu_config_parse(cfg, text, strlen(text), "test.conf", err, sizeof(err));
}

static void defaults_are_the_spec_ones(int *okp)
{
	struct mpmu_config c;

	mpmu_config_defaults(&c);
	CHECK(c.arm);
	CHECK(c.drain == MPMU_DRAIN_REPORT);
	CHECK(c.drain_timeout == 10);
	CHECK(c.restore_on_stop);
	CHECK(c.textfile[0] == '\0');
	CHECK(c.log_level == LOG_INFO);
}

static void every_key_parses(int *okp)
{
	struct mpmu_config c;

	mpmu_config_defaults(&c);
	CHECK(!parse(&c, "# comment\n\narm = no\n  drain=kill  \ndrain_timeout = 2.5s\n"
			 "restore_on_stop = no\ntextfile = /var/lib/x.prom\nlog_level = debug\n"));
	CHECK(!c.arm);
	CHECK(c.drain == MPMU_DRAIN_KILL);
	CHECK(c.drain_timeout == 2.5);
	CHECK(!c.restore_on_stop);
	CHECK(!strcmp(c.textfile, "/var/lib/x.prom"));
	CHECK(c.log_level == LOG_DEBUG);
	CHECK(!parse(&c, "textfile =\ndrain_timeout = 7"));	/* no final newline */
	CHECK(c.textfile[0] == '\0');
	CHECK(c.drain_timeout == 7);
}

static void later_value_wins(int *okp)
{
	struct mpmu_config c;

	mpmu_config_defaults(&c);
	CHECK(!parse(&c, "drain = term\ndrain = watchdog\n"));
	CHECK(c.drain == MPMU_DRAIN_WATCHDOG);
}

static void errors_name_file_line_and_change_nothing(int *okp)
{
	struct mpmu_config c, before;

	mpmu_config_defaults(&c);
	before = c;
	CHECK(parse(&c, "arm = no\ndrain = sometimes\n") == -EINVAL);
	CHECK(!strcmp(err, "test.conf:2: drain: 'sometimes' is not one of never, report, watchdog, term, kill"));
	CHECK(!memcmp(&c, &before, sizeof(c)));
	CHECK(parse(&c, "\n\nfrobnicate = 1\n") == -EINVAL);
	CHECK(!strncmp(err, "test.conf:3: unknown key 'frobnicate'", 37));
	CHECK(parse(&c, "arm\n") == -EINVAL);
	CHECK(!strcmp(err, "test.conf:1: expected 'key = value', got 'arm'"));
	CHECK(parse(&c, "arm = maybe\n") == -EINVAL);
	CHECK(parse(&c, "drain_timeout = -1\n") == -EINVAL);
	CHECK(parse(&c, "drain_timeout = 10m\n") == -EINVAL);
	CHECK(parse(&c, "drain_timeout = nan\n") == -EINVAL);
	CHECK(parse(&c, "drain_timeout = 99999\n") == -EINVAL);
	CHECK(parse(&c, "textfile = relative.prom\n") == -EINVAL);
	CHECK(parse(&c, "log_level = loud\n") == -EINVAL);
	CHECK(mpmu_config_parse(&c, "arm = no\0x", 10, "t", err, sizeof(err)) == -EINVAL);
	CHECK(!memcmp(&c, &before, sizeof(c)));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void drop_ins_apply_in_lexical_order(int *okp)
{
	char dir[] = "/tmp/mpmu-conf-XXXXXX", main_conf[128], dropins[128], path[256];
	struct mpmu_config c, before;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(main_conf, sizeof(main_conf), "%s/mpmud.conf", dir);
	snprintf(dropins, sizeof(dropins), "%s/mpmud.conf.d", dir);
	mkdir(dropins, 0755);
	write_file(main_conf, "drain = term\nlog_level = notice\n");
	snprintf(path, sizeof(path), "%s/20-b.conf", dropins);
	write_file(path, "drain = kill\n");
	snprintf(path, sizeof(path), "%s/10-a.conf", dropins);
	write_file(path, "drain = watchdog\narm = no\n");
	snprintf(path, sizeof(path), "%s/30-c.conf.disabled", dropins);
	write_file(path, "drain = never\n");

	mpmu_config_defaults(&c);
	CHECK(!mpmu_config_load(&c, main_conf, dropins, err, sizeof(err)));
	CHECK(c.drain == MPMU_DRAIN_KILL);	/* 20-b after 10-a; .disabled ignored */
	CHECK(!c.arm);
	CHECK(c.log_level == LOG_NOTICE);

	snprintf(path, sizeof(path), "%s/25-bad.conf", dropins);
	write_file(path, "\narm = perhaps\n");
	before = c;
	CHECK(mpmu_config_load(&c, main_conf, dropins, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "25-bad.conf:2: arm: 'perhaps' is not yes or no") != NULL);
	CHECK(!memcmp(&c, &before, sizeof(c)));
}

static void absent_files_mean_defaults(int *okp)
{
	struct mpmu_config c;

	c.arm = false;
	CHECK(!mpmu_config_load(&c, "/nonexistent/mpmud.conf", "/nonexistent/d", err, sizeof(err)));
	CHECK(c.arm && c.drain == MPMU_DRAIN_REPORT);
}

int main(void)
{
	RUN(defaults_are_the_spec_ones);
	RUN(every_key_parses);
	RUN(later_value_wins);
	RUN(errors_name_file_line_and_change_nothing);
	RUN(drop_ins_apply_in_lexical_order);
	RUN(absent_files_mean_defaults);
	return SUMMARY();
}
