#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building and testing vhv needs.
# Idempotent: when everything is installed it only asks dpkg (well under
# a second) and runs no apt-get at all.  Everything comes from Debian's
# archive; nothing else is downloaded.
#
#	scripts/setup.sh			what `make check` needs
#	scripts/setup.sh --debug-kernel	also what building the debug kernel
#					of `make check-debug` needs
#					(scripts/debug-kernel.sh)
set -euo pipefail

PACKAGES=(
	# build
	gcc make bc perl xz-utils kmod
	linux-headers-amd64
	# kselftest_harness.h, kselftest.h and checkpatch.pl (scripts/get-ksft.sh)
	linux-source-6.1
	# the guest: Debian's kernel, a static busybox, the initramfs packer
	linux-image-amd64 busybox-static cpio
	# SVM lane
	qemu-system-x86
	# VMX lane (Bochs boots an isolinux ISO)
	bochs bochsbios vgabios isolinux syslinux-common xorriso
)
# Building Debian's linux-source-6.1 (scripts/debug-kernel.sh).
DEBUG_KERNEL_PACKAGES=(
	bison flex libelf-dev libssl-dev
)

case ${1:-} in
'') ;;
--debug-kernel) PACKAGES+=("${DEBUG_KERNEL_PACKAGES[@]}") ;;
*) echo "usage: setup.sh [--debug-kernel]" >&2; exit 1 ;;
esac

# dpkg-query fails when a package is unknown to dpkg: that is fine here.
installed=$( (dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
	    "${PACKAGES[@]}" 2>/dev/null || true) | awk '$1 ~ /^.i/ { print $2 }')
missing=()
for p in "${PACKAGES[@]}"; do
	grep -qx -- "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#PACKAGES[@]} packages installed"
	exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null ||
		{ echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600
	  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${sudo[@]}" apt-get "${apt_opts[@]}" update </dev/null
"${sudo[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends \
	"${missing[@]}" </dev/null
echo "setup: done"
