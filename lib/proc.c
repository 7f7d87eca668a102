// SPDX-License-Identifier: GPL-2.0
/*
 * /proc and /run: guest names from QEMU command lines, the NMI watchdog
 * sysctl, and the value drain saved for restore.  @root prefixes every path
 * ("" on a real host) so that tests can point it at a scratch tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpmu.h"

#define NMI_WATCHDOG	"/proc/sys/kernel/nmi_watchdog"
#define SAVED_DIR	"/run/mpmu"
#define SAVED_WATCHDOG	SAVED_DIR "/nmi_watchdog"

/* Copy the NAME of "-name NAME" or "-name guest=NAME,opt=..." into @name. */
static int name_from_option(const char *opt, char *name, size_t size)
{
	const char *start = opt, *end;

	if (!strncmp(opt, "guest=", 6))
		start = opt + 6;
	else if (strchr(opt, '=') && strncmp(opt, "guest=", 6))
		return -ENOENT;		/* only sub-options, no name */
	/* QEMU escapes a comma in a value as ",,"; stop at a single one. */
	for (end = start; *end; end++) {
		if (*end == ',' && end[1] != ',')
			break;
		if (*end == ',')
			end++;
	}
	if (end == start)
		return -ENOENT;
	if ((size_t)(end - start) >= size)
		return -ENAMETOOLONG;
	memcpy(name, start, end - start);
	name[end - start] = '\0';
	/* Undo the ",," escapes. */
	for (char *p = name; (p = strstr(p, ",,")); p++)
		memmove(p, p + 1, strlen(p + 1) + 1);
	return 0;
}

/*
 * @cmdline is /proc/PID/cmdline: NUL-separated arguments, @len bytes.
 * libvirt passes "-name guest=NAME,debug-threads=on"; people "-name NAME".
 */
int mpmu_parse_guest_name(const char *cmdline, size_t len, char *name, size_t size)
{
	const char *arg = cmdline, *end = cmdline + len, *next;

	while (arg < end) {
		next = memchr(arg, '\0', end - arg);
		if (!next)
			return -ENOENT;	/* a read cut short: no whole argument left */
		next++;
		if ((!strcmp(arg, "-name") || !strcmp(arg, "--name")) && next < end &&
		    memchr(next, '\0', end - next))
			return name_from_option(next, name, size);
		arg = next;
	}
	return -ENOENT;
}

int mpmu_guest_name(pid_t pid, char *name, size_t size)
{
	char path[64], buf[8192];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return mpmu_parse_guest_name(buf, len, name, size);
}

static int read_int(const char *path, int *value)
{
	char buf[32], *end;
	ssize_t len;
	long v;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || errno || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*value = (int)v;
	return 0;
}

static int write_int(const char *path, int value, int flags)
{
	char buf[32];
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", value);
	if (write(fd, buf, len) != len)
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

static void join(char *out, size_t size, const char *root, const char *path)
{
	snprintf(out, size, "%s%s", root, path);
}

int mpmu_nmi_watchdog_get(const char *root, int *value)
{
	char path[PATH_MAX];

	join(path, sizeof(path), root, NMI_WATCHDOG);
	return read_int(path, value);
}

int mpmu_nmi_watchdog_set(const char *root, int value)
{
	char path[PATH_MAX];

	join(path, sizeof(path), root, NMI_WATCHDOG);
	return write_int(path, value, 0);
}

int mpmu_saved_watchdog_get(const char *root, int *value)
{
	char path[PATH_MAX];

	join(path, sizeof(path), root, SAVED_WATCHDOG);
	return read_int(path, value);
}

/* Keep the first saved value: a second drain must not overwrite it with 0. */
int mpmu_saved_watchdog_put(const char *root, int value)
{
	char path[PATH_MAX];
	int ret;

	join(path, sizeof(path), root, "/run");
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	join(path, sizeof(path), root, SAVED_DIR);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	join(path, sizeof(path), root, SAVED_WATCHDOG);
	ret = write_int(path, value, O_CREAT | O_EXCL);
	return ret == -EEXIST ? 0 : ret;
}

int mpmu_saved_watchdog_clear(const char *root)
{
	char path[PATH_MAX];

	join(path, sizeof(path), root, SAVED_WATCHDOG);
	return unlink(path) ? -errno : 0;
}
