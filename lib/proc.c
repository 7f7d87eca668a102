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
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpmu.h"

#define NMI_WATCHDOG	"/proc/sys/kernel/nmi_watchdog"
#define SAVED_DIR	"/run/mpmu"
#define SAVED_WATCHDOG	SAVED_DIR "/nmi_watchdog"

/*
 * Copy the next comma-separated field of a QEMU option value from *@pos into
 * @buf, undoing the ",," escape of a literal comma.  Returns its length, or
 * -ENAMETOOLONG, or -ENOENT at the end.
 */
static int next_field(const char **pos, char *buf, size_t size)
{
	const char *p = *pos;
	size_t len = 0;

	if (!*p)
		return -ENOENT;
	for (; *p; p++) {
		if (*p == ',' && p[1] != ',')
			break;
		if (*p == ',')
			p++;
		if (len + 1 >= size)
			return -ENAMETOOLONG;
		buf[len++] = *p;
	}
	buf[len] = '\0';
	*pos = *p ? p + 1 : p;
	return (int)len;
}

/*
 * The guest name in the value of -name: "NAME[,opt=...]" (the implied key
 * is guest) or "guest=NAME" among other "key=value" fields.
 */
static int name_from_option(const char *opt, char *name, size_t size)
{
	const char *pos = opt;
	bool first = true;
	int len;

	while ((len = next_field(&pos, name, size)) >= 0) {
		if (first && len && !strchr(name, '='))
			return 0;
		first = false;
		if (!strncmp(name, "guest=", 6) && name[6]) {
			memmove(name, name + 6, strlen(name + 6) + 1);
			return 0;
		}
	}
	return len == -ENAMETOOLONG ? len : -ENOENT;
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

/* Read up to @size - 1 bytes of a small file, NUL-terminated: length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0)
		len = -errno;
	close(fd);
	if (len >= 0)
		buf[len] = '\0';
	return len;
}

int mpmu_guest_name(pid_t pid, char *name, size_t size)
{
	char path[64], buf[8192];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return len;
	return mpmu_parse_guest_name(buf, len, name, size);
}

static int read_int(const char *path, int *value)
{
	char buf[32], *end;
	ssize_t len;
	long v;

	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return len;
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
	ssize_t done;
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", value);
	done = write(fd, buf, len);
	if (done < 0)
		ret = -errno;
	else if (done != len)
		ret = -EIO;	/* a short write sets no errno */
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

/*
 * Keep the first saved value: a second drain must not overwrite it with 0.
 * The value is written to a temporary file and linked into place, so that
 * the saved file is never seen empty or half written.
 */
int mpmu_saved_watchdog_put(const char *root, int value)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int ret;

	join(path, sizeof(path), root, "/run");
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	join(path, sizeof(path), root, SAVED_DIR);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	join(path, sizeof(path), root, SAVED_WATCHDOG);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	ret = write_int(tmp, value, O_CREAT | O_TRUNC);
	if (!ret && link(tmp, path) && errno != EEXIST)
		ret = -errno;
	unlink(tmp);
	return ret;
}

int mpmu_saved_watchdog_clear(const char *root)
{
	char path[PATH_MAX];

	join(path, sizeof(path), root, SAVED_WATCHDOG);
	return unlink(path) ? -errno : 0;
}

/*
 * "pid (comm) state ppid pgrp session tty_nr tpgid flags ... starttime ..."
 * comm is whatever the process named itself (prctl(PR_SET_NAME) takes any
 * byte but NUL): it may hold spaces, '(' , ')' and newlines, so it ends at
 * the last ')' of the line (every later field is a number).
 */
#define STAT_FLAGS	9
#define STAT_STARTTIME	22

/* The next space-separated decimal field; negative only if @is_signed. */
static bool next_number(const char **pos, const char *end, bool is_signed,
			unsigned long long *value)
{
	const char *p = *pos;
	char num[32];
	size_t n = 0;
	char *stop;

	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '-' && is_signed)
		num[n++] = *p++;
	while (p < end && *p >= '0' && *p <= '9' && n + 1 < sizeof(num))
		num[n++] = *p++;
	if (!n || num[n - 1] == '-' || (p < end && *p != ' ' && *p != '\n'))
		return false;
	num[n] = '\0';
	errno = 0;
	*value = num[0] == '-' ? (unsigned long long)strtoll(num, &stop, 10) :
				 strtoull(num, &stop, 10);
	if (errno || *stop)
		return false;
	*pos = p;
	return true;
}

int mpmu_parse_proc_stat(const char *buf, size_t len, struct mpmu_proc_stat *ps)
{
	const char *end = buf + len, *lparen, *rparen, *p;
	unsigned long long v;
	size_t n;
	int field;

	memset(ps, 0, sizeof(*ps));
	p = buf;
	if (!next_number(&p, end, false, &v) || !v || v > INT_MAX)
		return -EINVAL;
	ps->pid = (pid_t)v;
	lparen = memchr(p, '(', end - p);
	rparen = memrchr(p, ')', end - p);
	if (!lparen || lparen != p + 1 || !rparen || rparen < lparen)
		return -EINVAL;
	n = rparen - lparen - 1;
	if (n >= sizeof(ps->comm))
		n = sizeof(ps->comm) - 1;
	memcpy(ps->comm, lparen + 1, n);
	ps->comm[n] = '\0';
	p = rparen + 1;
	if (end - p < 3 || p[0] != ' ' || p[1] == ' ' || p[2] != ' ')
		return -EINVAL;
	ps->state = p[1];
	p += 2;
	/* Fields 4 (ppid) to 22 (starttime): some are signed (tpgid, nice). */
	for (field = 4; field <= STAT_STARTTIME; field++) {
		if (!next_number(&p, end, field != STAT_FLAGS && field != STAT_STARTTIME, &v))
			return -EINVAL;
		if (field == 4) {
			if (v > INT_MAX)
				return -EINVAL;
			ps->ppid = (pid_t)v;
		} else if (field == STAT_FLAGS) {
			ps->flags = (unsigned long)v;
		} else if (field == STAT_STARTTIME) {
			ps->starttime = v;
		}
	}
	return 0;
}

int mpmu_proc_stat(pid_t pid, struct mpmu_proc_stat *ps)
{
	char path[64], buf[2048];
	ssize_t len;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	len = read_small(path, buf, sizeof(buf));
	if (len < 0)
		return len == -ESRCH ? -ENOENT : (int)len;
	return mpmu_parse_proc_stat(buf, len, ps);
}
