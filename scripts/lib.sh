# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers shared by the test-lane scripts.  Source it from bash:
#	. "$(dirname "$0")/lib.sh"
#
# Sets ROOT (repository root), BUILD (build directory, $BUILD or
# $ROOT/build) and provides:
#	vhv_kver       the newest Debian kernel in /boot (or $KVER)
#	vhv_ko         the module to test ($VHV_KO, $ROOT/vhv.ko, $BUILD/vhv.ko)
#	tap_report     count TAP results of a marked log, print a verdict

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SCRIPTS=$ROOT/scripts

die()
{
	echo "${0##*/}: $*" >&2
	exit 1
}

# The lanes boot the newest kernel installed in /boot.  Never use
# `uname -r`: the host kernel is not a Debian kernel and has no headers.
vhv_kver()
{
	local k

	if [ -n "${KVER:-}" ]; then
		echo "$KVER"
		return 0
	fi
	k=$(for f in /boot/vmlinuz-*; do
		[ -f "$f" ] && echo "${f#/boot/vmlinuz-}"
	    done | sort -V | tail -n 1)
	[ -n "$k" ] || return 1
	echo "$k"
}

vhv_ko()
{
	local f

	if [ -n "${VHV_KO:-}" ]; then
		echo "$VHV_KO"
		return 0
	fi
	for f in "$ROOT/vhv.ko" "$BUILD/vhv.ko"; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# now_ms: wall clock in milliseconds.
now_ms()
{
	date +%s%3N
}

# secs START_MS: elapsed seconds since START_MS, one decimal.
secs()
{
	local d=$(($(now_ms) - $1))

	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# tap_report NAME LOG SECONDS [--lane]
#
# Counts the TAP results in LOG (see scripts/tap.awk for the markers),
# prints one line per test binary, the problems found and, last,
#	NAME: N passed, N failed, N skipped (T s)
# and writes "PASS FAIL SKIP SECONDS STATUS" to $RESULT (if set), where
# STATUS is ok or FAILED.  Returns 1 when anything failed.
tap_report()
{
	local name=$1 log=$2 t=$3 mode=${4:-}
	local lane=0 out pass=0 fail=0 skip=0 problems=0 kind rest status
	local failed=()

	[ "$mode" = --lane ] && lane=1
	out=$(awk -v lane="$lane" -f "$SCRIPTS/tap.awk" "$log")
	while IFS= read -r line; do
		kind=${line%% *}
		rest=${line#* }
		case $kind in
		COUNTS)
			read -r pass fail skip <<<"$rest"
			;;
		BINARY)
			echo "  $rest"
			;;
		TESTFAIL)
			echo "  FAILED  $rest"
			failed+=("${rest%%: *}")
			;;
		PROBLEM)
			echo "  PROBLEM $rest"
			problems=$((problems + 1))
			;;
		DMESG)
			echo "  DMESG   $rest"
			;;
		esac
	done <<<"$out"

	status=ok
	if [ "$fail" -gt 0 ] || [ "$problems" -gt 0 ]; then
		status=FAILED
	fi
	if [ "$status" != ok ]; then
		if [ ${#failed[@]} -gt 0 ]; then
			print_sections "$log" "${failed[@]}"
		fi
		echo "$name: FAILED (log: $log)"
	fi
	echo "$name: $pass passed, $fail failed, $skip skipped ($t s)"
	if [ -n "${RESULT:-}" ]; then
		echo "$pass $fail $skip $t $status" >"$RESULT"
	fi
	[ "$status" = ok ]
}

# print_sections LOG NAME...: the output of test binaries NAME in LOG
# (between their test-begin and test-end markers), at most 150 lines each.
print_sections()
{
	local log=$1

	shift
	printf '%s\n' "$@" | sort -u | while IFS= read -r n; do
		echo "---- output of $n ----"
		awk -v n="$n" '
			{ gsub(/\r/, "") }
			$0 == "VHV-LANE: test-begin " n { on = 1; next }
			on && index($0, "VHV-LANE: test-end " n " ") == 1 { exit }
			on && ++k <= 150 { print }
			END { if (k > 150) print "... " (k - 150) " more lines" }
		' "$log"
	done
	echo "----"
}

# ---- the parts of a check run (scripts/check.sh, scripts/check-debug.sh)

parts=()	# "status|name|detail|seconds"
total_pass=0
total_fail=0
total_skip=0
failed_parts=0

header()
{
	echo
	echo "==> $1"
}

# record STATUS NAME DETAIL SECONDS [PASS FAIL SKIP]
record()
{
	local st=$1 name=$2 detail=$3 t=$4 p=${5:-0} f=${6:-0} s=${7:-0}

	total_pass=$((total_pass + p))
	total_skip=$((total_skip + s))
	total_fail=$((total_fail + f))
	if [ "$st" != ok ]; then
		failed_parts=$((failed_parts + 1))
		[ "$f" -gt 0 ] || total_fail=$((total_fail + 1))
	fi
	parts+=("$st|$name|$detail|$t")
}

# record_tests NAME RESULTFILE SECONDS: a part that counts TAP results.
record_tests()
{
	local name=$1 res=$2 t=$3 p f s secs st

	if [ -s "$res" ] && read -r p f s secs st <"$res"; then
		record "$st" "$name" "$p passed, $f failed, $s skipped" "$secs" "$p" "$f" "$s"
	else
		record FAILED "$name" "did not run to the end (see above)" "$t"
	fi
}

# lane_wait: wait for one of the lanes in lane_pid[] (PID -> lane; the
# caller sets lane_start[lane] and writes $out/lane-LANE.log), print its
# log and set lane_secs[lane].
lane_wait()
{
	local pid lane

	wait -n -p pid "${!lane_pid[@]}"
	lane=${lane_pid[$pid]}
	unset "lane_pid[$pid]"
	lane_secs[$lane]=$(secs "${lane_start[$lane]}")
	header "$lane: scripts/lane.sh $lane (ended after ${lane_secs[$lane]} s)"
	cat "$out/lane-$lane.log"
}
