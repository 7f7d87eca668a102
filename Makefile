# SPDX-License-Identifier: GPL-2.0
# mediated_pmu: top-level build and test entry points.
#
#   make              build kmod/mediated_pmu.ko for KDIR (default: running kernel)
#   make check        every test tier; ends with one "N passed, N failed" line
#   make demo         boot a throwaway guest and tell the story
#   make style        checkpatch --strict on the module
#
# check and demo install the Debian packages they lack (tests/deps.sh).

KDIR ?= /lib/modules/$(shell uname -r)/build
export KDIR

all: module

module:
	$(MAKE) -C kmod KDIR=$(KDIR)

deps:
	tests/deps.sh

checkpatch: deps
	tests/tools/fetch-checkpatch

style: checkpatch
	$(MAKE) -C kmod style

check: deps checkpatch
	tests/check.sh

demo: deps
	tests/demo.sh

clean:
	-$(MAKE) -C kmod clean KDIR=$(KDIR)
	rm -rf build

.PHONY: all module deps checkpatch style check demo clean
