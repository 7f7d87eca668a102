#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's own mediated PMU knob (Linux 7.0+), used for real.  Under TCG
# KVM can never take it (no core PMU), so a test stand-in does:
# /lib/mpmu/kvm-intel-native.ko (tests/vm/native), named like KVM's Intel
# module because only KVM's modules may link the knob.  Loaded, it says
# enable_mediated_pmu=Y as KVM would; each open of /dev/mpmu_native takes the
# knob with perf_create_mediated_pmu() (an open file is a VM holding it), the
# last close gives it back; its PMU mpmu_native is flagged
# PERF_PMU_CAP_MEDIATED_VPMU, so the kernel guards it like a core PMU.  The
# module must then observe the kernel's knob, and arbitrate again once the
# stand-in is gone.
#
# run.sh builds the stand-in only for headers that declare the knob.  On a
# kernel without it, the test is that nothing claims a knob; the others
# are SKIP there, saying why.

. /tests/lib.sh

NATIVE=/lib/mpmu/kvm-intel-native.ko

oneTimeSetUp() {
	kvm_load || fail "cannot load KVM"
}

setUp() {
	kvm_load
	native_unload
	mp_load
}

tearDown() {
	release_all_and_check_zero
	native_unload
}

native_load() {
	insmod "$NATIVE" "$@"
}

native_unload() {
	if grep -q '^kvm_intel ' /proc/modules; then
		rmmod kvm_intel
	fi
}

# Take the knob as a VM would, and keep it (prints the holder's pid).
hold_knob() { _hold exec /bin/mpmu-native knob; }
# An event on PMU $1 ("mpmu_native", "software"), held; options as mpmu-native.
hold_pmu_event() { _hold exec /bin/mpmu-native event "$@"; }

json() { mpmuctl -j "$@"; }

needs_knob() {
	[ -e "$NATIVE" ] && return 0
	skip_test "$(uname -r) has no native knob (no $NATIVE)"
	return 1
}

# The "event" of every line mpmuctl -j watch printed to $1.
watched_kinds() {
	while read -r line; do
		echo "$line" | jsonq .event
	done < "$1"
}

# Every kernel: the stand-in is there exactly when the kernel has the knob,
# and without it nothing claims one.
test_the_stand_in_is_there_exactly_when_the_kernel_has_the_knob() {
	if grep -qw perf_create_mediated_pmu /proc/kallsyms; then
		assertTrue "the knob, and the stand-in built" "[ -e $NATIVE ]"
		assertEquals unused "$(sysval native)"
	else
		assertFalse "no knob, no stand-in" "[ -e $NATIVE ]"
		assertEquals absent "$(sysval native)"
		assertEquals absent "$(json status | jsonq .native)"
		assertEquals arbitrate "$(sysval mode)"
	fi
}

# The ground the observe tests stand on: the refusals are the kernel's own,
# with mediated_pmu not even loaded.
test_the_kernel_refuses_by_itself() {
	needs_knob || return 0
	mp_unload
	native_load
	k=$(hold_knob)
	assertNotNull "knob taken" "$k"
	assertEquals "include-guest event" EOPNOTSUPP "$(mpmu-native event mpmu_native --cpu 0)"
	assertEquals "exclude-guest event" OK \
		"$(mpmu-native event mpmu_native --cpu 0 --exclude-guest)"
	release "$k"
	e=$(hold_pmu_event mpmu_native)
	assertNotNull "per-task include-guest event" "$e"
	assertEquals "knob beside an include-guest event" EBUSY "$(mpmu-native knob)"
	release "$e"
	assertEquals "knob" OK "$(mpmu-native knob)"
}

test_unused_knob_leaves_the_module_arbitrating() {
	needs_knob || return 0
	assertEquals "KVM keeps it off under TCG" N \
		"$(cat /sys/module/kvm_amd/parameters/enable_mediated_pmu)"
	assertEquals unused "$(sysval native)"
	assertEquals arbitrate "$(sysval mode)"
	assertEquals "software guarded as asked" software "$(sysval guarded_pmus)"
}

test_a_vendor_module_using_the_knob_switches_to_observe_and_back() {
	needs_knob || return 0
	kmsg_mark
	assertTrue "load the stand-in" native_load
	assertEquals Y "$(cat /sys/module/kvm_intel/parameters/enable_mediated_pmu)"
	assertEquals in-use "$(sysval native)"
	assertEquals observe "$(sysval mode)"
	assertNotNull "logged" "$(kmsg_since_mark | grep "kvm_intel.*kernel's own")"
	assertTrue "unload it" "rmmod kvm_intel"
	assertEquals unused "$(sysval native)"
	assertEquals arbitrate "$(sysval mode)"
}

test_a_vendor_module_not_using_the_knob_leaves_arbitration() {
	needs_knob || return 0
	assertTrue "load the stand-in off" "native_load enable_mediated_pmu=0"
	assertEquals N "$(cat /sys/module/kvm_intel/parameters/enable_mediated_pmu)"
	assertEquals unused "$(sysval native)"
	assertEquals arbitrate "$(sysval mode)"
}

test_module_loaded_after_the_vendor_module_observes_from_load() {
	needs_knob || return 0
	mp_unload
	native_load
	mp_load
	assertEquals in-use "$(sysval native)"
	assertEquals observe "$(sysval mode)"
	assertEquals "the kernel's guarded PMUs" mpmu_native "$(sysval guarded_pmus)"
}

test_observe_holders_are_the_processes_holding_the_knob() {
	needs_knob || return 0
	native_load
	assertEquals observe "$(sysval mode)"
	a=$(hold_knob)
	assertNotNull "knob taken" "$a"
	assertEquals 1 "$(sysval refcount)"
	assertEquals "$a" "$(sysval holders)"
	out=$(json holders)
	assertEquals "one holder" 1 "$(echo "$out" | jsonq '.#')"
	assertEquals "$a" "$(echo "$out" | jsonq '.[0].pid')"
	assertEquals mpmu-native "$(echo "$out" | jsonq '.[0].comm')"
	out=$(json status)
	assertEquals in-use "$(echo "$out" | jsonq .native)"
	assertEquals observe "$(echo "$out" | jsonq .mode)"
	assertEquals 1 "$(echo "$out" | jsonq .refcount)"
	b=$(hold_knob)
	assertEquals 2 "$(sysval refcount)"
	assertEquals "$(printf '%s\n%s' "$a" "$b" | sort)" "$(sysval holders | sort)"
	assertEquals 2 "$(json holders | jsonq '.#')"
	release "$a"
	assertEquals 1 "$(sysval refcount)"
	assertEquals "$b" "$(sysval holders)"
	release "$b"
	assertEquals 0 "$(sysval refcount)"
	assertEquals "" "$(sysval holders)"
}

# Not mpmu-native: any process with the file open holds it, as a VM would.
test_observe_a_shell_redirect_holds_the_knob_until_it_exits() {
	needs_knob || return 0
	native_load
	sleep 1000 < /dev/mpmu_native &
	s=$!
	echo "$s" >> "$HOLD_DIR/pids"
	i=0
	while [ "$(sysval refcount)" = 0 ] && kill -0 "$s" 2>/dev/null && [ $i -lt 100 ]; do
		usleep 50000
		i=$((i + 1))
	done
	assertEquals 1 "$(sysval refcount)"
	assertEquals "$s" "$(sysval holders)"
	release "$s"
	assertEquals 0 "$(sysval refcount)"
}

test_observe_guarded_pmus_are_those_the_kernel_guards_and_are_read_only() {
	needs_knob || return 0
	native_load
	assertEquals mpmu_native "$(sysval guarded_pmus)"
	assertEquals mpmu_native "$(json status | jsonq '.guarded_pmus.[0]')"
	assertEquals "write enabled" EOPNOTSUPP "$(syswrite enabled 0)"
	assertEquals "write guarded_pmus" EOPNOTSUPP "$(syswrite guarded_pmus software)"
	assertEquals "enabled unchanged" 1 "$(sysval enabled)"
	assertEquals "guarded_pmus unchanged" mpmu_native "$(sysval guarded_pmus)"
}

test_observe_include_guest_events_make_the_kernel_refuse_the_knob() {
	needs_knob || return 0
	native_load
	e=$(hold_pmu_event mpmu_native --cpu 0)
	assertNotNull "CPU-wide event" "$e"
	p=$(hold_pmu_event mpmu_native)
	assertNotNull "per-task event" "$p"
	assertEquals 2 "$(sysval include_guest_events)"
	out=$(json events)
	assertEquals "listed" 2 "$(echo "$out" | jsonq '.#')"
	assertEquals mpmu_native "$(echo "$out" | jsonq '.[0].pmu')"
	assertEquals mpmu_native "$(echo "$out" | jsonq '.[1].pmu')"
	assertEquals "$(printf '%s\n%s' "$e" "$p" | sort)" \
		"$(printf '%s\n%s' "$(echo "$out" | jsonq '.[0].owner_pid')" \
			"$(echo "$out" | jsonq '.[1].owner_pid')" | sort)"
	assertEquals "the kernel refuses" EBUSY "$(mpmu-native knob)"
	assertEquals 1 "$(sysval rejected_vms)"
	assertEquals 0 "$(sysval refcount)"
	# The preflight says so, about the kernel's knob, for every user.
	out=$(mpmu-probe as-nobody exec /usr/bin/mpmuctl -j check)
	assertEquals "check: not ready ($out)" false "$(echo "$out" | jsonq .ready)"
	assertEquals "check: the kernel's knob" kernel "$(echo "$out" | jsonq .knob)"
	assertContains "check names the events" "$(mpmuctl check)" \
		"Checking for the kernel's own knob (observe mode): PASS"
	release "$e"
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals "one is enough" EBUSY "$(mpmu-native knob)"
	assertEquals 2 "$(sysval rejected_vms)"
	release "$p"
	assertEquals 0 "$(sysval include_guest_events)"
	assertTrue "check: ready in observe mode" "mpmuctl -q check"
	assertEquals OK "$(mpmu-native knob)"
	assertEquals 2 "$(sysval rejected_vms)"
}

test_observe_the_kernel_refuses_include_guest_events_while_the_knob_is_held() {
	needs_knob || return 0
	native_load
	k=$(hold_knob)
	assertNotNull "knob taken" "$k"
	assertEquals "CPU-wide" EOPNOTSUPP "$(mpmu-native event mpmu_native --cpu 0)"
	assertEquals "per-task" EOPNOTSUPP "$(mpmu-native event mpmu_native)"
	assertEquals 2 "$(sysval rejected_events)"
	assertEquals "exclude-guest" OK "$(mpmu-native event mpmu_native --cpu 0 --exclude-guest)"
	assertEquals "software: not guarded by the kernel" OK \
		"$(mpmu-native event software --cpu 0)"
	assertEquals "nor by the module" OK "$(mpmu-probe event --cpu 0)"
	assertEquals 2 "$(sysval rejected_events)"
	assertEquals 0 "$(sysval include_guest_events)"
	release "$k"
	assertEquals "after the holder" OK "$(mpmu-native event mpmu_native --cpu 0)"
}

test_observe_watch_shows_the_kernels_knob() {
	needs_knob || return 0
	native_load
	mpmuctl -j watch > "$HOLD_DIR/watch.out" &
	w=$!
	echo "$w" >> "$HOLD_DIR/pids"
	i=0
	while ! ls -l /proc/$w/fd 2>/dev/null | grep -q socket && [ $i -lt 250 ]; do
		usleep 20000
		i=$((i + 1))
	done
	# Subscribing follows the socket: repeat until each kind arrived
	# (lib.sh's helpers use $i).
	round=0
	while [ $round -lt 10 ]; do
		k=$(hold_knob)
		mpmu-native event mpmu_native --cpu 0 > /dev/null
		release "$k"
		e=$(hold_pmu_event mpmu_native --cpu 0)
		mpmu-native knob > /dev/null
		release "$e"
		usleep 200000
		kinds=$(watched_kinds "$HOLD_DIR/watch.out")
		missing=""
		for kind in vm_acquired event_rejected vm_released vm_rejected; do
			echo "$kinds" | grep -qx "$kind" || missing="$missing $kind"
		done
		[ -z "$missing" ] && break
		round=$((round + 1))
	done
	release "$w"
	assertEquals "kinds never notified" "" "$missing"
	line=$(grep -m1 '"vm_acquired"' "$HOLD_DIR/watch.out")
	assertEquals "acquired: the knob's references" 1 "$(echo "$line" | jsonq .refcount)"
	assertEquals mpmu-native "$(echo "$line" | jsonq .comm)"
	line=$(grep -m1 '"event_rejected"' "$HOLD_DIR/watch.out")
	assertEquals mpmu_native "$(echo "$line" | jsonq .pmu)"
	assertEquals "event refused: the knob's references" 1 "$(echo "$line" | jsonq .refcount)"
	line=$(grep -m1 '"vm_rejected"' "$HOLD_DIR/watch.out")
	assertEquals mpmu-native "$(echo "$line" | jsonq .comm)"
	assertEquals "knob refused: its blocker" 1 "$(echo "$line" | jsonq .include_guest_events)"
	assertEquals "knob refused: no reference" 0 "$(echo "$line" | jsonq .refcount)"
}

test_arbitration_resumes_when_the_vendor_module_goes() {
	needs_knob || return 0
	native_load
	e=$(hold_event --cpu 0)
	assertNotNull "software event" "$e"
	assertEquals "observing: VMs are the kernel's business" OK "$(mpmu-probe vm)"
	assertTrue "unload the stand-in" "rmmod kvm_intel"
	assertEquals arbitrate "$(sysval mode)"
	assertEquals software "$(sysval guarded_pmus)"
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals "arbitrating" EBUSY "$(mpmu-probe vm)"
	release "$e"
	assertEquals OK "$(mpmu-probe vm)"
}

test_zz_kernel_log_is_clean() {
	assertEquals "kernel log" "" "$(kernel_log_problems)"
}

. /usr/bin/shunit2
