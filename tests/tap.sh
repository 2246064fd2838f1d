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
