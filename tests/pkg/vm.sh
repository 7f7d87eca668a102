#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The package tier in a systemd guest: on a clean Debian 12 or 13 image
# with what DKMS needs (tests/pkg/image.sh), "apt install" the .debs that
# "make deb" built (boot 1), reboot, check module, service, CLI, man pages,
# completion and hook, then "apt remove" and "purge" (boot 2).  The image
# stays as cached: the boots write to a qcow2 overlay.  Prints "PASS|FAIL
# LABEL <test>" lines and, last, "LABEL: N passed, N failed, N skipped".
# The .debs are built once, on Debian 12 (make deb, or taken from the
# directory MPMU_DEBS names: tests/check.sh builds them once for every
# package guest): the same files go to both releases, as a project that
# ships one .deb per architecture does.
#   tests/pkg/vm.sh [KERNEL_VERSION [LABEL [bookworm|trixie]]]
#                   (default: the installed 6.12 amd64, "pkgvm", bookworm)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
kver=${1:-$("$top/tests/tools/default-kernel")}
label=${2:-pkgvm}
release=${3:-bookworm}
build=$top/build/$label

fail() {
	echo "FAIL $label $1"
	echo "$label: 0 passed, 1 failed, 0 skipped"
	exit 1
}

# Debian 12's kernels are the host's; Debian 13's are installed in the
# image, which copies them beside it.
vmlinuz=/boot/vmlinuz-$kver initrd=/boot/initrd.img-$kver
[ "$release" = bookworm ] && { [ -n "$kver" ] && [ -e "$initrd" ] ||
	fail "no-kernel-with-initrd-${kver:-6.12}"; }
image=$("$top/tests/pkg/image.sh" "$kver" "$release") || fail "package-guest-image-builds"
[ "$release" = bookworm ] || vmlinuz=$image.vmlinuz initrd=$image.initrd
[ -e "$vmlinuz" ] && [ -e "$initrd" ] || fail "kernel-and-initrd-beside-$(basename "$image")"
rm -rf "$build"
mkdir -p "$build/payload/debs"
debs=${MPMU_DEBS:-}
if [ -z "$debs" ]; then
	make -s -C "$top" deb > "$build/deb.log" 2>&1 || { tail -20 "$build/deb.log"; fail "make-deb"; }
	debs=$top/build/deb
fi
cp "$debs"/mediated-pmu-dkms_*.deb "$debs"/mpmu-tools_*.deb "$build/payload/debs/" ||
	fail "debs-in-$debs"
cp "$top"/tests/pkg/guest/payload/* "$top/VERSION" "$build/payload/"
cc -std=gnu11 -Wall -Wextra -Werror -O2 -static -pthread \
	-o "$build/payload/mpmu-probe" "$top/tests/vm/mpmu-probe.c" || fail "mpmu-probe-builds"
truncate -s 64M "$build/payload.img"
mkfs.ext4 -q -F -d "$build/payload" "$build/payload.img"
qemu-img create -q -f qcow2 -b "$image" -F raw "$build/overlay.qcow2"

boot() {	# n
	timeout --foreground 900 qemu-system-x86_64 \
		$("$top/tests/tools/qemu-cpu") \
		-smp 2 -m 2G -nographic -no-reboot -nodefaults \
		-serial "file:$build/console$1.log" -serial "file:$build/results$1.log" \
		-drive "file=$build/overlay.qcow2,format=qcow2,if=virtio" \
		-drive "file=$build/payload.img,format=raw,if=virtio,readonly=on" \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 root=/dev/vda rw panic=-1 loglevel=4" \
		< /dev/null > "$build/qemu$1.log" 2>&1 || true
}

boot 1	# apt install, then reboot (QEMU exits: -no-reboot)
boot 2	# the tests, remove and purge, power off
rm -f "$build/overlay.qcow2"

"$top/tests/tools/suite-tests" "$top/tests/pkg/guest/payload/test_libvirt.sh" \
	"$top/tests/pkg/guest/payload/test_packages.sh" > "$build/expected.txt"
exec "$top/tests/tools/guest-report" "$label" "$build/expected.txt" "$build/results2.log" "$build" \
	"$build/console1.log" "$build/console2.log"
