# SPDX-License-Identifier: GPL-2.0
# mediated_pmu: top-level build and test entry points.
#
#   make              build kmod/mediated_pmu.ko for KDIR (default: running kernel)
#   make check        every test tier; ends with "N passed, N failed, N skipped"
#   make demo         boot a throwaway guest and tell the story
#   make style        checkpatch --strict on the module
#   make dist         the release tarball build/mediated-pmu-<version>.tar.gz
#                     (with a MANIFEST: deb, rpm and the rest work from it)
#
# check and demo install the Debian packages they lack (tests/deps.sh).

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
export KDIR

VERSION := $(shell cat VERSION)
CC ?= cc
PKG_CONFIG ?= pkg-config
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 json-c libsystemd 2>/dev/null)
DEPS_LIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 json-c 2>/dev/null) -lm
SYSTEMD_LIBS := $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null)
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP $(DEPS_CFLAGS)
override CFLAGS += -DMPMU_TOOLS_VERSION='"$(VERSION)"'
# make SANITIZE=1: the ASan/UBSan build that make check tests
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif
O ?= build/user
ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard lib/*.c)
CLI_SRCS := $(wildcard cli/*.c)
SVC_SRCS := $(wildcard service/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/%.o)
SVC_OBJS := $(SVC_SRCS:%.c=$(O)/%.o)

all: module user

user: $(O)/mpmuctl $(O)/mpmud

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/libmpmu.a: $(LIB_OBJS)
	$(Q)$(AR) rcs $@ $^

$(O)/mpmuctl: $(CLI_OBJS) $(O)/libmpmu.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

$(O)/mpmud: $(SVC_OBJS) $(O)/libmpmu.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS) $(SYSTEMD_LIBS)

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(O)/%)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libmpmu.a
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(SVC_OBJS:.o=.d) $(UNIT_SRCS:%.c=$(O)/%.d)

module:
	$(MAKE) -C kmod KDIR=$(KDIR)

# make install: DESTDIR for staging; never runs systemctl, depmod or modprobe.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
MODULESLOADDIR ?= $(or $(shell $(PKG_CONFIG) --variable=modulesloaddir systemd 2>/dev/null),/usr/lib/modules-load.d)
COMPLETIONDIR ?= $(or $(shell $(PKG_CONFIG) --variable=completionsdir bash-completion 2>/dev/null),$(PREFIX)/share/bash-completion/completions)
MODULEDIR ?= /lib/modules/$(KVER)/updates
LIBVIRTHOOKDIR ?= $(SYSCONFDIR)/libvirt/hooks/qemu.d

INSTALLED := $(BINDIR)/mpmuctl $(SBINDIR)/mpmud \
	$(MANDIR)/man7/mediated_pmu.7 $(MANDIR)/man8/mpmuctl.8 $(MANDIR)/man8/mpmud.8 \
	$(MANDIR)/man5/mpmud.conf.5 $(SYSTEMDUNITDIR)/mpmud.service \
	$(MODULESLOADDIR)/mediated_pmu.conf $(COMPLETIONDIR)/mpmuctl \
	$(LIBVIRTHOOKDIR)/50-mediated-pmu

install: user
	install -D -m 0755 $(O)/mpmuctl $(DESTDIR)$(BINDIR)/mpmuctl
	install -D -m 0755 $(O)/mpmud $(DESTDIR)$(SBINDIR)/mpmud
	install -D -m 0644 man/mediated_pmu.7 $(DESTDIR)$(MANDIR)/man7/mediated_pmu.7
	install -D -m 0644 man/mpmuctl.8 $(DESTDIR)$(MANDIR)/man8/mpmuctl.8
	install -D -m 0644 man/mpmud.8 $(DESTDIR)$(MANDIR)/man8/mpmud.8
	install -D -m 0644 man/mpmud.conf.5 $(DESTDIR)$(MANDIR)/man5/mpmud.conf.5
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/systemd/mpmud.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/mpmud.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/mpmud.service
	install -D -m 0644 packaging/modules-load.d/mediated_pmu.conf \
		$(DESTDIR)$(MODULESLOADDIR)/mediated_pmu.conf
	install -D -m 0644 packaging/bash-completion/mpmuctl $(DESTDIR)$(COMPLETIONDIR)/mpmuctl
	install -D -m 0755 packaging/libvirt/50-mediated-pmu $(DESTDIR)$(LIBVIRTHOOKDIR)/50-mediated-pmu
	install -d $(DESTDIR)$(SYSCONFDIR)/mpmud.conf.d
	# An admin's configuration is never overwritten.
	[ -e $(DESTDIR)$(SYSCONFDIR)/mpmud.conf ] || \
		install -m 0644 packaging/mpmud.conf $(DESTDIR)$(SYSCONFDIR)/mpmud.conf

# The module for KVER, for hosts without DKMS (run depmod afterwards).
install-module: module
	install -D -m 0644 kmod/mediated_pmu.ko $(DESTDIR)$(MODULEDIR)/mediated_pmu.ko

# Packages, built from a copy of the tree in build/: .deb (with the source
# package) and .rpm.
PKG_TREE = build/$(1)/mediated-pmu-$(VERSION)
# The source files, NUL-separated: in a git work tree what git sees
# (tracked and new files, never build products); in an unpacked release
# tarball (make dist) what its MANIFEST lists.
list_sources = if [ -e .git ]; then git ls-files -z -co --exclude-standard; \
	elif [ -f MANIFEST ]; then tr '\n' '\0' < MANIFEST; \
	else echo "make: $(CURDIR) is neither a git work tree nor a release tarball (no MANIFEST); run 'make dist' in the git tree" >&2; \
	exit 1; fi
stage_tree = rm -rf build/$(1) && mkdir -p $(PKG_TREE) && \
	{ $(list_sources); } > build/$(1).files && \
	tar -cf - --null -T build/$(1).files | tar -xf - -C $(PKG_TREE)

# The release tarball, build/mediated-pmu-<version>.tar.gz: the source files
# and a MANIFEST of them, so that every target here, the packages too, works
# from the unpacked tarball, without git.
DIST = build/mediated-pmu-$(VERSION).tar.gz
dist:
	$(call stage_tree,dist)
	cd $(call PKG_TREE,dist) && { find . \( -type f -o -type l \) -printf '%P\n'; echo MANIFEST; } | \
		LC_ALL=C sort -u > MANIFEST
	tar -C build/dist --owner=0 --group=0 --sort=name -czf $(DIST) mediated-pmu-$(VERSION)
	@echo $(DIST)

deb:
	$(call stage_tree,deb)
	cp -r packaging/debian $(call PKG_TREE,deb)/debian
	cd $(call PKG_TREE,deb) && dpkg-buildpackage -us -uc --build=full > ../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	@ls build/deb/*.deb

# rpmbuild --nodeps: a Debian build machine has no RPM database to check
# BuildRequires against (the Debian packages provide them).
RPM_TOP = $(CURDIR)/build/rpm
rpm: dist
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES $(RPM_TOP)/SPECS
	cp $(DIST) $(RPM_TOP)/SOURCES/
	sed 's/@VERSION@/$(VERSION)/' packaging/rpm/mediated-pmu.spec.in > $(RPM_TOP)/SPECS/mediated-pmu.spec
	rpmbuild -ba --nodeps --define "_topdir $(RPM_TOP)" $(RPM_TOP)/SPECS/mediated-pmu.spec \
		> $(RPM_TOP)/build.log 2>&1 || { tail -40 $(RPM_TOP)/build.log; exit 1; }
	@ls build/rpm/RPMS/*/*.rpm build/rpm/SRPMS/*.rpm

# Leaves /etc/mpmud.conf and its drop-ins: they are the admin's.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

deps:
	tests/deps.sh

checkpatch: deps
	tests/tools/fetch-checkpatch

style: checkpatch
	$(MAKE) -C kmod style
	$(MAKE) -C kmod style SOURCES="$(CURDIR)/tests/vm/native/kvm-intel.c $(CURDIR)/tests/vm/kcounter/mpmu_kcounter.c"

check: deps checkpatch
	tests/check.sh

demo: deps
	tests/demo.sh

# libFuzzer targets for the userspace parsers (clang): each runs
# FUZZ_SECONDS on a copy of its seed corpus; a crash, a sanitizer report or a
# broken invariant (abort) fails.  make check runs them for 20 s each.
# -close_fd_mask=3 keeps what a target prints (mpmuctl's usage errors, by
# the million) out of the log; libFuzzer's and the sanitizers' reports still
# reach it.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -DMPMU_TOOLS_VERSION='"$(VERSION)"' \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $(DEPS_CFLAGS)

# The command-line target links mpmuctl's parser and verbs, not its main().
build/fuzz/fuzz_mpmuctl_args: $(filter-out cli/main.c,$(CLI_SRCS)) $(wildcard cli/*.h)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(wildcard lib/*.h)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(DEPS_LIBS)

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		rm -rf build/fuzz/corpus-$$t && cp -r tests/fuzz/corpus/$$t build/fuzz/corpus-$$t && \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=5 -close_fd_mask=3 \
			-artifact_prefix=build/fuzz/$$t- build/fuzz/corpus-$$t \
			> build/fuzz/$$t.log 2>&1 && \
		echo "fuzz: $$t: $$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' build/fuzz/$$t.log) inputs in $(FUZZ_SECONDS) s, no crash" || \
		{ tail -30 build/fuzz/$$t.log; echo "fuzz: $$t FAILED (build/fuzz/$$t.log)"; exit 1; }; \
	done

# Benchmarks in a QEMU guest (not timed tests): bench/run.sh [KERNEL]
bench: deps
	bench/run.sh

clean:
	-$(MAKE) -C kmod clean KDIR=$(KDIR)
	rm -rf build

.PHONY: all module user install install-module uninstall dist deb rpm bench fuzz unit deps checkpatch style check demo clean
