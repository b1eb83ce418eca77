#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once, the debug kernel that `make check-debug` boots: Debian's
# linux-source-6.1, `make ARCH=x86_64 tinyconfig` plus scripts/debug-kernel.config
# (KASAN, lockdep, kmemleak, UBSAN, DEBUG_LIST, ...), then olddefconfig.
#
#	scripts/debug-kernel.sh		build it unless cached; print its directory
#	scripts/debug-kernel.sh --dir	print the directory, build nothing
#					(exit 1 when it is not built yet)
#
# The kernel is cached outside the repository, keyed by the source
# package's version and a hash of the config fragment (and of the recipe
# below), so that later runs, and every worktree, reuse it:
#
#	$DEBUG_KERNEL_CACHE/VERSION-HASH/
#		bzImage		the kernel QEMU boots
#		vmlinux		the same kernel as an ELF file (symbols, no
#				DWARF): the Bochs lanes boot it through
#				tools/pvhboot; addr2line/nm for reports
#		config		its .config
#		kernel.release	its `uname -r` (6.1.N-vhv-debug)
#		linux/		the source and build tree: the KDIR that
#				vhv.ko is built against
#		build.log	the output of the configuration and the build
#		done		written last: release, build seconds, date
#
# The source gets one change, so that the kernel boots at its PVH entry
# point with KASAN (the Bochs lanes do; see "PVH" below).
#
# An interrupted build is resumed (make is incremental) by the next run;
# concurrent runs wait for each other (flock).  Everything comes from
# Debian packages: linux-source-6.1 and the build dependencies, which
# `scripts/setup.sh --debug-kernel` installs.  The build runs as
# `nice -n $DEBUG_KERNEL_NICE make -j$DEBUG_KERNEL_JOBS` (19 and 2): the
# machines that run it have 2 CPUs shared with other test runs.  It takes
# about 6 minutes on 2 idle CPUs (much longer when they are shared); the
# tree takes 1.8 GB.
#
# Environment:
#	DEBUG_KERNEL_CACHE	cache root (default:
#				${XDG_CACHE_HOME:-$HOME/.cache}/vhv/debug-kernel)
#	DEBUG_KERNEL_JOBS	make -j (default 2)
#	DEBUG_KERNEL_NICE	niceness of the build (default 19)
#	DEBUG_KERNEL_SOURCE	the source tarball (default
#				/usr/src/linux-source-6.1.tar.xz)
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

FRAGMENT=$SCRIPTS/debug-kernel.config
SOURCE=${DEBUG_KERNEL_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
SOURCE_PKG=linux-source-6.1
CACHE=${DEBUG_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vhv/debug-kernel}
JOBS=${DEBUG_KERNEL_JOBS:-2}
NICE=${DEBUG_KERNEL_NICE:-19}
# How the tree is prepared (see the PVH fix below), how the config is
# made and what is built.  Part of the cache key: change this string
# whenever any of that changes, and a new kernel gets built, as for a
# change of the fragment.
RECIPE="ARCH=x86_64 tinyconfig + debug-kernel.config, olddefconfig; make all (vmlinux bzImage modules)"

mode=build
case ${1:-} in
'') ;;
--dir) mode=dir ;;
*) die "usage: debug-kernel.sh [--dir]" ;;
esac

log()
{
	echo "debug-kernel: $*" >&2
}

[ -r "$FRAGMENT" ] || die "no $FRAGMENT"
version=$(dpkg-query -W -f='${Version}' "$SOURCE_PKG" 2>/dev/null) || version=
if [ -z "$version" ] || [ ! -r "$SOURCE" ]; then
	die "$SOURCE_PKG is not installed: run scripts/setup.sh --debug-kernel"
fi
hash=$( { cat "$FRAGMENT"; echo "$RECIPE"; } | sha256sum | cut -c1-12)
dir=$CACHE/$version-$hash
tree=$dir/linux

if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi
[ "$mode" = build ] || exit 1

mkdir -p "$dir" || die "cannot create $dir"
exec 9>"$dir.lock"
if ! flock -n 9; then
	log "another run is building $dir: waiting for it"
	flock 9
fi
if [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi

# The outer make's jobserver (make check-debug) must not reach the
# kernel's make, which gets its own -j.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
t0=$(now_ms)
blog=$dir/build.log

if [ ! -f "$tree/.vhv-extracted" ]; then
	log "extracting $SOURCE ($version) into $tree"
	rm -rf "${tree:?}" "${dir:?}/$SOURCE_PKG"
	tar -C "$dir" -xJf "$SOURCE" || die "cannot extract $SOURCE"
	mv "$dir/$SOURCE_PKG" "$tree" || die "no $SOURCE_PKG/ in $SOURCE"
	touch "$tree/.vhv-extracted"
fi

# The one change to Debian's source.  The Bochs lanes enter the kernel
# at its PVH entry point (tools/pvhboot), whose C part, xen_prepare_pvh()
# in arch/x86/platform/pvh/enlighten.c, runs before the KASAN shadow is
# mapped: instrumented, its first stack access (a redzone store)
# triple-faults, and so does its call of the instrumented memcmp() (to
# look for Xen's CPUID signature).  Build it uninstrumented, like the
# other early boot code (arch/x86/kernel/head64.c), and skip the Xen
# check in this kernel without Xen.
pvh=$tree/arch/x86/platform/pvh
if [ ! -f "$tree/.vhv-patched" ]; then
	if ! { sed -i 's/^\tu32 msr = xen_cpuid_base();$/\tu32 msr = IS_ENABLED(CONFIG_XEN) ? xen_cpuid_base() : 0;/' \
		"$pvh/enlighten.c" &&
	       grep -q 'IS_ENABLED(CONFIG_XEN) ? xen_cpuid_base()' "$pvh/enlighten.c" &&
	       printf '%s\n' '' '# vhv debug kernel: runs before the KASAN shadow exists.' \
		'KASAN_SANITIZE := n' 'UBSAN_SANITIZE := n' >>"$pvh/Makefile"; }; then
		die "cannot patch $pvh (has the source changed?)"
	fi
	touch "$tree/.vhv-patched"
fi

if [ ! -f "$tree/.vhv-configured" ]; then
	log "configuring: tinyconfig + ${FRAGMENT#"$ROOT"/}"
	{
		# ARCH=x86_64: a 64-bit tinyconfig (plain x86 gives a 32-bit
		# one, whose values, such as FRAME_WARN, the merge keeps).
		make -C "$tree" ARCH=x86_64 tinyconfig &&
		"$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" \
			"$tree/.config" "$FRAGMENT" &&
		make -C "$tree" olddefconfig
	} >"$blog" 2>&1 || { tail -n 20 "$blog" >&2; die "configuration failed (log: $blog)"; }
	# Every option the fragment sets must be in the result: an option
	# dropped for a missing dependency would silently lose a check.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			opt=${line%%=*}
			grep -qxF -- "$line" "$tree/.config" && continue
			;;
		'# CONFIG_'*' is not set')
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$tree/.config" || continue
			;;
		*)
			continue
			;;
		esac
		log "the config lost '$line' (have: $(grep -E "^(# )?${opt}[= ]" "$tree/.config" || echo nothing))"
		bad=1
	done <"$FRAGMENT"
	[ $bad -eq 0 ] || die "${FRAGMENT#"$ROOT"/} does not apply: fix it"
	touch "$tree/.vhv-configured"
fi

log "building in $tree"
log "nice -n $NICE make -j$JOBS (log: $blog); this takes a while"
nice -n "$NICE" make -C "$tree" -j"$JOBS" all >>"$blog" 2>&1 &
pid=$!
# A progress line every 5 minutes: the build is silent otherwise.
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 60); do
		sleep 5
		kill -0 "$pid" 2>/dev/null || break 2
	done
	log "still building ($(($(now_ms) / 1000 - t0 / 1000)) s): $(grep -c '^  CC ' "$blog") files compiled"
done
wait "$pid"
rc=$?
if [ $rc -ne 0 ]; then
	grep -E 'error|Error' "$blog" | tail -n 20 >&2
	die "the kernel build failed (status $rc; log: $blog)"
fi

if ! { cp "$tree/arch/x86/boot/bzImage" "$dir/bzImage.tmp" &&
       mv "$dir/bzImage.tmp" "$dir/bzImage" &&
       cp "$tree/vmlinux" "$dir/vmlinux.tmp" &&
       mv "$dir/vmlinux.tmp" "$dir/vmlinux" &&
       cp "$tree/.config" "$dir/config" &&
       cp "$tree/include/config/kernel.release" "$dir/kernel.release"; }; then
	die "cannot copy the kernel into $dir"
fi
t=$(secs "$t0")
echo "$(cat "$dir/kernel.release") built in $t s on $(date -u +%F), $(du -sh "$tree" | cut -f1) tree" >"$dir/done"
log "done: $(cat "$dir/done")"
echo "$dir"
