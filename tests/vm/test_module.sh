#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module against real KVM and real perf_event_open(), one behaviour per
# test.  The guest has no core PMU (TCG), so the tests guard "software".

. /tests/lib.sh

oneTimeSetUp() {
	kvm_load || fail "cannot load KVM"
}

setUp() {
	kvm_load
	mp_load
}

tearDown() {
	release_all_and_check_zero
}

# Not the module's behaviour but the ground the tests stand on: QEMU 7.2's
# CMPXCHG16B corrupts EFLAGS (tests/tools/qemu-cpu), so the guests run
# without it.
test_the_guest_cpu_has_no_cmpxchg16b() {
	assertEquals "CPUs with cx16" 0 "$(grep -c '^flags.* cx16' /proc/cpuinfo)"
}

test_sysfs_files_have_the_spec_modes() {
	for f in refcount holders include_guest_events rejected_vms \
		 rejected_events unmanaged_vms mode version kvm_hooks settling native; do
		assertEquals "$f mode" 444 "$(stat -c %a "$SYS/$f")"
	done
	assertEquals "enabled mode" 644 "$(stat -c %a "$SYS/enabled")"
	assertEquals "guarded_pmus mode" 644 "$(stat -c %a "$SYS/guarded_pmus")"
}

test_fresh_load_is_armed_and_empty() {
	assertEquals 1 "$(sysval enabled)"
	assertEquals 0 "$(sysval refcount)"
	assertEquals "" "$(sysval holders)"
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals 0 "$(sysval unmanaged_vms)"
	assertEquals arbitrate "$(sysval mode)"
	assertEquals software "$(sysval guarded_pmus)"
	assertEquals armed "$(sysval kvm_hooks)"
	assertEquals 0 "$(sysval settling)"
	assertEquals "the kernel's own knob" "$(native_expected)" "$(sysval native)"
	assertNotNull "version" "$(sysval version)"
	assertEquals "param enable" Y "$(cat /sys/module/mediated_pmu/parameters/enable)"
	assertEquals "param guarded_pmus" software \
		"$(cat /sys/module/mediated_pmu/parameters/guarded_pmus)"
}

test_vm_create_and_destroy_move_refcount_and_holders() {
	a=$(hold_vm)
	assertNotNull "first VM" "$a"
	assertEquals 1 "$(sysval refcount)"
	assertEquals "$a" "$(sysval holders)"
	b=$(hold_vm)
	assertEquals 2 "$(sysval refcount)"
	assertEquals "$(printf '%s\n%s' "$a" "$b" | sort)" "$(sysval holders | sort)"
	release "$a"
	assertEquals 1 "$(sysval refcount)"
	assertEquals "$b" "$(sysval holders)"
	release "$b"
	assertEquals 0 "$(sysval refcount)"
	assertEquals "" "$(sysval holders)"
}

test_system_wide_event_makes_vm_creation_fail_with_ebusy() {
	e=$(hold_event --cpu 0)
	assertNotNull "event" "$e"
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	assertEquals 1 "$(sysval rejected_vms)"
	assertEquals 0 "$(sysval refcount)"
	release "$e"
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals OK "$(mpmu-probe vm)"
}

test_per_task_event_makes_vm_creation_fail_with_ebusy() {
	e=$(hold_event --pid 0 --config 2)
	assertNotNull "event" "$e"
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	release "$e"
	assertEquals OK "$(mpmu-probe vm)"
}

test_vm_makes_include_guest_events_fail_with_eopnotsupp() {
	v=$(hold_vm)
	assertEquals "system-wide" EOPNOTSUPP "$(mpmu-probe event --cpu 1)"
	assertEquals "per-task" EOPNOTSUPP "$(mpmu-probe event --pid 0 --config 2)"
	assertEquals "guest-only user event" EOPNOTSUPP "$(mpmu-probe event --exclude-host)"
	assertEquals 3 "$(sysval rejected_events)"
	assertEquals 0 "$(sysval include_guest_events)"
	release "$v"
	assertEquals "after the VM" OK "$(mpmu-probe event --cpu 1)"
}

test_clock_events_routed_to_internal_pmus_are_guarded_as_software() {
	v=$(hold_vm)
	assertEquals "cpu-clock" EOPNOTSUPP "$(mpmu-probe event --config 0)"
	assertEquals "task-clock" EOPNOTSUPP "$(mpmu-probe event --config 1)"
	release "$v"
}

test_exclude_guest_events_work_while_a_vm_holds() {
	v=$(hold_vm)
	assertEquals "system-wide" OK "$(mpmu-probe event --cpu 0 --exclude-guest)"
	assertEquals "per-task" OK "$(mpmu-probe event --exclude-guest --config 2)"
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals 0 "$(sysval rejected_events)"
	release "$v"
}

test_unguarded_pmu_events_work_while_a_vm_holds() {
	v=$(hold_vm)
	assertEquals "a VM holds the knob" 1 "$(sysval refcount)"
	assertEquals "so a guarded one is refused" EOPNOTSUPP "$(mpmu-probe event --cpu 0)"
	assertEquals "tracepoint" OK "$(mpmu-probe event --pmu tracepoint --cpu 0)"
	assertEquals "only the guarded one refused" 1 "$(sysval rejected_events)"
	release "$v"
}

test_failed_vm_init_puts_the_knob() {
	assertEquals "bad type" EINVAL "$(mpmu-probe vm --type 0xdead)"
	assertEquals 0 "$(sysval refcount)"
	assertEquals "" "$(sysval holders)"
	assertEquals "events still allowed" OK "$(mpmu-probe event --cpu 0)"
	v=$(hold_vm)
	assertEquals "bad type beside a holder" EINVAL "$(mpmu-probe vm --type 0xdead)"
	assertEquals 1 "$(sysval refcount)"
	release "$v"
	assertEquals 0 "$(sysval refcount)"
}

test_inherited_copies_are_counted_and_fork_works() {
	start_fork_child
	assertTrue "child started" "[ -e $HOLD_DIR/child.ready ]"
	assertEquals "parent event and its copy" 2 "$(sysval include_guest_events)"
	stop_fork_child
	assertEquals 0 "$(sysval include_guest_events)"
}

test_kernel_counter_blocks_vm_creation() {
	assertTrue "kernel counter" "insmod $KCOUNTER"
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	rmmod mpmu_kcounter
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals OK "$(mpmu-probe vm)"
}

test_kernel_counter_created_before_load_is_found() {
	mp_unload
	assertTrue "kernel counter on cpu 1" "insmod $KCOUNTER cpu=1"
	mp_load
	assertEquals 1 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	rmmod mpmu_kcounter
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals OK "$(mpmu-probe vm)"
}

test_kernel_counter_is_refused_while_a_vm_holds() {
	v=$(hold_vm)
	assertContains "$(insmod $KCOUNTER 2>&1)" "not supported"
	# busybox insmod tries finit_module(), then init_module(): two refusals.
	assertEquals 2 "$(sysval rejected_events)"
	release "$v"
	assertTrue "after the VM" "insmod $KCOUNTER"
	rmmod mpmu_kcounter
}

test_kvm_style_guest_only_kernel_counter_is_exempt() {
	v=$(hold_vm)
	assertTrue "exclude_host kernel counter" "insmod $KCOUNTER exclude_host=1"
	assertEquals "not counted" 0 "$(sysval include_guest_events)"
	assertEquals "not refused" 0 "$(sysval rejected_events)"
	rmmod mpmu_kcounter
	release "$v"
}

test_enabled_rejects_anything_but_0_and_1() {
	for bad in 2 yes on y "
" "1 1" "01x" -1; do
		err=$(syswrite enabled "$bad")
		assertEquals "'$bad'" EINVAL "$err"
		assertEquals "unchanged after '$bad'" 1 "$(sysval enabled)"
	done
	assertEquals "newline accepted" OK "$(syswrite enabled "1
")"
	assertEquals "0 accepted" OK "$(syswrite enabled 0)"
	assertEquals 0 "$(sysval enabled)"
}

test_disable_is_refused_while_a_vm_holds() {
	v=$(hold_vm)
	assertEquals EBUSY "$(syswrite enabled 0)"
	assertEquals 1 "$(sysval enabled)"
	release "$v"
	assertEquals OK "$(syswrite enabled 0)"
	assertEquals 0 "$(sysval enabled)"
}

test_disabled_module_leaves_new_vms_unmanaged() {
	syswrite enabled 0
	e=$(hold_event --cpu 0)
	v=$(hold_vm)
	assertNotNull "VM despite an event" "$v"
	assertEquals 0 "$(sysval refcount)"
	assertEquals 1 "$(sysval unmanaged_vms)"
	assertEquals "events still counted" 1 "$(sysval include_guest_events)"
	assertEquals "re-enable" OK "$(syswrite enabled 1)"
	assertEquals "armed again" EBUSY "$(mpmu-probe vm)"
	release "$v"
	assertEquals 0 "$(sysval unmanaged_vms)"
	release "$e"
}

test_guarded_pmus_rejects_unknown_names_and_busy_states() {
	assertEquals "unknown" EINVAL "$(syswrite guarded_pmus nosuchpmu)"
	assertEquals "one unknown of two" EINVAL "$(syswrite guarded_pmus "software,nosuchpmu")"
	assertEquals software "$(sysval guarded_pmus)"
	assertEquals "empty line: the core PMU, none under TCG" OK "$(syswrite guarded_pmus "
")"
	assertEquals "" "$(sysval guarded_pmus)"
	assertEquals "nothing guarded" OK "$(mpmu-probe event --cpu 0)"
	assertEquals OK "$(syswrite guarded_pmus software)"
	v=$(hold_vm)
	assertEquals "with a holder" EBUSY "$(syswrite guarded_pmus tracepoint)"
	release "$v"
	e=$(hold_event --cpu 0)
	assertEquals "with an event" EBUSY "$(syswrite guarded_pmus tracepoint)"
	assertEquals software "$(sysval guarded_pmus)"
	release "$e"
}

test_guarded_pmus_change_moves_the_guard_and_counts_live_events() {
	t=$(hold_event --pmu tracepoint --cpu 0)
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals OK "$(syswrite guarded_pmus "tracepoint software")"
	assertEquals "tracepoint software" "$(sysval guarded_pmus)"
	assertEquals "live tracepoint event counted" 1 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	release "$t"
	assertEquals OK "$(syswrite guarded_pmus tracepoint)"
	v=$(hold_vm)
	assertEquals "software now free" OK "$(mpmu-probe event --cpu 0)"
	assertEquals "tracepoint guarded" EOPNOTSUPP "$(mpmu-probe event --pmu tracepoint --cpu 0)"
	release "$v"
}

test_events_opened_before_insmod_are_counted() {
	mp_unload
	s=$(hold_event --cpu 1)
	p=$(hold_event --config 2)
	x=$(hold_event --cpu 0 --exclude-guest)
	mp_load
	assertEquals 2 "$(sysval include_guest_events)"
	assertEquals EBUSY "$(mpmu-probe vm)"
	release "$s"
	assertEquals 1 "$(sysval include_guest_events)"
	release "$p"
	assertEquals 0 "$(sysval include_guest_events)"
	assertEquals OK "$(mpmu-probe vm)"
	release "$x"
}

test_inherited_copies_existing_before_insmod_are_counted() {
	mp_unload
	start_fork_child
	mp_load
	assertEquals "parent event and its copy" 2 "$(sysval include_guest_events)"
	stop_fork_child
	assertEquals 0 "$(sysval include_guest_events)"
}

# A task that took the record pool below its low watermark refills it on
# its way back to user space, and holds the module until then: here a
# vfork() parent, whose 1,000 inherited events' copies took the records,
# waiting for its child.  No VM holds; rmmod is refused all the same.
test_rmmod_is_refused_while_a_task_owes_a_refill() {
	ready="$HOLD_DIR/vfork.ready"
	rm -f "$ready"
	mpmu-probe vfork-hold 1000 "$ready" > "$HOLD_DIR/vfork.out" 2>&1 &
	parent=$!
	i=0
	while [ ! -e "$ready" ] && kill -0 "$parent" 2> /dev/null && [ $i -lt 600 ]; do
		usleep 50000
		i=$((i + 1))
	done
	assertTrue "the vfork child runs: $(cat "$HOLD_DIR/vfork.out")" "[ -e $ready ]"
	assertEquals "no VM holds" 0 "$(sysval refcount)"
	assertContains "rmmod with a refill owed" "$(rmmod mediated_pmu 2>&1)" \
		"Resource temporarily unavailable"
	assertTrue "still loaded" "[ -d $SYS ]"
	rm -f "$ready"
	wait "$parent"
	assertEquals "the parent's vfork() returned" OK "$(cat "$HOLD_DIR/vfork.out")"
	assertTrue "rmmod once the parent has refilled" "rmmod mediated_pmu"
}

test_vms_created_before_insmod_are_unmanaged() {
	mp_unload
	v=$(hold_vm)
	mp_load
	assertEquals 1 "$(sysval unmanaged_vms)"
	assertEquals 0 "$(sysval refcount)"
	assertEquals "unmanaged VMs do not block events" OK "$(mpmu-probe event --cpu 0)"
	release "$v"
	assertEquals 0 "$(sysval unmanaged_vms)"
}

test_rmmod_is_refused_while_a_vm_holds() {
	v=$(hold_vm)
	assertContains "rmmod with a holder" "$(rmmod mediated_pmu 2>&1)" \
		"Resource temporarily unavailable"
	assertTrue "still loaded" "[ -d $SYS ]"
	assertEquals 1 "$(sysval refcount)"
	release "$v"
	# perf 4, kvm 2, and on 7.x the kernel's own knob's 2.
	probes=6
	[ "$(sysval native)" = absent ] || probes=8
	assertEquals "probes armed" $probes "$(grep -c . /sys/kernel/debug/kprobes/list)"
	assertTrue "rmmod without" "rmmod mediated_pmu"
	assertFalse "sysfs gone" "[ -e $SYS ]"
	assertEquals "no probe left" 0 "$(grep -c . /sys/kernel/debug/kprobes/list)"
	assertFalse "module gone" "grep -q '^mediated_pmu ' /proc/modules"
	assertEquals "VMs still work" OK "$(mpmu-probe vm)"
	e=$(hold_event --cpu 0)
	assertEquals "and are not arbitrated" OK "$(mpmu-probe vm)"
	release "$e"
}

test_kvm_reload_keeps_arbitration() {
	assertTrue "unload kvm" kvm_unload
	assertEquals "kvm probes gone" 0 "$(grep -c kvm_arch /sys/kernel/debug/kprobes/list)"
	assertTrue "load kvm" kvm_load
	assertEquals "kvm probes back" 2 "$(grep kvm_arch /sys/kernel/debug/kprobes/list | grep -vc GONE)"
	v=$(hold_vm)
	assertEquals 1 "$(sysval refcount)"
	assertEquals EOPNOTSUPP "$(mpmu-probe event --cpu 0)"
	release "$v"
	e=$(hold_event --cpu 0)
	assertEquals EBUSY "$(mpmu-probe vm)"
	release "$e"
}

test_module_loaded_before_kvm_arbitrates() {
	mp_unload
	assertTrue "unload kvm" kvm_unload
	insmod "$MODULE" $TEST_PARAMS
	assertTrue "load kvm after" kvm_load
	e=$(hold_event --cpu 0)
	assertEquals EBUSY "$(mpmu-probe vm)"
	release "$e"
	v=$(hold_vm)
	assertEquals 1 "$(sysval refcount)"
	release "$v"
}

test_unknown_guarded_pmu_fails_the_load_with_a_clear_message() {
	mp_unload
	kmsg_mark
	assertFalse "insmod" "insmod $MODULE guarded_pmus=nosuchpmu 2>/dev/null"
	assertFalse "not loaded" "[ -d $SYS ]"
	assertContains "$(kmsg_since_mark)" "no PMU named 'nosuchpmu'"
}

test_refusals_are_logged_with_pid_and_comm() {
	kmsg_mark
	e=$(hold_event --cpu 0)
	mpmu-probe vm > /dev/null
	release "$e"
	assertContains "$(kmsg_since_mark)" "refused VM creation by pid"
	assertContains "$(kmsg_since_mark)" "(mpmu-probe)"
	v=$(hold_vm)
	mpmu-probe event --cpu 0 > /dev/null
	release "$v"
	assertContains "$(kmsg_since_mark)" "refused include-guest perf event on PMU software by pid"
}

test_unprivileged_users_read_but_cannot_change() {
	assertEquals "read" 0 "$(mpmu-probe as-nobody read $SYS/refcount)"
	assertEquals "write enabled" EACCES "$(mpmu-probe as-nobody write $SYS/enabled 0)"
	assertEquals "write guarded_pmus" EACCES \
		"$(mpmu-probe as-nobody write $SYS/guarded_pmus tracepoint)"
	assertEquals 1 "$(sysval enabled)"
	assertEquals software "$(sysval guarded_pmus)"
}

test_root_without_cap_sys_admin_cannot_change() {
	assertEquals "read" 1 "$(mpmu-probe no-sys-admin read $SYS/enabled)"
	assertEquals "write enabled" EPERM "$(mpmu-probe no-sys-admin write $SYS/enabled 0)"
	assertEquals "write guarded_pmus" EPERM \
		"$(mpmu-probe no-sys-admin write $SYS/guarded_pmus tracepoint)"
	assertEquals 1 "$(sysval enabled)"
	assertEquals software "$(sysval guarded_pmus)"
}

# Root of a container is not root of the host: uid 0 mapped to root, and
# nobody's own namespace (uid 0 mapped to 65534).
test_root_of_a_user_namespace_cannot_change() {
	for who in in-userns "as-nobody in-userns"; do
		assertEquals "$who: read" 1 "$(mpmu-probe $who read $SYS/enabled)"
		r=$(mpmu-probe $who write $SYS/enabled 0)
		assertTrue "$who: write enabled refused ($r)" "[ '$r' = EPERM ] || [ '$r' = EACCES ]"
		r=$(mpmu-probe $who write $SYS/guarded_pmus tracepoint)
		assertTrue "$who: write guarded_pmus refused ($r)" "[ '$r' = EPERM ] || [ '$r' = EACCES ]"
	done
	assertEquals 1 "$(sysval enabled)"
	assertEquals software "$(sysval guarded_pmus)"
}

# Linux 7.0+ has the knob natively; KVM uses it only with its vendor
# module's enable_mediated_pmu=Y (kept only with a capable PMU, which TCG
# has not).  Never twice, never neither: observe exactly while it is used.
native_expected() {
	case $(uname -r) in
	[0-6].*) echo absent ;;
	*) echo unused ;;
	esac
}

test_mode_follows_the_vendor_modules_use_of_the_native_knob() {
	if [ "$(native_expected)" = absent ]; then
		assertEquals absent "$(sysval native)"
		assertEquals arbitrate "$(sysval mode)"
		assertFalse "no such KVM parameter before 7.0" \
			"[ -e /sys/module/kvm_amd/parameters/enable_mediated_pmu ]"
		return
	fi
	for want in Y N; do
		rmmod kvm_amd
		insmod "$(grep kvm-amd /lib/mpmu/kvm.order)" enable_mediated_pmu=$want
		used=$(cat /sys/module/kvm_amd/parameters/enable_mediated_pmu)
		echo "figure: enable_mediated_pmu=$want kept as $used under TCG"
		if [ "$used" = Y ]; then
			assertEquals "in use ($want)" "in-use observe" "$(sysval native) $(sysval mode)"
		else
			assertEquals "not used ($want)" "unused arbitrate" "$(sysval native) $(sysval mode)"
			assertEquals "arbitrated ($want)" EBUSY "$(hold_event --cpu 0 > /dev/null; mpmu-probe vm)"
			release_all
		fi
	done
	# Loaded after the vendor module: read at load.
	mp_load
	assertEquals "at load" "unused arbitrate" "$(sysval native) $(sysval mode)"
}

test_zz_kernel_log_is_clean() {
	assertEquals "kernel log" "" "$(kernel_log_problems)"
}

. /usr/bin/shunit2
