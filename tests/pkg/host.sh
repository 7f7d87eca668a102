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

# The release tarball carries its MANIFEST: the package targets work from
# it unpacked, where there is no git; a bare copy of the tree says what to do.
packages_build_from_the_release_tarball() {
	local d=$out/dist tree
	rm -rf "$d" && mkdir -p "$d" && make -s dist > /dev/null || return 1
	tar -C "$d" -xzf "build/mediated-pmu-$version.tar.gz" || return 1
	tree=$d/mediated-pmu-$version
	[ ! -e "$tree/.git" ] && [ -f "$tree/MANIFEST" ] || return 1
	make -s -C "$tree" deb > "$d/deb.log" 2>&1 || { tail -20 "$d/deb.log"; return 1; }
	make -s -C "$tree" rpm > "$d/rpm.log" 2>&1 || { tail -20 "$d/rpm.log"; return 1; }
	ls "$tree/build/deb/mpmu-tools_${version}_amd64.deb" \
		"$tree/build/deb/mediated-pmu-dkms_${version}_all.deb" \
		"$tree"/build/rpm/RPMS/x86_64/mpmu-tools-"$version"-*.rpm || return 1
	rm "$tree/MANIFEST"
	make -s -C "$tree" deb > "$d/bare.log" 2>&1 && return 1
	grep -q "neither a git work tree nor a release tarball (no MANIFEST); run 'make dist'" "$d/bare.log"
}
tally "make dist: make deb and make rpm work from the unpacked tarball, without git" \
	packages_build_from_the_release_tarball
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

tools_require_xmllint() {	# the libvirt hook reads the domain XML with it
	dpkg-deb -f "build/deb/mpmu-tools_${version}_amd64.deb" Depends | grep -qw 'libxml2-utils' &&
	rpm -qp --requires "build/rpm/RPMS/x86_64/mpmu-tools-$version-1.x86_64.rpm" |
		grep -qx '/usr/bin/xmllint'
}

tally "mpmu-tools (deb and rpm) depends on xmllint, which the libvirt hook needs" tools_require_xmllint

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

# --- the libvirt hook, as libvirtd runs it ---
HOOK=packaging/libvirt/50-mediated-pmu
domain_xml() {	# pmu state: on, off or none
	echo "<domain type='kvm'><name>dom1</name><features><acpi/>"
	[ "$1" = none ] || echo "<pmu state='$1'/>"
	echo "</features></domain>"
}

# Where the module cannot be reached, whatever this machine has loaded.
run_hook() {	# args...: the hook, the domain XML on stdin; stdout to $out/hook.out, stderr to $out/hook.err
	PATH=${STUB_PATH:+$STUB_PATH:}$top/build/user:$PATH MPMU_HOOK_LOG_DIR=$out/logs \
		"$top/tests/tools/without-module" "$HOOK" "$@" > "$out/hook.out" 2> "$out/hook.err"
}

hook() {	# pmu, args...: run_hook on domain_xml's domain
	local pmu=$1
	shift
	domain_xml "$pmu" | run_hook "$@"
}

# Stand-ins for mpmuctl and mpmud, first on PATH: "mpmuctl check" says
# $STUB_SAYS and exits $STUB_CHECK (0), "mpmuctl -j status" exits
# $STUB_STATUS (0) in mode $STUB_MODE (arbitrate), "mpmud --check-config"
# says drain = $STUB_DRAIN (report); each mpmuctl call goes to stub.log.
stub=$out/stub
mkdir -p "$stub"
cat > "$stub/mpmuctl" <<'EOF'
#!/bin/sh
echo "mpmuctl $*" >> "$STUB_LOG"
case "$*" in
check)
	printf '%s\n' "${STUB_SAYS:-mediated_pmu: Checking for include-guest perf events : PASS}"
	exit "${STUB_CHECK:-0}" ;;
"-j status")
	[ "${STUB_STATUS:-0}" -eq 0 ] || exit "$STUB_STATUS"
	echo "{\"enabled\":true,\"mode\":\"${STUB_MODE:-arbitrate}\",\"refcount\":0}" ;;
esac
EOF
cat > "$stub/mpmud" <<'EOF'
#!/bin/sh
printf 'drain = %s\ndrain_timeout = 7s\n' "${STUB_DRAIN:-report}"
EOF
chmod +x "$stub/mpmuctl" "$stub/mpmud"

stub_hook() {	# args...: run_hook with the stand-ins; returns the hook's exit
	: > "$out/stub.log"
	STUB_PATH=$stub STUB_LOG=$out/stub.log run_hook "$@"
}

not_ready() {	# command...: with "mpmuctl check" saying not ready (exit 1)
	STUB_CHECK=1 STUB_SAYS="mediated_pmu: Checking for include-guest perf events : FAIL (2 include-guest perf events block VM creation; see: mpmuctl events; try: mpmuctl drain)" \
		"$@"
}

blocked() {	# exit: the hook blocked dom1's start and said why on stderr, nothing on stdout
	[ "$1" -ne 0 ] && [ ! -s "$out/hook.out" ] &&
		grep -q "^mediated-pmu: not starting dom1" "$out/hook.err" && return 0
	echo "exit $1, expected a blocked start with the reason; stdout and stderr:"
	cat "$out/hook.out" "$out/hook.err"
	return 1
}

started() {	# exit: the hook let dom1 start, nothing on stdout
	[ "$1" -eq 0 ] && [ ! -s "$out/hook.out" ] && return 0
	echo "exit $1, expected the start to go on; stdout and stderr:"
	cat "$out/hook.out" "$out/hook.err"
	return 1
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
	domain_xml on | not_ready stub_hook dom1 prepare begin -
	blocked $? &&
	grep -q "mediated-pmu: not starting dom1: the host is not ready" "$out/hook.err" &&
	grep -q "2 include-guest perf events block VM creation" "$out/hook.err" &&
	grep -q "mediated-pmu hook: not starting dom1" "$out/logs/dom1.log" &&
	grep -q "mediated-pmu hook:   mediated_pmu: Checking for include-guest" "$out/logs/dom1.log" ||
		return 1
	domain_xml none | not_ready stub_hook dom1 prepare begin -	# no <pmu>: libvirt's default is on
	blocked $?
}

hook_drains_per_mpmud_policy_before_check() {
	domain_xml on | STUB_DRAIN=watchdog stub_hook dom1 prepare begin -
	started $? &&
	diff -u - "$out/stub.log" <<-EOF || return 1
	mpmuctl -q drain --signal=none --timeout=7
	mpmuctl check
	EOF
	domain_xml on | STUB_DRAIN=report stub_hook dom1 prepare begin -
	started $? && diff -u - "$out/stub.log" <<< "mpmuctl check"
}

hook_reads_pmu_off_only_from_the_domain_features() {
	# libvirt keeps other tools' XML in <metadata>, and comments are no XML.
	not_ready stub_hook dom1 prepare begin - <<-EOF
	<domain type='kvm'>
	  <name>dom1</name>
	  <metadata>
	    <app:vm xmlns:app="https://app.example/"><pmu state='off'/></app:vm>
	  </metadata>
	  <!-- <features><pmu state='off'/></features> -->
	  <features><acpi/></features>
	</domain>
	EOF
	blocked $? && grep -qx "mpmuctl check" "$out/stub.log"
}

hook_skips_a_guest_whose_features_say_pmu_off() {
	local xml
	# as libvirt writes it, and the same element spelt another well-formed way
	for xml in "<domain type='kvm'><name>dom1</name><features><acpi/><pmu state='off'/></features></domain>" \
		"<domain type='kvm'><name>dom1</name><features><pmu state = \"off\" /></features></domain>"; do
		printf '%s\n' "$xml" | not_ready stub_hook dom1 prepare begin -
		started $? || { echo "on: $xml"; return 1; }
		if [ -s "$out/stub.log" ] || [ -s "$out/hook.err" ]; then
			echo "checked or said something on: $xml"
			cat "$out/stub.log" "$out/hook.err"
			return 1
		fi
	done
}

hook_blocks_on_unparseable_domain_xml() {
	echo "<domain type='kvm'><name>dom1</name><features><pmu state='off'></features>" |
		stub_hook dom1 prepare begin -
	blocked $? && grep -q "xmllint cannot parse the domain XML" "$out/hook.err" &&
	grep -q "parser error" "$out/hook.err"
}

hook_without_xmllint_checks_as_if_the_pmu_were_on() {
	local nox=$out/no-xmllint
	mkdir -p "$nox" && printf '#!/bin/sh\nexit 127\n' > "$nox/xmllint" && chmod +x "$nox/xmllint" || return 1
	domain_xml off | STUB_PATH=$nox:$stub STUB_LOG=$out/stub.log not_ready run_hook dom1 prepare begin -
	blocked $? && grep -q "xmllint not found (install libxml2-utils)" "$out/hook.err"
}

hook_starts_a_guest_with_a_warning_when_the_module_is_missing() {
	# mpmuctl check exits 69 ...
	domain_xml on | STUB_CHECK=69 STUB_STATUS=69 STUB_SAYS="mpmuctl: Failed to connect to mediated_pmu" \
		stub_hook dom1 prepare begin -
	started $? &&
	grep -q "^mediated_pmu: module not loaded; not checking dom1's PMU.*(modprobe mediated_pmu)" \
		"$out/hook.err" || return 1
	# ... or reports it as "not ready" while status exits 69
	domain_xml on | STUB_CHECK=1 STUB_STATUS=69 stub_hook dom1 prepare begin -
	started $? && grep -q "^mediated_pmu: module not loaded" "$out/hook.err"
}

hook_starts_a_guest_with_a_warning_on_this_machine_with_no_module() {	# the real mpmuctl
	[ -x build/user/mpmuctl ] || { echo "build/user/mpmuctl is missing: make user"; return 1; }
	[ ! -d /sys/module/mediated_pmu ] || { echo "the module is loaded here"; return 1; }
	hook on dom1 prepare begin -
	started $? && grep -q "^mediated_pmu: module not loaded" "$out/hook.err"
}

hook_in_observe_mode_blocks_only_a_guest_the_kernel_would_refuse() {
	local rc
	domain_xml on | STUB_MODE=observe stub_hook dom1 prepare begin -
	started $? || return 1
	domain_xml on | STUB_MODE=observe not_ready stub_hook dom1 prepare begin -
	blocked $? || return 1
	for rc in 77 64 2; do
		domain_xml on | STUB_MODE=observe STUB_CHECK=$rc \
			STUB_SAYS="mpmuctl: Failed to get the status: Permission denied" stub_hook dom1 prepare begin -
		started $? && grep -q "'mpmuctl check' failed (exit $rc); starting dom1 unchecked" "$out/hook.err" &&
			grep -q "Permission denied" "$out/hook.err" || return 1
	done
}

hook_in_arbitrate_mode_blocks_when_mpmuctl_check_fails() {
	domain_xml on | STUB_CHECK=77 STUB_SAYS="mpmuctl: Failed to get the status: Permission denied" \
		stub_hook dom1 prepare begin -
	blocked $? && grep -q "'mpmuctl check' failed (exit 77)" "$out/hook.err" &&
		grep -q "Permission denied" "$out/hook.err"
}

tally "libvirt hook: silent, exit 0 on reconnect, migrate, restore and the rest" \
	hook_silent_on_other_operations
tally "libvirt hook: blocks a PMU guest's start, says why on stderr and in the domain log" \
	hook_blocks_a_pmu_guest_when_not_ready
tally "libvirt hook: drains per mpmud's policy, then checks" hook_drains_per_mpmud_policy_before_check
tally "libvirt hook: lets a guest with <pmu state='off'/> start" hook off dom1 prepare begin -
tally "libvirt hook: a <pmu state='off'/> in <metadata> or a comment does not skip the check" \
	hook_reads_pmu_off_only_from_the_domain_features
tally "libvirt hook: <features><pmu state='off'/> skips the check, however it is spelt" \
	hook_skips_a_guest_whose_features_say_pmu_off
tally "libvirt hook: blocks a start whose domain XML does not parse" hook_blocks_on_unparseable_domain_xml
tally "libvirt hook: without xmllint, checks as if the PMU were on" \
	hook_without_xmllint_checks_as_if_the_pmu_were_on
tally "libvirt hook: module not loaded: the guest starts, with a warning" \
	hook_starts_a_guest_with_a_warning_when_the_module_is_missing
tally "libvirt hook: module not loaded (the real mpmuctl): the guest starts, with a warning" \
	hook_starts_a_guest_with_a_warning_on_this_machine_with_no_module
tally "libvirt hook: observe mode: blocks only when check says not ready" \
	hook_in_observe_mode_blocks_only_a_guest_the_kernel_would_refuse
tally "libvirt hook: arbitrate mode: blocks when mpmuctl check fails" \
	hook_in_arbitrate_mode_blocks_when_mpmuctl_check_fails

echo "pkg: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
