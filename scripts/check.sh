#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: everything that must pass before a change lands.
#
#	setup       scripts/setup.sh (Debian packages)
#	module      make module W=1; any "warning:" fails
#	selftests   make selftests unit
#	unit        the userspace unit tests, on the host (scripts/unit.sh)
#	checkpatch  scripts/checkpatch.sh
#	svm         the SVM lane: QEMU TCG (scripts/lane.sh svm)
#	vmx         the VMX lane: Bochs, Skylake-X (scripts/lane.sh vmx)
#	svm-strict  the strict SVM lane: Bochs, Zambezi (scripts/lane.sh svm-strict)
#
# Every part runs even when an earlier one failed (the lane needs a
# module, though).  The summary has one line per part and ends with
#	N passed, N failed, N skipped
# totalled over the unit tests and the lanes; a part that failed without
# a failing test (a build, checkpatch, a lane's insmod or dmesg) adds 1
# to "failed".  Exit status 1 if anything failed.  Logs: build/check/.
#
# The lanes run side by side, LANE_JOBS at a time (default: one per CPU;
# LANE_VERBOSE=1 makes it 1).
#
# Environment: LANES (default "svm vmx svm-strict"); LANE_JOBS; KVER
# (kernel the lanes boot and the module is built for; default: newest
# /boot/vmlinuz-*); VHV_KO,
# TESTS_DIR, VHV_TEST_TIMEOUT, VHV_INSMOD_ARGS (scripts/mkinitramfs.sh;
# with VHV_KO set the lanes run even if the module did not build);
# UNIT_DIR, UNIT_TIMEOUT (scripts/unit.sh); LANE_*, QEMU_ARGS, BOCHS_*
# (scripts/lane.sh).
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$ROOT" || exit 1
LANES=${LANES:-svm vmx svm-strict}
out=$BUILD/check
mkdir -p "$out"




# ---- setup
header "setup: scripts/setup.sh"
t0=$(now_ms)
if "$SCRIPTS/setup.sh" 2>&1 | tee "$out/setup.log"; then
	record ok setup "$(tail -n 1 "$out/setup.log" | sed 's/^setup: //')" "$(secs "$t0")"
else
	record FAILED setup "scripts/setup.sh failed" "$(secs "$t0")"
fi

# The lanes boot /boot/vmlinuz-$KVER: build the module for that kernel.
kver=$(vhv_kver) || kver=
kdir=()
if [ -n "$kver" ] && [ -d "/usr/src/linux-headers-$kver" ]; then
	kdir=(KDIR="/usr/src/linux-headers-$kver")
fi

# ---- module
header "module: make -B module W=1 ${kdir[*]}"
t0=$(now_ms)
module_ok=0
# -B: recompile every object, so that warnings show on every run.
make -B -j"$(nproc)" module W=1 "${kdir[@]}" 2>&1 | tee "$out/module.log"
rc=${PIPESTATUS[0]}
nwarn=$(grep -ci 'warning:' "$out/module.log")
if [ "$rc" -ne 0 ]; then
	record FAILED module "make module W=1 failed (status $rc)" "$(secs "$t0")"
elif [ "$nwarn" -gt 0 ]; then
	module_ok=1
	echo "module: $nwarn warning(s):"
	grep -i 'warning:' "$out/module.log"
	record FAILED module "$nwarn warning(s) with W=1" "$(secs "$t0")"
else
	module_ok=1
	record ok module "W=1, no warnings" "$(secs "$t0")"
fi

# ---- selftests and unit tests
header "selftests: make selftests unit"
t0=$(now_ms)
make -j"$(nproc)" selftests unit 2>&1 | tee "$out/selftests.log"
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then
	record ok selftests "built" "$(secs "$t0")"
else
	record FAILED selftests "make selftests unit failed (status $rc)" "$(secs "$t0")"
fi

header "unit: scripts/unit.sh (on the host)"
t0=$(now_ms)
"$SCRIPTS/unit.sh"
record_tests unit "$out/unit.result" "$(secs "$t0")"

# ---- checkpatch
header "checkpatch: scripts/checkpatch.sh"
t0=$(now_ms)
"$SCRIPTS/checkpatch.sh" 2>&1 | tee "$out/checkpatch.out"
rc=${PIPESTATUS[0]}
verdict=$(tail -n 1 "$out/checkpatch.out" | sed 's/^checkpatch: //')
if [ "$rc" -eq 0 ]; then
	record ok checkpatch "$verdict" "$(secs "$t0")"
else
	record FAILED checkpatch "${verdict#FAILED: }" "$(secs "$t0")"
fi

# ---- lanes
# The lanes run LANE_JOBS at a time (default: one per CPU), each into
# $out/lane-LANE.log, which is shown when the lane ends; the summary
# lists them in LANES order.  The Bochs lanes count time in guest
# instructions, so sharing the CPUs does not change what they see.
lane_jobs=${LANE_JOBS:-$(nproc)}
[ "${LANE_VERBOSE:-0}" != 1 ] || lane_jobs=1	# one console at a time
case $lane_jobs in
''|*[!0-9]*|0) echo "check: LANE_JOBS must be a positive number" >&2; lane_jobs=1 ;;
esac
lanes_run=()
declare -A lane_pid=() lane_start=() lane_secs=()

# lane_wait: wait for one running lane to end and show its output.

if [ "$lane_jobs" -gt 1 ]; then
	header "lanes: $LANES ($lane_jobs at a time; each one's output when it ends)"
fi
for lane in $LANES; do
	if [ $module_ok -ne 1 ] && [ -z "${VHV_KO:-}" ]; then
		header "$lane: scripts/lane.sh $lane"
		echo "$lane: not run: no module"
		continue
	fi
	rm -f "$BUILD/lanes/$lane/result"
	lanes_run+=("$lane")
	lane_start[$lane]=$(now_ms)
	if [ "$lane_jobs" -eq 1 ]; then
		header "$lane: scripts/lane.sh $lane"
		"$SCRIPTS/lane.sh" "$lane" 2>&1 | tee "$out/lane-$lane.log"
		lane_secs[$lane]=$(secs "${lane_start[$lane]}")
		continue
	fi
	while [ ${#lane_pid[@]} -ge "$lane_jobs" ]; do
		lane_wait
	done
	echo "$lane: started"
	"$SCRIPTS/lane.sh" "$lane" >"$out/lane-$lane.log" 2>&1 </dev/null &
	lane_pid[$!]=$lane
done
while [ ${#lane_pid[@]} -gt 0 ]; do
	lane_wait
done
for lane in $LANES; do
	if [ -n "${lane_secs[$lane]:-}" ]; then
		record_tests "$lane" "$BUILD/lanes/$lane/result" "${lane_secs[$lane]}"
	else
		record FAILED "$lane" "not run: the module did not build" "0.0"
	fi
done
if [ ${#lanes_run[@]} -gt 1 ]; then
	echo
	echo "lanes: ${lanes_run[*]} took $(secs "${lane_start[${lanes_run[0]}]}") s ($lane_jobs at a time)"
fi

# ---- summary
echo
echo "============================== vhv check summary =============================="
for p in "${parts[@]}"; do
	IFS='|' read -r st name detail t <<<"$p"
	printf '  %-7s %-11s %-52s %7s s\n' "$st" "$name" "$detail" "$t"
done
echo "==============================================================================="
if [ $failed_parts -gt 0 ]; then
	echo "check: FAILED ($failed_parts of ${#parts[@]} parts; logs in $out and $BUILD/lanes)"
else
	echo "check: all ${#parts[@]} parts ok"
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ $failed_parts -eq 0 ]
