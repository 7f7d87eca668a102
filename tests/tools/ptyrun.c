// SPDX-License-Identifier: GPL-2.0
/*
 * ptyrun: run a command with its stdout and stderr on a pseudo-terminal and
 * copy what it writes to our stdout, so that tests can see how a program
 * behaves on a terminal (colour) without script(1)'s dependence on stdin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096];
	ssize_t len;
	int master, status;
	pid_t pid;

	if (argc < 2)
		return fprintf(stderr, "usage: ptyrun COMMAND [ARGS...]\n"), 2;
	pid = forkpty(&master, NULL, NULL, NULL);
	if (pid < 0)
		return perror("ptyrun: forkpty"), 2;
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("ptyrun: exec");
		_exit(127);
	}
	/* EIO on the master means the child closed its side: all is read. */
	while ((len = read(master, buf, sizeof(buf))) > 0 || (len < 0 && errno == EINTR))
		if (len > 0 && fwrite(buf, 1, len, stdout) != (size_t)len)
			break;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}
