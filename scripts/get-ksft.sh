#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract the kselftest harness headers (and checkpatch) from Debian's
# linux-source tarball into $1.
set -eu
out=${1:?usage: get-ksft.sh OUTDIR}
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
[ -n "$tarball" ] || { echo "get-ksft: no linux-source tarball; run scripts/setup.sh" >&2; exit 1; }
top=$(basename "$tarball" .tar.xz)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$tarball" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
mkdir -p "$out"
cp "$tmp/$top/tools/testing/selftests/kselftest_harness.h" \
   "$tmp/$top/tools/testing/selftests/kselftest.h" \
   "$tmp/$top/scripts/checkpatch.pl" \
   "$tmp/$top/scripts/spelling.txt" \
   "$tmp/$top/scripts/const_structs.checkpatch" "$out/"
