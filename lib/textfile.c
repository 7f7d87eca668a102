// SPDX-License-Identifier: GPL-2.0
/*
 * The Prometheus textfile of SPEC §5a, for node-exporter's textfile
 * collector: written to a temporary file in the same directory, then
 * renamed over the old one, so that a scrape never reads half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpmu.h"

static void metric(FILE *f, const char *name, const char *type, const char *help,
		   uint64_t value)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
		name, help, name, type, name, value);
}

/* Label values escape backslash, double quote and newline. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

int mpmu_textfile_format(FILE *f, const struct mpmu_status *st, uint64_t drains)
{
	metric(f, "mediated_pmu_enabled", "gauge",
	       "1 when arbitration is armed for new VMs.", st->enabled);
	metric(f, "mediated_pmu_refcount", "gauge",
	       "VMs holding the mediated PMU knob.", st->refcount);
	metric(f, "mediated_pmu_include_guest_events", "gauge",
	       "Live include-guest perf events on guarded PMUs (they block VM creation).",
	       st->include_guest_events);
	metric(f, "mediated_pmu_unmanaged_vms", "gauge",
	       "VMs that exist but hold no reference.", st->unmanaged_vms);
	metric(f, "mediated_pmu_rejected_vms_total", "counter",
	       "VM creations refused since the module was loaded.", st->rejected_vms);
	metric(f, "mediated_pmu_rejected_events_total", "counter",
	       "Perf event creations refused since the module was loaded.",
	       st->rejected_events);
	metric(f, "mediated_pmu_drains_total", "counter",
	       "Drains run by mpmud since it started.", drains);
	fputs("# HELP mediated_pmu_info The module's version and mode.\n"
	      "# TYPE mediated_pmu_info gauge\nmediated_pmu_info{version=\"", f);
	label_value(f, st->version);
	fprintf(f, "\",mode=\"%s\"} 1\n", mpmu_mode_name(st->mode));
	return ferror(f) ? -EIO : 0;
}

int mpmu_textfile_write(const char *path, const struct mpmu_status *st, uint64_t drains)
{
	char tmp[PATH_MAX + 16];
	FILE *f;
	int fd, ret;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	ret = mpmu_textfile_format(f, st, drains);
	if (fchmod(fd, 0644) && !ret)
		ret = -errno;
	if (fflush(f) && !ret)
		ret = -errno;
	if (fsync(fd) && !ret)
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
