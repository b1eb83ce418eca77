# SPDX-License-Identifier: GPL-2.0
#
# vhv top-level Makefile.  `make` builds vhv.ko against the Debian
# headers (or KDIR=...) and the tests; `make check` runs every test,
# `make check-debug` runs them again on a debug kernel.  See README.md.

# The running kernel's headers, else the newest Debian amd64 headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1))
BUILD ?= $(CURDIR)/build

export KDIR BUILD

.PHONY: all module selftests unit check check-debug bench clean setup checkpatch

all: module selftests unit

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

selftests: $(BUILD)/ksft/kselftest_harness.h
	$(MAKE) -C selftests O=$(BUILD)/selftests

unit: $(BUILD)/ksft/kselftest_harness.h
	$(MAKE) -C selftests/unit O=$(BUILD)/unit

$(BUILD)/ksft/kselftest_harness.h:
	scripts/get-ksft.sh $(BUILD)/ksft

setup:
	scripts/setup.sh

check:
	scripts/check.sh

check-debug:
	scripts/check-debug.sh

bench:
	scripts/bench.sh

checkpatch:
	scripts/checkpatch.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)
