#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The package guest's disk: the systemd guest's Debian 12 root
# (tests/sysd/image.sh) plus what installing mediated-pmu-dkms needs on a
# real host (dkms, gcc, the kernel's headers and image; xmllint for the
# libvirt hook) and what a virtualization host runs (libvirtd with its QEMU
# driver, QEMU, perf), installed with apt
# in a chroot (in the guest, under TCG, that takes over ten minutes).
# Cached outside the tree, keyed by this script, its guest files and the
# kernel; prints the image's path.
#   tests/pkg/image.sh KERNEL
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
kver=$1
cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
rootfs=$("$top/tests/sysd/image.sh")
key=$( { cat "$0" "$top"/tests/pkg/guest/image/*; echo "$kver $rootfs"; } |
	sha256sum | cut -c1-16)
img=$cache/pkgimg-$kver-$key.img
exec 9> "$cache/.pkglock"
flock 9
if [ -e "$img" ]; then
	echo "$img"
	exit 0
fi

rm -rf "$cache"/pkgimg-*.tmp
work=$cache/pkgimg-$key.tmp
mkdir -p "$work/debs/partial"
# The dependency closure, computed against the guest's own dpkg status,
# downloaded with the host's sources (the kernel may be a security update).
apt-get -q -o Dir::State::status="$rootfs/var/lib/dpkg/status" \
	-o Dir::Cache::archives="$work/debs" -o Debug::NoLocking=1 \
	install --download-only -y --no-install-recommends \
	dkms openssl libxml2-utils "linux-headers-$kver" "linux-image-$kver" \
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients \
	qemu-system-x86 linux-perf > "$work/download.log" 2>&1 ||
	{ tail -20 "$work/download.log" >&2; exit 1; }
root=$work/root
cp -a "$rootfs" "$root"
rm -f "$root/.complete"
mkdir -p "$root/var/cache/mpmu-debs" "$root/etc/initramfs-tools"
mv "$work"/debs/*.deb "$root/var/cache/mpmu-debs/"
# No initramfs (the guest boots with the host's), no service started here.
echo "update_initramfs=no" > "$root/etc/initramfs-tools/update-initramfs.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
DEBIAN_FRONTEND=noninteractive chroot "$root" sh -c 'apt-get install -y \
	--no-install-recommends -o Dpkg::Options::=--force-confold /var/cache/mpmu-debs/*.deb' \
	> "$work/install.log" 2>&1 ||
	{ tail -30 "$work/install.log" >&2; exit 1; }
rm -rf "$root/var/cache/mpmu-debs" "$root/usr/sbin/policy-rc.d"
cp "$top"/tests/pkg/guest/image/*.service "$root/etc/systemd/system/"
systemctl --root="$root" enable mpmu-payload.service > /dev/null 2>&1
truncate -s 4G "$work/disk.img"
mkfs.ext4 -q -F -d "$root" "$work/disk.img"
mv "$work/disk.img" "$img"
rm -rf "$work"
# This kernel's older images, and those named before images were per kernel.
find "$cache" -maxdepth 1 \( -name "pkgimg-$kver-*.img" -o -regex '.*/pkgimg-[0-9a-f]*\.img' \) \
	! -name "pkgimg-$kver-$key.img" -delete
echo "$img"
