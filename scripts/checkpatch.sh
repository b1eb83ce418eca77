#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's checkpatch.pl (from Debian's linux-source, extracted
# by scripts/get-ksft.sh) over every .c, .h and .S file of src/,
# include/, uapi/ and selftests/, with --strict.  Any ERROR, WARNING or
# CHECK fails.  The last line printed is the verdict.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

ksft=$BUILD/ksft
[ -f "$ksft/checkpatch.pl" ] || "$SCRIPTS/get-ksft.sh" "$ksft"

opts=(--no-tree -f --strict --quiet --show-types --color=never)

# Kernel code (src/, include/): no ignores.  checkpatch's checks that
# need a kernel tree (MAINTAINERS, compatible strings, ...) are already
# off with --no-tree, and -f skips the patch-only ones.
kernel_ignore=()

# uapi/: these headers are copied to userspace, which has no BIT() or
# BIT_ULL() (include/vdso/bits.h is not uapi), so (1U << n) is right.
uapi_ignore=(BIT_MACRO)

# selftests/: userspace programs.  They get <stdint.h> types, not u32
# (PREFER_KERNEL_TYPES), and have none of the kernel's helpers that
# checkpatch points to: BIT() (BIT_MACRO), __packed/__aligned/__printf
# (PREFER_DEFINED_ATTRIBUTE_MACRO), kstrto*() (SSCANF_TO_KSTRTO).  The
# ELF types of <elf.h> are CamelCase (CAMELCASE); test macros evaluate
# their arguments more than once by design, as KVM's selftests do
# (MACRO_ARG_REUSE), and some expand to guest code (COMPLEX_MACRO).
selftests_ignore=(PREFER_KERNEL_TYPES BIT_MACRO PREFER_DEFINED_ATTRIBUTE_MACRO
		  SSCANF_TO_KSTRTO CAMELCASE MACRO_ARG_REUSE COMPLEX_MACRO)

log=$BUILD/check/checkpatch.log
mkdir -p "$(dirname "$log")"
: >"$log"
nfiles=0

# checkpatch --strict writes a CamelCase cache (.checkpatch-camelcase.*)
# into its working directory: run it from a directory of links to the
# source, so that nothing lands in the source tree.
cwd=$BUILD/check/checkpatch-root
rm -rf "$cwd"
mkdir -p "$cwd"
for d in src include uapi selftests .git; do
	[ -e "$ROOT/$d" ] && ln -s "$ROOT/$d" "$cwd/$d"
done

# run IGNORES... -- DIR...
run()
{
	local ign=() files=()

	while [ "$1" != -- ]; do
		ign+=("$1")
		shift
	done
	shift
	mapfile -d '' files < <(cd "$ROOT" &&
		find "$@" -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \) \
		-print0 2>/dev/null | LC_ALL=C sort -z)
	[ ${#files[@]} -gt 0 ] || return 0
	nfiles=$((nfiles + ${#files[@]}))
	local ignopt=()
	[ ${#ign[@]} -eq 0 ] || ignopt=(--ignore "$(IFS=,; echo "${ign[*]}")")
	(cd "$cwd" && perl "$ksft/checkpatch.pl" "${opts[@]}" "${ignopt[@]}" \
		"${files[@]}") >>"$log" 2>&1 || true
}

run "${kernel_ignore[@]}" -- src include
run "${uapi_ignore[@]}" -- uapi
run "${selftests_ignore[@]}" -- selftests

# --quiet still prints a "total:" line for each file with problems.
grep -v -e '^total: ' -e '^NOTE: ' "$log" | cat -s || true

errors=$(grep -c '^ERROR:' "$log" || true)
warnings=$(grep -c '^WARNING:' "$log" || true)
checks=$(grep -c '^CHECK:' "$log" || true)
bad=$( (grep -o 'FILE: [^:]*' "$log" || true) | sort -u | wc -l)
if [ $((errors + warnings + checks)) -eq 0 ]; then
	if grep -q . "$log"; then
		echo "checkpatch: FAILED: unexpected output (log: $log)"
		exit 1
	fi
	echo "checkpatch: clean ($nfiles files)"
	exit 0
fi
echo "checkpatch: FAILED: $errors errors, $warnings warnings, $checks checks in $bad of $nfiles files"
exit 1
