/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the guest's test drivers (mpmu-probe, mpmu-native) share: one
 * result line per call ("OK" or the errno's name, which the suites
 * compare), and the --hold protocol (create FILE once the resource is
 * held, then wait for SIGTERM).  Static inline: each driver is one file
 * with this header, and one that leaves a function unused still builds
 * with -Werror.
 */
#ifndef MPMU_PROBE_H
#define MPMU_PROBE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline const char *errname(int err)
{
	switch (err) {
	case 0: return "OK";
	case EBUSY: return "EBUSY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENODEV: return "ENODEV";
	default: return strerror(err);
	}
}

static inline int report(int err)
{
	printf("%s\n", errname(err));
	fflush(stdout);
	return err ? 1 : 0;
}

static volatile sig_atomic_t stop;

static inline void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Signal readiness through @file, then wait for SIGTERM. */
static inline void hold(const char *file)
{
	sigset_t mask, old;
	int fd;

	signal(SIGTERM, on_term);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	while (!stop)
		sigsuspend(&old);
}

#endif
