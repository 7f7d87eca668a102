#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The package guest's disk: the systemd guest's Debian root
# (tests/sysd/image.sh) plus what installing mediated-pmu-dkms needs on a
# real host (dkms, gcc, the kernel's headers and image; xmllint for the
# libvirt hook) and what a virtualization host runs (libvirtd with its QEMU
# driver, QEMU, perf), installed with apt in a chroot (in the guest, under
# TCG, that takes over ten minutes).
#
# Debian 12 (bookworm): its packages come with the host's own apt sources
# (the host is Debian 12), and the guest boots the host's installed kernel
# and initramfs.  Debian 13 (trixie): its packages come with the private
# apt state of tests/tools/kernels-7x (trixie, trixie-updates,
# trixie-backports: the 7.x kernels are backports), and the kernel and the
# initramfs that installing it made in the image are copied beside the
# image (IMAGE.vmlinuz, IMAGE.initrd).
#
# Cached outside the tree, keyed by this script, its guest files, the
# release and the kernel's name and package version; prints the image's
# path.
#   tests/pkg/image.sh KERNEL [bookworm|trixie]
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
kver=$1
release=${2:-bookworm}
cache=${MPMU_CACHE:-/var/cache/mediated_pmu}
rootfs=$("$top/tests/sysd/image.sh" "$release")
apt_opts=() extra=()
if [ "$release" = trixie ]; then
	# make check has just refreshed that apt state; run alone, this makes
	# it once.  Used under its lock: a run of kernels-7x rewrites it.
	[ -e "$cache/apt-trixie/apt.conf" ] || "$top/tests/tools/kernels-7x" > /dev/null
	apt_opts=(-c "$cache/apt-trixie/apt.conf")
	exec 8> "$cache/.kernels-7x.lock"
	flock 8
	# A backported kernel needs the backported linux-base, as with "apt
	# install -t trixie-backports linux-image-amd64" on a host.
	case $kver in 7.*) extra=(linux-base/trixie-backports) ;; esac
fi
# The kernel package's version is in the key: Debian rebuilds a kernel under
# the same name (7.3.4-1~bpo13+1, then +2), and the tests must boot the new.
kpkg=$(apt-cache "${apt_opts[@]}" show --no-all-versions "linux-image-$kver" 2> /dev/null |
	sed -n 's/^Version: //p' | head -n 1) || true
[ -n "$kpkg" ] ||
	{ echo "image.sh: no package linux-image-$kver in Debian $release's sources" >&2; exit 1; }
key=$( { cat "$0" "$top"/tests/pkg/guest/image/*; echo "$kver $kpkg $rootfs"; } |
	sha256sum | cut -c1-16)
img=$cache/pkgimg-$kver-$key.img
exec 9> "$cache/.pkglock"
flock 9
if [ -e "$img" ]; then
	echo "$img"
	exit 0
fi

# A run killed while /proc was mounted in its tree: never delete across it.
findmnt -rn -o TARGET | awk -v p="^$cache/pkgimg-.*[.]tmp/" '$0 ~ p' | xargs -r umount -l || true
rm -rf --one-file-system "$cache"/pkgimg-*.tmp
work=$cache/pkgimg-$key.tmp
mkdir -p "$work/debs/partial"
# The dependency closure, computed against the guest's own dpkg status,
# downloaded with the host's sources (the kernel may be a security update)
# or trixie's.
apt-get -q "${apt_opts[@]}" -o Dir::State::status="$rootfs/var/lib/dpkg/status" \
	-o Dir::Cache::archives="$work/debs" -o Debug::NoLocking=1 \
	install --download-only -y --no-install-recommends \
	dkms openssl libxml2-utils "linux-headers-$kver" "linux-image-$kver" \
	libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients \
	qemu-system-x86 linux-perf "${extra[@]}" > "$work/download.log" 2>&1 ||
	{ tail -20 "$work/download.log" >&2; exit 1; }
root=$work/root
cp -a "$rootfs" "$root"
rm -f "$root/.complete"
mkdir -p "$root/var/cache/mpmu-debs" "$root/etc/initramfs-tools"
mv "$work"/debs/*.deb "$root/var/cache/mpmu-debs/"
# No service started here.  Debian 12 boots the host's initramfs: none is
# made; Debian 13's is made here (mkinitramfs needs /proc).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
if [ "$release" = bookworm ]; then
	echo "update_initramfs=no" > "$root/etc/initramfs-tools/update-initramfs.conf"
else
	trap 'umount -l "$root/proc" 2> /dev/null || true' EXIT
	mount -t proc proc "$root/proc"
fi
DEBIAN_FRONTEND=noninteractive chroot "$root" sh -c 'apt-get install -y \
	--no-install-recommends -o Dpkg::Options::=--force-confold /var/cache/mpmu-debs/*.deb' \
	> "$work/install.log" 2>&1 ||
	{ tail -30 "$work/install.log" >&2; exit 1; }
if [ "$release" != bookworm ]; then
	umount "$root/proc"
	trap - EXIT
	cp -L "$root/boot/vmlinuz-$kver" "$work/disk.img.vmlinuz"
	cp -L "$root/boot/initrd.img-$kver" "$work/disk.img.initrd"
fi
rm -rf "$root/var/cache/mpmu-debs" "$root/usr/sbin/policy-rc.d"
cp "$top"/tests/pkg/guest/image/*.service "$root/etc/systemd/system/"
systemctl --root="$root" enable mpmu-payload.service > /dev/null 2>&1
truncate -s 4G "$work/disk.img"
mkfs.ext4 -q -F -d "$root" "$work/disk.img"
for f in vmlinuz initrd; do
	[ ! -e "$work/disk.img.$f" ] || mv "$work/disk.img.$f" "$img.$f"
done
mv "$work/disk.img" "$img"
rm -rf "$work"
# This kernel's older images, and those named before images were per kernel.
find "$cache" -maxdepth 1 \( -name "pkgimg-$kver-*.img*" -o -regex '.*/pkgimg-[0-9a-f]*\.img' \) \
	! -name "pkgimg-$kver-$key.img*" -delete
echo "$img"
