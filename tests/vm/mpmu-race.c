// SPDX-License-Identifier: GPL-2.0
/*
 * mpmu-race: the hardening tests' tools, each driving a real kernel path.
 *
 *   mpmu-race open-window READY RELEASE
 *	Holds a perf_event_open() between the LSM hook and the event's
 *	install, for real: a thread's PERF_EVENT_IOC_SET_FILTER copies its
 *	argument from a userfaultfd page while it holds the target task's
 *	context mutex, so a second thread's perf_event_open() of an
 *	include-guest cpu-clock event on that task passes the hook and then
 *	waits for that mutex.  Writes READY (a file) once the opener waits
 *	there; when RELEASE exists, resolves the fault, prints "OPENED" once
 *	the event is live, and keeps it until killed.
 *   mpmu-race orphan-copies READY FORK EXIT
 *	Opens an inherited include-guest event on itself, forks B (B gets a
 *	copy and the fd) and exits: the original is then in no context
 *	(PERF_EVENT_STATE_EXIT), kept by B's fd and copy.  B writes READY,
 *	forks C when FORK exists (C gets a copy of the original and the fd),
 *	prints "C <pid>", and exits when EXIT exists.  C waits to be killed.
 *   mpmu-race loop-open READY
 *	Calls perf_event_open() with an attr it refuses at once, in a loop,
 *	as fast as it can; writes READY once looping.  Its saved syscall
 *	number names perf_event_open nearly all the time.
 *   mpmu-race status-in-fifo-root
 *	chroot into a fresh directory where /proc/sys/kernel/nmi_watchdog is
 *	a FIFO (as any user can in a user namespace), then GET_STATUS;
 *	prints "OK <ms>" or the error.  A handler that opened that path
 *	would block here.
 *   mpmu-race dump CMD
 *	One genetlink dump (holders, events, rejections): "OK <n>" or the
 *	errno name.
 *   mpmu-race perfmon-exec PROG ARGS...
 *	Run PROG as nobody with CAP_PERFMON as its only capability.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../kmod/uapi/mediated_pmu.h"

static void die(const char *what)
{
	fprintf(stderr, "mpmu-race: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int perf_open(pid_t pid, int exclude_guest)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.exclude_guest = exclude_guest,
	};

	return syscall(SYS_perf_event_open, &attr, pid, -1, -1, 0);
}

/* --- open-window --- */

static int filter_fd;
static char *fault_page;
static int opened_fd = -1, opened_err;
static volatile pid_t opener_tid;

static void *set_filter(void *arg)
{
	(void)arg;
	ioctl(filter_fd, PERF_EVENT_IOC_SET_FILTER, fault_page);
	return NULL;
}

static void *open_event(void *arg)
{
	pid_t target = *(pid_t *)arg;

	opener_tid = syscall(SYS_gettid);
	opened_fd = perf_open(target, 0);
	opened_err = errno;
	return NULL;
}

/* The thread's state letter in /proc/self/task/TID/stat. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return '?';
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	if (fd < 0)
		die(path);
	close(fd);
}

static int open_window(const char *ready, const char *release)
{
	long page_size = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_copy copy = { 0 };
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	struct uffd_msg msg;
	pthread_t filter_thread, open_thread;
	pid_t target;
	char *zeros;
	int uffd, i;

	target = fork();
	if (target < 0)
		die("fork");
	if (!target) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	filter_fd = perf_open(target, 1);
	if (filter_fd < 0)
		die("perf_event_open (exclude-guest)");

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		die("userfaultfd");
	fault_page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zeros = calloc(1, page_size);
	if (fault_page == MAP_FAILED || !zeros)
		die("mmap");
	reg.range.start = (unsigned long)fault_page;
	reg.range.len = page_size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");

	/* The filter's copy faults with the target's context mutex held. */
	pthread_create(&filter_thread, NULL, set_filter, NULL);
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		die("waiting for the fault");

	/* The opener passes the LSM hook, then sleeps on that mutex (D). */
	pthread_create(&open_thread, NULL, open_event, &target);
	for (i = 0; i < 3000; i++) {
		if (opener_tid && thread_state(opener_tid) == 'D')
			break;
		nanosleep(&tick, NULL);
	}
	if (i == 3000) {
		fprintf(stderr, "mpmu-race: the opener never waited on the context mutex\n");
		return 1;
	}
	touch(ready);

	while (access(release, F_OK))
		nanosleep(&tick, NULL);
	copy.dst = (unsigned long)fault_page;
	copy.src = (unsigned long)zeros;
	copy.len = page_size;
	if (ioctl(uffd, UFFDIO_COPY, &copy))
		die("UFFDIO_COPY");
	pthread_join(filter_thread, NULL);
	pthread_join(open_thread, NULL);
	if (opened_fd < 0) {
		printf("FAILED %s\n", strerror(opened_err));
		return 1;
	}
	printf("OPENED\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* --- orphan-copies --- */

static void wait_for(const char *path)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	while (access(path, F_OK))
		nanosleep(&tick, NULL);
}

static int orphan_copies(const char *ready, const char *fork_now, const char *exit_now)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.inherit = 1,
	};
	pid_t original = getpid(), b, c;
	char path[64];
	int fd;

	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0)
		die("perf_event_open (inherit)");
	b = fork();
	if (b < 0)
		die("fork");
	if (b)
		return 0;	/* the original's task exits */

	/* B: wait until the original's task has exited (a zombie is enough). */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)original);
	for (;;) {
		char buf[256], *p;
		int sfd = open(path, O_RDONLY);
		ssize_t n;

		if (sfd < 0)
			break;
		n = read(sfd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(sfd);
		p = strrchr(buf, ')');
		if (p && p[1] && (p[2] == 'Z' || p[2] == 'X'))
			break;
		usleep(10000);
	}
	touch(ready);
	wait_for(fork_now);
	c = fork();
	if (c < 0)
		die("fork");
	if (!c) {
		for (;;)
			pause();
	}
	printf("C %d\nB %d\n", (int)c, (int)getpid());
	fflush(stdout);
	wait_for(exit_now);
	return 0;
}

/* --- loop-open --- */

static int loop_open(const char *ready)
{
	struct perf_event_attr attr = { .type = ~0U, .size = sizeof(attr) };
	long fd;

	touch(ready);
	do
		fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	while (fd < 0);
	return 1;	/* no PMU has type ~0: never reached */
}

/* --- netlink --- */

static struct nl_sock *genl_connect_family(int *family)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk || genl_connect(sk))
		die("genl_connect");
	*family = genl_ctrl_resolve(sk, MPMU_GENL_NAME);
	if (*family < 0) {
		fprintf(stderr, "mpmu-race: no family %s\n", MPMU_GENL_NAME);
		exit(69);
	}
	return sk;
}

static int count_msg(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

static int request(int cmd, int flags)
{
	struct nl_sock *sk;
	struct nl_msg *msg;
	int family, n = 0, err;

	sk = genl_connect_family(&family);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, count_msg, &n);
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd,
		    MPMU_GENL_VERSION);
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
	nlmsg_free(msg);
	nl_socket_free(sk);
	if (err == -NLE_PERM)
		printf("EPERM\n");
	else if (err < 0)
		printf("ERROR %s\n", nl_geterror(err));
	else
		printf("OK %d\n", n);
	return err < 0;
}

static int status_in_fifo_root(void)
{
	char root[] = "/tmp/fifo-root-XXXXXX", path[128];
	struct timespec t0, t1;
	int ret;

	if (!mkdtemp(root))
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	strcat(path, "/sys");
	mkdir(path, 0755);
	strcat(path, "/kernel");
	mkdir(path, 0755);
	strcat(path, "/nmi_watchdog");
	if (mkfifo(path, 0644))
		die("mkfifo");
	/* The socket is made outside: only path lookups change with the root. */
	if (chroot(root) || chdir("/"))
		die("chroot");
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = request(MPMU_CMD_GET_STATUS, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "GET_STATUS took %ld ms\n",
		(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return ret;
}

static int dump(const char *what)
{
	int cmd = !strcmp(what, "holders") ? MPMU_CMD_GET_HOLDERS :
		  !strcmp(what, "events") ? MPMU_CMD_GET_EVENTS :
		  !strcmp(what, "rejections") ? MPMU_CMD_GET_REJECTIONS : -1;

	if (cmd < 0) {
		fprintf(stderr, "mpmu-race: dump holders|events|rejections\n");
		return 64;
	}
	return request(cmd, NLM_F_DUMP);
}

/* nobody, with CAP_PERFMON kept across setuid and exec (ambient). */
static int perfmon_exec(char **argv)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	int idx = CAP_PERFMON / 32;
	unsigned int bit = 1U << (CAP_PERFMON % 32);

	if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		die("setuid nobody");
	data[idx].effective = data[idx].permitted = data[idx].inheritable = bit;
	if (syscall(SYS_capset, &hdr, data) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_PERFMON, 0, 0))
		die("CAP_PERFMON");
	execv(argv[0], argv);
	die(argv[0]);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "open-window"))
		return open_window(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "orphan-copies"))
		return orphan_copies(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "loop-open"))
		return loop_open(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "status-in-fifo-root"))
		return status_in_fifo_root();
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return dump(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "perfmon-exec"))
		return perfmon_exec(argv + 2);
	fprintf(stderr, "usage: mpmu-race open-window READY RELEASE | orphan-copies READY FORK EXIT |\n"
			"       loop-open READY | status-in-fifo-root |\n"
			"       dump holders|events|rejections | perfmon-exec PROG ARGS...\n");
	return 64;
}
