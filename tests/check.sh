#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test tier, then one closing line: "N passed, N failed".
#   style: checkpatch --strict clean
#   unit:  libmpmu's parsers and helpers, under ASan/UBSan
#   build: W=1 clean for each kernel (inside the VM tier)
#   vm:    the module in QEMU guests of each installed kernel
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
	bash -c 'build/user/mpmuctl --version | grep -qx "mpmuctl 0.1.0"'
tally "mpmuctl(8) lists every command exactly as --help does" man_lists_commands
tally "completion offers commands" completes "drain" mpmuctl dr
tally "completion offers a command's options" completes "--signal" mpmuctl drain --si
tally "completion offers signal names" completes "term" mpmuctl drain --signal t

vmlog=$top/build/vm-results.log
mkdir -p build
tests/vm/run.sh 2>&1 | tee "$vmlog"
vpass=$(grep -c '^PASS' "$vmlog" || true)
vfail=$(grep -c '^FAIL' "$vmlog" || true)
grep -q '^vm: ' "$vmlog" || vfail=$((vfail + 1))
pass=$((pass + vpass))
fail=$((fail + vfail))

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
