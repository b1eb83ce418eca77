#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one test lane: boot Debian's kernel in an emulator with an
# initramfs that loads vhv.ko and runs the selftests, then judge the
# serial log.
#
#	scripts/lane.sh svm		AMD SVM on QEMU TCG
#
# Output goes to $BUILD/lanes/LANE/: initramfs.cpio.gz, serial.log (the
# guest's console), emulator.log (the emulator's own messages) and
# result ("PASSED FAILED SKIPPED SECONDS ok|FAILED", read by check.sh).
# The last line printed is
#	LANE: N passed, N failed, N skipped (T s)
# preceded by the failing tests, problems and offending kernel lines.
# and the exit status is non-zero if a test failed, the guest did not
# reach the end marker, insmod or rmmod failed, or the guest's kernel
# log shows a WARN, BUG, oops, lockdep/KASAN/UBSAN/kmemleak report or
# an unexpected taint (scripts/tap.awk decides).
#
# Environment (besides those of scripts/mkinitramfs.sh: VHV_KO,
# TESTS_DIR, VHV_TEST_TIMEOUT, VHV_INSMOD_ARGS):
#	KVER		kernel to boot (default: newest /boot/vmlinuz-*)
#	LANE_TIMEOUT	seconds the whole emulator run may take (default 900)
#	LANE_MEM	guest memory in MiB (default 1024)
#	LANE_SMP	guest CPUs (default 2)
#	LANE_APPEND	extra kernel command line
#	QEMU_ARGS	extra QEMU arguments (svm lane), e.g. "-icount shift=0,sleep=off"
#	LANE_VERBOSE=1	also stream the serial console to stdout
#
# Adding a lane: write lane_NAME_check (tools present?) and
# lane_NAME_boot KERNEL INITRD LOG (run the emulator, guest console to
# LOG, return when it exits); the rest is shared.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

lane=${1:?usage: lane.sh LANE (svm)}
LANE_TIMEOUT=${LANE_TIMEOUT:-900}
LANE_MEM=${LANE_MEM:-1024}
LANE_SMP=${LANE_SMP:-2}
LANE_APPEND=${LANE_APPEND:-}

# ---- SVM: QEMU TCG with an EPYC model (SVM + NPT) -------------------------
# TCG emulates only NPT and vGIF of the SVM features; QEMU warns that it
# lacks xsavec: harmless (see shared/EMULATORS.md).

lane_svm_check()
{
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 missing: run scripts/setup.sh"
}

lane_svm_boot()
{
	local kernel=$1 initrd=$2 log=$3
	local args=()

	# shellcheck disable=SC2206 # QEMU_ARGS is a list of words on purpose
	args=(${QEMU_ARGS:-})
	timeout -k 10 "$LANE_TIMEOUT" \
		qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt \
		-m "$LANE_MEM" -smp "$LANE_SMP" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 $LANE_APPEND" \
		-nographic -no-reboot -nic none "${args[@]}" \
		</dev/null >"$log" 2>>"$dir/emulator.log"
}

# ---- shared ---------------------------------------------------------------

declare -F "lane_${lane}_boot" >/dev/null || die "unknown lane '$lane' (known: svm)"
"lane_${lane}_check"

kver=$(vhv_kver) || die "no /boot/vmlinuz-*: run scripts/setup.sh"
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || die "cannot read $kernel"
ko=$(vhv_ko) || die "no module: run 'make module' or set VHV_KO"
vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1 || true)
if [ -n "$vermagic" ] && [ "$vermagic" != "$kver" ]; then
	die "$ko is built for $vermagic but the lane boots $kver (make module KDIR=/usr/src/linux-headers-$kver)"
fi

dir=$BUILD/lanes/$lane
mkdir -p "$dir"
rm -f "$dir/serial.log" "$dir/emulator.log" "$dir/result"
"$SCRIPTS/mkinitramfs.sh" "$dir/initramfs.cpio.gz"

echo "$lane: booting $kernel ($(basename "$ko"), timeout ${LANE_TIMEOUT} s)"
if [ "${LANE_VERBOSE:-0}" = 1 ]; then
	: >"$dir/serial.log"
	tail -n +1 -f "$dir/serial.log" &
	tailpid=$!
fi
t0=$(now_ms)
set +e
"lane_${lane}_boot" "$kernel" "$dir/initramfs.cpio.gz" "$dir/serial.log"
rc=$?
set -e
t=$(secs "$t0")
if [ -n "${tailpid:-}" ]; then
	sleep 0.2
	kill "$tailpid" 2>/dev/null || true
	wait "$tailpid" 2>/dev/null || true
fi
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "$lane: emulator killed after the ${LANE_TIMEOUT} s timeout"
elif [ $rc -ne 0 ]; then
	echo "$lane: emulator exited with status $rc (judging by the log)"
fi
if [ -s "$dir/emulator.log" ]; then
	grep -v "doesn't support requested feature" "$dir/emulator.log" |
		sed "s/^/$lane: emulator: /" || true
fi

if ! grep -q '^VHV-LANE: end' "$dir/serial.log"; then
	echo "---- $lane: last 40 lines of $dir/serial.log ----"
	tail -n 40 "$dir/serial.log" | tr -d '\r'
	echo "----"
fi
RESULT=$dir/result tap_report "$lane" "$dir/serial.log" "$t" --lane
