#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The packaging tier on the build machine: both packages build, lintian and
# rpmlint are clean, the packages hold what SPEC §5a and the packaging issue
# promise, DKMS builds (and signs) the module for every installed kernel,
# and the libvirt hook behaves as libvirtd needs where no module is loaded.
# Prints "PASS|FAIL pkg <check>" lines and, last, "pkg: N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
version=$(cat VERSION)
out=$top/build/pkg-host
rm -rf "$out" && mkdir -p "$out"
pass=0
fail=0

tally() {	# name, command...
	local name=$1
	shift
	if "$@" > "$out/last.log" 2>&1; then
		echo "PASS pkg $name"
		pass=$((pass + 1))
	else
		echo "FAIL pkg $name"
		sed 's/^/    /' "$out/last.log" | tail -30
		fail=$((fail + 1))
	fi
}

# --- one version everywhere ---
versions_agree() {
	local f bad=0
	head -1 packaging/debian/changelog | grep -q "^mediated-pmu ($version)" ||
		{ echo "debian/changelog is not at $version"; bad=1; }
	grep -q -- "- $version-1$" packaging/rpm/mediated-pmu.spec.in ||
		{ echo "the spec's changelog is not at $version"; bad=1; }
	for f in man/*.[0-9]; do
		grep -q "^\.TH .* \"mediated_pmu $version\"" "$f" || { echo "$f: .TH is not at $version"; bad=1; }
	done
	return $bad
}

tally "VERSION, the changelogs and the man pages agree" versions_agree

# --- Debian ---
deb_files() {	# package: its regular files and links, docs left out
	dpkg-deb -c "build/deb/$1" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' |
		grep -v '^/usr/share/doc/' | sort
}

lintian_clean() {	# no error, no warning (the overrides say why)
	local log=$out/lintian.log
	lintian --fail-on error,warning build/deb/*.changes > "$log" 2>&1
	local rc=$?
	cat "$log"
	[ $rc -eq 0 ] && ! grep -q '^[EW]:' "$log"
}

tools_deb_holds_the_promised_files() {
	diff -u - <(deb_files "mpmu-tools_${version}_amd64.deb") <<-EOF
	/etc/libvirt/hooks/qemu.d/50-mediated-pmu
	/etc/mpmud.conf
	/lib/systemd/system/mpmud.service
	/usr/bin/mpmuctl
	/usr/lib/modules-load.d/mediated_pmu.conf
	/usr/sbin/mpmud
	/usr/share/bash-completion/completions/mpmuctl
	/usr/share/lintian/overrides/mpmu-tools
	/usr/share/man/man5/mpmud.conf.5.gz
	/usr/share/man/man7/mediated_pmu.7.gz
	/usr/share/man/man8/mpmuctl.8.gz
	/usr/share/man/man8/mpmud.8.gz
	EOF
}

tools_deb_conffiles() {
	diff -u - <(dpkg-deb --ctrl-tarfile "build/deb/mpmu-tools_${version}_amd64.deb" |
		tar -xOf - ./conffiles | sort) <<-EOF
	/etc/libvirt/hooks/qemu.d/50-mediated-pmu
	/etc/mpmud.conf
	EOF
}

dkms_deb_holds_the_module_source() {
	diff -u <(cd kmod && { git ls-files -co --exclude-standard; echo VERSION; } |
		sed "s|^|/usr/src/mediated-pmu-$version/|" | sort) \
		<(deb_files "mediated-pmu-dkms_${version}_all.deb") &&
	dpkg-deb --ctrl-tarfile "build/deb/mediated-pmu-dkms_${version}_all.deb" |
		tar -xOf - ./postinst | grep -q 'dkms' &&
	dpkg-deb -f "build/deb/mpmu-tools_${version}_amd64.deb" Depends |
		grep -q 'mediated-pmu-dkms | mediated-pmu-module'
}

tally "make deb builds mediated-pmu-dkms and mpmu-tools (and the source package)" make -s deb
tally "lintian: no error and no unexplained warning" lintian_clean
tally "mpmu-tools.deb holds the programs, unit, man pages, completion, hook, modules-load.d" \
	tools_deb_holds_the_promised_files
tally "mpmu-tools.deb: /etc/mpmud.conf and the hook are conffiles" tools_deb_conffiles
tally "mediated-pmu-dkms.deb holds the module source with dkms.conf; mpmu-tools depends on it" \
	dkms_deb_holds_the_module_source

# --- RPM ---
rpm_files() {	# rpm: its files, docs and build-ids left out
	rpm -qlp "$1" 2>/dev/null | grep -v -e '^/usr/share/doc/' -e '^/usr/share/licenses/' \
		-e '^/usr/lib/.build-id' | sort
}

rpmlint_clean() {
	rpmlint -c packaging/rpm/rpmlint.toml build/rpm/RPMS/*/*.rpm build/rpm/SRPMS/*.rpm \
		build/rpm/SPECS/mediated-pmu.spec 2>&1 | tee "$out/rpmlint.log" | tail -3
	grep -q ' 0 errors, 0 warnings' "$out/rpmlint.log"
}

tools_rpm_holds_the_promised_files() {
	diff -u - <(rpm_files "build/rpm/RPMS/x86_64/mpmu-tools-$version-1.x86_64.rpm") <<-EOF
	/etc/libvirt
	/etc/libvirt/hooks
	/etc/libvirt/hooks/qemu.d
	/etc/libvirt/hooks/qemu.d/50-mediated-pmu
	/etc/mpmud.conf
	/etc/mpmud.conf.d
	/usr/bin/mpmuctl
	/usr/lib/modules-load.d/mediated_pmu.conf
	/usr/lib/systemd/system/mpmud.service
	/usr/sbin/mpmud
	/usr/share/bash-completion/completions/mpmuctl
	/usr/share/man/man5/mpmud.conf.5.gz
	/usr/share/man/man7/mediated_pmu.7.gz
	/usr/share/man/man8/mpmuctl.8.gz
	/usr/share/man/man8/mpmud.8.gz
	EOF
}

tally "make rpm builds the RPMs and the source RPM (systemd macros defined when absent)" make -s rpm
tally "rpmlint (packaging/rpm/rpmlint.toml): 0 errors, 0 warnings" rpmlint_clean
tally "mpmu-tools.rpm holds the promised files" tools_rpm_holds_the_promised_files
tally "mediated-pmu-dkms.rpm is noarch module source and provides mediated-pmu-module" \
	bash -c "rpm -qp --provides build/rpm/RPMS/noarch/mediated-pmu-dkms-$version-1.noarch.rpm |
		grep -q '^mediated-pmu-module' &&
		rpm -qlp build/rpm/RPMS/noarch/mediated-pmu-dkms-$version-1.noarch.rpm |
		grep -qx /usr/src/mediated-pmu-$version/dkms.conf"

# --- DKMS, against each installed kernel's headers, in a scratch tree ---
dkms_builds() {	# kernel version
	local tree=$out/dkms src=$out/dkms-src
	rm -rf "$tree" "$src" && mkdir -p "$tree" "$src"
	make -s -C kmod dist DISTDIR="$src/mediated-pmu-$version" &&
	dkms add -m mediated-pmu -v "$version" --sourcetree "$src" --dkmstree "$tree" &&
	dkms build -m mediated-pmu -v "$version" -k "$1" --sourcetree "$src" --dkmstree "$tree" &&
	ko=$(find "$tree/mediated-pmu/$version/$1" -name 'mediated_pmu.ko*') &&
	[ -n "$ko" ] && echo "$ko" &&
	modinfo "$ko" | grep -E '^(version|vermagic|signer):' &&
	modinfo -F version "$ko" | grep -qx "$version" &&
	modinfo -F vermagic "$ko" | grep -q "^$1 " &&
	modinfo -F signer "$ko" | grep -q .
}

for v in /boot/vmlinuz-*; do
	k=${v#/boot/vmlinuz-}
	[ -d "/usr/src/linux-headers-$k" ] || continue
	tally "dkms builds and signs the module for $k" dkms_builds "$k"
done

# --- the libvirt hook, as libvirtd runs it, on this machine (no module) ---
HOOK=packaging/libvirt/50-mediated-pmu
domain_xml() {	# pmu state: on, off or none
	echo "<domain type='kvm'><name>dom1</name><features><acpi/>"
	[ "$1" = none ] || echo "<pmu state='$1'/>"
	echo "</features></domain>"
}

hook() {	# pmu, args...: runs the hook; stdout to $out/hook.out, stderr to $out/hook.err
	local pmu=$1
	shift
	domain_xml "$pmu" | PATH=$top/build/user:$PATH MPMU_HOOK_LOG_DIR=$out/logs \
		"$HOOK" "$@" > "$out/hook.out" 2> "$out/hook.err"
}

hook_silent_on_other_operations() {
	local op
	for op in "reconnect begin -" "migrate begin -" "restore begin -" "started begin -" \
		"stopped end -" "release end -" "attach begin -"; do
		# shellcheck disable=SC2086
		hook on dom1 $op || { echo "exit $? on $op"; return 1; }
		[ ! -s "$out/hook.out" ] && [ ! -s "$out/hook.err" ] ||
			{ echo "output on $op"; cat "$out/hook.out" "$out/hook.err"; return 1; }
	done
}

hook_blocks_a_pmu_guest_when_not_ready() {
	mkdir -p "$out/logs" && : > "$out/logs/dom1.log"
	! hook on dom1 prepare begin - && [ ! -s "$out/hook.out" ] &&
	grep -q "mediated-pmu: not starting dom1: the host is not ready" "$out/hook.err" &&
	grep -q "module is not loaded" "$out/hook.err" &&
	grep -q "mediated-pmu hook: not starting dom1" "$out/logs/dom1.log" &&
	! hook none dom1 prepare begin -	# no <pmu>: QEMU's default is on
}

tally "libvirt hook: silent, exit 0 on reconnect, migrate, restore and the rest" \
	hook_silent_on_other_operations
tally "libvirt hook: blocks a PMU guest's start, says why on stderr and in the domain log" \
	hook_blocks_a_pmu_guest_when_not_ready
tally "libvirt hook: lets a guest with <pmu state='off'/> start" hook off dom1 prepare begin -

echo "pkg: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
