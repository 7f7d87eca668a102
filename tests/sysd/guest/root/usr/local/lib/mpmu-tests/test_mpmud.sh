#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mpmud under real systemd (PID 1), in a Debian guest where the project was
# installed by its own "make install", the module loaded by modules-load.d.
# The boot itself is under test too: mpmu-blocker.service holds an
# include-guest event from before mpmud starts; the tests' config says
# drain = term; the stand-in libvirtd.service records what it saw at start.

SYS=/sys/kernel/mediated_pmu
TEXTFILE=/var/lib/prometheus/node-exporter/mediated_pmu.prom
FAKE_WATCHDOG=/srv/mpmu-root/proc/sys/kernel/nmi_watchdog
SAVED_WATCHDOG=/srv/mpmu-root/run/mpmu/nmi_watchdog
HOLD_DIR=/run/mpmu-holds
mkdir -p "$HOLD_DIR"

prop() { systemctl show -p "$1" --value mpmud.service; }

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@" > /dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.1
	done
}

is_active() { [ "$(prop ActiveState)" = active ]; }
status_is() { [ "$(prop StatusText)" = "$1" ]; }

# mpmud's journal since the test began (the journal matches MATCH... too):
# the unit's lines, and root's lines under mpmud's identifier.  A line sent
# just before mpmud exits (a config error, the restore at stop) may reach
# journald after PID 1 reaped the sender, and journald, which reads the unit
# from /proc/PID/cgroup, then stores it without _SYSTEMD_UNIT (systemd
# issue #2913): -u alone would miss it.  Unprivileged runs are not root.
# --sync first: every line sent before it is stored when it returns, so a
# line mpmud sent as it exited is there to be found (or truly absent).
mpmud_journal() {	# OUTPUT-MODE [MATCH...]
	_mode=$1
	shift
	journalctl --sync
	journalctl -q -o "$_mode" --since "@$T0" _SYSTEMD_UNIT=mpmud.service "$@" + \
		SYSLOG_IDENTIFIER=mpmud _UID=0 "$@"
}

# The value of FIELD in the last journal entry of mpmud with MPMU_EVENT=EVENT
# (and the journal matches MATCH...) logged since the test began.
field() {	# EVENT FIELD [MATCH...]
	_event=$1 _field=$2
	shift 2
	mpmud_journal export "MPMU_EVENT=$_event" "$@" |
		sed -n "s/^$_field=//p" | tail -n 1
}

logged() {	# EVENT: an entry exists
	[ -n "$(field "$1" MESSAGE)" ]
}

message_logged() {	# PATTERN: a message of mpmud matches (grep -E)
	mpmud_journal cat | grep -Eq "$1"
}

# hold vm|event ARGS...: a holder in the background; prints its pid once it
# holds the resource (nothing if it failed).
hold() {
	_n=$((${_n:-0} + 1))
	rm -f "$HOLD_DIR/ready.$_n"
	mpmu-probe "$@" --hold "$HOLD_DIR/ready.$_n" > "$HOLD_DIR/out.$_n" 2>&1 &
	_pid=$!
	if wait_for 30 test -e "$HOLD_DIR/ready.$_n"; then
		echo "$_pid"
	else
		cat "$HOLD_DIR/out.$_n" >&2
	fi
}

# Holders are children of a command substitution's subshell: "wait" cannot
# see them.  Done when the process is gone or a zombie (its files closed).
gone() {
	[ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

release() {
	kill -TERM "$1" 2>/dev/null
	wait_for 30 gone "$1"
}

# hold_unit UNIT ARGS...: a holder like hold's, run as the transient service
# UNIT so that systemd records how it ended; prints its pid once it holds
# the resource (nothing if it failed).  end_unit UNIT stops (SIGTERM) and
# forgets it.
hold_unit() {
	_unit=$1
	shift
	rm -f "$HOLD_DIR/$_unit.ready"
	systemd-run -q --unit="$_unit" --service-type=exec --remain-after-exit \
		/usr/local/bin/mpmu-probe "$@" --hold "$HOLD_DIR/$_unit.ready" || return
	if wait_for 30 test -e "$HOLD_DIR/$_unit.ready"; then
		systemctl show -p ExecMainPID --value "$_unit"
	else
		journalctl -q -u "$_unit" -o cat >&2
	fi
}

end_unit() {
	systemctl stop "$1" 2>/dev/null
	systemctl reset-failed "$1" 2>/dev/null
	true
}

# How UNIT's main process ended: "Result ExecMainCode ExecMainStatus", e.g.
# "success 1 0" (exited with 0), "signal 2 9" (CLD_KILLED by SIGKILL).
unit_end() {
	echo "$(systemctl show -p Result --value "$1")" \
		"$(systemctl show -p ExecMainCode --value "$1")" \
		"$(systemctl show -p ExecMainStatus --value "$1")"
}

unit_state_is() {	# UNIT STATE
	[ "$(systemctl show -p ActiveState --value "$1")" = "$2" ]
}

metric() {	# NAME [FILE]: its value in the textfile
	sed -n "s/^$1 //p" "${2:-$TEXTFILE}"
}

metric_is() {	# NAME VALUE [FILE]
	[ "$(metric "$1" "${3:-$TEXTFILE}")" = "$2" ]
}

prop_is() {	# PROPERTY VALUE
	[ "$(prop "$1")" = "$2" ]
}

setUp() {
	T0=$(date +%s)
	sleep 1		# journal timestamps: "since" has one-second resolution
}

tearDown() {
	rm -f /etc/mpmud.conf.d/90-*.conf
}

test_boot_order_mpmud_ready_before_libvirtd() {
	assertEquals "what the stand-in libvirtd saw: $(cat /run/standin.txt)" \
		"mpmud=active check=0 events=0" "$(tr '\n' ' ' < /run/standin.txt | sed 's/ $//')"
	mpmud_ready=$(prop ActiveEnterTimestampMonotonic)
	libvirtd_start=$(systemctl show -p ExecMainStartTimestampMonotonic --value libvirtd.service)
	assertTrue "mpmud ready ($mpmud_ready) before libvirtd ran ($libvirtd_start)" \
		"[ $mpmud_ready -gt 0 ] && [ $mpmud_ready -lt $libvirtd_start ]"
}

test_boot_drain_ended_the_blocker() {
	T0=0
	blocker=$(systemctl show -p ExecMainPID --value mpmu-blocker.service)
	assertEquals "blocker stopped" inactive \
		"$(systemctl show -p ActiveState --value mpmu-blocker.service)"
	assertEquals "drain_action names the owner" "$blocker" \
		"$(field drain_action MPMU_PID MPMU_COMM=mpmu-probe)"
	# mpmu-probe --hold exits 0 only from its SIGTERM handler: exited 0
	# is SIGTERM received (drain = kill leaves "signal 2 9", see below).
	assertEquals "drain = term sent SIGTERM, the blocker exited 0" "success 1 0" \
		"$(unit_end mpmu-blocker.service)"
	assertEquals "the action is term" "drain: term pid $blocker (mpmu-probe): sent" \
		"$(field drain_action MESSAGE MPMU_PID="$blocker")"
	assertEquals "with the counts after it" 0 \
		"$(field drain_action MPMU_REFCOUNT MPMU_COMM=mpmu-probe)"
	assertEquals "the outcome, from mpmud" 0 \
		"$(field drain_action MPMU_INCLUDE_GUEST_EVENTS MPMU_COMM=mpmud)"
	assertEquals "the module's drained, after it" 0 "$(field drained MPMU_INCLUDE_GUEST_EVENTS)"
	assertEquals "drained has every field" "0 0" \
		"$(field drained MPMU_PID) $(field drained MPMU_REFCOUNT)"
	assertEquals "no include-guest event left" 0 "$(cat $SYS/include_guest_events)"
	assertEquals "the module is armed" 1 "$(cat $SYS/enabled)"
}

test_status_text_follows_the_module() {
	assertTrue "idle status: $(prop StatusText)" \
		"wait_for 10 status_is '0 VMs hold the mediated PMU; 0 blocking events'"
	v=$(hold vm)
	assertNotNull "a VM" "$v"
	assertTrue "one VM: $(prop StatusText)" \
		"wait_for 10 status_is '1 VM holds the mediated PMU; 0 blocking events'"
	release "$v"
	assertTrue "released: $(prop StatusText)" \
		"wait_for 10 status_is '0 VMs hold the mediated PMU; 0 blocking events'"
}

test_vm_refusal_is_logged_with_fields() {
	e=$(hold event)
	assertNotNull "an include-guest event" "$e"
	assertEquals "VM refused" EBUSY "$(mpmu-probe vm)"
	assertTrue "vm_rejected logged" "wait_for 10 logged vm_rejected"
	assertEquals "MPMU_COMM" mpmu-probe "$(field vm_rejected MPMU_COMM)"
	assertNotNull "MPMU_PID" "$(field vm_rejected MPMU_PID)"
	assertEquals "MPMU_REFCOUNT" 0 "$(field vm_rejected MPMU_REFCOUNT)"
	assertEquals "MPMU_INCLUDE_GUEST_EVENTS" 1 "$(field vm_rejected MPMU_INCLUDE_GUEST_EVENTS)"
	assertEquals "warning priority" 4 "$(field vm_rejected PRIORITY)"
	assertTrue "found as mpmud(8) says: journalctl -u mpmud MPMU_EVENT=vm_rejected" \
		"journalctl -q --since @$T0 -u mpmud MPMU_EVENT=vm_rejected | grep -q ."
	assertTrue "blocking event in STATUS=: $(prop StatusText)" \
		"wait_for 10 status_is '0 VMs hold the mediated PMU; 1 blocking event'"
	release "$e"
}

test_event_refusal_is_logged_with_fields() {
	v=$(hold vm -name guest=web01)
	assertNotNull "a VM" "$v"
	assertTrue "vm_acquired logged" "wait_for 10 logged vm_acquired"
	assertEquals "vm_acquired MPMU_PID" "$v" "$(field vm_acquired MPMU_PID)"
	assertEquals "vm_acquired MPMU_REFCOUNT" 1 "$(field vm_acquired MPMU_REFCOUNT)"
	assertEquals "vm_acquired names the guest" web01 "$(field vm_acquired MPMU_GUEST)"
	assertEquals "event refused" EOPNOTSUPP "$(mpmu-probe event)"
	assertTrue "event_rejected logged" "wait_for 10 logged event_rejected"
	assertEquals "MPMU_COMM" mpmu-probe "$(field event_rejected MPMU_COMM)"
	assertEquals "MPMU_REFCOUNT" 1 "$(field event_rejected MPMU_REFCOUNT)"
	assertEquals "MPMU_INCLUDE_GUEST_EVENTS" 0 "$(field event_rejected MPMU_INCLUDE_GUEST_EVENTS)"
	assertEquals "notice priority" 5 "$(field event_rejected PRIORITY)"
	release "$v"
	assertTrue "vm_released logged" "wait_for 10 logged vm_released"
	assertEquals "vm_released MPMU_REFCOUNT" 0 "$(field vm_released MPMU_REFCOUNT)"
}

test_textfile_metrics() {
	v=$(hold vm)
	assertTrue "refcount 1 in the textfile" "wait_for 10 metric_is mediated_pmu_refcount 1"
	assertEquals "enabled" 1 "$(metric mediated_pmu_enabled)"
	assertEquals "include_guest_events" 0 "$(metric mediated_pmu_include_guest_events)"
	assertEquals "unmanaged_vms" "$(cat $SYS/unmanaged_vms)" "$(metric mediated_pmu_unmanaged_vms)"
	assertEquals "rejected VMs" "$(cat $SYS/rejected_vms)" "$(metric mediated_pmu_rejected_vms_total)"
	assertEquals "rejected events" "$(cat $SYS/rejected_events)" \
		"$(metric mediated_pmu_rejected_events_total)"
	assertEquals "one drain (at boot)" 1 "$(metric mediated_pmu_drains_total)"
	assertTrue "info: $(grep ^mediated_pmu_info $TEXTFILE)" \
		"grep -Eq '^mediated_pmu_info\{version=\"$(cat $SYS/version)\",mode=\"arbitrate\"\} 1$' $TEXTFILE"
	for m in enabled refcount include_guest_events unmanaged_vms; do
		assertTrue "$m is a gauge" "grep -qx '# TYPE mediated_pmu_$m gauge' $TEXTFILE"
	done
	for m in rejected_vms_total rejected_events_total drains_total; do
		assertTrue "$m is a counter" "grep -qx '# TYPE mediated_pmu_$m counter' $TEXTFILE"
	done
	assertEquals "a HELP line per metric" 8 "$(grep -c '^# HELP mediated_pmu_' $TEXTFILE)"
	assertTrue "no temporary file left" "[ \$(ls $(dirname $TEXTFILE) | wc -l) -eq 1 ]"
	release "$v"
	assertTrue "refcount back to 0" "wait_for 10 metric_is mediated_pmu_refcount 0"
}

test_config_error_fails_the_unit_with_the_line() {
	printf 'drain = report\n# the next line is wrong\ndrain = sometimes\n' \
		> /etc/mpmud.conf.d/90-bad.conf
	assertFalse "restart fails" "systemctl restart mpmud.service"
	assertEquals "failed" failed "$(prop ActiveState)"
	assertEquals "exit status 78 (EX_CONFIG)" 78 "$(prop ExecMainStatus)"
	assertTrue "the file and line in the journal" \
		"message_logged '^/etc/mpmud.conf.d/90-bad.conf:3: drain: .sometimes.'"
	assertEquals "config_error" 3 "$(field config_error PRIORITY)"
	assertEquals "not restarted (RestartPreventExitStatus)" failed "$(prop ActiveState)"
	rm -f /etc/mpmud.conf.d/90-bad.conf
	systemctl reset-failed mpmud.service
	assertTrue "starts once fixed" "systemctl start mpmud.service"
	assertTrue "active" is_active
}

test_reload_with_a_bad_config_keeps_the_old_one() {
	pid=$(prop MainPID)
	other=/var/lib/prometheus/node-exporter/other.prom
	printf 'textfile = %s\nlog_level = loud\n' "$other" > /etc/mpmud.conf.d/90-bad.conf
	assertTrue "reload" "systemctl reload mpmud.service"
	assertTrue "the error is logged" \
		"wait_for 10 message_logged '^/etc/mpmud.conf.d/90-bad.conf:2: log_level: .loud.'"
	assertTrue "and that the old config stays" \
		"wait_for 10 message_logged 'keeping the previous configuration'"
	assertEquals "still running, same process" "$pid" "$(prop MainPID)"
	assertTrue "active" is_active
	v=$(hold vm)
	assertTrue "the old textfile is still written" \
		"wait_for 10 metric_is mediated_pmu_refcount 1"
	assertFalse "the new path is not" "[ -e $other ]"
	release "$v"

	printf 'textfile = %s\n' "$other" > /etc/mpmud.conf.d/90-good.conf
	rm -f /etc/mpmud.conf.d/90-bad.conf
	assertTrue "reload" "systemctl reload mpmud.service"
	assertTrue "applied" "wait_for 10 message_logged 'reload: configuration applied'"
	v=$(hold vm)
	assertTrue "the new textfile is written" "wait_for 10 metric_is mediated_pmu_refcount 1 $other"
	release "$v"
	rm -f "$other"
	systemctl reload mpmud.service
}

# Only root reloads or signals the service, or runs a second one that arms:
# not nobody, and not root of nobody's user namespace (a container's root).
# A namespace whose root is the host's uid 0 is the host's root for
# signals and for systemd, which judge by uid: not a boundary.
test_unprivileged_users_cannot_reload_signal_or_run_mpmud() {
	pid=$(prop MainPID)
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	userns="$nobody unshare --user --map-root-user"
	for who in "$nobody" "$userns"; do
		assertFalse "$who: systemctl reload" "$who systemctl reload mpmud.service 2>/dev/null"
		assertFalse "$who: SIGHUP" "$who kill -HUP $pid 2>/dev/null"
		assertFalse "$who: SIGTERM" "$who kill -TERM $pid 2>/dev/null"
		$who /usr/sbin/mpmud > "$HOLD_DIR/mpmud.out" 2>&1
		assertEquals "$who: mpmud may not arm: $(cat "$HOLD_DIR/mpmud.out")" 77 $?
	done
	sleep 1
	assertFalse "no reload happened" "message_logged 'reload'"
	assertEquals "same process" "$pid" "$(prop MainPID)"
	assertTrue "active" is_active
	assertEquals "still armed" 1 "$(cat $SYS/enabled)"
}

test_log_level_filters_the_journal() {
	printf 'log_level = warning\n' > /etc/mpmud.conf.d/90-quiet.conf
	systemctl reload mpmud.service
	assertTrue "applied" "wait_for 10 message_logged 'reload: configuration applied'"
	T0=$(date +%s)
	sleep 1
	v=$(hold vm)
	assertEquals "refused" EOPNOTSUPP "$(mpmu-probe event)"
	release "$v"
	e=$(hold event)
	assertEquals "refused" EBUSY "$(mpmu-probe vm)"
	assertTrue "a warning (vm_rejected) is logged" "wait_for 10 logged vm_rejected"
	assertFalse "info (vm_acquired) is not" "logged vm_acquired"
	assertFalse "notice (event_rejected) is not" "logged event_rejected"
	release "$e"
	rm -f /etc/mpmud.conf.d/90-quiet.conf
	systemctl reload mpmud.service
}

test_kill_9_restart_reports_the_truth() {
	v=$(hold vm)
	assertNotNull "a VM" "$v"
	pid=$(prop MainPID)
	restarts=$(prop NRestarts)
	kill -9 "$pid"
	assertTrue "restarted by systemd" \
		"wait_for 30 prop_is NRestarts $((restarts + 1))"
	assertTrue "active again" "wait_for 30 is_active"
	assertNotEquals "a new process" "$pid" "$(prop MainPID)"
	assertTrue "STATUS= from the kernel's truth: $(prop StatusText)" \
		"wait_for 10 status_is '1 VM holds the mediated PMU; 0 blocking events'"
	assertTrue "textfile too" "wait_for 10 metric_is mediated_pmu_refcount 1"
	assertEquals "still refusing include-guest events" EOPNOTSUPP "$(mpmu-probe event)"
	release "$v"
	assertTrue "and follows the release" \
		"wait_for 10 status_is '0 VMs hold the mediated PMU; 0 blocking events'"
}

test_module_unload_and_reload_reconnects() {
	assertTrue "rmmod" "rmmod mediated_pmu"
	assertTrue "says so: $(prop StatusText)" \
		"wait_for 10 status_is 'mediated_pmu module not loaded; waiting for it'"
	assertTrue "logged" "wait_for 10 message_logged 'module was unloaded; waiting'"
	assertTrue "still running" is_active
	assertFalse "no stale textfile while it is away" "[ -e $TEXTFILE ]"
	# Loaded disarmed: mpmud must arm the new instance (arm = yes).
	assertTrue "modprobe" "modprobe mediated_pmu enable=0"
	assertTrue "reconnected" "wait_for 10 message_logged 'module is back; reconnected and armed'"
	assertTrue "re-armed" "wait_for 10 grep -qx 1 $SYS/enabled"
	assertTrue "textfile back" "wait_for 10 metric_is mediated_pmu_enabled 1"
	v=$(hold vm)
	assertTrue "follows the new instance" "wait_for 10 logged vm_acquired"
	release "$v"
}

test_watchdog_sec_is_honoured() {
	mkdir -p /run/systemd/system/mpmud.service.d
	printf '[Service]\nWatchdogSec=2s\n' > /run/systemd/system/mpmud.service.d/watchdog.conf
	systemctl daemon-reload
	systemctl restart mpmud.service
	restarts=$(prop NRestarts)
	pid=$(prop MainPID)
	assertEquals "WatchdogUSec" 2s "$(prop WatchdogUSec)"
	sleep 8
	assertEquals "no watchdog restart in 4 intervals" "$restarts" "$(prop NRestarts)"
	assertEquals "same process" "$pid" "$(prop MainPID)"
	rm -r /run/systemd/system/mpmud.service.d
	systemctl daemon-reload
	systemctl restart mpmud.service
}

# Mount options of PATH in mpmud's mount namespace ("rw,..." or "ro,...").
# (Not "test -w": under TCG the kernel itself makes nmi_watchdog 0444, no
# hard-lockup detector being available.)
mount_opts() {
	awk -v p="$1" '$5 == p { o = $6 } END { print o }' "/proc/$(prop MainPID)/mountinfo"
}

test_sandbox_leaves_what_mpmud_needs_writable() {
	pid=$(prop MainPID)
	in_unit() { nsenter -t "$pid" -m -- sh -c "$1"; }
	assertEquals "nmi_watchdog sysctl writable: $(mount_opts /proc/sys/kernel/nmi_watchdog)" \
		rw "$(mount_opts /proc/sys/kernel/nmi_watchdog | cut -d, -f1)"
	assertEquals "other sysctls read-only" ro "$(mount_opts /proc/sys | cut -d, -f1)"
	assertTrue "/run/mpmu writable" "in_unit 'test -w /run/mpmu'"
	assertTrue "textfile dir writable" "in_unit 'test -w $(dirname $TEXTFILE)'"
	assertFalse "/etc read-only" "in_unit 'test -w /etc/mpmud.conf'"
	assertFalse "/usr read-only" "in_unit 'test -w /usr/sbin/mpmud'"
}

test_stop_restores_the_nmi_watchdog() {
	assertEquals "the boot drain turned it off" 0 "$(cat $FAKE_WATCHDOG)"
	assertEquals "and saved the old value" 1 "$(cat $SAVED_WATCHDOG)"
	systemctl stop mpmud.service
	assertEquals "restored" 1 "$(cat $FAKE_WATCHDOG)"
	assertFalse "saved value consumed" "[ -e $SAVED_WATCHDOG ]"
	assertTrue "logged" "message_logged 'restore: NMI watchdog set back to 1'"
	systemctl start mpmud.service
	assertTrue "active" is_active
}

test_stop_keeps_the_watchdog_off_while_vms_hold_the_pmu() {
	echo 0 > "$FAKE_WATCHDOG"	# as a drain leaves it
	mkdir -p "$(dirname $SAVED_WATCHDOG)"
	echo 1 > "$SAVED_WATCHDOG"
	v=$(hold vm)
	systemctl stop mpmud.service
	assertEquals "still off: its counters would be refused" 0 "$(cat $FAKE_WATCHDOG)"
	assertEquals "saved value kept for mpmuctl restore" 1 "$(cat $SAVED_WATCHDOG)"
	assertTrue "logged" "message_logged 'VMs hold the mediated PMU; the NMI watchdog stays off'"
	assertEquals "mpmuctl restore refuses too, and changes nothing" 75 \
		"$(MPMU_ROOT=/srv/mpmu-root mpmuctl restore > /dev/null 2>&1; echo $?)"
	assertEquals "still saved" 1 "$(cat $SAVED_WATCHDOG)"
	release "$v"
	assertTrue "mpmuctl restore finishes the job" "MPMU_ROOT=/srv/mpmu-root mpmuctl restore"
	assertEquals "restored" 1 "$(cat $FAKE_WATCHDOG)"
	systemctl start mpmud.service
	assertTrue "active" is_active
}

# The drain policies and arm = no, each with a restart of mpmud on a drop-in
# (tearDown removes 90-*.conf too).  Each leaves what it found: mpmud
# running on the tests' config, armed, no holder, the stand-in watchdog 1
# and no saved value.

# drain = kill: the watchdog off, SIGKILL to the owners, before READY=1.
test_drain_kill_sigkills_the_owners() {
	h=$(hold_unit mpmu-hold-kill event)
	assertNotNull "an include-guest event" "$h"
	assertEquals "it blocks" 1 "$(cat $SYS/include_guest_events)"
	printf 'drain = kill\n' > /etc/mpmud.conf.d/90-kill.conf
	assertTrue "restart" "systemctl restart mpmud.service"
	assertTrue "ready" is_active
	assertTrue "ready with drain = kill" \
		"message_logged '^ready: arbitration armed, drain policy kill$'"
	assertTrue "the holder died (its unit failed)" \
		"wait_for 10 unit_state_is mpmu-hold-kill failed"
	assertEquals "killed by signal 9 (CLD_KILLED, SIGKILL)" "signal 2 9" \
		"$(unit_end mpmu-hold-kill)"
	assertEquals "include_guest_events reached 0" 0 "$(cat $SYS/include_guest_events)"
	assertEquals "the action is kill" "drain: kill pid $h (mpmu-probe): sent" \
		"$(field drain_action MESSAGE MPMU_PID="$h")"
	assertEquals "the outcome: none left" 0 \
		"$(field drain_action MPMU_INCLUDE_GUEST_EVENTS MPMU_COMM=mpmud)"
	assertEquals "and the watchdog off" 0 "$(cat $FAKE_WATCHDOG)"
	end_unit mpmu-hold-kill
	rm -f /etc/mpmud.conf.d/90-kill.conf
	systemctl restart mpmud.service
	assertEquals "the restart set the watchdog back" 1 "$(cat $FAKE_WATCHDOG)"
}

# drain = never: the owner left alone, the watchdog too, READY=1 all the same.
test_drain_never_leaves_the_owners_alone() {
	h=$(hold_unit mpmu-hold-never event)
	assertNotNull "an include-guest event" "$h"
	printf 'drain = never\n' > /etc/mpmud.conf.d/90-never.conf
	assertTrue "restart: READY=1" "systemctl restart mpmud.service"
	assertTrue "active" is_active
	assertTrue "ready with drain = never" \
		"message_logged '^ready: arbitration armed, drain policy never$'"
	sleep 1
	assertTrue "the holder still runs" "unit_state_is mpmu-hold-never active"
	assertEquals "same process" "$h" "$(systemctl show -p MainPID --value mpmu-hold-never)"
	assertEquals "its event still blocks" 1 "$(cat $SYS/include_guest_events)"
	assertTrue "STATUS= says so: $(prop StatusText)" \
		"wait_for 10 status_is '0 VMs hold the mediated PMU; 1 blocking event'"
	assertFalse "no drain action, not even a report" "logged drain_action"
	assertEquals "the watchdog untouched" 1 "$(cat $FAKE_WATCHDOG)"
	assertFalse "nothing saved" "[ -e $SAVED_WATCHDOG ]"
	end_unit mpmu-hold-never
	rm -f /etc/mpmud.conf.d/90-never.conf
	systemctl restart mpmud.service
}

# drain = watchdog: the NMI watchdog off (and saved), the owners not
# signalled.  Under TCG the watchdog has no counters: a held event is what
# there is to drain.
test_drain_watchdog_turns_it_off_and_stop_restores_it() {
	h=$(hold_unit mpmu-hold-wd event)
	assertNotNull "an include-guest event" "$h"
	printf 'drain = watchdog\ndrain_timeout = 1s\n' > /etc/mpmud.conf.d/90-watchdog.conf
	assertTrue "restart" "systemctl restart mpmud.service"
	assertTrue "ready with drain = watchdog" \
		"message_logged '^ready: arbitration armed, drain policy watchdog$'"
	assertEquals "turned off" 0 "$(cat $FAKE_WATCHDOG)"
	assertEquals "the old value saved" 1 "$(cat $SAVED_WATCHDOG)"
	assertEquals "the action" "drain: nmi_watchdog /proc/sys/kernel/nmi_watchdog: off" \
		"$(field drain_action MESSAGE MPMU_PID=0)"
	assertTrue "the owner is not signalled" "unit_state_is mpmu-hold-wd active"
	assertNull "nor named in an action" "$(field drain_action MESSAGE MPMU_PID="$h")"
	assertEquals "the outcome: its event remains" 1 \
		"$(field drain_action MPMU_INCLUDE_GUEST_EVENTS MPMU_COMM=mpmud)"
	systemctl stop mpmud.service
	assertEquals "restore_on_stop = yes (default): set back" 1 "$(cat $FAKE_WATCHDOG)"
	assertFalse "saved value consumed" "[ -e $SAVED_WATCHDOG ]"
	assertTrue "logged" "message_logged 'restore: NMI watchdog set back to 1'"
	end_unit mpmu-hold-wd
	rm -f /etc/mpmud.conf.d/90-watchdog.conf
	systemctl start mpmud.service
	assertTrue "active" is_active
}

test_restore_on_stop_no_keeps_the_watchdog_off() {
	h=$(hold_unit mpmu-hold-nr event)
	assertNotNull "an include-guest event" "$h"
	printf 'drain = watchdog\ndrain_timeout = 1s\nrestore_on_stop = no\n' \
		> /etc/mpmud.conf.d/90-norestore.conf
	assertTrue "restart" "systemctl restart mpmud.service"
	assertEquals "turned off" 0 "$(cat $FAKE_WATCHDOG)"
	assertEquals "the old value saved" 1 "$(cat $SAVED_WATCHDOG)"
	systemctl stop mpmud.service
	assertEquals "inactive" inactive "$(prop ActiveState)"
	assertEquals "restore_on_stop = no: still off" 0 "$(cat $FAKE_WATCHDOG)"
	assertEquals "the saved value kept for mpmuctl restore" 1 "$(cat $SAVED_WATCHDOG)"
	assertFalse "no restore logged" "message_logged '^restore:'"
	end_unit mpmu-hold-nr
	rm -f /etc/mpmud.conf.d/90-norestore.conf
	assertTrue "mpmuctl restore sets it back" "MPMU_ROOT=/srv/mpmu-root mpmuctl restore"
	assertEquals "restored" 1 "$(cat $FAKE_WATCHDOG)"
	systemctl start mpmud.service
	assertTrue "active" is_active
}

# arm = no leaves enabled as it was; arm = yes (the default) sets it.
test_arm_no_leaves_enabled_alone() {
	printf 'arm = no\n' > /etc/mpmud.conf.d/90-noarm.conf
	systemctl stop mpmud.service
	echo 0 > $SYS/enabled
	assertEquals "disarmed before the start" 0 "$(cat $SYS/enabled)"
	assertTrue "start" "systemctl start mpmud.service"
	assertTrue "active" is_active
	assertTrue "ready, not armed" "message_logged '^ready: arbitration not armed, '"
	assertEquals "arm = no: still 0" 0 "$(cat $SYS/enabled)"
	assertTrue "STATUS= says so: $(prop StatusText)" \
		"wait_for 10 status_is 'arbitration disabled; 0 include-guest events'"
	systemctl stop mpmud.service
	rm -f /etc/mpmud.conf.d/90-noarm.conf
	echo 0 > $SYS/enabled
	assertEquals "disarmed before the start" 0 "$(cat $SYS/enabled)"
	assertTrue "start" "systemctl start mpmud.service"
	assertEquals "arm = yes: 1" 1 "$(cat $SYS/enabled)"
	assertTrue "ready, armed" "message_logged '^ready: arbitration armed, '"
}

test_no_sanitizer_report_from_mpmud() {
	T0=0
	assertFalse "$(journalctl -q -b -u mpmud.service -o cat | grep -E -m3 'Sanitizer|runtime error')" \
		"journalctl -q -b -u mpmud.service -o cat | grep -Eq 'Sanitizer|runtime error'"
}

# In this order: the first tests read what the boot did.
ALL_TESTS="test_boot_order_mpmud_ready_before_libvirtd test_boot_drain_ended_the_blocker
	test_status_text_follows_the_module test_vm_refusal_is_logged_with_fields
	test_event_refusal_is_logged_with_fields test_textfile_metrics
	test_stop_restores_the_nmi_watchdog test_stop_keeps_the_watchdog_off_while_vms_hold_the_pmu
	test_drain_kill_sigkills_the_owners test_drain_never_leaves_the_owners_alone
	test_drain_watchdog_turns_it_off_and_stop_restores_it
	test_restore_on_stop_no_keeps_the_watchdog_off test_arm_no_leaves_enabled_alone
	test_config_error_fails_the_unit_with_the_line
	test_reload_with_a_bad_config_keeps_the_old_one test_log_level_filters_the_journal
	test_kill_9_restart_reports_the_truth
	test_module_unload_and_reload_reconnects test_watchdog_sec_is_honoured
	test_sandbox_leaves_what_mpmud_needs_writable
	test_unprivileged_users_cannot_reload_signal_or_run_mpmud
	test_no_sanitizer_report_from_mpmud test_every_test_is_in_the_list"

# The list above is the suite: a test left out of it would never run.
test_every_test_is_in_the_list() {
	for t in $(sed -n 's/^\(test_[a-z0-9_]*\)() {$/\1/p' "$0"); do
		assertContains "ALL_TESTS lists $t" "$ALL_TESTS" "$t"
	done
}

suite() {
	for t in ${MPMU_TESTS:-$ALL_TESTS}; do
		suite_addTest "$t"
	done
}

. shunit2
