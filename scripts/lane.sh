#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run one test lane: boot Debian's kernel in an emulator with an
# initramfs that loads vhv.ko and runs the selftests, then judge the
# serial log.
#
#	scripts/lane.sh svm		AMD SVM on QEMU TCG (EPYC: NPT only)
#	scripts/lane.sh vmx		Intel VMX on Bochs (Skylake-X: EPT,
#					unrestricted guest)
#	scripts/lane.sh svm-strict	AMD SVM on Bochs (Zambezi: NPT, NRIP
#					save, flush-by-ASID)
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
# TESTS_DIR, VHV_TEST_TIMEOUT, VHV_INSMOD_ARGS, VHV_FUZZ_SECONDS):
#	KVER		kernel to boot (default: newest /boot/vmlinuz-*)
#	KERNEL		a bzImage to boot instead of /boot/vmlinuz-KVER (the
#			debug kernel of scripts/check-debug.sh); the module
#			must match its release (KVER, else read from KERNEL)
#	VMLINUX		the ELF vmlinux of KERNEL, for the Bochs lanes' PVH
#			boot (default: extracted from KERNEL, which then
#			must be xz-compressed)
#	LANE_TIMEOUT	seconds the whole emulator run may take (default 900)
#	LANE_MEM	guest memory in MiB (default 1024)
#	LANE_SMP	guest CPUs (default 2)
#	LANE_APPEND	extra kernel command line
#	LANE_OUT	output directory instead of $BUILD/lanes/LANE
#	QEMU_ARGS	extra QEMU arguments (svm lane), e.g. "-icount shift=0,sleep=off"
#	BOCHS_BOOT	how the Bochs lanes start the kernel: pvh (default)
#			or bzimage (see below; pvh falls back to bzimage
#			when it cannot work)
#	BOCHS_CPU	override the lane's Bochs cpu model
#	BOCHS_SHUTDOWN_WAIT seconds svm-strict waits after a triple fault with
#			no output before it takes the CPU for dead (60)
#	BOCHS_STALL_WAIT seconds without console output before a Bochs lane
#			takes the guest for hung and stops it (300; 0: never)
#	LANE_VERBOSE=1	also stream the serial console to stdout
#
# The Bochs lanes (vmx, svm-strict) use one CPU (LANE_SMP is for QEMU)
# and run headless: display "rfb" with no client (it listens on the
# first free TCP port from 5900 on, so lanes can run side by side),
# stdin /dev/null, the debugger fed "c" and "quit", LC_ALL=C.  Bochs
# exits by itself when the guest powers off (status 1 with "ACPI
# control: soft power off": taken as a normal exit) or triple faults (a
# panic, with reboot=t; on svm-strict after BOCHS_SHUTDOWN_WAIT, see
# bochs_run), and is stopped when the console stays silent for
# BOCHS_STALL_WAIT.  Their own files in $BUILD/lanes/LANE/: boot.iso,
# bochsrc, dbgrc, bochs.out (Bochs's output), bochs.log.
#
# Adding a lane: write lane_NAME_check (tools present?) and
# lane_NAME_boot KERNEL INITRD LOG (run the emulator, guest console to
# LOG, return when it exits; a "-" in NAME is a "_" in the function
# names); the rest is shared.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

lane=${1:?usage: lane.sh LANE (svm, vmx, svm-strict)}
fn=${lane//-/_}
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

# ---- Bochs: vmx and svm-strict --------------------------------------------
# Bochs has no -kernel: it boots an isolinux ISO (shared/EMULATORS.md).
# Booting the bzImage, the kernel spends ~40 s decompressing itself in
# emulation.  So by default (BOCHS_BOOT=pvh) the ISO holds the vmlinux
# instead, decompressed once on the host and cached in $BUILD/pvh/, and
# isolinux's mboot.c32 starts tools/pvhboot with the vmlinux and the
# initramfs as Multiboot modules; pvhboot loads the vmlinux and enters it
# at its PVH entry point.  BOCHS_BOOT=bzimage boots the bzImage.

BOCHS_BOOT=${BOCHS_BOOT:-pvh}
BOCHS_SHUTDOWN_WAIT=${BOCHS_SHUTDOWN_WAIT:-60}
BOCHS_STALL_WAIT=${BOCHS_STALL_WAIT:-300}
SYSLINUX_BIOS=/usr/lib/syslinux/modules/bios
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin
BOCHS_ROMS=/usr/share/bochs

# cryptomgr.notests: the crypto self-tests take ~20 s of the ~40 s to
# /init in Bochs, and vhv uses no crypto.  reboot=t: a panic ends in a
# triple fault, which ends Bochs (reset_on_triple_fault=0; svm-strict:
# after BOCHS_SHUTDOWN_WAIT, see bochs_run).  vhv_lane.sync=1: /init
# waits for the console before each test (scripts/mkinitramfs.sh).
BOCHS_APPEND="console=ttyS0,115200 panic=-1 reboot=t quiet loglevel=4 cryptomgr.notests vhv_lane.sync=1"

bochs_check()
{
	local f

	command -v bochs >/dev/null || die "bochs missing: run scripts/setup.sh"
	command -v xorriso >/dev/null || die "xorriso missing: run scripts/setup.sh"
	for f in "$ISOLINUX_BIN" "$SYSLINUX_BIOS/ldlinux.c32" \
		 "$BOCHS_ROMS/BIOS-bochs-latest" "$BOCHS_ROMS/VGABIOS-lgpl-latest"; do
		[ -r "$f" ] || die "$f missing: run scripts/setup.sh"
	done
	case $BOCHS_BOOT in
	pvh|bzimage) ;;
	*) die "BOCHS_BOOT must be pvh or bzimage" ;;
	esac
	case $BOCHS_SHUTDOWN_WAIT.$BOCHS_STALL_WAIT in
	*[!0-9.]*|.*|*.) die "BOCHS_SHUTDOWN_WAIT and BOCHS_STALL_WAIT are seconds" ;;
	esac
}

# pvh_vmlinux KERNEL: print the path of the vmlinux ELF from the bzImage
# KERNEL, extracted into $BUILD/pvh/ once (again if KERNEL or
# vmlinux-pack is newer) and shrunk by tools/pvhboot/vmlinux-pack.
# Fails (with a message) unless the payload is an xz'd ELF with a PVH
# entry point.  With VMLINUX set, that file is the ELF: it is only
# checked and shrunk, into $BUILD/pvh/vmlinux-HASH (HASH: of its path).
pvh_vmlinux()
{
	local kernel=$1 out src=$1
	local pack=$BUILD/pvhboot/vmlinux-pack

	out=$BUILD/pvh/$(basename "$kernel").vmlinux
	if [ -n "${VMLINUX:-}" ]; then
		src=$VMLINUX
		out=$BUILD/pvh/vmlinux-$(printf '%s' "$src" | sha256sum | cut -c1-12)
	fi
	if [ -s "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$pack" ]; then
		echo "$out"
		return 0
	fi
	mkdir -p "$BUILD/pvh"
	if [ -n "${VMLINUX:-}" ]; then
		cp "$src" "$out.tmp" || return 1
	else
		pvh_extract "$kernel" "$out.tmp" || return 1
	fi
	if [ "$(od -An -c -N4 "$out.tmp" | tr -d ' ')" != '177ELF' ]; then
		echo "$lane: $src: the vmlinux is not an ELF file" >&2
		rm -f "$out.tmp"
		return 1
	fi
	# XEN_ELFNOTE_PHYS32_ENTRY (18) in a "Xen" note: CONFIG_PVH=y.
	if ! LC_ALL=C readelf -n "$out.tmp" 2>/dev/null |
	     grep -E '^ +Xen ' | grep -q '(0x00000012)'; then
		echo "$lane: $src has no PVH entry point (CONFIG_PVH=n)" >&2
		rm -f "$out.tmp"
		return 1
	fi
	# Drop the trailing zeros of the segments (.bss, .brk): 63 -> 34
	# MiB for Debian's 6.1, ~2 s less for isolinux to read in Bochs.
	if "$pack" "$out.tmp" "$out.packed"; then
		mv "$out.packed" "$out.tmp"
	else
		echo "$lane: vmlinux-pack failed: using the whole vmlinux" >&2
		rm -f "$out.packed"
	fi
	mv "$out.tmp" "$out"
	echo "$lane: extracted $out ($(($(stat -c %s "$out") >> 20)) MiB)" >&2
	echo "$out"
}

# pvh_extract KERNEL OUT: the xz'd payload of the bzImage KERNEL,
# decompressed into OUT.
pvh_extract()
{
	local kernel=$1 out=$2 setup_sects payload_off off magic

	# The setup header (Documentation/x86/boot.rst): setup_sects at
	# 0x1f1 (0 means 4) and payload_offset at 0x248, counted from the
	# protected-mode code that follows the (setup_sects + 1) sectors.
	setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$kernel" | tr -d ' ')
	payload_off=$(od -An -tu4 -j $((0x248)) -N4 "$kernel" | tr -d ' ')
	if [ -z "$setup_sects" ] || [ -z "$payload_off" ]; then
		echo "$lane: $kernel is not a bzImage" >&2
		return 1
	fi
	[ "$setup_sects" -ne 0 ] || setup_sects=4
	off=$(((setup_sects + 1) * 512 + payload_off))
	magic=$(od -An -tx1 -j "$off" -N6 "$kernel" | tr -d ' ')
	if [ "$magic" != fd377a585a00 ]; then
		# Not where the header says: search for the xz magic.
		off=$(LC_ALL=C grep -obUaP -m1 '\xfd7zXZ\x00' "$kernel" |
		      head -n 1 | cut -d: -f1)
		[ -n "$off" ] ||
			{ echo "$lane: no xz payload in $kernel" >&2; return 1; }
	fi
	# --single-stream: the bzImage goes on after the payload.
	tail -c +$((off + 1)) "$kernel" | xz -dc --single-stream >"$out" 2>/dev/null
	if [ "$(od -An -c -N4 "$out" | tr -d ' ')" != '177ELF' ]; then
		echo "$lane: the xz payload of $kernel is not an ELF file" >&2
		rm -f "$out"
		return 1
	fi
}

# pvh_load_range ELF: the lowest physical address of its PT_LOAD
# segments and the end of the highest, in decimal.
pvh_load_range()
{
	local type pa msz lo="" hi=0

	# Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
	while read -r type _ _ pa _ msz _; do
		[ "$type" = LOAD ] || continue
		[ -n "$lo" ] && [ $((pa)) -ge "$lo" ] || lo=$((pa))
		[ $((pa + msz)) -le "$hi" ] || hi=$((pa + msz))
	done < <(LC_ALL=C readelf -lW "$1" 2>/dev/null)
	[ -n "$lo" ] && echo "$lo $hi"
}

# pvh_prepare KERNEL: build pvhboot and vmlinux-pack into $BUILD/pvhboot/,
# print the cached vmlinux and the pvhboot.elf to boot it with (two
# lines).  pvhboot is linked at PVHBOOT_ADDR (tools/pvhboot/Makefile),
# above Debian's kernel; a bigger kernel (the debug kernel: KASAN,
# lockdep) gets one linked 16 to 32 MiB above its end, in
# $BUILD/pvhboot-ADDR/.  Lanes running side by side share these: one
# prepares, the others wait for it.
pvh_prepare()
{
	local kernel=$1 vmlinux end addr

	mkdir -p "$BUILD/pvh"
	{
		flock 9 &&
		make -s -C "$ROOT/tools/pvhboot" O="$BUILD/pvhboot" >&2 &&
		vmlinux=$(pvh_vmlinux "$kernel") &&
		read -r _ end < <(pvh_load_range "$vmlinux") &&
		read -r addr _ < <(pvh_load_range "$BUILD/pvhboot/pvhboot.elf") &&
		if [ "$end" -le "$addr" ]; then
			printf '%s\n%s\n' "$vmlinux" "$BUILD/pvhboot/pvhboot.elf"
		else
			addr=$(printf '0x%x' $(((end + (32 << 20) - 1) >> 24 << 24)))
			make -s -C "$ROOT/tools/pvhboot" O="$BUILD/pvhboot-$addr" \
				PVHBOOT_ADDR="$addr" >&2 &&
			printf '%s\n%s\n' "$vmlinux" "$BUILD/pvhboot-$addr/pvhboot.elf"
		fi
	} 9>"$BUILD/pvh/.lock"
}

# bochs_iso KERNEL INITRD ISO: the boot CD (pvh or bzimage boot).
bochs_iso()
{
	local kernel=$1 initrd=$2 iso=$3 stage vmlinux="" pvhboot="" cfg graft=()

	if [ "$BOCHS_BOOT" = pvh ]; then
		{ read -r vmlinux && read -r pvhboot; } < <(pvh_prepare "$kernel") || true
		if [ -z "$vmlinux" ] || [ ! -s "$pvhboot" ]; then
			echo "$lane: cannot boot through pvhboot: booting the bzImage (~40 s slower)"
			vmlinux=
		fi
	fi

	stage=$(dirname "$iso")/iso
	rm -rf "$stage"
	mkdir -p "$stage/isolinux"
	cp "$ISOLINUX_BIN" "$SYSLINUX_BIOS/ldlinux.c32" "$stage/isolinux/"
	cfg=$stage/isolinux/isolinux.cfg
	printf 'SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n' >"$cfg"
	if [ -n "$vmlinux" ]; then
		# pvhboot takes the module that is an ELF file for the
		# vmlinux, the other one for the initramfs.
		cp "$SYSLINUX_BIOS/mboot.c32" "$SYSLINUX_BIOS/libcom32.c32" "$stage/isolinux/"
		printf '  KERNEL mboot.c32\n  APPEND /pvhboot %s --- /vmlinux --- /initrd.cpio\n' \
			"$BOCHS_APPEND $LANE_APPEND" >>"$cfg"
		graft=("/pvhboot=$pvhboot" "/vmlinux=$vmlinux")
	else
		printf '  KERNEL /vmlinuz\n  APPEND initrd=/initrd.cpio %s\n' \
			"$BOCHS_APPEND $LANE_APPEND" >>"$cfg"
		graft=("/vmlinuz=$kernel")
	fi
	graft+=("/initrd.cpio=$initrd" "/=$stage")
	if ! xorriso -as mkisofs -quiet -o "$iso" -graft-points \
		-b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table \
		"${graft[@]}" >"$dir/xorriso.log" 2>&1; then
		cat "$dir/xorriso.log" >&2
		return 1
	fi
}

# bochs_watch PID LOG: stop Bochs (PID: its timeout) when the guest is
# stuck: its console (LOG) and the triple-fault count in bochs.log have
# not moved for BOCHS_SHUTDOWN_WAIT s after a triple fault (svm-strict:
# after the host's own, the CPU sits in shutdown), or for
# BOCHS_STALL_WAIT s at all.  Guest
# time runs 3-20 times slower than wall time in Bochs, so a hung test
# would outlast LANE_TIMEOUT before the guest's VHV_TEST_TIMEOUT fires.
bochs_watch()
{
	local pid=$1 log=$2 faults=0 size=-1 n sz since=$SECONDS quiet

	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		n=$(grep -c 'exception with no resolution' "$dir/bochs.log" 2>/dev/null)
		sz=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "${n:-0}" != "$faults" ] || [ "$sz" != "$size" ]; then
			faults=${n:-0}
			size=$sz
			since=$SECONDS
			continue
		fi
		quiet=$((SECONDS - since))
		if [ "$faults" -gt 0 ] && [ "$quiet" -ge "$BOCHS_SHUTDOWN_WAIT" ]; then
			echo "bochs: no console output for $quiet s after a triple fault (the CPU in shutdown, or the guest hung): stopped" >>"$dir/emulator.log"
		elif [ "$BOCHS_STALL_WAIT" -gt 0 ] && [ "$quiet" -ge "$BOCHS_STALL_WAIT" ]; then
			echo "bochs: no console output for $quiet s (BOCHS_STALL_WAIT), the guest looks hung: stopped" >>"$dir/emulator.log"
		else
			continue
		fi
		kill "$pid" 2>/dev/null
		return
	done
}

# bochs_run MODEL vmx|svm KERNEL INITRD LOG
bochs_run()
{
	local model=${BOCHS_CPU:-$1} kind=$2 kernel=$3 initrd=$4 log=$5
	local panic="action=fatal" pid wpid rc msg n

	# The CD gets the initramfs uncompressed: mboot.c32 would gunzip
	# it (~8 s in Bochs for 7 MiB) before the kernel does it again.
	gzip -dc "$initrd" >"$dir/initramfs.cpio" ||
		{ echo "$lane: cannot gunzip $initrd" >&2; return 1; }
	bochs_iso "$kernel" "$dir/initramfs.cpio" "$dir/boot.iso" ||
		{ echo "$lane: cannot build $dir/boot.iso" >&2; return 1; }
	# A triple fault in a guest must reach the hypervisor: an SVM
	# SHUTDOWN intercept, a VMX triple-fault exit.  Bochs 2.7 makes the
	# VMX exit before it reports the triple fault as a panic (which,
	# fatal, ends Bochs), but the SVM #VMEXIT only after it: for SVM
	# the CPU's panics are only reported, and the debugger, which each
	# triple fault stops in, is told to go on ("c").  A triple fault of
	# the host then leaves the CPU in shutdown, which bochs_watch ends.
	printf 'c\n' >"$dir/dbgrc"
	if [ "$kind" = svm ]; then
		panic="action=fatal, cpu0=report"
		for n in $(seq 1000); do
			printf 'c\n'
		done >>"$dir/dbgrc"
	fi
	printf 'quit\n' >>"$dir/dbgrc"
	cat >"$dir/bochsrc" <<-EOF
	# Generated by scripts/lane.sh $lane
	megs: $LANE_MEM
	cpu: model=$model, count=1, ips=200000000, reset_on_triple_fault=0, ignore_bad_msrs=1
	romimage: file=$BOCHS_ROMS/BIOS-bochs-latest
	vgaromimage: file=$BOCHS_ROMS/VGABIOS-lgpl-latest
	pci: enabled=1, chipset=i440fx
	ata0-master: type=cdrom, path=$dir/boot.iso, status=inserted
	boot: cdrom
	display_library: rfb, options="timeout=0"
	com1: enabled=1, mode=file, dev=$log
	clock: sync=none, time0=local
	log: $dir/bochs.log
	panic: $panic
	error: action=ignore
	info: action=ignore
	debug: action=ignore
	EOF
	rm -f "$dir/bochs.log"
	# LC_ALL=C: Debian's Bochs 2.7 aborts at startup ("buffer overflow
	# detected") under a UTF-8 locale.
	timeout -k 10 "$LANE_TIMEOUT" env LC_ALL=C LANG=C \
		bochs -q -f "$dir/bochsrc" -rc "$dir/dbgrc" \
		</dev/null >"$dir/bochs.out" 2>&1 &
	pid=$!
	bochs_watch "$pid" "$log" &
	wpid=$!
	wait "$pid"
	rc=$?
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	n=$(grep -c 'exception with no resolution' "$dir/bochs.log" 2>/dev/null)
	if [ "$kind" = svm ] && [ "${n:-0}" -gt 0 ]; then
		echo "bochs: $n triple fault(s) (a guest's go to its SHUTDOWN intercept)" >>"$dir/emulator.log"
	fi
	msg=$(sed -n '/Bochs is exiting with the following message:/{n;p;q}' \
		"$dir/bochs.out" | sed 's/^ *//')
	if [ $rc -eq 1 ] && [[ "$msg" == *"ACPI control: soft power off"* ]]; then
		return 0
	fi
	[ -z "$msg" ] || echo "bochs: $msg" >>"$dir/emulator.log"
	[ $rc -ne 134 ] || tail -n 3 "$dir/bochs.out" >>"$dir/emulator.log"
	return $rc
}

lane_vmx_check()
{
	bochs_check
}

lane_vmx_boot()
{
	bochs_run corei7_skylake_x vmx "$@"
}

lane_svm_strict_check()
{
	bochs_check
}

lane_svm_strict_boot()
{
	bochs_run zambezi svm "$@"
}

# ---- shared ---------------------------------------------------------------

# bzimage_release BZIMAGE: the kernel release (`uname -r`) from the setup
# header's kernel_version string (Documentation/x86/boot.rst).
bzimage_release()
{
	local off rel

	off=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	rel=$(tail -c +$((off + 0x200 + 1)) "$1" | head -c 256 | tr '\0' '\n' |
	      head -n 1 | cut -d' ' -f1)
	[ -n "$rel" ] && echo "$rel"
}

declare -F "lane_${fn}_boot" >/dev/null ||
	die "unknown lane '$lane' (known: svm, vmx, svm-strict)"
"lane_${fn}_check"

if [ -n "${KERNEL:-}" ]; then
	kernel=$KERNEL
	[ -r "$kernel" ] || die "cannot read KERNEL=$kernel"
	kver=${KVER:-$(bzimage_release "$kernel")} ||
		die "$kernel: no release string in its header: set KVER"
	if [ -n "${VMLINUX:-}" ] && [ ! -r "$VMLINUX" ]; then
		die "cannot read VMLINUX=$VMLINUX"
	fi
else
	kver=$(vhv_kver) || die "no /boot/vmlinuz-*: run scripts/setup.sh"
	kernel=/boot/vmlinuz-$kver
	[ -r "$kernel" ] || die "cannot read $kernel"
fi
ko=$(vhv_ko) || die "no module: run 'make module' or set VHV_KO"
vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1 || true)
if [ -n "$vermagic" ] && [ "$vermagic" != "$kver" ]; then
	[ -n "${KERNEL:-}" ] ||
		die "$ko is built for $vermagic but the lane boots $kver (make module KDIR=/usr/src/linux-headers-$kver)"
	die "$ko is built for $vermagic but the lane boots $kernel, $kver"
fi

dir=${LANE_OUT:-$BUILD/lanes/$lane}
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
"lane_${fn}_boot" "$kernel" "$dir/initramfs.cpio.gz" "$dir/serial.log"
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
elif [ $rc -eq 143 ] && ! grep -q 'stopped$' "$dir/emulator.log" 2>/dev/null; then
	echo "$lane: emulator killed by a SIGTERM from outside the lane (judging by the log)"
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
