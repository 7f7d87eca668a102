#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot Debian kernels in QEMU with a busybox initramfs holding the module,
# KVM and the test programs; run guest suites there; report per test.
#
#   tests/vm/run.sh [-s SUITES] [-T TESTS] [-t STRESS_SECONDS] [-k KILL_SECONDS]
#                   [KERNEL_VERSION...]
#
# Default kernels: every installed 6.1 / 6.12 / 6.12-rt amd64 kernel with
# headers, and the 7.x kernels tests/tools/kernels-7x keeps in $MPMU_CACHE
# (default /var/cache/mediated_pmu): those boot from their extracted tree
# (k-<kver>/ as a root prefix) and the module is built for them in the
# cached trixie chroot, since their headers need gcc-14 and glibc >= 2.38.
# Prints "PASS|FAIL|SKIP <kernel> <test>" lines and, last,
# "vm: N passed, N failed, N skipped".  Exit status 0 only when nothing
# failed.  Every test each suite defines must run (tests/tools/suite-tests,
# shunit-report), and each kernel must get to its report.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${MPMU_BUILD:-$top/build/vm}
cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
MPMU_ICOUNT=${MPMU_ICOUNT:-}
suites=""
tests=""
stress=60
kill_seconds=20
while getopts "s:t:T:k:" opt; do
	case $opt in
	s) suites=$OPTARG ;;
	T) tests=$OPTARG ;;
	t) stress=$OPTARG ;;
	k) kill_seconds=$OPTARG ;;
	*) echo "usage: $0 [-s SUITES] [-T TESTS] [-t SECONDS] [-k SECONDS] [KERNEL...]" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))

default_kernels() {
	local v
	for v in /boot/vmlinuz-*; do
		v=${v#/boot/vmlinuz-}
		[ -d "/usr/src/linux-headers-$v" ] && [ -d "/lib/modules/$v" ] && echo "$v"
	done
	# The list the last tests/tools/kernels-7x run made available.
	[ -f "$cache/kernels-7x.list" ] || return 0
	while read -r v; do
		[ -f "$cache/k-$v/.extracted" ] && echo "$v"
	done < "$cache/kernels-7x.list"
}

# Where a kernel's files are: "" for an installed kernel (/boot,
# /lib/modules, /usr/src), else the tree kernels-7x extracted it into.
kernel_root() {
	local kver=$1
	if [ -e "/boot/vmlinuz-$kver" ] && [ -d "/lib/modules/$kver" ]; then
		echo ""
	elif [ -f "$cache/k-$kver/.extracted" ]; then
		echo "$cache/k-$kver"
	else
		echo "vm: kernel $kver is neither installed nor in $cache" >&2
		return 1
	fi
}

# Two guests at a time, each starting when a slot frees: the slowest first
# (PREEMPT_RT, where closing events is slow, then the newest), so that the
# last to start is a short one and the tier ends sooner (a clean-clone run
# here, in that order: 7.2, 7.2, 6.2, 5.6 and 5.6 minutes; 19 in all).
slowest_first() {
	awk '{ print (/-rt-/ ? 0 : 1) "\t" $0 }' | sort -t "$(printf '\t')" -k1,1n -k2,2Vr | cut -f2
}
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || mapfile -t kernels < <(default_kernels | slowest_first)
if [ ${#kernels[@]} -eq 0 ]; then
	echo "vm: no kernel with headers installed; run tests/deps.sh" >&2
	echo "vm: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

# Load order of kvm-amd and what it needs, from modules.dep.
kvm_modules() {
	local kver=$1 root=$2 line deps m
	line=$(grep -E '/kvm-amd\.ko(\.xz)?:' "$root/lib/modules/$kver/modules.dep")
	deps=${line#*:}
	for m in $(echo "$deps" | tr ' ' '\n' | tac) "${line%%:*}"; do
		echo "$root/lib/modules/$kver/$m"
	done
}

# Build the module in $build/$1/$2 from the tree "make dist" stages (what
# DKMS builds), or the helper from its directory; W=1, no warning.
# kmod-debug is the fault-injection build, made as the README says: the
# tree's own Makefile with MPMU_FAULT_INJECT=y.
# A kernel with a root prefix is built in the trixie chroot (in_chroot):
# there $build/<kver> is /build and the headers are where they expect to be.
build_kmod() {
	local kver=$1 name=$2 root=$3 dir=$build/$1/$2 src=$build/$1/$2
	local run=()
	[ -z "$root" ] || { run=(in_chroot "$root" "$build/$kver"); src=/build/$name; }
	local how=(-C "/usr/src/linux-headers-$kver" M="$src" modules)
	rm -rf "$dir" && mkdir -p "$dir"
	case $name in
	kmod) make -s -C "$top/kmod" dist DISTDIR="$dir" ;;
	kmod-debug)
		make -s -C "$top/kmod" dist DISTDIR="$dir"
		how=(-C "$src" KDIR="/usr/src/linux-headers-$kver" MPMU_FAULT_INJECT=y)
		;;
	*) cp "$top/tests/vm/$name"/* "$dir"/ ;;
	esac
	"${run[@]}" make -s "${how[@]}" W=1 \
		> "$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
	if grep -E "warning|error" "$dir/build.log" >&2; then
		return 1
	fi
}

# Run a command in the trixie chroot with a kernel tree's headers and a
# module tree in place: root, builddir, command...
# It runs in a mount namespace of its own (unshare -m, private
# propagation): the two builds xargs -P 2 runs at once each see their own
# kernel's headers at the same paths, nothing shows on the host, and every
# mount goes with the namespace when the command ends, failed or killed.
# The trap unmounts in order as well, for a clean exit.
# Mounted read-only: usr/src (linux-headers-<kver>, -common, and the
# linux-kbuild-<ver> symlink to ../lib/linux-kbuild-<ver>) and
# usr/lib/linux-kbuild-<ver>.  /proc: 7.x's objtool reads the stack limit
# from it ("read_stack_limit: fopen failed").
in_chroot() {
	local root=$1 dir=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m --propagation private bash -euc '
		root=$1 dir=$2 ch=$3
		shift 3
		undo() { umount -R "$ch/usr/src" "$ch/proc" "$ch/build" 2> /dev/null || true
			for k in "$ch"/usr/lib/linux-kbuild-*; do
				umount "$k" 2> /dev/null || true
			done; }
		trap undo EXIT
		mount --bind -o ro "$root/usr/src" "$ch/usr/src"
		for k in "$root"/usr/lib/linux-kbuild-*; do
			mkdir -p "$ch/usr/lib/${k##*/}"
			mount --bind -o ro "$k" "$ch/usr/lib/${k##*/}"
		done
		mount -t proc proc "$ch/proc"
		mount --bind "$dir" "$ch/build"
		chroot "$ch" "$@"' in_chroot "$root" "$dir" "$cache/trixie-chroot" "$@"
}

# Whether a kernel's headers declare the native knob (Linux 7.0+); their
# Makefile includes the tree that has include/.
has_native_knob() {
	local kver=$1 root=$2 src
	src=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$root/usr/src/linux-headers-$kver/Makefile")
	grep -qw perf_create_mediated_pmu "$root$src/include/linux/perf_event.h"
}

# native: the test stand-in for a KVM vendor module using the native knob.
build_module() {
	local root
	root=$(kernel_root "$1") || return 1
	rm -rf "$build/$1/native"
	build_kmod "$1" kmod "$root" && build_kmod "$1" kmod-debug "$root" &&
		build_kmod "$1" kcounter "$root" &&
		{ ! has_native_knob "$1" "$root" || build_kmod "$1" native "$root"; }
}

# A dynamically linked program and the libraries ldd says it needs.
copy_dynamic() {
	local bin=$1 root=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")"
	cp "$bin" "$root$dest"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

build_initramfs() {
	local kver=$1 root=$build/$1/root kroot=$2 ko out prog
	rm -rf "$root"
	mkdir -p "$root"/{bin,usr/bin,lib/mpmu,tests,proc,sys,dev,tmp}
	cp /bin/busybox "$root/bin/busybox"
	cp "$top/tests/vm/init" "$root/init"
	cp "$top"/tests/vm/*.sh "$root/tests/"
	rm -f "$root/tests/run.sh"
	cp /usr/bin/shunit2 "$root/usr/bin/shunit2"
	cp "$build/mpmu-probe" "$root/bin/mpmu-probe"
	cp "$build/mpmu-native" "$root/bin/mpmu-native"
	copy_dynamic "$top/build/asan/mpmuctl" "$root" /usr/bin/mpmuctl
	# make bench times the optimised build, not the sanitized one.
	copy_dynamic "$top/build/user/mpmuctl" "$root" /usr/bin/mpmuctl-opt
	for prog in jsonq nl-bad nl-fuzz nl-dump mpmu-race; do
		copy_dynamic "$build/$prog" "$root" "/usr/bin/$prog"
	done
	# make bench's outside benchmark and make demo's profiler, make demo's
	# VM: the host's perf and QEMU, 24 and 33 MB of libraries, so only there.
	case $suites in
	bench | demo) copy_dynamic "$(command -v perf)" "$root" /usr/bin/perf ;;
	esac
	if [ "$suites" = demo ]; then
		copy_dynamic "$(command -v qemu-system-x86_64)" "$root" /usr/bin/qemu-system-x86_64
		mkdir -p "$root/usr/share"
		cp -rL /usr/share/seabios /usr/share/qemu "$root/usr/share/"
	fi
	cp "$build/$kver/kmod/mediated_pmu.ko" "$root/lib/mpmu/"
	cp "$build/$kver/kmod-debug/mediated_pmu.ko" "$root/lib/mpmu/mediated_pmu-debug.ko"
	cp "$build/$kver/kcounter/mpmu_kcounter.ko" "$root/lib/mpmu/"
	if [ -f "$build/$kver/native/kvm-intel.ko" ]; then
		cp "$build/$kver/native/kvm-intel.ko" "$root/lib/mpmu/kvm-intel-native.ko"
	fi
	: > "$root/lib/mpmu/kvm.order"
	for ko in $(kvm_modules "$kver" "$kroot"); do
		out=$root/lib/mpmu/$(basename "${ko%.xz}")
		case $ko in
		*.xz) xz -dc "$ko" > "$out" ;;
		*) cp "$ko" "$out" ;;
		esac
		echo "/lib/mpmu/$(basename "$out")" >> "$root/lib/mpmu/kvm.order"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$build/$kver/initramfs.gz"
}

# slab_nomerge keeps the module's record cache apart in /proc/slabinfo, for
# the leak check of the stress.  MPMU_ICOUNT=1 (make bench): the guest's
# clock counts retired instructions (-icount shift=0: 1 ns per instruction,
# sleep=off: idle time skipped), so host load does not reach its figures.
boot() {
	local kver=$1 kroot=$2 log=$build/$1/console.log
	timeout --foreground 1500 qemu-system-x86_64 \
		$("$top/tests/tools/qemu-cpu") ${MPMU_ICOUNT:+-icount shift=0,sleep=off} \
		-smp 2 -m 1G -nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kroot/boot/vmlinuz-$kver" -initrd "$build/$kver/initramfs.gz" \
		-append "console=ttyS0 panic=-1 loglevel=5 slab_nomerge mpmu.suites=$suites mpmu.tests=$tests mpmu.stress=$stress mpmu.kill=$kill_seconds" \
		< /dev/null > "$log" 2>&1 || true
}

report() {
	"$top/tests/tools/shunit-report" "$1" "$build/expected.txt" < "$build/$1/console.log"
}

# Runs under xargs: every step's failure is a FAIL line of its own, and
# "<kernel> reported" ends a kernel that got to its report.
run_kernel() {
	local kver=$1 kroot
	if ! build_module "$kver"; then
		echo "FAIL $kver module-builds-with-W=1-and-no-warnings"
		return
	fi
	echo "PASS $kver module-builds-with-W=1-and-no-warnings"
	if ! kroot=$(kernel_root "$kver") || ! build_initramfs "$kver" "$kroot"; then
		echo "FAIL $kver initramfs-is-made"
		return
	fi
	boot "$kver" "$kroot"
	report "$kver" 2> "$build/$kver/details.log" || echo "FAIL $kver report-is-made"
	echo "DONE $kver"
}

mkdir -p "$build"
cc -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread \
	-o "$build/mpmu-probe" "$top/tests/vm/mpmu-probe.c"
cc -std=gnu11 -Wall -Wextra -Werror -O2 -static \
	-o "$build/mpmu-native" "$top/tests/vm/native/mpmu-native.c"
cc -std=gnu11 -Wall -Wextra -Werror -O2 $(pkg-config --cflags json-c) \
	-o "$build/jsonq" "$top/tests/vm/jsonq.c" $(pkg-config --libs json-c)
for prog in nl-bad nl-fuzz nl-dump mpmu-race; do	# the libnl clients
	cc -std=gnu11 -Wall -Wextra -Werror -O2 -pthread $(pkg-config --cflags libnl-genl-3.0) \
		-o "$build/$prog" "$top/tests/vm/$prog.c" $(pkg-config --libs libnl-genl-3.0)
done
# The CLI runs under ASan/UBSan in the guest: a leak or UB fails its test.
make -s -C "$top" user SANITIZE=1 O=build/asan
make -s -C "$top" user

export -f run_kernel build_kmod build_module copy_dynamic build_initramfs boot report kvm_modules \
	kernel_root in_chroot has_native_knob
export top build cache suites tests stress kill_seconds MPMU_ICOUNT
# What each guest must run: every test of the suites it runs.
if [ -n "$suites" ]; then
	suite_files=$(echo "$suites" | tr , '\n' | sed "s|.*|$top/tests/vm/&.sh|")
else
	suite_files=$(ls "$top"/tests/vm/test_*.sh)
fi
# shellcheck disable=SC2086 # one file per word
"$top/tests/tools/suite-tests" ${tests:+-t "$tests"} $suite_files > "$build/expected.txt"
results=$build/results.txt
printf '%s\n' "${kernels[@]}" | xargs -P 2 -I{} bash -c 'run_kernel {}' > "$results" || true
for k in "${kernels[@]}"; do
	grep -q "^FAIL $k module-builds\|^FAIL $k initramfs\|^DONE $k$" "$results" ||
		echo "FAIL $k run-did-not-complete" >> "$results"
done
sed -i '/^DONE /d' "$results"
sort -k2,2 -s "$results"
for k in "${kernels[@]}"; do
	if grep -q "^FAIL $k " "$results"; then
		echo "--- $k: details of failures in $build/$k/details.log, console in $build/$k/console.log"
		grep -B1 -A8 "ASSERT\|ERROR" "$build/$k/details.log" 2>/dev/null | head -40 || true
		# A guest that panicked or hung leaves no ASSERT: its last words.
		if grep -q "^FAIL $k .*-did-not-finish\|^FAIL $k .*-did-not-begin\|^FAIL $k .*-shunit2-fatal\|^FAIL $k guest-did-not-run" "$results"; then
			echo "--- $k: the console's last 60 lines"
			tail -n 60 "$build/$k/console.log"
		fi
	fi
done
pass=$(grep -c '^PASS' "$results" || true)
fail=$(grep -c '^FAIL' "$results" || true)
skip=$(grep -c '^SKIP' "$results" || true)
echo "vm: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
