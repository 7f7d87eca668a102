#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module under load, under faults and under hostile input (issue 6).
# Each test ends with the counters back to zero; the last one reads the
# kernel log.  Figures are printed as "figure: ..." lines for
# docs/reliability.md.

. /tests/lib.sh

DEBUG_MODULE=/lib/mpmu/mediated_pmu-debug.ko
FAIL_EVERY=/sys/module/mediated_pmu/parameters/fail_alloc_every

oneTimeSetUp() {
	kvm_load || fail "cannot load KVM"
}

setUp() {
	kvm_load
	mp_load
}

tearDown() {
	release_all
	[ -d "$SYS" ] || return 0
	settled || true
	assertEquals "refcount back to 0" 0 "$(sysval refcount)"
	assertEquals "events back to 0" 0 "$(sysval include_guest_events)"
	assertEquals "no holder left" "" "$(sysval holders)"
	return 0
}

# Processes killed with SIGKILL release their files in their exit path;
# wait (up to 20 s) until the counters have followed.
settled() {
	i=0
	while [ "$(sysval refcount)$(sysval include_guest_events)" != 00 ] && [ $i -lt 400 ]; do
		usleep 50000
		i=$((i + 1))
	done
	[ "$(sysval refcount)$(sysval include_guest_events)" = 00 ]
}

# Objects in the module's record cache (slab_nomerge keeps it apart).  The
# free list hides a lost record from it (up to 4096 free records are kept):
# a figure only.
record_slab_objects() {
	awk '$1 == "mpmu_rec" { print $3 }' /proc/slabinfo
}

# The module's records in use, as its pool counts them (debugfs): every
# one is in a table, so after a workload that leaves nothing behind the
# count is back where it was, or a record was lost.
records_in_use() {
	sed -n 's/^in_use \([0-9-]*\)$/\1/p' /sys/kernel/debug/mediated_pmu/records
}

slab_kb() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	cp /proc/slabinfo "$HOLD_DIR/slabinfo.$1"
	awk '/^Slab:/ { print $2 }' /proc/meminfo
}

# The three caches that grew most between two slab_kb snapshots: where a
# growth of Slab went (num_objs * objsize).
slab_growth() {
	awk 'FNR <= 2 { next }
	     NR == FNR { was[$1] = $3 * $4; next }
	     $3 * $4 > was[$1] { print $3 * $4 - was[$1], $1 }' \
		"$HOLD_DIR/slabinfo.$1" "$HOLD_DIR/slabinfo.$2" |
		sort -rn | head -3 | awk '{ printf "%s%s +%d kB", sep, $2, $1 / 1024; sep = ", " }'
}

# The value of NAME=N in a summary line.
field() {
	echo " $2" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

# The module still arbitrates: an event blocks a VM, a VM blocks an event.
assert_still_arbitrates() {
	ev=$(hold_event)
	assertNotNull "$1: event opens" "$ev"
	assertEquals "$1: VM refused while an event lives" EBUSY "$(mpmu-probe vm)"
	release "$ev"
	vm=$(hold_vm)
	assertNotNull "$1: VM created" "$vm"
	assertEquals "$1: event refused while a VM holds" EOPNOTSUPP "$(mpmu-probe event)"
	release "$vm"
}

# Background readers: netlink dumps in a loop, and two watch listeners.
start_readers() {
	rm -f "$HOLD_DIR"/readers.* "$HOLD_DIR/stop-readers"
	(
		n=0 failed=0
		while [ ! -e "$HOLD_DIR/stop-readers" ]; do
			for verb in events holders status; do
				mpmuctl -j $verb > /dev/null 2>> "$HOLD_DIR/readers.err" ||
					failed=$((failed + 1))
			done
			n=$((n + 1))
		done
		echo "$n $failed" > "$HOLD_DIR/readers.dumps"
	) &
	DUMPER=$!
	mpmuctl -j watch > "$HOLD_DIR/readers.watch1" 2> "$HOLD_DIR/readers.err1" &
	WATCH1=$!
	mpmuctl watch > "$HOLD_DIR/readers.watch2" 2> "$HOLD_DIR/readers.err2" &
	WATCH2=$!
}

stop_readers() {
	touch "$HOLD_DIR/stop-readers"
	wait "$DUMPER"
	kill -INT "$WATCH1" "$WATCH2"
	wait "$WATCH1"
	assertEquals "json watch exits 0 on SIGINT" 0 $?
	wait "$WATCH2"
	assertEquals "watch exits 0 on SIGINT" 0 $?
	assertEquals "readers' stderr (ASan, UBSan, errors)" "" \
		"$(cat "$HOLD_DIR"/readers.err*)"
	read -r DUMPS DUMPS_FAILED < "$HOLD_DIR/readers.dumps"
	assertEquals "failed dumps" 0 "$DUMPS_FAILED"
	assertTrue "dumps ran ($DUMPS)" "[ $DUMPS -gt 0 ]"
	NOTES=$(wc -l < "$HOLD_DIR/readers.watch1")
	assertTrue "notifications received ($NOTES)" "[ $NOTES -gt 0 ]"
	assertEquals "every notification is JSON" "$NOTES" \
		"$(grep -c '^{.*"seq".*}$' "$HOLD_DIR/readers.watch1")"
}

# VM create/destroy, include- and exclude-guest events, inherited events
# across fork(), `enabled` flips, netlink dumps and watch listeners, all at
# once on 2 vCPUs; then nothing is left and no record leaked.
test_mixed_stress_holds_the_invariant_and_leaks_nothing() {
	slab0=$(slab_kb before)
	rec0=$(record_slab_objects)
	use0=$(records_in_use)
	assertNotNull "the pool counts its records in debugfs" "$use0"
	start_readers
	out=$(mpmu-probe stress "$STRESS_SECONDS" --flip "$SYS/enabled" 2>&1)
	stop_readers
	echo "figure: stress ${STRESS_SECONDS}s: $out dumps=$DUMPS notifications=$NOTES"
	assertContains "$out" "violations=0"
	for f in vms events forks excluded flips; do
		assertTrue "$f made progress: $out" "[ 0$(field $f "$out") -gt 0 ]"
	done
	assertEquals "enabled after the flips" 1 "$(sysval enabled)"
	settled
	use1=$(records_in_use)
	rec1=$(record_slab_objects)
	slab1=$(slab_kb after)
	echo "figure: records in use before/after: $use0/$use1; in slab before/after: $rec0/$rec1; Slab: ${slab0}/${slab1} kB; grew most: $(slab_growth before after)"
	assertEquals "records in use (the pool's count)" "$use0" "$use1"
	assert_still_arbitrates "after the stress"
}

# SIGKILL lands in the middle of VM creation, event open, fork() and
# close: whatever the moment, every record goes with its object.
test_kill_9_of_holders_mid_operation_loses_nothing() {
	: > "$HOLD_DIR/kill.err"
	pids="" killed=0
	for i in 1 2 3; do
		mpmu-probe stress 600 2>> "$HOLD_DIR/kill.err" > /dev/null &
		pids="$pids $!"
	done
	end=$(($(date +%s) + KILL_SECONDS))
	while [ "$(date +%s)" -lt "$end" ]; do
		usleep $((200000 + $(head -c 2 /dev/urandom | od -An -tu2) * 10))
		set -- $pids
		shift $(($(head -c 1 /dev/urandom | od -An -tu1) % 3))
		victim=$1
		kill -KILL "$victim"
		wait "$victim" 2> /dev/null
		killed=$((killed + 1))
		mpmu-probe stress 600 2>> "$HOLD_DIR/kill.err" > /dev/null &
		pids=$(echo " $pids " | sed "s/ $victim / $! /")
	done
	kill -KILL $pids
	wait $pids 2> /dev/null
	echo "figure: kill -9: $killed holders killed mid-operation in $KILL_SECONDS s"
	assertEquals "violations" "" "$(grep VIOLATION "$HOLD_DIR/kill.err")"
	assertTrue "counters back to 0 after the kills" settled
	assert_still_arbitrates "after the kills"
}

# Lines of a listing that name PID as owner (events) or holder (holders).
entries_of() {	# listing pid
	echo "$1" | tr -d ' \n' | grep -o "\"\(owner_pid\|pid\)\":$2[,}]" | wc -l
}

# While other entries come and go by the thousand a second, every listing
# ends (exit 0) and shows each entry that lives throughout it exactly once:
# 1200 events take many reads to list, and a change between two of them
# interrupts the dump (NLM_F_DUMP_INTR), here nearly every time: after five
# tries the last is shown (before, the listing failed: 5 of 5 on 6.12).
test_listings_under_churn_show_each_lasting_entry_once() {
	many=$(_hold events 1200)
	assertNotNull "1200 events open" "$many"
	mpmu-probe bench-open 1000000 > /dev/null &
	churn1=$!
	mpmu-probe bench-open 1000000 > /dev/null &
	churn2=$!
	rc=0 counts=""
	for i in 1 2 3 4 5; do
		out=$(mpmuctl -j events) || rc=$?
		counts="$counts $(entries_of "$out" "$many")"
	done
	kill "$churn1" "$churn2"
	wait "$churn1" "$churn2"
	assertEquals "mpmuctl events exit status under churn" 0 "$rc"
	assertEquals "the 1200 lasting events in each of 5 listings" \
		" 1200 1200 1200 1200 1200" "$counts"
	release "$many"

	v1=$(hold_vm) v2=$(hold_vm)
	mpmu-probe bench-vm 100000 > /dev/null &
	churn1=$!
	rc=0 counts=""
	for i in 1 2 3 4 5; do
		out=$(mpmuctl -j holders) || rc=$?
		counts="$counts $(entries_of "$out" "$v1")$(entries_of "$out" "$v2")"
	done
	kill "$churn1"
	wait "$churn1"
	assertEquals "mpmuctl holders exit status under churn" 0 "$rc"
	assertEquals "the 2 lasting holders in each of 5 listings" " 11 11 11 11 11" "$counts"
}

# kvm_amd and kvm go away and come back while VMs and events churn; the
# module re-arms its KVM probes each time.
test_kvm_reload_under_load_keeps_the_invariant() {
	mpmu-probe stress 40 > "$HOLD_DIR/reload.out" 2>&1 &
	stress=$!
	reloads=0
	for round in 1 2 3; do
		sleep 3
		# Up to 60 s: the stress's VMs keep kvm_amd in use; seen to take
		# over 10 s on 7.3-rt with the host's cores shared by 3 guests.
		if ! kvm_unload 1200; then
			fail "kvm did not unload in round $round"
			break
		fi
		sleep 1
		kvm_load || fail "kvm did not load again"
		reloads=$((reloads + 1))
	done
	wait "$stress"
	out=$(cat "$HOLD_DIR/reload.out")
	echo "figure: kvm reload: $reloads reloads under load: $out"
	assertEquals "3 reloads" 3 "$reloads"
	assertContains "$out" "violations=0"
	assert_still_arbitrates "after the reloads"
}

load_debug_module() {
	mp_unload
	insmod "$DEBUG_MODULE" $TEST_PARAMS
}

# Without memory for a record the module refuses rather than lose track:
# the creation fails with ENOMEM and a message, and nothing is counted.
test_allocation_failure_fails_closed() {
	load_debug_module
	echo 1 > "$FAIL_EVERY"
	kmsg_mark
	assertEquals "include-guest event" ENOMEM "$(mpmu-probe event)"
	assertEquals "VM" ENOMEM "$(mpmu-probe vm)"
	assertEquals "exclude-guest event needs no record" OK "$(mpmu-probe event --exclude-guest)"
	assertEquals 0 "$(sysval refcount)"
	assertEquals 0 "$(sysval include_guest_events)"
	assertContains "$(kmsg_since_mark)" "no memory to track a perf event of pid"
	assertContains "$(kmsg_since_mark)" "no memory to track a VM of pid"
	# Every 2nd allocation: the parent's event is tracked, the copy that
	# fork() makes is not, and fork() still works.
	echo 2 > "$FAIL_EVERY"
	start_fork_child
	assertContains "fork with an untracked copy" "$(cat "$HOLD_DIR/fork.out")" OK
	assertEquals "the parent's event counts" 1 "$(sysval include_guest_events)"
	assertEquals "and blocks VMs" EBUSY "$(mpmu-probe vm)"
	stop_fork_child
	assertEquals 0 "$(sysval include_guest_events)"
	echo 0 > "$FAIL_EVERY"
	assert_still_arbitrates "after the failures stop"
}

# Random allocation failures under the stress: refusals, never a violation
# and never a record lost (the counters return to zero, rmmod works).
test_allocation_failures_under_stress_lose_nothing() {
	load_debug_module
	echo 7 > "$FAIL_EVERY"
	out=$(mpmu-probe stress 15 2>&1)
	echo 0 > "$FAIL_EVERY"
	echo "figure: stress 15s with every 7th allocation failing: $out"
	assertContains "$out" "violations=0"
	assertTrue "counters back to 0" settled
	assert_still_arbitrates "after the failures"
	assertTrue "the debug module unloads" "rmmod mediated_pmu"
}

config_of() {
	echo "$(sysval enabled) $(sysval guarded_pmus)"
}

restore_config() {
	syswrite enabled 1 > /dev/null
	syswrite guarded_pmus software > /dev/null
}

# A loop of perf_event_open() takes a record per event: 1.25 times the
# pool's 1,024 here, in one burst, by a SCHED_FIFO task pinned to CPU 0,
# with the pool's worker (SCHED_FIFO too, at a lower priority) bound to
# CPU 0 for the test: the worker cannot run until the loop ends.  On
# PREEMPT_RT there is no atomic allocation to fall back on: the loop must
# refill the pool itself (on its way back to user space, below the low
# watermark), or it runs dry.  Seen before that refill existed: ENOMEM on
# 6.12-rt with a workqueue item, then on 7.3-rt with the worker alone,
# which failed this test in each of 3 runs on the RT kernels.
test_a_burst_from_a_realtime_task_never_empties_the_pool() {
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2> /dev/null)" = mpmu_pool ] && worker=$d
	done
	# /proc/PID/stat fields 40 and 41: real-time priority, policy (1: FIFO).
	assertEquals "the refill thread is mpmu_pool, SCHED_FIFO 1" "1 1" \
		"$(awk '{ print $40, $41 }' "${worker:-/nonexistent}/stat" 2> /dev/null)"
	# Started at load, waiting for work (an unstarted kthread waits in
	# kthread(): 7.x's kthread_create_worker() does not start it).
	assertEquals "the refill thread is started" kthread_worker_fn \
		"$(cat "${worker:-/nonexistent}/wchan" 2> /dev/null)"
	assertEquals "the refill thread is bound to CPU 0" OK \
		"$(mpmu-probe pin "${worker#/proc/}" 0)"
	use0=$(records_in_use)
	kmsg_mark
	t0=$(date +%s)
	p=$(_hold events 1280 --fifo)
	t1=$(date +%s)
	assertNotNull "1280 events open: $(cat "$HOLD_DIR/failed" 2> /dev/null)" "$p"
	assertEquals 1280 "$(sysval include_guest_events)"
	assertNotContains "$(kmsg_since_mark)" "no memory to track"
	assertTrue "holder exits" "release $p"
	echo "figure: 1280-event burst from a SCHED_FIFO task, the worker bound to its CPU: opened in $((t1 - t0)) s, closed in $(($(date +%s) - t1)) s"
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals "records in use back to before" "$use0" "$(records_in_use)"
}

# Random commands, attributes, lengths, nesting and flags as root (config
# changes are allowed, and undone), with nothing held and with an event
# held (the dumps have content); then as nobody with a VM held: nothing may
# change.  The module answers and arbitrates afterwards.
test_netlink_fuzzer_leaves_the_module_working() {
	out=$(timeout 120 nl-fuzz 10 2>&1)
	assertEquals "nl-fuzz as root: $out" 0 $?
	echo "figure: netlink fuzz as root 10s: $(echo "$out" | grep sent=)"
	restore_config
	ev=$(hold_event)
	out=$(timeout 120 nl-fuzz 10 2>&1)
	assertEquals "nl-fuzz as root, an event held: $out" 0 $?
	echo "figure: netlink fuzz as root 10s, an event held: $(echo "$out" | grep sent=)"
	release "$ev"
	restore_config
	vm=$(hold_vm)
	before=$(config_of)
	out=$(timeout 120 mpmu-probe as-nobody exec /usr/bin/nl-fuzz 10 2>&1)
	assertEquals "nl-fuzz as nobody: $out" 0 $?
	echo "figure: netlink fuzz as nobody 10s, a VM held: $(echo "$out" | grep sent=)"
	assertEquals "nobody changed nothing" "$before" "$(config_of)"
	assertEquals "the VM still holds" 1 "$(sysval refcount)"
	assertTrue "nobody was refused" "[ 0$(field eperm "$out") -gt 0 ]"
	release "$vm"
	assertEquals "status answers" 0 "$(mpmuctl -q status; echo $?)"
	assert_still_arbitrates "after the netlink fuzzer"
}

# Random bytes and near-miss values into enabled and guarded_pmus: each
# write is taken or refused, a refusal changes nothing; with a VM holding,
# neither may change at all.
test_random_sysfs_writes_keep_valid_values() {
	out=$(mpmu-probe sysfs-fuzz 10 "$SYS/enabled" "$SYS/guarded_pmus" 2>&1)
	assertEquals "sysfs-fuzz: $out" 0 $?
	echo "figure: sysfs fuzz 10s: $(echo "$out" | tail -1)"
	restore_config
	vm=$(hold_vm)
	before=$(config_of)
	out=$(mpmu-probe sysfs-fuzz 5 "$SYS/enabled" "$SYS/guarded_pmus" 2>&1)
	assertEquals "sysfs-fuzz with a holder: $out" 0 $?
	assertEquals "nothing changes while a VM holds" "$before" "$(config_of)"
	release "$vm"
}

test_zz_kernel_log_is_clean() {
	assertEquals "kernel log" "" "$(kernel_log_problems)"
}

. /usr/bin/shunit2
