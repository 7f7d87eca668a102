# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest-side shunit2 suites (busybox ash).  The guest image
# holds the module at /lib/mpmu/mediated_pmu.ko, KVM's modules in load order
# in /lib/mpmu/kvm.order, and mpmu-probe on PATH.

SYS=/sys/kernel/mediated_pmu
MODULE=/lib/mpmu/mediated_pmu.ko
KCOUNTER=/lib/mpmu/mpmu_kcounter.ko	# a kernel counter, like the NMI watchdog's
TEST_PARAMS="guarded_pmus=software"
HOLD_DIR=/tmp/holds
mkdir -p "$HOLD_DIR"

sysval() { cat "$SYS/$1"; }

# Load the module (unloaded first) with the test defaults plus "$@".
mp_load() {
	mp_unload
	insmod "$MODULE" $TEST_PARAMS "$@"
}

mp_unload() {
	if [ -d "$SYS" ]; then
		rmmod mediated_pmu
	fi
}

kvm_load() {
	while read -r ko; do
		name=$(basename "$ko" .ko)
		grep -q "^$(echo "$name" | tr - _) " /proc/modules || insmod "$ko" || return 1
	done < /lib/mpmu/kvm.order
	[ -c /dev/kvm ] || mdev -s
	[ -c /dev/kvm ]
}

# A process may hold /dev/kvm for a moment (the reliability suite's churn):
# retry kvm_amd for up to 10 s.
# kvm_amd goes only at a moment when no VM holds it: under a VM-creating
# load that can take a while; $1 tries of 50 ms (default 200: 10 s).
kvm_unload() {
	i=0
	while [ -d /sys/module/kvm_amd ] && [ $i -lt "${1:-200}" ]; do
		rmmod kvm_amd 2> /dev/null || usleep 50000
		i=$((i + 1))
	done
	[ ! -d /sys/module/kvm_amd ] && rmmod kvm
}

# hold_* start a holder in the background and print its pid once the
# resource exists (or print nothing when mpmu-probe failed to get it, and
# the test fails at its tearDown).
_hold() {
	n=$((${_HOLD_SEQ:-0} + 1)); _HOLD_SEQ=$n
	ready="$HOLD_DIR/ready.$n"
	rm -f "$ready"
	mpmu-probe "$@" --hold "$ready" > "$HOLD_DIR/out.$n" 2>&1 &
	pid=$!
	i=0
	while [ ! -e "$ready" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
		usleep 50000
		i=$((i + 1))
	done
	if [ -e "$ready" ]; then
		echo "$pid" >> "$HOLD_DIR/pids"
		echo "$pid"
	else
		# Called in $(...): a fail here would be lost with the subshell.
		# release_all (every tearDown) fails the test for it.
		echo "mpmu-probe $*: $(cat "$HOLD_DIR/out.$n")" >> "$HOLD_DIR/failed"
		cat "$HOLD_DIR/out.$n" >&2
	fi
}

# A process holding an inherited per-task event, and its forked child (which
# carries the inherited copy) waiting for SIGTERM.
start_fork_child() {
	rm -f "$HOLD_DIR/child.ready"
	mpmu-probe fork-child "$HOLD_DIR/child.ready" > "$HOLD_DIR/fork.out" &
	FORK_PARENT=$!
	i=0
	while [ ! -e "$HOLD_DIR/child.ready" ] && [ $i -lt 200 ]; do
		usleep 50000
		i=$((i + 1))
	done
}

stop_fork_child() {
	kill -TERM "$(awk '/^OK/ {print $2}' "$HOLD_DIR/fork.out")"
	wait "$FORK_PARENT"
}

hold_vm() { _hold vm "$@"; }
hold_event() { _hold event "$@"; }

# Holders are children of a command substitution's subshell, not of the
# test shell: "wait" cannot see them.  Poll until the process has exited
# (gone, or a zombie: its files, and so its VM or event, are released).
gone() {
	[ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# A holder of 1200 events takes seconds to exit on PREEMPT_RT under TCG:
# wait up to a minute; only a real hang takes that long.
release() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while ! gone "$1" && [ $i -lt 3000 ]; do
		usleep 20000
		i=$((i + 1))
	done
	gone "$1"
}

release_all() {
	if [ -f "$HOLD_DIR/failed" ]; then
		fail "a hold the test relied on was not obtained: $(cat "$HOLD_DIR/failed")"
		rm -f "$HOLD_DIR/failed"
	fi
	if [ -f "$HOLD_DIR/pids" ]; then
		for pid in $(cat "$HOLD_DIR/pids"); do
			release "$pid"
		done
		rm -f "$HOLD_DIR/pids"
	fi
}

# A suite's tearDown: every holder gone, and the module (if loaded) back to
# no holder and no counted event.
release_all_and_check_zero() {
	release_all
	if [ -d "$SYS" ]; then
		assertEquals "refcount back to 0" 0 "$(sysval refcount)"
		assertEquals "events back to 0" 0 "$(sysval include_guest_events)"
	fi
	return 0
}

# Wait up to 10 s for the module to stop waiting for perf_event_open()
# calls begun before it armed (settling), then for its rescan.
wait_settled() {
	i=0
	while [ "$(sysval settling)" != 0 ] && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	# The rescan after the wait runs in the same work item: give it a turn.
	usleep 200000
}

# Write $2 to sysfs file $1 in one write(2); prints OK or the errno name.
syswrite() {
	mpmu-probe write "$SYS/$1" "$2"
}

# Mark the kernel log, to read only what follows the mark.
kmsg_mark() {
	_MARK_SEQ=$((${_MARK_SEQ:-0} + 1))
	_MARK="mpmu-test-mark-$$-$_MARK_SEQ-$(date +%s)"
	echo "$_MARK" > /dev/kmsg
}

kmsg_since_mark() {
	dmesg | sed -n "/$_MARK/,\$p"
}

# What in the kernel log shows a kernel bug: warnings, oopses, lockups, RCU
# stalls in every form the kernels print ("rcu: INFO: rcu_preempt
# self-detected stall on CPU", "... rcu_sched detected stalls on CPUs/tasks",
# "rcu_tasks detected stalls on tasks", "rcu_preempt kthread starved"),
# hung tasks.  tests/check.sh feeds it each form (KERNEL_LOG_PROBLEMS).
KERNEL_LOG_PROBLEMS='WARNING|BUG|Call Trace|rcu_[a-z_]+ (self-)?detected stall|rcu_[a-z_]+ kthread( timer wakeup didn.t happen| starved)|soft lockup|hard LOCKUP|general protection|blocked for more than [0-9]+ seconds'
kernel_log_problems() {
	dmesg | grep -E "$KERNEL_LOG_PROBLEMS"
}

# Skip the running test, saying why: the report counts it as SKIP with the
# reason (tests/tools/shunit-report), never as a pass.
skip_test() {
	echo "MPMU-SKIP $*"
	startSkipping
}

# mpmu.tests=a,b on the kernel command line runs only those tests.
if [ -n "${MPMU_TESTS:-}" ]; then
	suite() {
		for t in $MPMU_TESTS; do
			type "$t" > /dev/null 2>&1 && suite_addTest "$t"
		done
	}
fi
