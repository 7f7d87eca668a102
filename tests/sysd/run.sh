#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The systemd tier: boot a Debian 12 guest with systemd as PID 1 (Debian's
# own kernel and initrd, a virtio disk made from the cached debootstrap
# root, tests/sysd/image.sh), the project installed by its own
# "make install" (ASan/UBSan build), the module for that kernel loaded by
# modules-load.d.  The guest runs tests/sysd/guest/.../test_mpmud.sh once
# booted and powers off.  Prints "PASS|FAIL sysd <test>" lines and, last,
# "sysd: N passed, N failed".
#
#   tests/sysd/run.sh [-T TEST,...] [KERNEL_VERSION]   (default: the installed 6.12 amd64)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/sysd
tests=""
while getopts "T:" opt; do
	case $opt in
	T) tests=$OPTARG ;;
	*) echo "usage: $0 [-T TEST,...] [KERNEL]" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
kver=${1:-$("$top/tests/tools/default-kernel")}

fail() {
	echo "FAIL sysd $1"
	echo "sysd: 0 passed, 1 failed, 0 skipped"
	exit 1
}

[ -n "$kver" ] && [ -e "/boot/initrd.img-$kver" ] && [ -d "/usr/src/linux-headers-$kver" ] ||
	fail "no-6.12-kernel-with-initrd-and-headers(run-tests/deps.sh)"
rootfs=$("$top/tests/sysd/image.sh") || fail "debootstrap-image-builds"

rm -rf "$build"
mkdir -p "$build/kmod"
stage=$build/stage

# The module, W=1, from a copy of the sources (the tree stays clean).
make -s -C "$top/kmod" dist DISTDIR="$build/kmod" || fail "module-sources-stage"
make -s -C "/usr/src/linux-headers-$kver" M="$build/kmod" W=1 modules \
	> "$build/kmod.log" 2>&1 || { cat "$build/kmod.log"; fail "module-builds"; }

cp -a "$rootfs" "$stage"
rm -f "$stage/.complete"
make -s -C "$top" install DESTDIR="$stage" PREFIX=/usr SANITIZE=1 O=build/asan ||
	fail "make-install"
install -D -m 0644 "$build/kmod/mediated_pmu.ko" \
	"$stage/lib/modules/$kver/updates/mediated_pmu.ko"
# KVM for the guest's kernel: kvm-amd and what it needs, from modules.dep.
line=$(grep -E '/kvm-amd\.ko(\.xz)?:' "/lib/modules/$kver/modules.dep") ||
	fail "kvm-amd-in-modules.dep-of-$kver"
for m in ${line%%:*} ${line#*:}; do
	install -D -m 0644 "/lib/modules/$kver/$m" "$stage/lib/modules/$kver/$m"
done
cp "/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$stage/lib/modules/$kver/"
depmod -b "$stage" "$kver"

cp -a "$top/tests/sysd/guest/root/." "$stage/"
mkdir -p "$stage/var/lib/prometheus/node-exporter"
cc -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread \
	-o "$stage/usr/local/bin/mpmu-probe" "$top/tests/vm/mpmu-probe.c" || fail "mpmu-probe-builds"
systemctl --root="$stage" enable mpmud.service libvirtd.service mpmu-blocker.service \
	mpmu-tests.service > /dev/null 2>&1

truncate -s 2G "$build/disk.img"
mkfs.ext4 -q -F -d "$stage" "$build/disk.img"
rm -rf "$stage"

timeout --foreground 900 qemu-system-x86_64 \
	$("$top/tests/tools/qemu-cpu") \
	-smp 2 -m 2G -nographic -no-reboot -nodefaults \
	-serial "file:$build/console.log" -serial "file:$build/results.log" \
	-drive "file=$build/disk.img,format=raw,if=virtio" \
	-kernel "/boot/vmlinuz-$kver" -initrd "/boot/initrd.img-$kver" \
	-append "console=ttyS0 root=/dev/vda rw panic=-1 loglevel=4 mpmu.tests=$tests" \
	< /dev/null > "$build/qemu.log" 2>&1 || true
rm -f "$build/disk.img"

# The console holds mpmud's journal too.
"$top/tests/tools/suite-tests" ${tests:+-t "$tests"} \
	"$top/tests/sysd/guest/root/usr/local/lib/mpmu-tests/test_mpmud.sh" > "$build/expected.txt"
exec "$top/tests/tools/guest-report" sysd "$build/expected.txt" "$build/results.log" "$build" \
	"$build/console.log"
