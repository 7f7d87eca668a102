#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test tier, then one closing line: "N passed, N failed, N skipped"
# (a skip is a SKIP line that names its reason: today the 7.x observe-mode
# tests on the 6.x kernels, which have no native knob).
#   style: checkpatch --strict clean
#   unit:  libmpmu's parsers and helpers, under ASan/UBSan
#   fuzz:  libFuzzer on the parsers, 20 s each
#   build: W=1 clean for each kernel (inside the VM tier)
#   pkg:   .deb and .rpm build and lint clean, hold what they promise; DKMS
#          builds for each kernel; the libvirt hook as libvirtd runs it
#   vm:    the module in QEMU guests of each installed kernel, and of
#          Debian's newest 7.x kernels (tests/tools/kernels-7x fetches them)
#   sysd:  mpmud under systemd in a Debian guest
#   pkgvm: the .debs installed with apt in a Debian 12 guest (its 6.12 and
#          its 6.1 kernel) and a Debian 13 guest (its 6.12 and the 7.x of
#          trixie-backports) with libvirtd, QEMU and perf, rebooted, removed
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
skip=0
failures=()	# repeated at the end: a long log's tail is what CI shows

failed() {	# what: a FAIL line now, and again at the end
	echo "FAIL $1"
	failures+=("FAIL $1")
}

# Where make check's time goes (CI allows 90 minutes; the aim is ~40).
took() {	# what, $SECONDS at its start
	local s=$((SECONDS - $2))
	printf -- '--- %s took %dm%02ds\n' "$1" $((s / 60)) $((s % 60))
}
tally() {	# name, command...
	local name=$1 t0=$SECONDS
	shift
	if "$@"; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		failed "$name"
		fail=$((fail + 1))
	fi
	if [ $((SECONDS - t0)) -ge 20 ]; then
		took "$name" "$t0"
	fi
}

tally "style: checkpatch --strict is clean (the module, the test modules)" make -s style

# Host tier: libmpmu under ASan and UBSan.
unitlog=$top/build/unit.log
mkdir -p build
make -s SANITIZE=1 O=build/asan unit 2>&1 | tee "$unitlog"
unit_rc=${PIPESTATUS[0]}
upass=$(grep -c '^PASS' "$unitlog" || true)
ufail=$(grep -c '^FAIL' "$unitlog" || true)
# A crash (a sanitizer abort) prints no FAIL line: count it from the status.
[ "$unit_rc" -eq 0 ] || ufail=$((ufail + 1))
pass=$((pass + upass))
fail=$((fail + ufail))

# Documentation and completion agree with the program.
man_lists_commands() {
	local cmd
	for cmd in $(build/user/mpmuctl --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p'); do
		build/user/mpmuctl --help | grep "^  $cmd " > /tmp/mpmu-help-line.$$
		grep -qF "$(cat /tmp/mpmu-help-line.$$)" man/mpmuctl.8 || { echo "mpmuctl.8 lacks: $cmd"; return 1; }
	done
	rm -f /tmp/mpmu-help-line.$$
}

completes() {	# expected, words...
	local want=$1
	shift
	PATH=$top/build/user:$PATH bash -c '
		source packaging/bash-completion/mpmuctl
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mpmuctl
		echo "${COMPREPLY[*]}"' completes "$@" | grep -qx -- "$want"
}

# Colour only on a terminal, never with NO_COLOR (check fails where the
# module cannot be reached: tests/tools/without-module, whatever this machine
# has loaded).  (check exits 1 then: keep its status out of the pipelines.)
colours_on_a_tty() {
	local out
	out=$(env -u NO_COLOR build/ptyrun tests/tools/without-module build/user/mpmuctl check)
	grep -q $'\e\[31mFAIL' <<< "$out"
}

no_colour_with_no_color_or_a_pipe() {
	local tty pipe
	tty=$(NO_COLOR=1 build/ptyrun tests/tools/without-module build/user/mpmuctl check)
	pipe=$(tests/tools/without-module build/user/mpmuctl check)
	grep -q 'FAIL' <<< "$tty$pipe" && ! grep -q $'\e\[' <<< "$tty$pipe"
}

make -s user
cc -std=gnu11 -Wall -Wextra -Werror -o build/ptyrun tests/tools/ptyrun.c -lutil
tally "mpmuctl uses colour on a terminal" colours_on_a_tty
tally "mpmuctl uses no colour with NO_COLOR or into a pipe" no_colour_with_no_color_or_a_pipe
tally "mpmuctl --version names the program and version" \
	bash -c 'build/user/mpmuctl --version | grep -qx "mpmuctl $(cat VERSION)"'
tally "mpmuctl(8) lists every command exactly as --help does" man_lists_commands
tally "completion offers commands" completes "drain" mpmuctl dr
tally "completion offers a command's options" completes "--signal" mpmuctl drain --si
tally "completion offers signal names" completes "term" mpmuctl drain --signal t

# mpmud: its unit, its options, its install.
unit_for_checks() {	# the unit as installed, ExecStart= pointing at the build
	sed "s|@SBINDIR@|$top/build/user|" packaging/systemd/mpmud.service > build/mpmud.service
}

unit_verifies_silently() {
	local out
	unit_for_checks
	out=$(systemd-analyze verify --man=no build/mpmud.service 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
}

unit_exposure_at_most_2_5() {
	local level
	unit_for_checks
	level=$(systemd-analyze security --offline=true build/mpmud.service 2>&1 |
		sed -n 's/.*Overall exposure level for mpmud.service: \([0-9.]*\).*/\1/p')
	echo "exposure: ${level:-none}"
	[ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.5) }'
}

check_config_names_file_and_line() {
	local dir=build/conf-test out rc
	rm -rf "$dir" && mkdir -p "$dir/d"
	printf 'drain = term\n' > "$dir/mpmud.conf"
	printf '# ok\n\nlog_level = verbose\n' > "$dir/d/10-x.conf"
	out=$(build/user/mpmud --check-config -c "$dir/mpmud.conf" -d "$dir/d" 2>&1)
	rc=$?
	[ $rc -eq 78 ] && grep -q "^mpmud: $dir/d/10-x.conf:3: log_level: 'verbose' is not one of" <<< "$out"
}

check_config_prints_what_applies() {
	local dir=build/conf-test
	rm -rf "$dir" && mkdir -p "$dir/d"
	printf 'drain = term\ntextfile = /tmp/x.prom\n' > "$dir/mpmud.conf"
	printf 'drain = kill\n' > "$dir/d/20-later.conf"
	printf 'drain = never\n' > "$dir/d/10-earlier.conf"
	diff -u - <(build/user/mpmud -n -c "$dir/mpmud.conf" -d "$dir/d") <<-EOF
	arm = yes
	drain = kill
	drain_timeout = 10s
	restore_on_stop = yes
	textfile = /tmp/x.prom
	log_level = info
	EOF
}

mpmud_man_lists_every_option() {
	local opt
	for opt in $(build/user/mpmud --help | grep -o -- '--[a-z-]*' | sort -u); do
		[ "$opt" = --usage ] && continue
		grep -q -- "${opt//-/\\\\-}" man/mpmud.8 || { echo "mpmud.8 lacks $opt"; return 1; }
	done
}

install_lays_out_the_files() {
	local d=$top/build/install-test
	rm -rf "$d"
	make -s install DESTDIR="$d" PREFIX=/usr > /dev/null || return 1
	(cd "$d" && find . -type f -o -type l | sort) > build/install-files.txt
	diff -u - build/install-files.txt <<-EOF
	./etc/libvirt/hooks/qemu.d/50-mediated-pmu
	./etc/mpmud.conf
	./lib/systemd/system/mpmud.service
	./usr/bin/mpmuctl
	./usr/lib/modules-load.d/mediated_pmu.conf
	./usr/sbin/mpmud
	./usr/share/bash-completion/completions/mpmuctl
	./usr/share/man/man5/mpmud.conf.5
	./usr/share/man/man7/mediated_pmu.7
	./usr/share/man/man8/mpmuctl.8
	./usr/share/man/man8/mpmud.8
	EOF
	grep -qx "ExecStart=/usr/sbin/mpmud" "$d/lib/systemd/system/mpmud.service" || return 1
	echo "local" > "$d/etc/mpmud.conf"
	make -s install DESTDIR="$d" PREFIX=/usr > /dev/null &&
		grep -qx local "$d/etc/mpmud.conf" || { echo "install overwrote /etc/mpmud.conf"; return 1; }
	make -s uninstall DESTDIR="$d" PREFIX=/usr > /dev/null || return 1
	[ "$(cd "$d" && find . -type f)" = "./etc/mpmud.conf" ]
}

tally "mpmud.service: systemd-analyze verify prints nothing" unit_verifies_silently
tally "mpmud.service: systemd-analyze security exposure <= 2.5" unit_exposure_at_most_2_5
tally "mpmud --check-config: a bad line is FILE:LINE and exit 78" check_config_names_file_and_line
tally "mpmud --check-config: conf.d in lexical order, later wins" check_config_prints_what_applies
tally "mpmud(8) documents every option of --help" mpmud_man_lists_every_option
tally "make install/uninstall: the promised files, /etc/mpmud.conf kept" install_lays_out_the_files

# The guests' reporter: nothing a guest was to run can vanish.  Each made-up
# console below is broken in one way; the report must fail it, and say how.
report_of() {	# expected-lines (\n-separated), then the console on stdin
	printf '%b' "$1" > build/report-expected.txt
	tests/tools/shunit-report K build/report-expected.txt 2> /dev/null
}

report_fails_what_a_dead_guest_ran() {
	diff -u - <(printf '%s\n' "MPMU-SUITE-BEGIN s" test_a test_b \
		"Kernel panic - not syncing: Fatal exception" |
		report_of 's test_a\ns test_b\ns test_c\n' | sort) <<-EOF
	FAIL K guest-did-not-finish
	FAIL K s-did-not-finish
	FAIL K test_b
	FAIL K test_c-did-not-run
	PASS K test_a
	EOF
}

report_fails_a_suite_that_exited_non_zero() {
	printf '%s\n' "MPMU-SUITE-BEGIN s" test_a "MPMU-SUITE-END s rc=2" MPMU-DONE |
		report_of 's test_a\n' | grep -qx 'FAIL K s-exited-2'
}

report_fails_a_fatal_shunit2() {
	printf '%s\n' "MPMU-SUITE-BEGIN s" "shunit2:FATAL oneTimeSetUp() returned non-zero" \
		"MPMU-SUITE-END s rc=1" MPMU-DONE | report_of 's test_a\n' > build/report-out.txt
	grep -qx 'FAIL K s-shunit2-fatal' build/report-out.txt &&
		grep -qx 'FAIL K test_a-did-not-run' build/report-out.txt &&
		[ "$(grep -c '^FAIL' build/report-out.txt)" -eq 2 ]
}

report_fails_a_suite_that_ran_no_test() {
	printf '%s\n' "MPMU-SUITE-BEGIN s" "" "Ran 0 tests." "" OK "MPMU-SUITE-END s rc=0" \
		MPMU-DONE | report_of 's test_a\n' | grep -qx 'FAIL K s-shunit2-fatal'
}

report_fails_a_suite_that_does_not_parse() {
	# What sh prints for a syntax error: no test, and a non-zero status.
	printf '%s\n' "MPMU-SUITE-BEGIN s" "/tests/s.sh: line 9: syntax error: unexpected \"}\"" \
		"MPMU-SUITE-END s rc=2" MPMU-DONE | report_of 's test_a\n' > build/report-out.txt
	grep -qx 'FAIL K s-exited-2' build/report-out.txt &&
		grep -qx 'FAIL K test_a-did-not-run' build/report-out.txt
}

report_fails_a_suite_that_never_began_and_a_guest_that_never_ended() {
	printf '%s\n' "MPMU-SUITE-BEGIN s" test_a "MPMU-SUITE-END s rc=0" |
		report_of 's test_a\nt test_b\n' > build/report-out.txt
	diff -u - <(sort build/report-out.txt) <<-EOF
	FAIL K guest-did-not-finish
	FAIL K t-did-not-begin
	PASS K test_a
	EOF
}

report_counts_a_skip_with_its_reason() {
	printf '%s\n' "MPMU-SUITE-BEGIN s" test_a "MPMU-SKIP no /dev/kvm in this guest" \
		"MPMU-SUITE-END s rc=0" MPMU-DONE | report_of 's test_a\n' |
		grep -qx 'SKIP K test_a no /dev/kvm in this guest'
}

report_passes_a_whole_run() {
	diff -u - <(printf '%s\n' "MPMU-SUITE-BEGIN s" test_a test_b "Ran 2 tests." OK \
		"MPMU-SUITE-END s rc=0" MPMU-DONE | report_of 's test_a\ns test_b\n') <<-EOF
	PASS K test_a
	PASS K test_b
	EOF
}

tally "guest report: a guest that died fails the test it ran, its suite, the tests it never ran" \
	report_fails_what_a_dead_guest_ran
tally "guest report: a suite that exited non-zero fails" report_fails_a_suite_that_exited_non_zero
tally "guest report: shunit2 FATAL (oneTimeSetUp failed) fails the suite and each test" \
	report_fails_a_fatal_shunit2
tally "guest report: 'Ran 0 tests' fails the suite" report_fails_a_suite_that_ran_no_test
tally "guest report: a suite file that does not parse fails" report_fails_a_suite_that_does_not_parse
tally "guest report: a suite that never began, a guest without MPMU-DONE fail" \
	report_fails_a_suite_that_never_began_and_a_guest_that_never_ended
tally "guest report: a skip is SKIP with its reason" report_counts_a_skip_with_its_reason
tally "guest report: a whole run passes, no more lines" report_passes_a_whole_run

# The guests' check of the kernel log matches every form of a stall the
# supported kernels print (CONFIG_PREEMPT_RCU=y: rcu_preempt, not rcu_sched).
log_problems_match_every_stall_form() {
	local re line
	re=$(sed -n "s/^KERNEL_LOG_PROBLEMS='\(.*\)'$/\1/p" tests/vm/lib.sh)
	[ -n "$re" ] || return 1
	while read -r line; do
		grep -qE "$re" <<< "$line" || { echo "not matched: $line"; return 1; }
	done <<-EOF
	[  123.456789] rcu: INFO: rcu_preempt self-detected stall on CPU
	[  123.456789] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
	[  123.456789] rcu: INFO: rcu_sched self-detected stall on CPU
	[  123.456789] INFO: rcu_tasks detected stalls on tasks:
	[  123.456789] rcu: rcu_preempt kthread starved for 2502 jiffies! g1234 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x0 ->cpu=1
	[  123.456789] rcu: rcu_preempt kthread timer wakeup didn't happen for 2501 jiffies! g1234 f0x0 RCU_GP_WAIT_FQS(5) ->state=0x402
	[  123.456789] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [mpmu-probe:123]
	[  123.456789] INFO: task mpmu-probe:123 blocked for more than 120 seconds.
	EOF
	! grep -qE "$re" <<< "[    1.000000] rcu: Preemptible hierarchical RCU implementation."
}
tally "guest kernel-log check: every RCU stall form, lockups, hung tasks match" \
	log_problems_match_every_stall_form

# libFuzzer on the userspace parsers (longer: make fuzz).
fuzz_parsers() {
	make -s fuzz FUZZ_SECONDS=20 2>&1 | tee build/fuzz-check.log | grep '^fuzz:'
	[ "${PIPESTATUS[0]}" -eq 0 ]
}
tally "libFuzzer: config file, guest name, seconds and mpmuctl command-line parsers, 20 s each, no crash" fuzz_parsers

# make bench's report, made again from a kept run's raw lines: the same
# last line (the ratios, the targets missed) and exit 1 for a missed target.
bench_report_from_a_kept_run() {
	local out rc=0
	out=$(bench/run.sh --from bench/results/6.12.117+deb12-amd64-20261202T185109Z.log) || rc=$?
	echo "exit $rc; $(tail -n 1 <<< "$out")"
	[ "$rc" = 1 ] && [ "$(tail -n 1 <<< "$out")" = "bench: 2 targets missed; ratios with/without: exclude-guest open 1.016, include-guest open 1.040, KVM_CREATE_VM 1.006" ]
}
tally "make bench's report from a kept run: its last line and exit 1 for a missed target" \
	bench_report_from_a_kept_run

# Guest tiers: the module on each kernel (busybox), then mpmud under systemd.
# A tier fails when one of its checks failed, when it printed no closing
# "<name>: N passed, N failed, N skipped" line (it did not run to its end),
# and when it exited non-zero even with no FAIL line.
tier() {	# name, command...
	local name=$1 t0=$SECONDS
	shift
	"$@" 2>&1 | tee "$top/build/$name-results.log"
	tier_account "$name" "${PIPESTATUS[0]}"
	took "$name" "$t0"
}
tier_account() {	# name, exit status: adds the tier's lines to the totals
	local name=$1 rc=$2 log=$top/build/$1-results.log tpass tfail tskip
	tpass=$(grep -c '^PASS' "$log" || true)
	tfail=$(grep -c '^FAIL' "$log" || true)
	tskip=$(grep -c '^SKIP' "$log" || true)
	if ! grep -q "^$name: [0-9]* passed, [0-9]* failed, [0-9]* skipped$" "$log"; then
		failed "$name: the tier did not run to its end (no closing line)"
		tfail=$((tfail + 1))
	elif [ "$rc" -ne 0 ] && [ "$tfail" -eq 0 ]; then
		failed "$name: the tier exited $rc with no FAIL line"
		tfail=$((tfail + 1))
	fi
	pass=$((pass + tpass))
	fail=$((fail + tfail))
	skip=$((skip + tskip))
	mapfile -t -O "${#failures[@]}" failures < <(grep '^FAIL' "$log")
}
# Two tiers at once, each one single-threaded QEMU on one of the machine's
# two CPUs (the VM tier runs its guests two at a time the same way); each
# tier's output is shown whole once both have ended.  Each runs in its own
# session (setsid execs: same pid), so that an interrupted make check stops
# it with its QEMU: a background job of a script ignores SIGINT.
two_tiers() {	# "name command..." "name command..." (words, no quoting)
	local spec argv pids=() names=() i rc t0=$SECONDS
	for spec; do
		read -r -a argv <<< "$spec"
		setsid "${argv[@]:1}" > "$top/build/${argv[0]}-results.log" 2>&1 &
		pids+=("$!") names+=("${argv[0]}")
	done
	# shellcheck disable=SC2064 # the pids are known now
	trap "kill -- ${pids[*]/#/-} 2> /dev/null; exit 130" INT TERM
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		cat "$top/build/${names[$i]}-results.log"
		tier_account "${names[$i]}" "$rc"
	done
	trap - INT TERM
	took "${names[*]}, side by side," "$t0"
}

tier pkg tests/pkg/host.sh
# Debian's newest 7.x kernels (trixie-backports) and the trixie chroot their
# module is built in, cached outside the tree: the VM tier boots them too.
tally "7.x kernels and the trixie build chroot are in the cache" tests/tools/kernels-7x
tier vm tests/vm/run.sh

# README: the debug build adds parameters, each described "debug:", and
# the production build has none of them (the builds the VM tier made).
debug_parameters_only_in_the_debug_build() {
	local k dir extra
	k=$(tests/tools/default-kernel)
	dir=build/vm/$k
	modinfo -F parm "$dir/kmod/mediated_pmu.ko" | sort > build/parm.prod || return 1
	modinfo -F parm "$dir/kmod-debug/mediated_pmu.ko" | sort > build/parm.debug || return 1
	extra=$(comm -13 build/parm.prod build/parm.debug)
	echo "debug-only parameters: $(cut -d: -f1 <<< "$extra" | tr '\n' ' ')"
	grep -q '^fail_alloc_every:debug:' <<< "$extra" &&
		! grep -qv '^[a-z_]*:debug:' <<< "$extra" &&
		! grep -q ':debug:' build/parm.prod
}
tally "the debug build's parameters are described \"debug:\" and absent from the production build" \
	debug_parameters_only_in_the_debug_build
# The reliability suite's figures, as docs/reliability.md shows them.
echo "--- reliability figures of this run:"
if ! "$top/tests/tools/reliability-figures" "$top/build/vm"; then
	failed "the reliability figures cannot be read from build/vm"
	fail=$((fail + 1))
fi
# make demo tells its story with the real QEMU (KVM, nested) and perf:
# each turn of it, as README and the issue describe it.
demo_tells_the_story_with_real_qemu_and_perf() {
	tests/demo.sh > build/demo.txt 2>&1 || { tail -20 build/demo.txt; return 1; }
	local want missing=0
	for want in 'qemu-system-x86 +web01 +1 ' '<not supported> msec cpu-clock:G' \
		'[0-9.]+ msec cpu-clock:H' 'failed to initialize kvm: Device or resource busy' \
		'FAIL \(2 include-guest perf events block VM creation' \
		'perf +cpu 0 +software +cpu-clock +no' 'drain: term +pid [0-9]+ \(perf\) +sent' \
		'qemu-system-x86 +db01 +2 ' 'refused VM creation by pid [0-9]+ \(qemu-system-x86\)'; do
		grep -Eq -- "$want" build/demo.txt || { echo "make demo did not say: $want"; missing=1; }
	done
	[ "$missing" = 0 ] || tail -40 build/demo.txt
	[ "$missing" = 0 ]
}
tally "make demo: a real QEMU takes the knob, perf's :G is refused, a profiler blocks QEMU until drained" \
	demo_tells_the_story_with_real_qemu_and_perf
tier sysd tests/sysd/run.sh
# The package guests: the .debs are built once, here, and every guest
# installs the same files (MPMU_DEBS), two guests at a time.
export MPMU_DEBS=$top/build/deb
make_debs() {
	make -s deb > build/deb.log 2>&1 || { tail -20 build/deb.log; return 1; }
}
tally "make deb builds the packages the package guests install" make_debs
# Debian 12 with the default kernel (6.12 from bookworm-backports) and its
# own 6.1 (linux-image-amd64, which tests/deps.sh installs); Debian 13
# (trixie) with its own 6.12 and the 7.x backport (the kernel with its own
# knob, which KVM leaves unused here: the module arbitrates).  Debian 13's
# versions come from the private apt state tests/tools/kernels-7x keeps.
k61=$(cd /boot && ls vmlinuz-6.1.*-amd64 2> /dev/null | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
k13=$(apt-cache -c "$cache/apt-trixie/apt.conf" pkgnames linux-image-6.12. 2> /dev/null |
	sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb13-amd64\)$/\1/p' | sort -V | tail -n 1)
k7x=$(grep -m 1 -- '[0-9]-amd64$' "$cache/kernels-7x.list" 2> /dev/null)
two_tiers "pkgvm tests/pkg/vm.sh" \
	"pkgvm-6.1 tests/pkg/vm.sh ${k61:-6.1-not-installed} pkgvm-6.1"
two_tiers "pkgvm-13 tests/pkg/vm.sh ${k13:-6.12-of-debian-13-not-found} pkgvm-13 trixie" \
	"pkgvm-13-7x tests/pkg/vm.sh ${k7x:-7.x-of-debian-13-not-found} pkgvm-13-7x trixie"

if [ "$fail" -gt 0 ]; then
	echo "--- what failed, again (details above, and in build/):"
	printf '%s\n' "${failures[@]}"
	grep '^FAIL' "$unitlog" || true
	# The VM tier's assertion lines, so that the log's tail explains them.
	sed -n '/^--- .*: details of failures/,/^vm: /p' build/vm-results.log 2>/dev/null | head -120
fi
took "make check" 0
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
