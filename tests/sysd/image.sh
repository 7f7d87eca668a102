#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The systemd guest's base root filesystem: Debian 12 minbase with systemd
# and what the project's programs link against.  Built once with
# debootstrap (~75 s) and cached outside the tree, keyed by this script's
# content (the package list lives here).  Prints the cached directory.
#   MPMU_CACHE=/var/cache/mediated_pmu tests/sysd/image.sh
set -euo pipefail

packages=systemd,systemd-sysv,udev,kmod,dbus,procps,util-linux
packages+=,libnl-genl-3-200,libjson-c5,libsystemd0	# mpmuctl, mpmud
packages+=,libasan8,libubsan1				# their ASan/UBSan builds
packages+=,shunit2					# the guest-side tests
mirror=${MPMU_MIRROR:-http://deb.debian.org/debian}

cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
key=$(sha256sum "$0" | cut -c1-16)
dir=$cache/rootfs-$key
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
if [ ! -e "$dir/.complete" ]; then
	rm -rf "$dir" "$dir.tmp"
	debootstrap --variant=minbase --include="$packages" bookworm "$dir.tmp" "$mirror" \
		> "$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log" >&2; exit 1; }
	rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb
	touch "$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
	# Older keys are images of older package lists.
	find "$cache" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" -exec rm -rf {} +
fi
echo "$dir"
