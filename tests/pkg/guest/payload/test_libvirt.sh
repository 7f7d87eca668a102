#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The installed packages with the real clients an admin has: Debian's
# libvirtd calling the packaged hook, its QEMU as the VM (nested KVM,
# started paused: no guest code needs to run), Debian's perf as the
# profiler.  Runs in boot 2, before test_packages removes the packages.
DOM=mpmu-on
LOG=/var/log/libvirt/qemu/$DOM.log

domain_xml() {	# name pmu-state
	cat <<EOF
<domain type='kvm'>
  <name>$1</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><pmu state='$2'/></features>
  <cpu mode='host-passthrough'/>
  <devices><memballoon model='none'/></devices>
</domain>
EOF
}

hold_event() {	# an include-guest cpu-clock event, held by a process
	rm -f /tmp/held.ready
	mpmu-probe event --hold /tmp/held.ready > /dev/null 2>&1 &
	HELD=$!
	i=0
	while [ ! -e /tmp/held.ready ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

release_event() {
	kill "$HELD" 2> /dev/null
	wait "$HELD" 2> /dev/null
}

sysval() { cat "/sys/kernel/mediated_pmu/$1"; }

oneTimeSetUp() {
	# libvirtd may have probed QEMU at boot before udev loaded kvm_amd; it
	# probes again once /dev/kvm has changed, at its next use.
	i=0
	until virsh domcapabilities --virttype kvm --machine pc > /dev/null 2>&1 ||
		[ $i -ge 120 ]; do
		sleep 1
		i=$((i + 1))
	done
	echo "libvirt offered KVM after $i s"
	domain_xml "$DOM" on > /tmp/$DOM.xml
	virsh -q define /tmp/$DOM.xml > /tmp/define.out 2>&1 ||
		echo "virsh define: $(cat /tmp/define.out)"
}

tearDown() {
	virsh -q destroy "$DOM" > /dev/null 2>&1
	release_event
	rm -f /etc/mpmud.conf.d/test.conf
}

# The unit says Before=libvirtd.service (test_packages); this is the boot:
# libvirtd was started only after mpmud said READY=1 ("Started").
test_libvirtd_started_after_mpmud_was_ready_at_boot() {
	journalctl -b _PID=1 -o short-monotonic > /tmp/boot.journal
	ready=$(grep -m1 'Started mpmud.service' /tmp/boot.journal | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
	start=$(grep -m1 'Starting libvirtd.service' /tmp/boot.journal | sed 's/^\[ *\([0-9.]*\)\].*/\1/')
	echo "mpmud ready at $ready s, libvirtd starting at $start s (monotonic)"
	assertNotNull "mpmud started at boot" "$ready"
	assertNotNull "libvirtd started at boot" "$start"
	assertTrue "mpmud ready at $ready s, libvirtd starting at $start s" \
		"awk 'BEGIN { exit !($ready <= $start) }'"
}

test_pmu_on_domain_refused_with_the_hooks_reason_while_an_event_blocks() {
	hold_event
	assertEquals "an include-guest event blocks" 1 "$(sysval include_guest_events)"
	err=$(virsh start --paused "$DOM" 2>&1)
	assertNotEquals "virsh start fails: $err" 0 "$?"
	assertContains "libvirt shows the hook's reason" "$err" "mediated-pmu: not starting $DOM"
	assertContains "and names the blocker" "$err" "1 include-guest perf event blocks VM creation"
	assertTrue "the domain's log has it: $(tail -3 $LOG)" \
		"grep -q 'mediated-pmu hook: not starting $DOM' $LOG"
	assertEquals "no VM holds the knob" 0 "$(sysval refcount)"
	release_event
	out=$(virsh start --paused "$DOM" 2>&1)
	assertEquals "starts once the blocker is gone: $out" 0 "$?"
	assertEquals "the domain holds the knob" 1 "$(sysval refcount)"
}

test_holders_name_the_domain_and_qemus_pid() {
	virsh start --paused "$DOM" > /tmp/start.out 2>&1
	assertEquals "started: $(cat /tmp/start.out)" 0 "$?"
	pid=$(cat /run/libvirt/qemu/$DOM.pid)
	out=$(mpmuctl -j holders)
	assertContains "QEMU's pid: $out" "$out" "\"pid\":$pid,"
	assertContains "the libvirt domain" "$out" "\"guest_name\":\"$DOM\""
	assertContains "the table too" "$(mpmuctl holders)" "$DOM"
}

test_destroy_releases_the_knob_and_watch_reports_it() {
	virsh start --paused "$DOM" > /tmp/start.out 2>&1
	assertEquals "started: $(cat /tmp/start.out)" 0 "$?"
	pid=$(cat /run/libvirt/qemu/$DOM.pid)
	mpmuctl -j watch > /tmp/watch.out 2>&1 &
	watcher=$!
	sleep 1
	virsh -q destroy "$DOM" > /dev/null 2>&1
	i=0
	while ! grep -q vm_released /tmp/watch.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -INT "$watcher"
	wait "$watcher"
	assertEquals "released" 0 "$(sysval refcount)"
	assertTrue "watch reported QEMU's release: $(cat /tmp/watch.out)" \
		"grep '\"event\":\"vm_released\"' /tmp/watch.out | grep -q '\"pid\":$pid[,}]'"
}

# perf (6.1 on Debian 12, 6.12 on Debian 13) asks for an include-guest
# event only with :G (or perf kvm): plain events and :H exclude the guest.
# perf stat shows an event the kernel refuses (EOPNOTSUPP) as
# "<not supported>" and goes on.
perf_stat() {	# event
	perf stat -a -e "$1" -- sleep 0.1 2>&1
}

test_real_perf_include_guest_refused_while_a_domain_runs_host_only_counts() {
	virsh start --paused "$DOM" > /tmp/start.out 2>&1
	assertEquals "started: $(cat /tmp/start.out)" 0 "$?"
	out=$(perf_stat cpu-clock:G)
	assertContains "cpu-clock:G refused: $out" "$out" "<not supported>"
	assertContains "by the module: $(dmesg | tail -3)" "$(dmesg | tail -20)" \
		"refused include-guest perf event on PMU software by pid"
	out=$(perf_stat cpu-clock:H)
	assertNotContains "cpu-clock:H counts: $out" "$out" "<not supported>"
	assertContains "$out" "msec cpu-clock:H"
	out=$(perf_stat cpu-clock)
	assertNotContains "cpu-clock (no modifier) counts: $out" "$out" "<not supported>"
	virsh -q destroy "$DOM" > /dev/null 2>&1
	out=$(perf_stat cpu-clock:G)
	assertNotContains "without a domain cpu-clock:G counts: $out" "$out" "<not supported>"
	assertContains "$out" "msec cpu-clock:G"
}

test_drain_term_in_mpmud_conf_lets_the_start_succeed() {
	mkdir -p /etc/mpmud.conf.d
	echo "drain = term" > /etc/mpmud.conf.d/test.conf
	hold_event
	out=$(virsh start --paused "$DOM" 2>&1)
	assertEquals "the hook drained, the start succeeded: $out" 0 "$?"
	i=0
	while kill -0 "$HELD" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	assertFalse "the blocker got SIGTERM" "kill -0 $HELD 2> /dev/null"
	assertEquals "the domain holds the knob" 1 "$(sysval refcount)"
}

# mediated_pmu(7): every VM takes the knob, whatever its PMU; neither
# QEMU 7.2 (Debian 12) nor 10.0 (Debian 13) tells KVM that the guest has
# none.  The hook checks only PMU-on domains, so a PMU-off domain meets
# QEMU's own error instead.
test_pmu_off_domain_still_takes_the_knob() {
	domain_xml mpmu-off off > /tmp/mpmu-off.xml
	virsh -q define /tmp/mpmu-off.xml > /dev/null 2>&1
	hold_event
	err=$(virsh start --paused mpmu-off 2>&1)
	assertNotEquals "refused while an event blocks: $err" 0 "$?"
	assertContains "by KVM_CREATE_VM: QEMU's own error" "$err" "Device or resource busy"
	assertNotContains "not by the hook" "$err" "mediated-pmu: not starting"
	release_event
	out=$(virsh start --paused mpmu-off 2>&1)
	assertEquals "starts without one: $out" 0 "$?"
	assertEquals "and holds the knob" 1 "$(sysval refcount)"
	virsh -q destroy mpmu-off > /dev/null 2>&1
	assertEquals "released" 0 "$(sysval refcount)"
}

ALL_TESTS="test_libvirtd_started_after_mpmud_was_ready_at_boot
	test_pmu_on_domain_refused_with_the_hooks_reason_while_an_event_blocks
	test_holders_name_the_domain_and_qemus_pid
	test_destroy_releases_the_knob_and_watch_reports_it
	test_real_perf_include_guest_refused_while_a_domain_runs_host_only_counts
	test_drain_term_in_mpmud_conf_lets_the_start_succeed
	test_pmu_off_domain_still_takes_the_knob
	test_every_test_is_in_the_list"

# The list above is the suite: a test left out of it would never run.
test_every_test_is_in_the_list() {
	for t in $(sed -n 's/^\(test_[a-z0-9_]*\)() {$/\1/p' "$0"); do
		assertContains "ALL_TESTS lists $t" "$ALL_TESTS" "$t"
	done
}

suite() {
	for t in $ALL_TESTS; do
		suite_addTest "$t"
	done
}

. shunit2
