// SPDX-License-Identifier: GPL-2.0
/*
 * Host tier: libmpmu's parsers and /run helpers, no kernel needed.  Built
 * with ASan and UBSan by make check.  Prints PASS/FAIL per test, then
 * "unit: N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../../lib/mpmu.h"
#include "harness.h"

#define TEST(name) static void name(int *okp)

static int guest(const char *args, size_t len, char *name)
{
	return mpmu_parse_guest_name(args, len, name, MPMU_GUEST_NAME_LEN);
}

#define ARGS(s) s, sizeof(s) - 1

TEST(guest_name_from_libvirt_style_option)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0guest=web01,debug-threads=on\0-m\0512\0"), name));
	CHECK(!strcmp(name, "web01"));
}

TEST(guest_name_from_plain_option)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0db\0"), name));
	CHECK(!strcmp(name, "db"));
	CHECK(!guest(ARGS("qemu\0--name\0db2\0"), name));
	CHECK(!strcmp(name, "db2"));
}

TEST(guest_name_first_field_without_key)
{
	char name[MPMU_GUEST_NAME_LEN];

	/* Proxmox style: the implied key is guest. */
	CHECK(!guest(ARGS("kvm\0-name\0vm1,debug-threads=on\0"), name));
	CHECK(!strcmp(name, "vm1"));
	CHECK(!guest(ARGS("qemu\0-name\0process=x,guest=vm2\0"), name));
	CHECK(!strcmp(name, "vm2"));
}

TEST(guest_name_unescapes_double_commas)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(!guest(ARGS("qemu\0-name\0guest=a,,b,debug-threads=on\0"), name));
	CHECK(!strcmp(name, "a,b"));
}

TEST(guest_name_absent_or_malformed)
{
	char name[MPMU_GUEST_NAME_LEN];

	CHECK(guest(ARGS("qemu\0-m\0512\0"), name) == -ENOENT);
	CHECK(guest(ARGS("qemu\0-name\0"), name) == -ENOENT);	/* no value */
	CHECK(guest(ARGS("qemu\0-name\0debug-threads=on\0"), name) == -ENOENT);
	CHECK(guest(ARGS("qemu\0-name\0guest=\0"), name) == -ENOENT);
	CHECK(guest("qemu\0-name", 10, name) == -ENOENT);	/* truncated */
	CHECK(guest("", 0, name) == -ENOENT);
}

TEST(guest_name_too_long_is_refused)
{
	char args[400], name[MPMU_GUEST_NAME_LEN];
	int len;

	len = snprintf(args, sizeof(args), "qemu%c-name%cguest=", 0, 0);
	memset(args + len, 'x', 200);
	args[len + 200] = '\0';
	CHECK(guest(args, len + 201, name) == -ENAMETOOLONG);
}

static char *scratch_root(void)
{
	char tmpl[] = "/tmp/mpmu-unit-XXXXXX", path[256];
	char *root = strdup(mkdtemp(tmpl));

	snprintf(path, sizeof(path), "%s/proc/sys/kernel", root);
	mkdir(path, 0755);	/* parents below */
	return root;
}

static void write_file(const char *root, const char *rel, const char *text)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd))
		return;
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(saved_watchdog_keeps_the_first_value)
{
	char *root = scratch_root();
	int v = -1;

	CHECK(mpmu_saved_watchdog_get(root, &v) == -ENOENT);
	CHECK(!mpmu_saved_watchdog_put(root, 1));
	CHECK(!mpmu_saved_watchdog_put(root, 0));
	CHECK(!mpmu_saved_watchdog_get(root, &v) && v == 1);
	CHECK(!mpmu_saved_watchdog_clear(root));
	CHECK(mpmu_saved_watchdog_get(root, &v) == -ENOENT);
	free(root);
}

TEST(nmi_watchdog_reads_and_rejects_junk)
{
	char *root = scratch_root();
	int v = -1;

	write_file(root, "/proc/sys/kernel/nmi_watchdog", "1\n");
	CHECK(!mpmu_nmi_watchdog_get(root, &v) && v == 1);
	CHECK(!mpmu_nmi_watchdog_set(root, 0));
	CHECK(!mpmu_nmi_watchdog_get(root, &v) && v == 0);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "yes\n");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	write_file(root, "/proc/sys/kernel/nmi_watchdog", "99999999999999999999\n");
	CHECK(mpmu_nmi_watchdog_get(root, &v) == -EINVAL);
	CHECK(!mpmu_saved_watchdog_put(root, 1));	/* a path that exists: not this one */
	CHECK(mpmu_nmi_watchdog_get("/nonexistent-root", &v) == -ENOENT);
	free(root);
}

/* --- /proc/PID/stat --- */

/* A real 6.1 line, fields 23 onwards cut short after a few. */
#define STAT_TAIL " S 1 1234 1234 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 98765 2318336 200 18446744073709551615 1 1\n"

static int stat_of(const char *line, struct mpmu_proc_stat *ps)
{
	return mpmu_parse_proc_stat(line, strlen(line), ps);
}

TEST(proc_stat_plain_line)
{
	struct mpmu_proc_stat ps;

	CHECK(!stat_of("4321 (mpmu-probe)" STAT_TAIL, &ps));
	CHECK(ps.pid == 4321);
	CHECK(!strcmp(ps.comm, "mpmu-probe"));
	CHECK(ps.state == 'S');
	CHECK(ps.ppid == 1);
	CHECK(ps.flags == 4194560);
	CHECK(!(ps.flags & MPMU_PF_KTHREAD));
	CHECK(ps.starttime == 98765);
}

TEST(proc_stat_comm_ends_at_the_last_parenthesis)
{
	struct mpmu_proc_stat ps;

	/* A name made to look like the end of comm and then other fields. */
	CHECK(!stat_of("77 (a) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 1) S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 555 0\n", &ps));
	CHECK(ps.pid == 77);
	CHECK(!strcmp(ps.comm, "a) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 1"));
	CHECK(ps.state == 'S');
	CHECK(ps.ppid == 1);
	CHECK(ps.flags == 8);
	CHECK(ps.starttime == 555);
	CHECK(!stat_of("78 () 1 2 ()" STAT_TAIL, &ps));
	CHECK(!strcmp(ps.comm, ") 1 2 ("));
	CHECK(ps.starttime == 98765);
	CHECK(!stat_of("79 (two words)" STAT_TAIL, &ps));
	CHECK(!strcmp(ps.comm, "two words"));
	CHECK(!stat_of("80 (line\nbreak)" STAT_TAIL, &ps));
	CHECK(!strcmp(ps.comm, "line\nbreak"));
	CHECK(ps.starttime == 98765);
	CHECK(!stat_of("81 ())" STAT_TAIL, &ps));
	CHECK(!strcmp(ps.comm, ")"));
}

TEST(proc_stat_kernel_thread_flag)
{
	struct mpmu_proc_stat ps;

	CHECK(!stat_of("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0\n", &ps));
	CHECK(ps.flags & MPMU_PF_KTHREAD);
	CHECK(ps.ppid == 0);
	CHECK(ps.starttime == 0);
	/* A long workqueue name (longer than TASK_COMM_LEN) is cut, not refused. */
	CHECK(!stat_of("9 (kworker/0:1-events_power_efficient-and-a-very-long-tail-beyond-64-bytes)"
		       " I 2 0 0 0 -1 69238880 0 0 0 0 0 0 0 0 20 0 1 0 7 0\n", &ps));
	CHECK(strlen(ps.comm) == sizeof(ps.comm) - 1);
	CHECK(ps.flags & MPMU_PF_KTHREAD);
	CHECK(ps.starttime == 7);
}

TEST(proc_stat_malformed_lines_are_refused)
{
	struct mpmu_proc_stat ps;
	static const char *const bad[] = {
		"",
		"\n",
		"4321",
		"4321 mpmu-probe" STAT_TAIL,		/* no parentheses */
		"4321 (mpmu-probe" STAT_TAIL,		/* no closing one */
		"4321 x(mpmu-probe)" STAT_TAIL,
		"0 (zero)" STAT_TAIL,			/* no PID 0 */
		"-5 (neg)" STAT_TAIL,
		"abc (x)" STAT_TAIL,
		"4321 (x)S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n",
		"4321 (x) S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0\n",	/* ends before field 22 */
		"4321 (x) S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 ",
		"4321 (x) S 1 2 3 0 -1 -8 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n",	/* flags signed */
		"4321 (x) S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 -5 0\n",	/* starttime too */
		"4321 (x) S -1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n",	/* ppid too */
		"4321 (x) S 1 2 3 0 -1 8x 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n",
		"4321 (x) S 1 2 3 0 -1 8 0 0 0 0 0 0 0 0 20 0 1 0 99999999999999999999999 0\n",
		"4321 (x) S 1 2 3 0 - 8 0 0 0 0 0 0 0 0 20 0 1 0 5 0\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stat_of(bad[i], &ps) != -EINVAL)
			fprintf(stderr, "    accepted bad line %zu: %s\n", i, bad[i]);
		CHECK(stat_of(bad[i], &ps) == -EINVAL);
	}
	/* A NUL inside the buffer is not the end of the line the parser sees. */
	CHECK(mpmu_parse_proc_stat("4321 (a\0b)" STAT_TAIL, sizeof("4321 (a\0b)" STAT_TAIL) - 1, &ps) == 0);
	CHECK(ps.starttime == 98765);
}

TEST(proc_stat_of_this_process)
{
	struct mpmu_proc_stat ps;
	pid_t child;

	CHECK(!mpmu_proc_stat(getpid(), &ps));
	CHECK(ps.pid == getpid());
	CHECK(ps.ppid == getppid());
	CHECK(ps.state == 'R');
	CHECK(!(ps.flags & MPMU_PF_KTHREAD));
	CHECK(ps.starttime > 0);
	CHECK(mpmu_proc_stat(0, &ps) == -EINVAL);
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	CHECK(mpmu_proc_stat(child, &ps) == -ENOENT);	/* reaped */
}

/* --- who drain may signal --- */

/* A refusal, NULL-safe: a test that fails must not crash. */
static bool is(const char *why, const char *want)
{
	return why && !strcmp(why, want);
}

static struct mpmu_event owner(pid_t pid, uint64_t start)
{
	struct mpmu_event e = { .owner_pid = pid, .owner_start_known = true,
				.owner_start = start, .cpu = 0, .target_pid = -1,
				.owner_comm = "mpmu-probe", .pmu = "software" };
	return e;
}

static struct mpmu_proc_stat stat_for(pid_t pid, unsigned long long start, unsigned long flags)
{
	struct mpmu_proc_stat ps = { .pid = pid, .comm = "mpmu-probe", .state = 'S',
				     .ppid = 100, .flags = flags, .starttime = start };
	return ps;
}

TEST(drain_refusal_rules)
{
	struct mpmu_event e = owner(4321, 5000);
	struct mpmu_proc_stat ps = stat_for(4321, 5000, 0x400100);
	const pid_t self = 200, parent = 100;

	/* The one process that may be signalled: the opener itself. */
	CHECK(mpmu_drain_refusal(&e, NULL, self, parent) == NULL);
	CHECK(mpmu_drain_refusal(&e, &ps, self, parent) == NULL);

	/* Its PID, another start: a process that got the PID since. */
	ps.starttime = 5001;
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_REUSED));
	ps.starttime = 4999;
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_REUSED));
	ps = stat_for(4322, 5000, 0);	/* another process's stat */
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_REUSED));

	/* Same comm, same PID, same start, but a kernel thread. */
	ps = stat_for(4321, 5000, 0x400100 | MPMU_PF_KTHREAD);
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_KTHREAD));

	/* No start time, or an opener that had exited when the module found it. */
	e.owner_start_known = false;
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_GONE));
	e = owner(0, 0);
	e.owner_start_known = false;
	e.owner_gone = true;
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_GONE));
	e = owner(4321, 5000);
	e.owner_gone = true;
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_GONE));

	/* Whatever /proc says: never PID 1, drain itself or its parent. */
	e = owner(1, 1);
	ps = stat_for(1, 1, 0x400100);
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_INIT));
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_INIT));
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, 1), MPMU_REFUSED_INIT));
	e = owner(self, 7);
	ps = stat_for(self, 7, 0);
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_SELF));
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_SELF));
	e = owner(parent, 7);
	ps = stat_for(parent, 7, 0);
	CHECK(is(mpmu_drain_refusal(&e, NULL, self, parent), MPMU_REFUSED_PARENT));
	CHECK(is(mpmu_drain_refusal(&e, &ps, self, parent), MPMU_REFUSED_PARENT));
}

/* What mpmu_drain_owners() reported. */
struct actions {
	int n;
	char result[8][64];
	char target[8][64];
	pid_t pid[8];
	bool refused[8];
};

static void collect(const struct mpmu_drain_action *a, void *data)
{
	struct actions *acts = data;

	if (acts->n == 8)
		return;
	snprintf(acts->result[acts->n], sizeof(acts->result[0]), "%s", a->result);
	snprintf(acts->target[acts->n], sizeof(acts->target[0]), "%s", a->target);
	acts->pid[acts->n] = a->pid;
	acts->refused[acts->n] = a->refused;
	acts->n++;
}

static void drain_list(struct actions *acts, int sig, bool dry_run,
		       const struct mpmu_event *list, size_t nr)
{
	struct mpmu_drain d = { .root = "", .owners = true, .signal = sig,
				.dry_run = dry_run, .fn = collect, .data = acts };

	memset(acts, 0, sizeof(*acts));
	mpmu_drain_owners(&d, list, nr);
}

/* A child that waits to be signalled (default dispositions: it dies). */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static uint64_t start_of(pid_t pid)
{
	struct mpmu_proc_stat ps;

	return mpmu_proc_stat(pid, &ps) ? 0 : ps.starttime;
}

/* Gone within a second, and by @sig; 0 if still alive (then killed). */
static int died_of(pid_t pid)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	int status, i;

	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
		nanosleep(&step, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

TEST(drain_signals_the_opener_through_a_pidfd)
{
	struct actions acts;
	struct mpmu_event list[3];
	pid_t child = sleeper();

	list[0] = owner(child, start_of(child));
	list[1] = list[0];			/* two events, one owner: one action */
	list[2] = owner(0, 0);
	list[2].kernel = true;			/* never acted on */
	list[2].owner_start_known = false;
	drain_list(&acts, SIGTERM, false, list, 3);
	CHECK(acts.n == 1);
	CHECK(!strcmp(acts.result[0], "sent"));
	CHECK(!acts.refused[0]);
	CHECK(acts.pid[0] == child);
	CHECK(died_of(child) == SIGTERM);
}

TEST(drain_leaves_a_reused_pid_alone)
{
	struct actions acts;
	struct mpmu_event e;
	pid_t child = sleeper();

	/* The same PID and name, but a process started after the recorded one. */
	e = owner(child, start_of(child) - 1);
	drain_list(&acts, SIGKILL, false, &e, 1);
	CHECK(acts.n == 1);
	CHECK(!strcmp(acts.result[0], MPMU_REFUSED_REUSED));
	CHECK(acts.refused[0]);
	drain_list(&acts, 0, false, &e, 1);	/* report only: says so too */
	CHECK(!strcmp(acts.result[0], MPMU_REFUSED_REUSED));
	CHECK(died_of(child) == 0);
}

TEST(drain_dry_run_signals_nobody)
{
	struct actions acts;
	struct mpmu_event e;
	pid_t child = sleeper();

	e = owner(child, start_of(child));
	drain_list(&acts, SIGKILL, true, &e, 1);
	CHECK(acts.n == 1);
	CHECK(!strcmp(acts.result[0], "planned"));
	drain_list(&acts, 0, false, &e, 1);
	CHECK(!strcmp(acts.result[0], "blocking"));
	CHECK(died_of(child) == 0);
}

TEST(drain_reports_gone_owners_without_signalling)
{
	struct actions acts;
	struct mpmu_event list[3];
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	list[0] = owner(child, 1);
	waitpid(child, NULL, 0);		/* exited and reaped: no such PID */
	list[1] = owner(0, 0);			/* found after its opener exited */
	list[1].owner_gone = true;
	list[1].owner_start_known = false;
	snprintf(list[1].owner_comm, sizeof(list[1].owner_comm), "?");
	list[2] = owner(4321, 0);		/* a module that sent no start time */
	list[2].owner_start_known = false;
	drain_list(&acts, SIGKILL, false, list, 3);
	CHECK(acts.n == 3);
	CHECK(!strcmp(acts.result[0], MPMU_REFUSED_GONE));
	CHECK(!strcmp(acts.result[1], MPMU_REFUSED_GONE));
	CHECK(!strcmp(acts.target[1], "exited owner (?)"));
	CHECK(acts.pid[1] == 0);
	CHECK(!strcmp(acts.result[2], MPMU_REFUSED_GONE));
	CHECK(acts.refused[0] && acts.refused[1] && acts.refused[2]);
}

/*
 * Drain in a child that the record names as the owner (itself), or whose
 * parent it names: the child exits 0 if the action was refused; a SIGKILL
 * that got through shows as its (or its parent's) death.
 */
static int drain_in_child(bool name_parent)
{
	struct actions acts;
	struct mpmu_event e;
	pid_t pid, grandchild;
	int status;

	pid = fork();
	if (pid)
		return waitpid(pid, &status, 0) == pid ? status : -1;
	if (!name_parent) {
		e = owner(getpid(), start_of(getpid()));
		drain_list(&acts, SIGKILL, false, &e, 1);
		_exit(acts.n == 1 && !strcmp(acts.result[0], MPMU_REFUSED_SELF) ? 0 : 3);
	}
	grandchild = fork();
	if (grandchild == 0) {
		e = owner(getppid(), start_of(getppid()));
		drain_list(&acts, SIGKILL, false, &e, 1);
		_exit(acts.n == 1 && !strcmp(acts.result[0], MPMU_REFUSED_PARENT) ? 0 : 3);
	}
	_exit(waitpid(grandchild, &status, 0) == grandchild && WIFEXITED(status) ?
	      WEXITSTATUS(status) : 4);
}

TEST(drain_never_signals_itself_or_its_parent)
{
	int status;

	status = drain_in_child(false);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	status = drain_in_child(true);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* --- status --- */

TEST(status_verdict_and_kvm_hooks)
{
	struct mpmu_status st = { .enabled = true, .mode = MPMU_MODE_ARBITRATE,
				  .kvm_hooks_known = true, .kvm_hooks = MPMU_KVM_HOOKS_ARMED };
	char buf[256], errbuf[32];

	CHECK(mpmu_status_ready(&st));
	CHECK(!strcmp(mpmu_kvm_hooks_name(&st), "armed"));
	mpmu_kvm_hooks_text(&st, buf, sizeof(buf));
	CHECK(!strcmp(buf, "armed"));

	st.kvm_hooks = MPMU_KVM_HOOKS_NO_KVM;	/* the hooks arm when kvm loads */
	CHECK(mpmu_status_ready(&st));
	CHECK(!strcmp(mpmu_kvm_hooks_name(&st), "no_kvm"));
	mpmu_kvm_hooks_text(&st, buf, sizeof(buf));
	CHECK(!strcmp(buf, "kvm not loaded"));

	st.kvm_hooks = MPMU_KVM_HOOKS_FAILED;	/* VMs would bypass the knob */
	st.kvm_error = -ENOENT;
	snprintf(st.kvm_symbol, sizeof(st.kvm_symbol), "kvm_arch_init_vm");
	CHECK(!mpmu_status_ready(&st));
	CHECK(!strcmp(mpmu_kvm_hooks_name(&st), "failed"));
	mpmu_kvm_hooks_text(&st, buf, sizeof(buf));
	CHECK(!strcmp(buf, "FAILED (ENOENT at kvm_arch_init_vm)"));
	mpmu_kvm_hooks_failure(&st, buf, sizeof(buf));
	CHECK(!strcmp(buf, "ENOENT at kvm_arch_init_vm"));

	st.kvm_hooks = MPMU_KVM_HOOKS_ARMED;
	st.settling = 2;			/* VMs refused until they end */
	CHECK(!mpmu_status_ready(&st));
	st.settling = 0;
	st.include_guest_events = 1;
	CHECK(!mpmu_status_ready(&st));
	st.include_guest_events = 0;
	st.enabled = false;
	CHECK(!mpmu_status_ready(&st));
	st.enabled = true;
	/* Observing, the kernel's knob decides: only its blockers count. */
	st.mode = MPMU_MODE_OBSERVE;
	st.enabled = false;
	st.settling = 2;
	CHECK(mpmu_status_ready(&st));
	st.include_guest_events = 1;
	CHECK(!mpmu_status_ready(&st));
	st.include_guest_events = 0;
	st.settling = 0;
	st.enabled = true;

	st.kvm_hooks_known = false;		/* not said: no claim either way */
	st.mode = MPMU_MODE_ARBITRATE;
	CHECK(mpmu_kvm_hooks_name(&st) == NULL);
	CHECK(mpmu_status_ready(&st));

	CHECK(!strcmp(mpmu_errno_name(-EPERM, errbuf, sizeof(errbuf)), "EPERM"));
	CHECK(!strcmp(mpmu_errno_name(EBUSY, errbuf, sizeof(errbuf)), "EBUSY"));
	CHECK(!strcmp(mpmu_errno_name(-9999, errbuf, sizeof(errbuf)), "errno 9999"));
}

TEST(names_of_kinds_and_modes)
{

	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_ACQUIRED), "vm_acquired"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_RELEASED), "vm_released"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_VM_REJECTED), "vm_rejected"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_EVENT_REJECTED), "event_rejected"));
	CHECK(!strcmp(mpmu_note_kind_name(MPMU_NOTIFY_DRAINED), "drained"));
	CHECK(!strcmp(mpmu_note_kind_name(99), "unknown"));
	CHECK(!strcmp(mpmu_mode_name(MPMU_MODE_ARBITRATE), "arbitrate"));
	CHECK(!strcmp(mpmu_mode_name(MPMU_MODE_OBSERVE), "observe"));
}

TEST(textfile_has_every_spec_metric_and_replaces_atomically)
{
	struct mpmu_status st = { .enabled = true, .refcount = 2, .include_guest_events = 0,
				  .unmanaged_vms = 1, .rejected_vms = 5, .rejected_events = 7,
				  .mode = MPMU_MODE_ARBITRATE, .version = "0.1.0\"x" };
	char *root = scratch_root(), path[256], buf[4096];
	const char *want[] = {
		"# TYPE mediated_pmu_enabled gauge\nmediated_pmu_enabled 1\n",
		"# TYPE mediated_pmu_refcount gauge\nmediated_pmu_refcount 2\n",
		"# TYPE mediated_pmu_include_guest_events gauge\nmediated_pmu_include_guest_events 0\n",
		"# TYPE mediated_pmu_unmanaged_vms gauge\nmediated_pmu_unmanaged_vms 1\n",
		"# TYPE mediated_pmu_rejected_vms_total counter\nmediated_pmu_rejected_vms_total 5\n",
		"# TYPE mediated_pmu_rejected_events_total counter\nmediated_pmu_rejected_events_total 7\n",
		"# TYPE mediated_pmu_drains_total counter\nmediated_pmu_drains_total 3\n",
		"mediated_pmu_info{version=\"0.1.0\\\"x\",mode=\"arbitrate\"} 1\n",
	};
	struct stat before, after;
	struct dirent *de;
	FILE *f, *reader;
	size_t i, len;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/mediated_pmu.prom", root);
	CHECK(!mpmu_textfile_write(path, &st, 3));
	f = fopen(path, "r");
	len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strstr(buf, want[i]) != NULL);
	/*
	 * Atomic: a reader that opened the old file keeps reading the whole
	 * old file (a new inode took the name: rename(2), not a rewrite in
	 * place), and no temporary file is left beside it.
	 */
	st.refcount = 0;
	reader = fopen(path, "r");
	CHECK(reader && !fstat(fileno(reader), &before));
	CHECK(!mpmu_textfile_write(path, &st, 3));	/* replaces */
	CHECK(!stat(path, &after) && after.st_ino != before.st_ino);
	len = reader ? fread(buf, 1, sizeof(buf) - 1, reader) : 0;
	if (reader)
		fclose(reader);
	buf[len] = '\0';
	CHECK(strstr(buf, "\nmediated_pmu_refcount 2\n") != NULL);
	CHECK(strstr(buf, "mediated_pmu_info{") != NULL);	/* to its end */
	f = fopen(path, "r");
	len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	CHECK(strstr(buf, "\nmediated_pmu_refcount 0\n") != NULL);
	dir = opendir(root);
	while (dir && (de = readdir(dir)))
		CHECK(de->d_name[0] == '.' || !strcmp(de->d_name, "mediated_pmu.prom"));
	if (dir)
		closedir(dir);
	CHECK(mpmu_textfile_write("/nonexistent/dir/x.prom", &st, 0) == -ENOENT);
	free(root);
}

/*
 * Whatever the build machine has loaded: in a new network namespace the
 * module's family does not exist (it is not netnsok).  A user namespace
 * first, so that no privilege is needed.
 */
TEST(open_without_module_says_enoent)
{
	struct mpmu_client *c = NULL;
	int status, ret;
	pid_t pid;

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(2);
		ret = mpmu_open(&c);
		_exit(ret == -ENOENT && c == NULL ? 0 : 1);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The event as mpmuctl built it with json-c objects before lib wrote it. */
static json_object *event_by_json_c(const struct mpmu_event *e)
{
	json_object *o = json_object_new_object();
	char name[MPMU_EVENT_NAME_LEN];

	json_object_object_add(o, "owner_pid", e->owner_pid ?
			       json_object_new_int(e->owner_pid) : NULL);
	json_object_object_add(o, "owner_comm", json_object_new_string(e->owner_comm));
	json_object_object_add(o, "owner_start", e->owner_start_known ?
			       json_object_new_uint64(e->owner_start) : NULL);
	json_object_object_add(o, "owner_gone", json_object_new_boolean(e->owner_gone));
	json_object_object_add(o, "kernel", json_object_new_boolean(e->kernel));
	json_object_object_add(o, "cpu", json_object_new_int(e->cpu));
	json_object_object_add(o, "target_pid", json_object_new_int(e->target_pid));
	json_object_object_add(o, "pmu", json_object_new_string(e->pmu));
	json_object_object_add(o, "type", json_object_new_int64(e->type));
	json_object_object_add(o, "config", json_object_new_uint64(e->config));
	mpmu_event_name(e, name, sizeof(name));
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(o, "pinned", json_object_new_boolean(e->pinned));
	return o;
}

/* lib's line is json-c's, byte for byte, and json-c reads it back as it was. */
static int event_json_matches(const struct mpmu_event *e)
{
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	json_object *ref = event_by_json_c(e), *back;
	char line[MPMU_EVENT_JSON_MAX];
	size_t len = mpmu_event_json(line, e);
	int same;

	same = len == strlen(line) &&
	       !strcmp(line, json_object_to_json_string_ext(ref, flags));
	back = json_tokener_parse(line);
	same = same && back && json_object_equal(back, ref);
	if (!same)
		fprintf(stderr, "    lib:    %s\n    json-c: %s\n", line,
			json_object_to_json_string_ext(ref, flags));
	json_object_put(back);
	json_object_put(ref);
	return same;
}

TEST(event_json_is_what_json_c_prints_for_every_byte_and_extreme)
{
	struct mpmu_event e = {
		.owner_pid = 4242, .owner_comm = "qemu-system-x86", .cpu = -1,
		.target_pid = 4242, .pmu = "cpu", .type = 4, .config = 0x3c,
	};
	char line[MPMU_EVENT_JSON_MAX];
	int c;

	CHECK(event_json_matches(&e));
	/* Every byte a comm or a PMU name can hold, alone and amid text. */
	for (c = 1; c < 256; c++) {
		snprintf(e.owner_comm, sizeof(e.owner_comm), "a%cb%c", c, c);
		snprintf(e.pmu, sizeof(e.pmu), "%c", c);
		if (!event_json_matches(&e))
			*okp = 0;
	}
	e = (struct mpmu_event){ .owner_pid = 0, .cpu = 0, .target_pid = -1 };
	CHECK(event_json_matches(&e));
	/* The extremes: every number at its limits, every flag set. */
	e = (struct mpmu_event){
		.owner_pid = INT32_MIN, .owner_start_known = true,
		.owner_start = UINT64_MAX, .owner_gone = true, .kernel = true,
		.cpu = INT32_MAX, .target_pid = INT32_MIN, .type = UINT32_MAX,
		.config = UINT64_MAX, .pinned = true,
	};
	CHECK(event_json_matches(&e));
	e.owner_pid = INT32_MAX;
	e.config = (uint64_t)INT64_MAX + 1;
	CHECK(event_json_matches(&e));
	/* The longest line: both names escaped to their last byte. */
	memset(e.owner_comm, 1, sizeof(e.owner_comm) - 1);
	memset(e.pmu, 1, sizeof(e.pmu) - 1);
	e.owner_pid = INT32_MIN;
	e.cpu = INT32_MIN;
	e.config = UINT64_MAX;
	e.owner_gone = e.kernel = e.pinned = false;
	/* type UINT32_MAX: named "PMU/config=0x../", the PMU's bytes escaped */
	CHECK(event_json_matches(&e));
	CHECK(mpmu_event_json(line, &e) + 1 == 726);
}

static int named_as(uint32_t type, uint64_t config, const char *pmu, const char *want)
{
	struct mpmu_event e = { .type = type, .config = config };
	char name[MPMU_EVENT_NAME_LEN];

	snprintf(e.pmu, sizeof(e.pmu), "%s", pmu);
	mpmu_event_name(&e, name, sizeof(name));
	if (strcmp(name, want))
		fprintf(stderr, "    type %u config 0x%llx: %s, not %s\n", type,
			(unsigned long long)config, name, want);
	return !strcmp(name, want);
}

/* As perf stat and perf list print them (tools/perf/util/evsel.c). */
TEST(event_names_are_perfs)
{
	CHECK(named_as(0, 0, "cpu", "cycles"));
	CHECK(named_as(0, 1, "cpu", "instructions"));
	CHECK(named_as(0, 4, "cpu", "branches"));
	CHECK(named_as(0, 9, "cpu", "ref-cycles"));
	CHECK(named_as(0, (8ULL << 32) | 0, "cpu_core", "cycles"));
	CHECK(named_as(0, 10, "cpu", "cpu/config=0xa/"));
	CHECK(named_as(1, 0, "software", "cpu-clock"));
	CHECK(named_as(1, 1, "software", "task-clock"));
	CHECK(named_as(1, 3, "software", "context-switches"));
	CHECK(named_as(1, 11, "software", "cgroup-switches"));
	CHECK(named_as(1, 12, "software", "software/config=0xc/"));
	CHECK(named_as(3, 0x000000, "cpu", "L1-dcache-loads"));
	CHECK(named_as(3, 0x010000, "cpu", "L1-dcache-load-misses"));
	CHECK(named_as(3, 0x000102, "cpu", "LLC-stores"));
	CHECK(named_as(3, 0x010203, "cpu", "dTLB-prefetch-misses"));
	CHECK(named_as(3, 0x000005, "cpu", "branch-loads"));
	CHECK(named_as(3, 0x020000, "cpu", "cpu/config=0x20000/"));
	CHECK(named_as(3, 0x000007, "cpu", "cpu/config=0x7/"));
	CHECK(named_as(4, 0x3c, "cpu", "r3c"));
	CHECK(named_as(5, 0, "breakpoint", "breakpoint/config=0x0/"));
	CHECK(named_as(10, 0x1234, "uncore_imc_0", "uncore_imc_0/config=0x1234/"));
}

int main(void)
{
	RUN(guest_name_from_libvirt_style_option);
	RUN(guest_name_from_plain_option);
	RUN(guest_name_first_field_without_key);
	RUN(guest_name_unescapes_double_commas);
	RUN(guest_name_absent_or_malformed);
	RUN(guest_name_too_long_is_refused);
	RUN(saved_watchdog_keeps_the_first_value);
	RUN(nmi_watchdog_reads_and_rejects_junk);
	RUN(proc_stat_plain_line);
	RUN(proc_stat_comm_ends_at_the_last_parenthesis);
	RUN(proc_stat_kernel_thread_flag);
	RUN(proc_stat_malformed_lines_are_refused);
	RUN(proc_stat_of_this_process);
	RUN(drain_refusal_rules);
	RUN(drain_signals_the_opener_through_a_pidfd);
	RUN(drain_leaves_a_reused_pid_alone);
	RUN(drain_dry_run_signals_nobody);
	RUN(drain_reports_gone_owners_without_signalling);
	RUN(drain_never_signals_itself_or_its_parent);
	RUN(status_verdict_and_kvm_hooks);
	RUN(names_of_kinds_and_modes);
	RUN(textfile_has_every_spec_metric_and_replaces_atomically);
	RUN(open_without_module_says_enoent);
	RUN(event_json_is_what_json_c_prints_for_every_byte_and_extreme);
	RUN(event_names_are_perfs);
	return SUMMARY();
}
