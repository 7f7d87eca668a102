#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages that building and testing need: the three
# supported kernels with their headers (the VM tier boots them), QEMU,
# busybox, shunit2, the kernel sources (checkpatch.pl lives there),
# libsystemd for mpmud, debootstrap for the systemd guest's image and the
# trixie chroot the 7.x module builds in (tests/tools/kernels-7x, which also
# needs the Debian archive keyring for its private apt state), and the
# Debian and RPM packaging tools (with their linters) and DKMS, and clang
# with libFuzzer for the parsers' fuzz targets; perf, whose "perf bench"
# make bench runs in the guest as an outside check of its own figures; jq,
# with which bench/ reads its kept results.
# As root it runs apt-get; otherwise it prints the command to run.
set -euo pipefail

packages=(
	build-essential make gcc libc6-dev kmod cpio xz-utils gzip
	pkg-config libnl-genl-3-dev libjson-c-dev libsystemd-dev systemd
	debootstrap e2fsprogs debian-archive-keyring util-linux
	libxml2-utils jq
	debhelper dh-dkms dkms openssl lintian rpm rpmlint bash-completion qemu-utils
	clang libclang-rt-14-dev linux-perf
	qemu-system-x86 busybox-static shunit2
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	linux-source-6.12
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get update && $cmd" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
$cmd
