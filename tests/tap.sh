# SPDX-License-Identifier: MIT
# TAP helpers shared by the shell test scripts (sourced, not run).
# tap_init NAME: exports PB_TEST_HOOKS=1, sets PY (Debian's python3, which has matplotlib/pandas), a
# scratch directory T removed on exit, and the counters; ok/fail record one
# check each; tap_done prints the plan and exits 1 if any check failed.

tap_init() {
	# The tests may use the harness's test hooks (PB_FAULT, PB_FAKE_NS_PER_JOB),
	# which poolbench refuses without this.
	export PB_TEST_HOOKS=1
	# A loaded machine would mark random repetitions "noisy" (the canary,
	# docs/methodology.md): every canary reads 2 ms unless a test injects a
	# slowdown (PB_FAULT=slow@RUN) or unsets this.  Sweeps skip the machine's
	# floor (a second each); the tests of calibrate unset PB_SKIP_CALIBRATE.
	export PB_FAKE_CANARY_NS=2000000 PB_SKIP_CALIBRATE=1
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
	T=$(mktemp -d "${TMPDIR:-/tmp}/pb-$1.XXXXXX")
	trap 'rm -rf "$T"' EXIT
	n=0
	failed=0
}

ok() { n=$((n + 1)); echo "ok $n - $1"; }

# tap_tool NAME "$@": the start of a test run as TEST SOURCE_ROOT POOLBENCH
# (the script tests: profile, ab, bundle): sets SRC and PB, or prints the
# usage and exits 2; then tap_init NAME.
tap_tool() {
	local name=$1
	shift
	if [ $# -ne 2 ]; then
		echo "usage: $0 SOURCE_ROOT POOLBENCH" >&2
		exit 2
	fi
	SRC=$1
	PB=$2
	tap_init "$name"
}

# check_status DESC STATUS [DETAIL...]: one check, ok when STATUS is 0 (the
# usual argument is "$(condition; echo $?)"); the details go to the log.
check_status() { if [ "$2" = 0 ]; then ok "$1"; else fail "$1" "${@:3}"; fi; }

# check_refused DESC WANT RC PATH...: the command whose stderr is in
# $T/bad.err exited RC; one check that it was a clean refusal: exit 2, one
# line on stderr naming WANT, and none of the PATHs created.
check_refused() {
	local desc=$1 want=$2 rc=$3 lines p
	shift 3
	lines=$(wc -l <"$T/bad.err")
	if [ "$rc" -ne 2 ]; then
		fail "$desc: exit 2" "rc=$rc" "$(head -3 "$T/bad.err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$desc: one line on stderr" "got $lines lines:" "$(head -5 "$T/bad.err")"
	elif ! grep -qF -- "$want" "$T/bad.err"; then
		fail "$desc: message names '$want'" "$(cat "$T/bad.err")"
	else
		for p in "$@"; do
			if [ -e "$p" ]; then
				fail "$desc: no output file" "$(ls -ld "$p")"
				return
			fi
		done
		ok "$desc ($(cat "$T/bad.err"))"
	fi
}

# fail NAME [DETAIL...]: details become TAP comment lines
fail() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

tap_done() {
	echo "1..$n"
	if [ "$failed" -ne 0 ]; then
		echo "# $failed of $n checks failed" >&2
		exit 1
	fi
	exit 0
}
