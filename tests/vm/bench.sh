#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench, guest side (not a test suite: run with "run.sh -s bench").
# Prints "BENCH <case> <round> <metric> <value>" lines that bench/run.sh
# turns into ratios.  Costs are ns per operation, measured in this boot,
# rounds alternating without and with the module.
. /tests/lib.sh

ROUNDS=9
SCALE_ROUNDS=4		# each holds 10,000 events or 1,000 VMs: slower
N_OPEN=2000		# perf_event_open+close per measurement (median of batches of 10)
N_VM=40			# KVM_CREATE_VM per measurement (median)
MANY_EVENTS=10000
MANY_VMS=1000		# or as many as memory allows

echo "BENCH-INFO kernel $(uname -r)"
echo "BENCH-INFO cpu $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "BENCH-INFO cpus $(grep -c ^processor /proc/cpuinfo)"
kvm_load || { echo "BENCH-ERROR kvm did not load"; exit 1; }

cost() { mpmu-probe "$@" | cut -d' ' -f1; }

# perf defers turning its scheduling hooks off by a second after the last
# event goes (the module's load-time scan opens events too): let that
# settle after each load and unload, or one side pays for the other's
# static-key patching.
load() { mp_load "$@"; sleep 2; }
unload() { mp_unload; sleep 2; }

measure() {	# case round
	echo "BENCH $1 $2 open_exclude_guest $(cost bench-open $N_OPEN --exclude-guest)"
	echo "BENCH $1 $2 open_include_guest $(cost bench-open $N_OPEN)"
	echo "BENCH $1 $2 create_vm $(cost bench-vm $N_VM)"
}

slab_kb() { sed -n 's/^Slab: *\([0-9]*\) kB/\1/p' /proc/meminfo; }

# hold_vms NAME N: up to N VMs held by one process; sets VMS_PID, VMS_HELD.
hold_vms() {
	rm -f "$HOLD_DIR/$1.ready"
	mpmu-probe vms "$2" --hold "$HOLD_DIR/$1.ready" > "$HOLD_DIR/$1.out" 2>&1 &
	VMS_PID=$!
	i=0
	while [ ! -e "$HOLD_DIR/$1.ready" ] && [ $i -lt 3000 ]; do
		usleep 100000
		i=$((i + 1))
	done
	VMS_HELD=$(head -1 "$HOLD_DIR/$1.out")
}

# 1. The hooks' cost: the same operations without and with the module, and
# with the module and a notification listener (on a host, mpmud): then each
# transition (the include-guest count back to 0, a VM in or out) wakes a
# worker to send it; without a listener nothing is sent.
r=1
while [ $r -le $ROUNDS ]; do
	unload
	measure without $r
	load
	measure with $r
	mpmuctl-opt watch > /dev/null &
	listener=$!
	measure with_listener $r
	kill -INT $listener
	wait $listener
	r=$((r + 1))
done

# 1b. Where the instructions go, in the steady state (10 live include-guest
# events held by another process: no 0<->1 transition of anything): the
# debug build of the same code, whole, without the return probe on the
# LSM hook (registered disabled), with its perf handlers returning at once
# (what the probes themselves cost), and both.  bench/run.sh prints each
# as instructions per open+close over the module not loaded.
DEBUG_MODULE=/lib/mpmu/mediated_pmu-debug.ko
few=$(_hold events 10)
r=1
while [ $r -le $ROUNDS ]; do
	for variant in none debug no_return_probe probes_only probes_only_no_return_probe; do
		mp_unload
		case $variant in
		none) ;;
		debug) insmod "$DEBUG_MODULE" $TEST_PARAMS ;;
		no_return_probe) insmod "$DEBUG_MODULE" $TEST_PARAMS bench_no_return_probe=1 ;;
		probes_only) insmod "$DEBUG_MODULE" $TEST_PARAMS bench_probes_only=1 ;;
		*) insmod "$DEBUG_MODULE" $TEST_PARAMS bench_probes_only=1 bench_no_return_probe=1 ;;
		esac
		sleep 2
		echo "BENCH probes_$variant $r open_exclude_guest $(cost bench-open $N_OPEN --exclude-guest)"
		echo "BENCH probes_$variant $r open_include_guest $(cost bench-open $N_OPEN)"
	done
	r=$((r + 1))
done
release "$few"

mpmuctl_ms() { mpmu-probe time /usr/bin/mpmuctl-opt "$@" | cut -d' ' -f1; }

# 2. Scale: 10 vs 10,000 live include-guest events (VM creation is then
# refused: the cost of the refusal), also without the module, which shows
# what the guest itself does with that many events; then, module loaded,
# 1 vs many live VMs (include-guest opens are refused).
for state in without with; do
	if [ $state = without ]; then unload; else load; fi
	r=1
	while [ $r -le $SCALE_ROUNDS ]; do
		few=$(_hold events 10)
		measure events10_$state $r
		many=$(_hold events $((MANY_EVENTS - 10)))
		measure events${MANY_EVENTS}_$state $r
		if [ $state = with ]; then
			ev=$(mpmuctl_ms -j events)
			st=$(mpmuctl_ms -j status)
			# the same program doing no netlink: process start under TCG
			ver=$(mpmuctl_ms --version)
			echo "BENCH events$MANY_EVENTS $r mpmuctl_events_ms $ev"
			echo "BENCH events$MANY_EVENTS $r mpmuctl_status_ms $st"
			echo "BENCH events$MANY_EVENTS $r mpmuctl_version_ms $ver"
			# the same dump, read by the least a libnl client can do
			echo "BENCH events$MANY_EVENTS $r nl_dump_events_ms $(mpmu-probe time /usr/bin/nl-dump events | cut -d' ' -f1)"
		fi
		release "$many"
		release "$few"
		r=$((r + 1))
	done
done
# The same without the module: what KVM itself does with that many VMs.
for state in without with; do
	if [ $state = without ]; then unload; suffix=_without; else load; suffix=; fi
	r=1
	while [ $r -le $SCALE_ROUNDS ]; do
		hold_vms one 1
		one=$VMS_PID
		measure vms1$suffix $r
		hold_vms many $((MANY_VMS - 1))
		many=$VMS_PID
		echo "BENCH-INFO vms_held$suffix $((VMS_HELD + 1))"
		measure vmsmany$suffix $r
		if [ $state = with ]; then
			echo "BENCH vmsmany $r mpmuctl_status_ms $(mpmuctl_ms -j status)"
			echo "BENCH vmsmany $r mpmuctl_holders_ms $(mpmuctl_ms -j holders)"
		fi
		release "$many"
		release "$one"
		r=$((r + 1))
	done
done

# 3. Kernel memory (Slab in /proc/meminfo) for 10,000 events and for the
# VMs, without and with the module: the difference is the module's.
for state in without with; do
	if [ $state = without ]; then unload; else load; fi
	sync; echo 3 > /proc/sys/vm/drop_caches
	s0=$(slab_kb)
	e=$(_hold events $MANY_EVENTS)
	s1=$(slab_kb)
	release "$e"
	echo "BENCH memory 1 events_slab_kb_$state $((s1 - s0))"
	sync; echo 3 > /proc/sys/vm/drop_caches
	s0=$(slab_kb)
	hold_vms mem $MANY_VMS
	s1=$(slab_kb)
	release "$VMS_PID"
	echo "BENCH memory 1 vms_slab_kb_$state $((s1 - s0))"
	echo "BENCH-INFO vms_held_memory_$state $VMS_HELD"
done
# 4. An outside benchmark, perf's own: "perf bench breakpoint thread"
# creates threads that inherit include-guest breakpoint events (each copy
# passes the module's hook when "breakpoint" is guarded); "perf bench
# syscall basic" (getppid) touches no hook: the noise floor of the ratios.
perf_bench_ns() {
	perf bench "$@" 2>&1 | awk '$2 == "usecs/op" { print $1 * 1000; exit }'
}
r=1
while [ $r -le $ROUNDS ]; do
	unload
	echo "BENCH perf_without $r bp_thread $(perf_bench_ns breakpoint thread -b 4 -p 2)"
	echo "BENCH perf_without $r syscall $(perf_bench_ns syscall basic -l 200000)"
	load guarded_pmus=breakpoint
	echo "BENCH perf_with $r bp_thread $(perf_bench_ns breakpoint thread -b 4 -p 2)"
	echo "BENCH perf_with $r syscall $(perf_bench_ns syscall basic -l 200000)"
	r=$((r + 1))
done
echo "BENCH-DONE"
