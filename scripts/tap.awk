# SPDX-License-Identifier: GPL-2.0
#
# Count the TAP results of a test log and find what went wrong.
#
#	awk -v lane=1 -f scripts/tap.awk build/lanes/svm/serial.log
#
# The log is a guest's serial console (lane=1) or the output of the host
# unit tests (lane=0).  Marker lines (written by the /init that
# scripts/mkinitramfs.sh generates, and by scripts/unit.sh):
#
#	VHV-LANE: start ...			guest /init is running
#	VHV-LANE: insmod ok | insmod FAILED ...
#	VHV-LANE: test-begin NAME		a test binary starts
#	VHV-LANE: test-end NAME rc=N secs=S	it exited with status N
#	VHV-LANE: rmmod ok | rmmod FAILED ...
#	VHV-LANE: kmemleak-clear ok | FAILED ...  (kmemleak kernels only)
#	VHV-LANE: kmemleak-begin		a kmemleak scan's report follows
#	VHV-LANE: kmemleak-end ok | FAILED ...	its end
#	VHV-LANE: dmesg-begin / dmesg-end	the guest's full dmesg
#	VHV-LANE: end				about to power off
#
# Only TAP lines between test-begin and test-end count, at column 0:
# "ok N ..." passes, "ok N ... # SKIP ..." is skipped, "not ok N ..."
# fails ("not ok ... # SKIP" or "# TODO" is skipped), "Bail out!" fails.
# A binary also gets one failure if it exits with a status other than
# 0 or 4 (KSFT_SKIP) without a "not ok", if it prints fewer results than
# its plan "1..N" says, or if it never finishes.  A binary that prints
# no TAP at all counts as one result: passed (status 0), skipped
# (status 4 or plan "1..0") or failed (anything else).
#
# Every "unreferenced object" in the kmemleak report is a leak: a
# PROBLEM, with the report's first lines as DMESG lines.
#
# Output, one item a line:
#	BINARY <per-binary summary>
#	TESTFAIL <binary>: <failing TAP line or reason>
#	PROBLEM <lane problem>		(lane=1 only)
#	DMESG <offending dmesg line>	(lane=1 only)
#	COUNTS <passed> <failed> <skipped>

function directive(line, word)
{
	# A TAP directive follows an unescaped '#': "ok 3 name # SKIP why".
	return match(line, "#[ \t]*" word) > 0
}

function finish(how,    n, why, st)
{
	n = p + f + s
	if (how != "") {
		f++
		why = how
	} else if (n == 0) {
		if (rc == 4 || plan_skip)
			s = 1
		else if (rc == 0)
			p = 1
		else {
			f = 1
			why = "exited with status " rc " and printed no TAP results"
		}
	} else if (rc != 0 && rc != 4 && f == 0) {
		f++
		if (rc == 124 || rc == 143 || rc == 137)
			why = "timed out or killed (status " rc ")"
		else if (rc > 128)
			why = "killed by signal " (rc - 128) " (status " rc ")"
		else
			why = "exited with status " rc " but reported no failure"
	} else if (plan > n) {
		f++
		why = "printed " n " of the " plan " planned results"
	}
	if (why != "")
		print "TESTFAIL " cur ": " why
	st = how != "" ? "did not finish" : "status " rc
	printf "BINARY %-28s %3d passed, %d failed, %d skipped (%s, %s s)\n",
	       cur, p, f, s, st, secs
	tp += p; tf += f; ts += s
	cur = ""
}

function bad_dmesg(line)
{
	if (line ~ /loading out-of-tree module taints kernel/ ||
	    line ~ /module verification failed: signature and\/or required key missing - tainting kernel/)
		return 0
	return line ~ /WARNING:|BUG:|Oops|general protection fault|Call Trace|Kernel panic|[Tt]aint|KASAN|UBSAN|kmemleak|unreferenced object|lockdep|DEBUG_LOCKS_WARN_ON|possible circular locking|possible recursive locking|inconsistent lock state|blocked for more than|detected stall|LOCKUP|double fault|stack-protector|stack guard page/
}

BEGIN {
	cur = ""
	tp = tf = ts = 0
	ndmesg = 0
	in_dmesg = 0
}

{
	# Serial logs end lines in CR LF, and the firmware's terminal
	# resets (ESC c, ESC [...) can precede the first marker.
	gsub(/\r/, "")
	gsub(/\033(\[[0-9;?]*[A-Za-z]|[A-Za-z])/, "")
	# The firmware's last line has no newline: "Booting from ROM..VHV-".
	if (!started && (i = index($0, "VHV-LANE: start")) > 1)
		$0 = substr($0, i)
}

/^VHV-LANE: / {
	split($0, w, " ")
	m = w[2]
	if (m == "start") {
		started = 1
	} else if (m == "insmod") {
		insmod = w[3]
		insmod_line = $0
	} else if (m == "rmmod") {
		rmmod = w[3]
		rmmod_line = $0
	} else if (m == "test-begin") {
		if (cur != "")
			finish("did not finish (no test-end marker)")
		cur = w[3]
		p = f = s = 0
		plan = -1
		plan_skip = 0
		rc = 0
		secs = "?"
	} else if (m == "test-end") {
		if (cur == "")
			cur = w[3]
		rc = 0
		for (i = 4; i in w; i++) {
			if (w[i] ~ /^rc=/)
				rc = substr(w[i], 4) + 0
			else if (w[i] ~ /^secs=/)
				secs = substr(w[i], 6)
		}
		finish("")
	} else if (m == "kmemleak-clear") {
		if (w[3] != "ok")
			kmemleak_bad[++nkmemleak_bad] = substr($0, 11)
	} else if (m == "kmemleak-begin") {
		in_kmemleak = 1
		kmemleak_begun = 1
	} else if (m == "kmemleak-end") {
		in_kmemleak = 0
		kmemleak_ended = 1
		if (w[3] != "ok")
			kmemleak_bad[++nkmemleak_bad] = substr($0, 11)
	} else if (m == "dmesg-begin") {
		in_dmesg = 1
		have_dmesg = 1
	} else if (m == "dmesg-end") {
		in_dmesg = 0
		dmesg_done = 1
	} else if (m == "end") {
		ended = 1
	}
	next
}

in_kmemleak {
	if ($0 ~ /^unreferenced object/)
		nleaks++
	if (nleaks && ++nleak_lines <= 60)
		leak[nleak_lines] = $0
	# Kernel messages may come in between: keep them for a log that
	# ends without a dmesg dump.
	if ($0 ~ /^\[ *[0-9]+\.[0-9]+\] /)
		console[++nconsole] = $0
	next
}

in_dmesg {
	dmesg[++ndmesg] = $0
	# /init writes this to /dev/kmsg just before insmod: only what the
	# kernel says from then on is the module's business.
	if ($0 ~ /vhv-lane: insmod/)
		dmesg_from = ndmesg
	next
}

started { console[++nconsole] = $0 }

cur == "" { next }

/^1\.\.[0-9]+/ {
	plan = substr($1, 4) + 0
	if (plan == 0 && directive($0, "[Ss][Kk][Ii][Pp]"))
		plan_skip = 1
	next
}

/^not ok [0-9]+/ {
	if (directive($0, "[Ss][Kk][Ii][Pp]") || directive($0, "[Tt][Oo][Dd][Oo]")) {
		s++
	} else {
		f++
		print "TESTFAIL " cur ": " $0
	}
	next
}

/^ok [0-9]+/ {
	if (directive($0, "[Ss][Kk][Ii][Pp]"))
		s++
	else
		p++
	next
}

/^Bail out!/ {
	f++
	print "TESTFAIL " cur ": " $0
	next
}

END {
	if (cur != "")
		finish("did not finish (hang, crash or timeout)")

	if (lane) {
		if (!started)
			print "PROBLEM guest never reached /init (no start marker)"
		else if (insmod == "")
			print "PROBLEM no insmod result in the log"
		else if (insmod != "ok")
			print "PROBLEM " substr(insmod_line, 11)
		if (insmod == "ok" && rmmod != "ok") {
			if (rmmod != "")
				print "PROBLEM " substr(rmmod_line, 11)
			else if (ended)
				print "PROBLEM no rmmod result in the log"
		}
		for (i = 1; i <= nkmemleak_bad; i++)
			print "PROBLEM " kmemleak_bad[i]
		if (kmemleak_begun && !kmemleak_ended)
			print "PROBLEM kmemleak: the scan did not finish"
		if (nleaks) {
			print "PROBLEM kmemleak: " nleaks " unreferenced object(s) after the rmmod"
			for (i = 1; i <= nleak_lines && i <= 60; i++)
				print "DMESG " leak[i]
			if (nleak_lines > 60)
				print "DMESG ... " (nleak_lines - 60) " more kmemleak lines"
		}
		if (started && !ended)
			print "PROBLEM no end marker: the guest hung, crashed or timed out (see the serial log)"
		else if (started && !dmesg_done)
			print "PROBLEM no complete dmesg dump in the log"

		# Offending kernel messages: from the dmesg dump if there
		# is one, else from what reached the console after /init
		# started (a crash or hang leaves no dump).
		nbad = 0
		if (dmesg_done) {
			for (i = dmesg_from ? dmesg_from : 1; i <= ndmesg; i++)
				if (bad_dmesg(dmesg[i]))
					bad[++nbad] = dmesg[i]
		} else {
			for (i = 1; i <= nconsole; i++)
				if (bad_dmesg(console[i]))
					bad[++nbad] = console[i]
		}
		if (nbad)
			print "PROBLEM the kernel log shows " nbad " suspicious line(s) (WARN/BUG/oops/taint/...)"
		for (i = 1; i <= nbad && i <= 60; i++)
			print "DMESG " bad[i]
		if (nbad > 60)
			print "DMESG ... " (nbad - 60) " more"
	}
	print "COUNTS " tp " " tf " " ts
}
