#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the benchmarks (selftests/bench/*_bench.c) in the lanes and print
# their results:
#
#	scripts/bench.sh		every lane
#	LANES=svm scripts/bench.sh	some of them
#
# Each lane boots with only the benchmarks in its initramfs; the lane's
# log is in $BUILD/bench/LANE/serial.log, the results of all lanes in
# $BUILD/bench/results.txt.  Timing comes from the emulators: compare
# results with each other and across commits, not with hardware.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || exit 1
LANES=${LANES:-svm vmx svm-strict}
out=$BUILD/bench
mkdir -p "$out"

"$SCRIPTS/setup.sh" >"$out/setup.log" 2>&1 || die "setup failed: $out/setup.log"
make -s -j"$(nproc)" module || die "module build failed"
make -s -C selftests bench O="$BUILD/selftests" BENCH_O="$out/bin" ||
	die "benchmark build failed"

rc=0
: >"$out/results.txt"
for lane in $LANES; do
	echo "==> bench: $lane"
	if ! LC_ALL=C TESTS_DIR="$out/bin" LANE_OUT="$out/$lane" \
	     "$SCRIPTS/lane.sh" "$lane" >"$out/$lane.log" 2>&1; then
		echo "bench: lane $lane failed: $out/$lane.log"
		rc=1
	fi
	grep -a '^# bench ' "$out/$lane/serial.log" 2>/dev/null |
		sed "s/^# bench /$lane: /" | tee -a "$out/results.txt"
done
exit $rc
