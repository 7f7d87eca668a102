#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The story of the knob, told in a guest (make demo).  Not a test suite:
# tests/vm/test_module.sh asserts all of this.

. /tests/lib.sh

say() { echo "DEMO: $*"; }

kvm_load
mp_load
say "mediated_pmu $(sysval version) loaded: mode=$(sysval mode), enabled=$(sysval enabled), guarding '$(sysval guarded_pmus)'"
say "(QEMU's CPU has no core PMU, so the demo guards the 'software' PMU: same logic)"
say ""
say "1. A VM is created (KVM_CREATE_VM): it takes the knob."
v=$(hold_vm)
say "   refcount=$(sysval refcount)  holders=$(sysval holders | tr '\n' ' ')"
say "2. A host profiler asks for an event that also counts guest time:"
say "   perf_event_open(cpu 0, exclude_guest=0) -> $(mpmu-probe event --cpu 0)"
say "   perf_event_open(cpu 0, exclude_guest=1) -> $(mpmu-probe event --cpu 0 --exclude-guest)"
say "   rejected_events=$(sysval rejected_events)"
release "$v"
say "3. The VM is destroyed: refcount=$(sysval refcount)"
say "4. Now a system-wide include-guest event is open ..."
e=$(hold_event --cpu 0)
say "   include_guest_events=$(sysval include_guest_events)"
say "   ... and a new VM cannot take the knob: KVM_CREATE_VM -> $(mpmu-probe vm)"
say "   rejected_vms=$(sysval rejected_vms)"
release "$e"
say "5. The event is closed: include_guest_events=$(sysval include_guest_events), KVM_CREATE_VM -> $(mpmu-probe vm)"
say ""
say "The kernel log names who was refused:"
dmesg | grep 'mediated_pmu: refused' | sed 's/^\[[ 0-9.]*\] /DEMO:   /'
