#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The story of the knob, told in a guest (make demo).  Not a test suite:
# tests/vm/test_module.sh and test_mpmuctl.sh assert all of this.

. /tests/lib.sh

say() { echo "DEMO: $*"; }
run() {
	say "# $*"
	"$@" 2>&1 | sed 's/^/DEMO:   /'
}

kvm_load
mp_load
say "(QEMU's CPU has no core PMU, so the demo guards the 'software' PMU: same logic)"
say ""
say "1. A VM takes the knob; while it runs, a host profiler cannot count guest time:"
v=$(hold_vm -name guest=web01,debug-threads=on)
run mpmuctl holders
say "# perf_event_open(cpu 0, exclude_guest=0) -> $(mpmu-probe event --cpu 0)"
say "# perf_event_open(cpu 0, exclude_guest=1) -> $(mpmu-probe event --cpu 0 --exclude-guest)"
release "$v"
say ""
say "2. A profiler left running on the host blocks the next VM:"
e=$(hold_event --cpu 0)
say "# KVM_CREATE_VM -> $(mpmu-probe vm)"
run mpmuctl status
run mpmuctl check
run mpmuctl events
say ""
say "3. Drain: ask the profiler to stop, and wait for its events to go:"
run mpmuctl drain --signal=term
say "# KVM_CREATE_VM -> $(mpmu-probe vm)"
v=$(hold_vm -name guest=db01)
run mpmuctl holders
release "$v"
say ""
say "The kernel log names who was refused:"
dmesg | grep 'mediated_pmu: refused' | sed 's/^\[[ 0-9.]*\] /DEMO:   /'
