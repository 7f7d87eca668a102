#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The story of the knob, told in a guest (make demo) with the real clients:
# Debian's QEMU with KVM as the VM (nested, started paused: no guest code
# needs to run) and Debian's perf as the profiler.  Not a test suite:
# tests/vm/test_module.sh, test_mpmuctl.sh and the package tier's
# test_libvirt.sh assert all of this.

. /tests/lib.sh

say() { echo "DEMO: $*"; }
run() {
	say "# $*"
	"$@" 2>&1 | sed 's/^/DEMO:   /'
}

# A VM as libvirt starts one (-name guest=NAME), paused; QEMU returns once
# the VM exists (-daemonize), or says why it could not create it.
vm() {
	run qemu-system-x86_64 -accel kvm -cpu host -machine pc -m 32 -name "guest=$1" \
		-nodefaults -display none -S -daemonize -pidfile "/tmp/$1.pid"
}

stop_vm() {
	kill "$(cat "/tmp/$1.pid")"
	i=0
	while [ "$(sysval refcount)" != 0 ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
}

kvm_load
mp_load
say "(QEMU's CPU has no core PMU, so the demo guards the 'software' PMU, whose"
say " cpu-clock perf counts: the same logic as for the CPU's PMU on a host)"
say ""
say "1. A VM takes the knob; while it runs, a host profiler cannot count guest time:"
vm web01
run mpmuctl holders
run perf stat -a -e cpu-clock:G -- sleep 0.1
say "   (perf asks for guest time with :G; plain events and :H count the host only)"
run perf stat -a -e cpu-clock:H -- sleep 0.1
stop_vm web01
say ""
say "2. A profiler left running on the host blocks the next VM:"
say "# perf stat -a -e cpu-clock:G -- sleep 600 &"
perf stat -a -e cpu-clock:G -- sleep 600 > /dev/null 2>&1 &
i=0
while [ "$(sysval include_guest_events)" = 0 ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
vm db01
run mpmuctl status
run mpmuctl check
run mpmuctl events
say ""
say "3. Drain: ask the profiler to stop, and wait for its events to go:"
run mpmuctl drain --signal=term
vm db01
run mpmuctl holders
stop_vm db01
say ""
say "The kernel log names who was refused:"
dmesg | grep 'mediated_pmu: refused' | sed 's/^\[[ 0-9.]*\] /DEMO:   /'
