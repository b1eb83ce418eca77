#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-debug`: every selftest, and a long fuzz run, on a debug
# kernel (KASAN, lockdep, kmemleak, UBSAN, DEBUG_LIST, DEBUG_ATOMIC_SLEEP,
# debug objects; scripts/debug-kernel.config), in the svm and vmx lanes.
#
#	setup       scripts/setup.sh --debug-kernel (Debian packages)
#	kernel      scripts/debug-kernel.sh: the debug kernel, built once
#	            and cached outside the repository (it takes long the
#	            first time; see that script)
#	module      vhv.ko built against the debug kernel's tree, from a
#	            copy of the sources in build/debug/module/ (so that it
#	            does not disturb ./vhv.ko, which `make check` uses)
#	selftests   the selftests, into build/debug/selftests/
#	svm, vmx    scripts/lane.sh on the debug kernel: the tests, then a
#	            kmemleak scan after the rmmod
#
# A lane fails on a failing test and on any KASAN, lockdep, UBSAN,
# kmemleak, WARN, BUG or oops report, or taint, in the guest's kernel log
# after the insmod (scripts/tap.awk).  The summary has one line per part
# and ends with "N passed, N failed, N skipped", like `make check`.
# Logs: build/debug/check/ and build/debug/lanes/LANE/.
#
# Environment: LANES (default "svm vmx"; svm-strict works too); LANE_JOBS
# (default: one per CPU); VHV_FUZZ_SECONDS (how long the fuzzer of
# selftests/fuzz runs in each lane, default 600); and, with defaults for
# a debug kernel that runs the fuzzer that long, VHV_TEST_TIMEOUT (1800
# guest seconds per test binary), LANE_TIMEOUT (5400 s per lane),
# BOCHS_STALL_WAIT (2400 s); LANE_APPEND (added to this script's kernel
# parameters); the rest of scripts/lane.sh's and scripts/debug-kernel.sh's.
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || exit 1
LANES=${LANES:-svm vmx}
dbuild=$BUILD/debug
out=$dbuild/check
mkdir -p "$out"

export VHV_FUZZ_SECONDS=${VHV_FUZZ_SECONDS:-600}
export VHV_TEST_TIMEOUT=${VHV_TEST_TIMEOUT:-1800}
export LANE_TIMEOUT=${LANE_TIMEOUT:-5400}
export BOCHS_STALL_WAIT=${BOCHS_STALL_WAIT:-2400}
# loglevel=5: warnings (WARN, lockdep, soft lockup registers and stacks)
# reach the console as they happen, not only the dmesg dump at the end.
# softlockup_panic, hung_task_panic: a CPU stuck in the kernel, or a task
# stuck in D state, ends the lane at once (panic=-1, the emulator exits)
# with its stack, and every other CPU's (softlockup_all_cpu_backtrace),
# on the console, instead of at LANE_TIMEOUT.
export LANE_APPEND="loglevel=5 softlockup_panic=1 sysctl.kernel.softlockup_all_cpu_backtrace=1 hung_task_panic=1${LANE_APPEND:+ $LANE_APPEND}"



summary()
{
	echo
	echo "=========================== vhv check-debug summary ==========================="
	for p in "${parts[@]}"; do
		IFS='|' read -r st name detail t <<<"$p"
		printf '  %-7s %-11s %-52s %7s s\n' "$st" "$name" "$detail" "$t"
	done
	echo "==============================================================================="
	if [ $failed_parts -gt 0 ]; then
		echo "check-debug: FAILED ($failed_parts of ${#parts[@]} parts; logs in $out and $dbuild/lanes)"
	else
		echo "check-debug: all ${#parts[@]} parts ok"
	fi
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
	[ $failed_parts -eq 0 ]
}

# ---- setup
header "setup: scripts/setup.sh --debug-kernel"
t0=$(now_ms)
if "$SCRIPTS/setup.sh" --debug-kernel 2>&1 | tee "$out/setup.log"; then
	record ok setup "$(tail -n 1 "$out/setup.log" | sed 's/^setup: //')" "$(secs "$t0")"
else
	record FAILED setup "scripts/setup.sh --debug-kernel failed" "$(secs "$t0")"
fi

# ---- kernel
header "kernel: scripts/debug-kernel.sh"
t0=$(now_ms)
if kdir=$("$SCRIPTS/debug-kernel.sh"); then
	cached=$(cat "$kdir/done")
	echo "kernel: $kdir"
	echo "kernel: $cached"
	record ok kernel "$(cat "$kdir/kernel.release")" "$(secs "$t0")"
else
	record FAILED kernel "scripts/debug-kernel.sh failed" "$(secs "$t0")"
	summary
	exit 1
fi
kver=$(cat "$kdir/kernel.release")

# ---- module
# Built from a copy: `make check` may be building ./vhv.ko meanwhile.
header "module: vhv.ko for $kver (build/debug/module)"
t0=$(now_ms)
mod=$dbuild/module
rm -rf "$mod"
mkdir -p "$mod"
cp -a Kbuild src include uapi "$mod/"
find "$mod" \( -name '*.o' -o -name '.*.cmd' -o -name '*.ko' -o -name '*.mod*' \) -delete
make -C "$kdir/linux" M="$mod" -j"$(nproc)" modules 2>&1 | tee "$out/module.log"
rc=${PIPESTATUS[0]}
nwarn=$(grep -ci 'warning:' "$out/module.log")
if [ "$rc" -ne 0 ] || [ ! -f "$mod/vhv.ko" ]; then
	record FAILED module "make modules failed (status $rc)" "$(secs "$t0")"
elif [ "$nwarn" -gt 0 ]; then
	# `make check` judges warnings (W=1, Debian's config); the debug
	# config's (KASAN frame sizes, objtool) are shown, not fatal.
	echo "module: $nwarn warning(s):"
	grep -i 'warning:' "$out/module.log"
	record ok module "built, $nwarn warning(s) (see above)" "$(secs "$t0")"
else
	record ok module "built, no warnings" "$(secs "$t0")"
fi

# ---- selftests
header "selftests: make selftests BUILD=build/debug"
t0=$(now_ms)
make -j"$(nproc)" selftests BUILD="$dbuild" 2>&1 | tee "$out/selftests.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then
	record ok selftests "built" "$(secs "$t0")"
else
	record FAILED selftests "make selftests failed (status $rc)" "$(secs "$t0")"
fi

# ---- lanes
lane_jobs=${LANE_JOBS:-$(nproc)}
[ "${LANE_VERBOSE:-0}" != 1 ] || lane_jobs=1
case $lane_jobs in
''|*[!0-9]*|0) echo "check-debug: LANE_JOBS must be a positive number" >&2; lane_jobs=1 ;;
esac
declare -A lane_pid=() lane_start=() lane_secs=()

run_lane()
{
	KERNEL=$kdir/bzImage VMLINUX=$kdir/vmlinux KVER=$kver \
	VHV_KO=$mod/vhv.ko TESTS_DIR=$dbuild/selftests \
	LANE_OUT=$dbuild/lanes/$1 \
		"$SCRIPTS/lane.sh" "$1"
}


header "lanes: $LANES on $kver ($lane_jobs at a time; fuzzer ${VHV_FUZZ_SECONDS} s, test timeout ${VHV_TEST_TIMEOUT} s, lane timeout ${LANE_TIMEOUT} s)"
if [ ! -f "$mod/vhv.ko" ]; then
	echo "lanes: not run: no module"
	LANES_RUN=
else
	LANES_RUN=$LANES
fi
for lane in $LANES_RUN; do
	rm -f "$dbuild/lanes/$lane/result"
	lane_start[$lane]=$(now_ms)
	if [ "$lane_jobs" -eq 1 ]; then
		header "$lane: scripts/lane.sh $lane"
		run_lane "$lane" 2>&1 | tee "$out/lane-$lane.log"
		lane_secs[$lane]=$(secs "${lane_start[$lane]}")
		continue
	fi
	while [ ${#lane_pid[@]} -ge "$lane_jobs" ]; do
		lane_wait
	done
	echo "$lane: started"
	run_lane "$lane" >"$out/lane-$lane.log" 2>&1 </dev/null &
	lane_pid[$!]=$lane
done
while [ ${#lane_pid[@]} -gt 0 ]; do
	lane_wait
done
for lane in $LANES; do
	res=$dbuild/lanes/$lane/result
	if [ -z "${lane_secs[$lane]:-}" ]; then
		record FAILED "$lane" "not run: the module did not build" "0.0"
	elif [ -s "$res" ] && read -r p f s t st <"$res"; then
		record "$st" "$lane" "$p passed, $f failed, $s skipped" "$t" "$p" "$f" "$s"
	else
		record FAILED "$lane" "did not run to the end (see above)" "${lane_secs[$lane]}"
	fi
done

summary
