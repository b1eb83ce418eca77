#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the userspace unit tests on the host: every executable under
# $UNIT_DIR (default $BUILD/unit, built by `make unit`), in sorted order,
# each with a timeout.  Their TAP output is counted like a lane's (see
# scripts/tap.awk); the last line printed is
#	unit: N passed, N failed, N skipped (T s)
# Log: $BUILD/check/unit.log; counts for check.sh: $BUILD/check/unit.result.
#
# Environment: UNIT_DIR, UNIT_TIMEOUT (seconds per binary, default 120).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

unit_dir=${UNIT_DIR:-$BUILD/unit}
unit_timeout=${UNIT_TIMEOUT:-120}
out=$BUILD/check
log=$out/unit.log
mkdir -p "$out"
rm -f "$out/unit.result"
: >"$log"

t0=$(now_ms)
n=0
if [ -d "$unit_dir" ]; then
	while IFS= read -r -d '' t; do
		rel=${t#"$unit_dir"/}
		name=${rel//\//-}
		n=$((n + 1))
		b0=$(now_ms)
		echo "VHV-LANE: test-begin $name" >>"$log"
		set +e
		(cd "$(dirname "$t")" && timeout -k 10 "$unit_timeout" "$t") \
			</dev/null >>"$log" 2>&1
		rc=$?
		set -e
		# (a blank line first: the output may not end in a newline)
		printf '\nVHV-LANE: test-end %s rc=%s secs=%s\n' \
			"$name" "$rc" "$(secs "$b0")" >>"$log"
	done < <(find "$unit_dir" -type f -perm -u+x -print0 | LC_ALL=C sort -z)
fi
[ $n -gt 0 ] || echo "unit: no test binaries in $unit_dir"

RESULT=$out/unit.result tap_report unit "$log" "$(secs "$t0")"
