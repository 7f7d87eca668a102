#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test tier, then one closing line: "N passed, N failed".
#   style: checkpatch --strict clean
#   unit:  libmpmu's parsers and helpers, under ASan/UBSan
#   fuzz:  libFuzzer on the parsers, 20 s each
#   build: W=1 clean for each kernel (inside the VM tier)
#   pkg:   .deb and .rpm build and lint clean, hold what they promise; DKMS
#          builds for each kernel; the libvirt hook as libvirtd runs it
#   vm:    the module in QEMU guests of each installed kernel, and of
#          Debian's newest 7.x kernels (tests/tools/kernels-7x fetches them)
#   sysd:  mpmud under systemd in a Debian guest
#   pkgvm: the .debs installed with apt in a Debian guest, rebooted, removed
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0

tally() {	# name, command...
	local name=$1
	shift
	if "$@"; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		fail=$((fail + 1))
	fi
}

tally "style: checkpatch --strict is clean" make -s -C kmod style

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

# Colour only on a terminal, never with NO_COLOR (check fails here: no module).
# (check exits 1 without the module: keep its status out of the pipelines.)
colours_on_a_tty() {
	local out
	out=$(env -u NO_COLOR build/ptyrun build/user/mpmuctl check)
	grep -q $'\e\[31mFAIL' <<< "$out"
}

no_colour_with_no_color_or_a_pipe() {
	local tty pipe
	tty=$(NO_COLOR=1 build/ptyrun build/user/mpmuctl check)
	pipe=$(build/user/mpmuctl check)
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

# The guests' reporter: a guest that dies (panic, hang, timeout) fails the
# test it was running and its suite, never passes them.
report_fails_what_a_dead_guest_ran() {
	diff -u - <(printf '%s\n' "MPMU-SUITE-BEGIN s" test_a test_b \
		"Kernel panic - not syncing: Fatal exception" |
		tests/tools/shunit-report K 2> /dev/null) <<-EOF
	PASS K test_a
	FAIL K test_b
	FAIL K s-did-not-finish
	EOF
}
tally "guest report: a guest that died fails the test it ran and its suite" report_fails_what_a_dead_guest_ran

# libFuzzer on the userspace parsers (longer: make fuzz).
fuzz_parsers() {
	make -s fuzz FUZZ_SECONDS=20 2>&1 | tee build/fuzz-check.log | grep '^fuzz:'
	[ "${PIPESTATUS[0]}" -eq 0 ]
}
tally "libFuzzer: config file, guest name, seconds and mpmuctl command-line parsers, 20 s each, no crash" fuzz_parsers

# Guest tiers: the module on each kernel (busybox), then mpmud under systemd.
tier() {	# name, command...
	local name=$1 log=$top/build/$1-results.log tpass tfail
	shift
	"$@" 2>&1 | tee "$log"
	tpass=$(grep -c '^PASS' "$log" || true)
	tfail=$(grep -c '^FAIL' "$log" || true)
	grep -q "^$name: " "$log" || tfail=$((tfail + 1))
	pass=$((pass + tpass))
	fail=$((fail + tfail))
}

tier pkg tests/pkg/host.sh
# Debian's newest 7.x kernels (trixie-backports) and the trixie chroot their
# module is built in, cached outside the tree: the VM tier boots them too.
tally "7.x kernels and the trixie build chroot are in the cache" tests/tools/kernels-7x
tier vm tests/vm/run.sh
# The reliability suite's figures, as docs/reliability.md shows them.
echo "--- reliability figures of this run:"
if ! "$top/tests/tools/reliability-figures" "$top/build/vm"; then
	echo "FAIL the reliability figures cannot be read from build/vm"
	fail=$((fail + 1))
fi
tier sysd tests/sysd/run.sh
tier pkgvm tests/pkg/vm.sh

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
