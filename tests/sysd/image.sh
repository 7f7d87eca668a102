#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The systemd guest's base root filesystem: Debian minbase with systemd
# and what the project's programs link against, of Debian 12 (bookworm, the
# systemd tier's and the package tier's) or Debian 13 (trixie, the package
# tier's).  Built once with debootstrap (~75 s) and cached outside the
# tree, keyed by this script's content (the package list lives here) and
# the release.  Prints the cached directory.
#   MPMU_CACHE=/var/cache/mediated_pmu tests/sysd/image.sh [bookworm|trixie]
set -euo pipefail

packages=systemd,systemd-sysv,udev,kmod,dbus,procps,util-linux
packages+=,libnl-genl-3-200,libjson-c5,libsystemd0	# mpmuctl, mpmud
packages+=,libasan8,libubsan1				# their ASan/UBSan builds
packages+=,shunit2					# the guest-side tests
mirror=${MPMU_MIRROR:-http://deb.debian.org/debian}
release=${1:-bookworm}
case $release in
bookworm | trixie) ;;
*) echo "image.sh: unknown release '$release' (bookworm or trixie)" >&2; exit 64 ;;
esac

cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
key=$(sha256sum "$0" | cut -c1-16)
dir=$cache/rootfs-$release-$key
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
if [ ! -e "$dir/.complete" ]; then
	# An interrupted debootstrap can leave its /proc and /sys mounted in
	# the half-made tree: never delete across into them.
	rm -rf --one-file-system "$dir" "$dir.tmp"
	debootstrap --variant=minbase --include="$packages" "$release" "$dir.tmp" "$mirror" \
		> "$cache/debootstrap-$release.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap-$release.log" >&2; exit 1; }
	rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb
	touch "$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
	# Older keys are images of older package lists (and the names before
	# the release was in them).
	find "$cache" -maxdepth 1 \( -name "rootfs-$release-*" -o -regex '.*/rootfs-[0-9a-f]*' \) \
		! -name "rootfs-$release-$key" -exec rm -rf --one-file-system {} +
fi
echo "$dir"
