// SPDX-License-Identifier: GPL-2.0
/*
 * mpmu-probe: the guest-side driver of the VM tests.  Each verb does one
 * real thing through the real syscalls and prints the outcome as "OK" or
 * the errno name, so that shell tests can assert on it.
 *
 *   mpmu-probe vm [--type N] [--hold FILE] [-name NAME]  (-name: as QEMU has it)
 *   mpmu-probe events N [--fifo] --hold FILE   (N per-task include-guest
 *                    events; --fifo: opened by a SCHED_FIFO task on CPU 0)
 *   mpmu-probe event [--cpu N] [--pid P] [--exclude-guest] [--exclude-host]
 *                    [--pmu software|tracepoint] [--config N] [--inherit]
 *                    [--hold FILE]
 *   mpmu-probe pin PID CPU       (bind a task, a kernel thread too, to CPU)
 *   mpmu-probe vfork-hold N FILE (N inherited events, then vfork(): the
 *                    child creates FILE and exits once FILE is gone)
 *   mpmu-probe fork-child FILE   (with an inherited event held: fork works)
 *   mpmu-probe stress SECONDS [--flip ENABLED_FILE]
 *   mpmu-probe write FILE VALUE  (one write(2); prints OK or the errno name)
 *   mpmu-probe read FILE         (prints the content, or the errno name)
 *   mpmu-probe sysfs-fuzz SECONDS FILE...  (random writes; values stay valid)
 *   mpmu-probe bench-open N [--exclude-guest]  (median ns per perf_event_open+close)
 *   mpmu-probe bench-vm N                      (median ns per KVM_CREATE_VM)
 *   mpmu-probe vms N --hold FILE   (up to N VMs in one process; prints how many)
 *   mpmu-probe time PROGRAM ARGS...  (wall ms of a run, its output discarded)
 *   mpmu-probe as-nobody VERB ...      (uid/gid 65534, no groups)
 *   mpmu-probe exec PROGRAM ARGS...    (run a program, after the prefixes)
 *   mpmu-probe no-sys-admin VERB ...   (root without CAP_SYS_ADMIN)
 *   mpmu-probe in-userns VERB ...      (root of a new user namespace)
 *   mpmu-probe reuse-pid --hold FILE   (an event whose opener exited, its PID
 *                                       given to a new process of the same name)
 *   mpmu-probe run-holding PROGRAM ARGS...   (hold an event, run PROGRAM as a
 *                                             child, exit with its status)
 *   mpmu-probe exec-holding PROGRAM ARGS...  (hold an event, become PROGRAM)
 *
 * --hold FILE: keep the VM or event, create FILE once it exists, and wait
 * for SIGTERM.  Statically linked, no dependency beyond libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Returns a VM fd, or -errno. */
static int vm_create(unsigned long type)
{
	int kvm, vm;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -errno;
	vm = ioctl(kvm, KVM_CREATE_VM, type);
	if (vm < 0)
		vm = -errno;
	close(kvm);
	return vm;
}

struct event_spec {
	int cpu;
	int pid;
	bool exclude_guest;
	bool exclude_host;
	bool inherit;
	unsigned int type;
	unsigned long long config;
};

static int tracepoint_id(void)
{
	static const char *paths[] = {
		"/sys/kernel/tracing/events/sched/sched_switch/id",
		"/sys/kernel/debug/tracing/events/sched/sched_switch/id",
	};
	unsigned int i;
	int id = -1;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && id < 0; i++) {
		FILE *f = fopen(paths[i], "r");

		if (f) {
			if (fscanf(f, "%d", &id) != 1)
				id = -1;
			fclose(f);
		}
	}
	return id;
}

/* Returns an event fd, or -errno. */
static int event_open(const struct event_spec *spec)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = spec->type,
		.config = spec->config,
		.disabled = 1,
		.exclude_guest = spec->exclude_guest,
		.exclude_host = spec->exclude_host,
		.inherit = spec->inherit,
	};
	int fd;

	fd = syscall(SYS_perf_event_open, &attr, spec->pid, spec->cpu, -1,
		     PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int cmd_vm(int argc, char **argv)
{
	unsigned long type = 0;
	const char *holdfile = NULL;
	int i, vm;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--type") && i + 1 < argc)
			type = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			holdfile = argv[++i];
		else if (!strcmp(argv[i], "-name") && i + 1 < argc)
			i++;	/* only for mpmuctl holders to find in cmdline */
		else
			return fprintf(stderr, "vm: bad argument %s\n", argv[i]), 2;
	}
	vm = vm_create(type);
	report(vm < 0 ? -vm : 0);
	if (vm < 0)
		return 1;
	if (holdfile)
		hold(holdfile);
	close(vm);
	return 0;
}

static int parse_event(int argc, char **argv, struct event_spec *spec,
		       const char **holdfile)
{
	int i;

	*spec = (struct event_spec){ .cpu = -1, .pid = 0,
				     .type = PERF_TYPE_SOFTWARE,
				     .config = PERF_COUNT_SW_CPU_CLOCK };
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
			spec->cpu = atoi(argv[++i]);
			spec->pid = -1;
		} else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			spec->pid = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--exclude-guest")) {
			spec->exclude_guest = true;
		} else if (!strcmp(argv[i], "--exclude-host")) {
			spec->exclude_host = true;
		} else if (!strcmp(argv[i], "--inherit")) {
			spec->inherit = true;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			spec->config = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--pmu") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "tracepoint")) {
				spec->type = PERF_TYPE_TRACEPOINT;
				spec->config = tracepoint_id();
			} else if (strcmp(argv[i], "software")) {
				return fprintf(stderr, "event: unknown pmu %s\n", argv[i]), -1;
			}
		} else if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
			*holdfile = argv[++i];
		} else {
			return fprintf(stderr, "event: bad argument %s\n", argv[i]), -1;
		}
	}
	return 0;
}

static int cmd_event(int argc, char **argv)
{
	const char *holdfile = NULL;
	struct event_spec spec;
	int fd;

	if (parse_event(argc, argv, &spec, &holdfile))
		return 2;
	fd = event_open(&spec);
	report(fd < 0 ? -fd : 0);
	if (fd < 0)
		return 1;
	if (holdfile)
		hold(holdfile);
	close(fd);
	return 0;
}

/*
 * Many per-task events at once, for the netlink dumps.  With --fifo, in a
 * loop that no normal task on CPU 0 can interrupt, nor the module's
 * record-pool worker there (its real-time priority is lower).
 */
static int cmd_events(int argc, char **argv)
{
	struct event_spec spec = { .cpu = -1, .pid = 0, .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_PAGE_FAULTS };
	struct sched_param sp = { .sched_priority = 10 };
	bool fifo = argc == 4 && !strcmp(argv[1], "--fifo");
	struct rlimit rl;
	cpu_set_t cpu0;
	int i, n, fd;

	if (fifo) {	/* N --fifo --hold FILE: as N --hold FILE */
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc != 3 || strcmp(argv[1], "--hold"))
		return fprintf(stderr, "events: need N [--fifo] --hold FILE\n"), 2;
	if (fifo) {
		CPU_ZERO(&cpu0);
		CPU_SET(0, &cpu0);
		if (sched_setaffinity(0, sizeof(cpu0), &cpu0) ||
		    sched_setscheduler(0, SCHED_FIFO, &sp))
			return report(errno);
	}
	n = atoi(argv[0]);
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < n; i++) {
		fd = event_open(&spec);
		if (fd < 0)
			return report(-fd);
	}
	report(0);
	hold(argv[2]);
	return 0;
}

/* Bind a task (a kernel thread too) to one CPU. */
static int cmd_pin(int argc, char **argv)
{
	cpu_set_t cpu;

	if (argc != 2)
		return fprintf(stderr, "pin: need PID CPU\n"), 2;
	CPU_ZERO(&cpu);
	CPU_SET(atoi(argv[1]), &cpu);
	return report(sched_setaffinity(atoi(argv[0]), sizeof(cpu), &cpu) ? errno : 0);
}

/*
 * The parent's vfork() copies N inherited events, taking N records in one
 * syscall, and returns only once the child has exited: the module's
 * refill queued on the parent stays pending that long.  The child makes
 * system calls only (no stdio: it shares the parent's memory).
 */
static int cmd_vfork_hold(int argc, char **argv)
{
	struct event_spec spec = { .cpu = -1, .pid = 0, .inherit = true,
				   .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_PAGE_FAULTS };
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 50000000L };
	struct rlimit rl;
	int i, n, fd, status;
	pid_t child;

	if (argc != 2)
		return fprintf(stderr, "vfork-hold: need N FILE\n"), 2;
	n = atoi(argv[0]);
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < n; i++) {
		fd = event_open(&spec);
		if (fd < 0)
			return report(-fd);
	}
	child = vfork();
	if (child == 0) {
		fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
		while (!access(argv[1], F_OK))
			nanosleep(&tick, NULL);
		_exit(0);
	}
	if (child < 0)
		return report(errno);
	waitpid(child, &status, 0);
	return report(0);
}

/* An inherited per-task event is held; fork() must work and copy it. */
static int cmd_fork_child(int argc, char **argv)
{
	struct event_spec spec = { .cpu = -1, .pid = 0, .inherit = true,
				   .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_TASK_CLOCK };
	int fd, status;
	pid_t child;

	if (argc != 1)
		return fprintf(stderr, "fork-child: need FILE\n"), 2;
	fd = event_open(&spec);
	if (fd < 0)
		return report(-fd);
	child = fork();
	if (child < 0)
		return report(errno);
	if (child == 0) {
		hold(argv[0]);
		_exit(0);
	}
	printf("OK %d\n", child);
	fflush(stdout);
	waitpid(child, &status, 0);
	close(fd);
	return 0;
}

/*
 * Stress: every kind of user of the knob races on both vCPUs.  VM threads
 * and include-guest event threads each try, while holding their own
 * resource, to take the other one; a forked child of an inherited event
 * tries to create a VM; any success is a violation of the invariant.
 * Exclude-guest events must never be refused.  With --flip FILE, a thread
 * flips `enabled` 0/1 meanwhile: a VM created while it may be 0 holds no
 * knob, so flip_seq (odd while `enabled` may be 0) tells which successes
 * are violations.
 */
struct stress {
	atomic_long vms, events, forks, excluded, flips, flip_busy;
	atomic_long vm_refused, event_refused, violations;
	atomic_uint flip_seq;
	const char *enabled_file;
	time_t deadline;
};

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	nanosleep(&ts, NULL);
}

static bool stress_running(const struct stress *s)
{
	return time(NULL) < s->deadline;
}

/* `enabled` was 1 from the read of @seq until now: a new VM holds the knob. */
static bool armed_since(struct stress *s, unsigned int seq)
{
	return !(seq & 1) && seq == atomic_load(&s->flip_seq);
}

static void violation(struct stress *s, const char *what)
{
	atomic_fetch_add(&s->violations, 1);
	fprintf(stderr, "VIOLATION: %s\n", what);
}

static struct event_spec stress_event(unsigned int n)
{
	struct event_spec spec = { .type = PERF_TYPE_SOFTWARE };

	/* Alternate system-wide cpu-clock and per-task page-faults. */
	if (n % 2) {
		spec.cpu = n % 4 / 2;
		spec.pid = -1;
		spec.config = PERF_COUNT_SW_CPU_CLOCK;
	} else {
		spec.cpu = -1;
		spec.pid = 0;
		spec.config = PERF_COUNT_SW_PAGE_FAULTS;
	}
	return spec;
}

static void *stress_vm(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	struct event_spec spec;
	unsigned int n = 0, seq;
	bool armed;
	int vm, fd;

	while (stress_running(s)) {
		seq = atomic_load(&s->flip_seq);
		vm = vm_create(0);
		if (vm < 0) {
			atomic_fetch_add(&s->vm_refused, 1);
			pause_ms(3);
			continue;
		}
		armed = armed_since(s, seq);
		atomic_fetch_add(&s->vms, 1);
		spec = stress_event(n++);
		fd = event_open(&spec);
		if (fd >= 0) {
			if (armed)
				violation(s, "event opened while a VM holds the knob");
			close(fd);
		}
		close(vm);
		/* Leave windows with no holder, or events never get in. */
		pause_ms(60 + rand_r(&seed) % 60);
	}
	return NULL;
}

/* A VM created now, while an include-guest event is alive, is a violation. */
static void try_vm_against_event(struct stress *s, const char *what)
{
	unsigned int seq = atomic_load(&s->flip_seq);
	int vm = vm_create(0);

	if (vm >= 0) {
		if (armed_since(s, seq))
			violation(s, what);
		close(vm);
	}
}

static void *stress_event_thread(void *arg)
{
	struct stress *s = arg;
	struct event_spec spec;
	unsigned int n = 0;
	int fd;

	while (stress_running(s)) {
		spec = stress_event(n++);
		fd = event_open(&spec);
		if (fd < 0) {
			atomic_fetch_add(&s->event_refused, 1);
			pause_ms(3);
			continue;
		}
		atomic_fetch_add(&s->events, 1);
		try_vm_against_event(s, "VM created while an event is alive");
		close(fd);
		/* A gap, or the VM side never sees zero events. */
		pause_ms(8);
	}
	return NULL;
}

/*
 * An inherited per-task event, then fork(): the child carries a copy and
 * tries to create a VM.  fork() itself must never fail.
 */
static void *stress_fork_thread(void *arg)
{
	struct event_spec spec = { .cpu = -1, .pid = 0, .inherit = true,
				   .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_TASK_CLOCK };
	struct stress *s = arg;
	unsigned int seq;
	int fd, status;
	pid_t child;

	while (stress_running(s)) {
		fd = event_open(&spec);
		if (fd < 0) {
			atomic_fetch_add(&s->event_refused, 1);
			pause_ms(5);
			continue;
		}
		/* The child's flip_seq is a copy: judge from here, around it all. */
		seq = atomic_load(&s->flip_seq);
		child = fork();
		if (child == 0)
			_exit(vm_create(0) >= 0 ? 3 : 0);
		if (child < 0) {
			violation(s, "fork() failed with an inherited event");
		} else {
			waitpid(child, &status, 0);
			if (!WIFEXITED(status) ||
			    (WEXITSTATUS(status) && armed_since(s, seq)))
				violation(s, "VM created by a child carrying an inherited event");
			atomic_fetch_add(&s->forks, 1);
		}
		close(fd);
		pause_ms(10);
	}
	return NULL;
}

/* Exclude-guest events never block VMs and are never refused. */
static void *stress_exclude_thread(void *arg)
{
	struct stress *s = arg;
	struct event_spec spec;
	unsigned int n = 0;
	int fd;

	while (stress_running(s)) {
		spec = stress_event(n++);
		spec.exclude_guest = true;
		fd = event_open(&spec);
		if (fd < 0) {
			fprintf(stderr, "exclude-guest event: %s\n", errname(-fd));
			violation(s, "exclude-guest event refused");
		} else {
			atomic_fetch_add(&s->excluded, 1);
			close(fd);
		}
		pause_ms(4);
	}
	return NULL;
}

static int write_value(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY);
	ssize_t len;

	if (fd < 0)
		return errno;
	len = write(fd, value, strlen(value));
	close(fd);
	return len < 0 ? errno : 0;
}

/* `enabled` 0 then 1; writing 0 is refused (EBUSY) while VMs hold. */
static void *stress_flip_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	struct stress *s = arg;
	int err;

	while (stress_running(s)) {
		atomic_fetch_add(&s->flip_seq, 1);
		err = write_value(s->enabled_file, "0");
		if (err == EBUSY)
			atomic_fetch_add(&s->flip_busy, 1);
		else if (err)
			violation(s, "writing 0 to enabled failed");
		pause_ms(10 + rand_r(&seed) % 20);
		err = write_value(s->enabled_file, "1");
		if (err)
			violation(s, "writing 1 to enabled failed");
		atomic_fetch_add(&s->flip_seq, 1);
		atomic_fetch_add(&s->flips, 1);
		pause_ms(50 + rand_r(&seed) % 100);
	}
	return NULL;
}

static int cmd_stress(int argc, char **argv)
{
	/* The flip thread last: it runs only with --flip. */
	void *(*const workers[])(void *) = {
		stress_vm, stress_event_thread, stress_vm, stress_event_thread,
		stress_fork_thread, stress_exclude_thread, stress_flip_thread,
	};
	struct stress s = { 0 };
	pthread_t th[ARRAY_LEN(workers)];
	unsigned int i, nr = ARRAY_LEN(workers);

	if (argc == 3 && !strcmp(argv[1], "--flip"))
		s.enabled_file = argv[2];
	else if (argc != 1)
		return fprintf(stderr, "stress: need SECONDS [--flip FILE]\n"), 2;
	if (!s.enabled_file)
		nr--;
	s.deadline = time(NULL) + atoi(argv[0]);
	for (i = 0; i < nr; i++)
		pthread_create(&th[i], NULL, workers[i], &s);
	for (i = 0; i < nr; i++)
		pthread_join(th[i], NULL);
	printf("vms=%ld events=%ld forks=%ld excluded=%ld flips=%ld flip_busy=%ld vm_refused=%ld event_refused=%ld violations=%ld\n",
	       atomic_load(&s.vms), atomic_load(&s.events),
	       atomic_load(&s.forks), atomic_load(&s.excluded),
	       atomic_load(&s.flips), atomic_load(&s.flip_busy),
	       atomic_load(&s.vm_refused), atomic_load(&s.event_refused),
	       atomic_load(&s.violations));
	return atomic_load(&s.violations) ? 1 : 0;
}

static int cmd_write(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "write: need FILE VALUE\n"), 2;
	return report(write_value(argv[0], argv[1]));
}

static ssize_t read_value(const char *file, char *buf, size_t size)
{
	int fd = open(file, O_RDONLY);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return len;
}

static int cmd_read(int argc, char **argv)
{
	char buf[4096 + 1];	/* a full page, as sysfs gives at most */
	ssize_t len;

	if (argc != 1)
		return fprintf(stderr, "read: need FILE\n"), 2;
	len = read_value(argv[0], buf, sizeof(buf));
	if (len < 0)
		return report(-len);
	fwrite(buf, 1, len, stdout);
	return 0;
}

/* Mostly near-misses of valid values, sometimes plain noise. */
static size_t fuzz_value(char *buf, size_t size, unsigned int *seed)
{
	static const char *const tokens[] = {
		"0", "1", "0\n", "1\n", "2", "-1", "01", "1\n\n", " 1", "1 ",
		"software", "tracepoint", "software,tracepoint",
		"software tracepoint", "software\n", ",", " ", "\n", "",
		"breakpoint", "kprobe", "cpu", "nosuchpmu", "software,,",
	};
	size_t len, i;

	switch (rand_r(seed) % 4) {
	case 0:	/* random bytes, any length up to the buffer */
		len = rand_r(seed) % size;
		for (i = 0; i < len; i++)
			buf[i] = (char)rand_r(seed);
		return len;
	case 1:	/* long runs of a valid token */
		len = 0;
		while (len + 16 < size && rand_r(seed) % 64)
			len += snprintf(buf + len, size - len, "%s,",
					tokens[rand_r(seed) % ARRAY_LEN(tokens)]);
		return len;
	default:	/* one token, sometimes cut short */
		i = rand_r(seed) % ARRAY_LEN(tokens);
		len = strlen(tokens[i]);
		memcpy(buf, tokens[i], len);
		return rand_r(seed) % 8 ? len : len / 2;
	}
}

/*
 * Random writes to writable sysfs files: each is accepted or refused, the
 * file always reads back a well-formed value, and a refused write leaves
 * it as it was.
 */
static int cmd_sysfs_fuzz(int argc, char **argv)
{
	static char value[8192], before[4096], after[4096];
	unsigned int seed = (unsigned int)time(NULL), bad = 0;
	long writes = 0, accepted = 0, refused = 0;
	time_t deadline;
	ssize_t len;
	size_t n;
	int fd, err;
	const char *file;

	if (argc < 2)
		return fprintf(stderr, "sysfs-fuzz: need SECONDS FILE...\n"), 2;
	deadline = time(NULL) + atoi(argv[0]);
	printf("seed=%u\n", seed);
	while (time(NULL) < deadline && !bad) {
		file = argv[1 + rand_r(&seed) % (argc - 1)];
		if (read_value(file, before, sizeof(before)) < 0)
			return fprintf(stderr, "%s: unreadable\n", file), 1;
		n = fuzz_value(value, sizeof(value), &seed);
		fd = open(file, O_WRONLY);
		if (fd < 0)
			return fprintf(stderr, "%s: %s\n", file, strerror(errno)), 1;
		err = write(fd, value, n) < 0 ? errno : 0;
		close(fd);
		writes++;
		err ? refused++ : accepted++;
		len = read_value(file, after, sizeof(after));
		if (len <= 0 || after[len - 1] != '\n' || strlen(after) != (size_t)len) {
			fprintf(stderr, "%s: reads back malformed after a write\n", file);
			bad++;
		} else if (err && strcmp(before, after)) {
			fprintf(stderr, "%s: changed by a refused write (%s)\n", file, errname(err));
			bad++;
		} else if (strstr(file, "enabled") && strcmp(after, "0\n") && strcmp(after, "1\n")) {
			fprintf(stderr, "%s: reads back '%s'\n", file, after);
			bad++;
		}
	}
	printf("writes=%ld accepted=%ld refused=%ld bad=%u\n", writes, accepted, refused, bad);
	return bad ? 1 : 0;
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return perror("as-nobody"), -1;
	return 0;
}

/*
 * Enter a new user namespace where this process is uid/gid 0 with every
 * capability, mapped to its uid/gid outside: root of a container, not of
 * the host.
 */
static int enter_userns(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	/* After as-nobody, /proc/self is root's until we are dumpable again. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (unshare(CLONE_NEWUSER))
		return perror("in-userns: unshare"), -1;
	fd = open("/proc/self/setgroups", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "deny", 4) != 4)
			perror("in-userns: setgroups");
		close(fd);
	}
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
	fd = open("/proc/self/uid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return perror("in-userns: uid_map"), -1;
	close(fd);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
	fd = open("/proc/self/gid_map", O_WRONLY);
	if (fd < 0 || write(fd, map, strlen(map)) < 0)
		return perror("in-userns: gid_map"), -1;
	close(fd);
	return 0;
}

/* Stay root, but without CAP_SYS_ADMIN in any set. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) ||
	    syscall(SYS_capget, &hdr, data))
		return perror("no-sys-admin"), -1;
	data[0].effective &= ~(1u << CAP_SYS_ADMIN);
	data[0].permitted &= ~(1u << CAP_SYS_ADMIN);
	data[0].inheritable &= ~(1u << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &hdr, data))
		return perror("no-sys-admin"), -1;
	return 0;
}

/* --- benchmarks (make bench): cost per operation, outcome of the last --- */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * Operations are timed in batches of BENCH_BATCH and the median batch is
 * reported: under instruction counting a timer interrupt, a softirq or an
 * RCU callback that lands in some batches moves the mean from run to run,
 * not the median.  A batch keeps clock_gettime()'s own cost out of the
 * figure (a tenth of a read per operation).
 */
#define BENCH_BATCH	10

static long long median_ns(long long *t, int n)
{
	qsort(t, n, sizeof(*t), cmp_ll);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/*
 * Prints "<median ns per op> <outcome of the last op> mean=<ns per op>":
 * N perf_event_open()+close() of a per-task software event.
 */
static int cmd_bench_open(int argc, char **argv)
{
	struct event_spec spec = { .cpu = -1, .pid = 0, .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_PAGE_FAULTS };
	long long t0, start, *t;
	int i, j, n, fd = 0;

	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(argv[1], "--exclude-guest")))
		return fprintf(stderr, "bench-open: need N [--exclude-guest]\n"), 2;
	n = atoi(argv[0]) / BENCH_BATCH;
	if (n < 1)
		return fprintf(stderr, "bench-open: N must be at least %d\n", BENCH_BATCH), 2;
	t = calloc(n, sizeof(*t));
	if (!t)
		return perror("bench-open"), 1;
	spec.exclude_guest = argc == 2;
	start = now_ns();
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		for (j = 0; j < BENCH_BATCH; j++) {
			fd = event_open(&spec);
			if (fd >= 0)
				close(fd);
		}
		t[i] = now_ns() - t0;
	}
	printf("%lld %s mean=%lld\n", median_ns(t, n) / BENCH_BATCH, errname(fd < 0 ? -fd : 0),
	       (now_ns() - start) / (n * BENCH_BATCH));
	free(t);
	return 0;
}

/*
 * Prints "<median ns per KVM_CREATE_VM> <outcome of the last> mean=<ns>".
 * Only the creation is timed, one at a time: closing a VM waits for SRCU
 * grace periods, whose length is set by timers, not by instructions (the
 * hook's put on destroy is a hash delete; its cost shows in the test
 * figures, not here).
 */
static int cmd_bench_vm(int argc, char **argv)
{
	long long t0, sum = 0, *t;
	int i, n, vm = 0;

	if (argc != 1 || atoi(argv[0]) < 1)
		return fprintf(stderr, "bench-vm: need N\n"), 2;
	n = atoi(argv[0]);
	t = calloc(n, sizeof(*t));
	if (!t)
		return perror("bench-vm"), 1;
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		vm = vm_create(0);
		t[i] = now_ns() - t0;
		sum += t[i];
		if (vm >= 0)
			close(vm);
	}
	printf("%lld %s mean=%lld\n", median_ns(t, n), errname(vm < 0 ? -vm : 0), sum / n);
	free(t);
	return 0;
}

/*
 * As many VMs as memory allows, up to N or for 120 s (under emulation one
 * takes up to 150 ms), held by this one process; prints how many.
 */
static int cmd_vms(int argc, char **argv)
{
	long long deadline = now_ns() + 120 * 1000000000LL;
	struct rlimit rl;
	int i, n, vm;

	if (argc != 3 || strcmp(argv[1], "--hold"))
		return fprintf(stderr, "vms: need N --hold FILE\n"), 2;
	n = atoi(argv[0]);
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (i = 0; i < n && now_ns() < deadline; i++) {
		vm = vm_create(0);
		if (vm < 0)
			break;
	}
	printf("%d\n", i);
	fflush(stdout);
	hold(argv[2]);
	return 0;
}

/* Wall time of one run of a program, in ms with a fraction. */
static int cmd_time(int argc, char **argv)
{
	long long t0;
	int status, null;
	pid_t pid;

	if (argc < 1)
		return fprintf(stderr, "time: need PROGRAM ARGS...\n"), 2;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return report(errno);
	printf("%.3f %d\n", (now_ns() - t0) / 1e6, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

/* --- drain's targets: who opened an event, and who has its PID now --- */

/* The blocking event the drain tests use: system-wide cpu-clock on CPU 0. */
static int blocking_event(void)
{
	struct event_spec spec = { .cpu = 0, .pid = -1, .type = PERF_TYPE_SOFTWARE,
				   .config = PERF_COUNT_SW_CPU_CLOCK };

	return event_open(&spec);
}

static void wait_for_term(void)
{
	sigset_t mask, old;

	signal(SIGTERM, on_term);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	while (!stop)
		sigsuspend(&old);
}

static int write_last_pid(pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return write_value("/proc/sys/kernel/ns_last_pid", buf);
}

/*
 * A child forked now, with PID @want (free: its last owner was reaped),
 * waiting for signals with the default dispositions: SIGTERM kills it.
 * Another process may fork in between: try a few times.
 */
static pid_t fork_with_pid(pid_t want)
{
	pid_t pid;
	int i, err;

	for (i = 0; i < 20; i++) {
		err = write_last_pid(want - 1);
		if (err)
			return fprintf(stderr, "reuse-pid: ns_last_pid: %s\n", errname(err)), -1;
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			for (;;)
				pause();
		}
		if (pid == want)
			return pid;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	fprintf(stderr, "reuse-pid: PID %d was taken by another process\n", (int)want);
	return -1;
}

/*
 * The opener opens a blocking event, forks a holder that keeps it, and
 * exits; once it is reaped, an impostor of the same name gets its PID.
 * The module's record still names the opener's PID and start time: drain
 * must tell the impostor apart.  Prints "OK opener=O holder=H impostor=I",
 * then creates FILE and waits for SIGTERM, which it passes on.
 */
static pid_t opener_holder_impostor(pid_t *opener_out, pid_t *holder_out);

static int cmd_reuse_pid(int argc, char **argv)
{
	pid_t opener, holder = -1, impostor = -1;
	int fd, try;

	if (argc != 2 || strcmp(argv[0], "--hold"))
		return fprintf(stderr, "reuse-pid: need --hold FILE\n"), 2;
	/* The holder, orphaned when the opener exits, comes back to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/*
	 * A process that lives on (a kernel thread started at that moment) may
	 * take the opener's PID first: start over with a new opener.
	 */
	for (try = 0; try < 5 && impostor < 0; try++)
		impostor = opener_holder_impostor(&opener, &holder);
	if (impostor < 0)
		return 1;
	printf("OK opener=%d holder=%d impostor=%d\n", (int)opener, (int)holder, (int)impostor);
	fflush(stdout);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	wait_for_term();
	kill(holder, SIGTERM);
	kill(impostor, SIGTERM);
	waitpid(impostor, NULL, 0);
	waitpid(holder, NULL, 0);
	return 0;
}

/* One try: the impostor's PID, or -1 (the holder is gone again). */
static pid_t opener_holder_impostor(pid_t *opener_out, pid_t *holder_out)
{
	pid_t opener, holder = -1, impostor;
	int pipefd[2], fd, status;

	if (pipe(pipefd))
		return report(errno), -1;
	opener = fork();
	if (opener < 0)
		return report(errno), -1;
	if (opener == 0) {
		close(pipefd[0]);
		fd = blocking_event();
		if (fd < 0)
			_exit(report(-fd));
		holder = fork();
		if (holder == 0) {
			close(pipefd[1]);
			wait_for_term();
			_exit(0);
		}
		if (write(pipefd[1], &holder, sizeof(holder)) != sizeof(holder))
			_exit(1);
		_exit(0);	/* the holder keeps the event */
	}
	close(pipefd[1]);
	if (read(pipefd[0], &holder, sizeof(holder)) != sizeof(holder) || holder <= 0) {
		waitpid(opener, NULL, 0);
		return fprintf(stderr, "reuse-pid: the opener failed\n"), -1;
	}
	close(pipefd[0]);
	waitpid(opener, &status, 0);
	/*
	 * Start times are in clock ticks (10 ms): a newcomer started in the
	 * opener's tick would be indistinguishable from it.
	 */
	pause_ms(50);
	impostor = fork_with_pid(opener);
	if (impostor < 0) {
		kill(holder, SIGTERM);
		waitpid(holder, NULL, 0);
		return -1;
	}
	*opener_out = opener;
	*holder_out = holder;
	return impostor;
}

/*
 * Hold a blocking event and run PROGRAM as a child: the module names this
 * process, PROGRAM's parent, as the event's owner.  Exits with PROGRAM's
 * status (or 128 + its signal); a signal to this process shows as its own.
 */
static int cmd_run_holding(int argc, char **argv)
{
	int fd, status;
	pid_t pid;

	if (argc < 1)
		return fprintf(stderr, "run-holding: need PROGRAM ARGS...\n"), 2;
	fd = blocking_event();
	if (fd < 0)
		return report(-fd);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return report(errno);
	if (pid == 0) {
		execv(argv[0], argv);
		perror("run-holding: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return report(errno);
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Hold a blocking event across exec: PROGRAM runs as the process the
 * module names as the event's owner (same PID, same start time).
 */
static int cmd_exec_holding(int argc, char **argv)
{
	int fd;

	if (argc < 1)
		return fprintf(stderr, "exec-holding: need PROGRAM ARGS...\n"), 2;
	fd = blocking_event();
	if (fd < 0)
		return report(-fd);
	if (fcntl(fd, F_SETFD, 0))
		return report(errno);
	fflush(stdout);
	execv(argv[0], argv);
	perror("exec-holding: exec");
	return 127;
}

int main(int argc, char **argv)
{
	while (argc >= 2 && (!strcmp(argv[1], "as-nobody") ||
			     !strcmp(argv[1], "no-sys-admin") ||
			     !strcmp(argv[1], "in-userns"))) {
		if ((!strcmp(argv[1], "as-nobody") ? drop_to_nobody :
		     !strcmp(argv[1], "in-userns") ? enter_userns : drop_sys_admin)())
			return 2;
		argc--;
		argv++;
	}
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "exec") && argc > 2) {
		execv(argv[2], argv + 2);
		perror("exec");
		return 127;
	}
	if (!strcmp(argv[1], "read"))
		return cmd_read(argc - 2, argv + 2);
	if (!strcmp(argv[1], "vm"))
		return cmd_vm(argc - 2, argv + 2);
	if (!strcmp(argv[1], "event"))
		return cmd_event(argc - 2, argv + 2);
	if (!strcmp(argv[1], "events"))
		return cmd_events(argc - 2, argv + 2);
	if (!strcmp(argv[1], "pin"))
		return cmd_pin(argc - 2, argv + 2);
	if (!strcmp(argv[1], "vfork-hold"))
		return cmd_vfork_hold(argc - 2, argv + 2);
	if (!strcmp(argv[1], "fork-child"))
		return cmd_fork_child(argc - 2, argv + 2);
	if (!strcmp(argv[1], "write"))
		return cmd_write(argc - 2, argv + 2);
	if (!strcmp(argv[1], "stress"))
		return cmd_stress(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sysfs-fuzz"))
		return cmd_sysfs_fuzz(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench-open"))
		return cmd_bench_open(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench-vm"))
		return cmd_bench_vm(argc - 2, argv + 2);
	if (!strcmp(argv[1], "vms"))
		return cmd_vms(argc - 2, argv + 2);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 2, argv + 2);
	if (!strcmp(argv[1], "reuse-pid"))
		return cmd_reuse_pid(argc - 2, argv + 2);
	if (!strcmp(argv[1], "run-holding"))
		return cmd_run_holding(argc - 2, argv + 2);
	if (!strcmp(argv[1], "exec-holding"))
		return cmd_exec_holding(argc - 2, argv + 2);
usage:
	fprintf(stderr, "usage: mpmu-probe vm|event|fork-child|stress ...\n");
	return 2;
}
