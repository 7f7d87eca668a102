// SPDX-License-Identifier: GPL-2.0
/*
 * mpmu-native: the test_native suite's driver for what mpmu-probe cannot
 * do: open an event on a PMU by its name (its dynamic type read from
 * sysfs), and hold the kernel's own knob through /dev/mpmu_native (the
 * test stand-in kvm-intel.ko).  Prints "OK" or the errno name.
 *
 *   mpmu-native event PMU [--cpu N] [--exclude-guest] [--hold FILE]
 *                         (per-task on this process unless --cpu)
 *   mpmu-native knob [--hold FILE]
 *
 * --hold FILE: keep the event or the knob, create FILE once it is held,
 * and wait for SIGTERM.  Statically linked, no dependency beyond libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../probe.h"

/* The type perf_pmu_register() gave PMU @name, or -errno. */
static int pmu_type(const char *name)
{
	char path[256];
	FILE *f;
	int type;

	snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/type", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &type) != 1)
		type = -EINVAL;
	fclose(f);
	return type;
}

static int cmd_event(int argc, char **argv)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .disabled = 1 };
	const char *holdfile = NULL;
	int i, type, fd, cpu = -1, pid = 0;

	if (argc < 1)
		return fprintf(stderr, "event: need PMU\n"), 2;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
			cpu = atoi(argv[++i]);
			pid = -1;
		} else if (!strcmp(argv[i], "--exclude-guest")) {
			attr.exclude_guest = 1;
		} else if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
			holdfile = argv[++i];
		} else {
			return fprintf(stderr, "event: bad argument %s\n", argv[i]), 2;
		}
	}
	type = pmu_type(argv[0]);
	if (type < 0)
		return report(-type);
	attr.type = type;
	fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	report(fd < 0 ? errno : 0);
	if (fd < 0)
		return 1;
	if (holdfile)
		hold(holdfile);
	close(fd);
	return 0;
}

static int cmd_knob(int argc, char **argv)
{
	const char *holdfile = NULL;
	int fd;

	if (argc == 2 && !strcmp(argv[0], "--hold"))
		holdfile = argv[1];
	else if (argc != 0)
		return fprintf(stderr, "knob: bad arguments\n"), 2;
	fd = open("/dev/mpmu_native", O_RDONLY | O_CLOEXEC);
	report(fd < 0 ? errno : 0);
	if (fd < 0)
		return 1;
	if (holdfile)
		hold(holdfile);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "event"))
		return cmd_event(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "knob"))
		return cmd_knob(argc - 2, argv + 2);
	fprintf(stderr, "usage: mpmu-native event PMU [--cpu N] [--exclude-guest] [--hold FILE]\n"
		"       mpmu-native knob [--hold FILE]\n");
	return 2;
}
