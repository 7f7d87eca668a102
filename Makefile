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

CC ?= cc
PKG_CONFIG ?= pkg-config
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 json-c 2>/dev/null)
DEPS_LIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 json-c 2>/dev/null) -lm
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP $(DEPS_CFLAGS)
# make SANITIZE=1: the ASan/UBSan build that make check tests
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
O ?= build/user
ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard lib/*.c)
CLI_SRCS := $(wildcard cli/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/%.o)

all: module user

user: $(O)/mpmuctl

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(O)/libmpmu.a: $(LIB_OBJS)
	$(Q)$(AR) rcs $@ $^

$(O)/mpmuctl: $(CLI_OBJS) $(O)/libmpmu.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(O)/%)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libmpmu.a
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DEPS_LIBS)

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_SRCS:%.c=$(O)/%.d)

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

.PHONY: all module user unit deps checkpatch style check demo clean
