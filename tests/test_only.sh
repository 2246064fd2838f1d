#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/test.sh --only NAME (meson suite 'scripts'): a name that is not a
# plug-in is refused in one line before anything is built, and the test
# programs honour PB_TEST_ONLY=NAME (tests/common.h tc_only()): conformance
# keeps only the configurations with NAME, the mutex/ckring program skips
# (exit 77) for any other plug-in, the workload tests keep only NAME.  TAP.
# usage: tests/test_only.sh SOURCE_ROOT BUILD_ROOT
set -u

SRC=${1:?usage: test_only.sh SOURCE_ROOT BUILD_ROOT}
BLD=${2:?usage: test_only.sh SOURCE_ROOT BUILD_ROOT}
. "$(dirname "$0")/tap.sh"
tap_init only
export PB_POOLBENCH=$BLD/harness/poolbench

check() { # description, condition (0 = ok), details...
	local desc=$1 rc=$2
	shift 2
	if [ "$rc" -eq 0 ]; then ok "$desc"; else fail "$desc" "$@"; fi
}

"$SRC/scripts/test.sh" --only nosuch >"$T/out" 2>"$T/err"
rc=$?
check "--only nosuch: exit 2, one line naming the plug-ins, nothing built" \
	"$([ $rc = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "unknown plug-in 'nosuch' for --only, allowed: .*hp.*urcu-memb" "$T/err" && [ ! -s "$T/out" ]; echo $?)" \
	"rc=$rc" "$(cat "$T/err")" "$(head -3 "$T/out")"
"$SRC/scripts/test.sh" --only >"$T/out" 2>"$T/err"
rc=$?
check "--only without a name: exit 2" "$([ $rc = 2 ] && grep -q 'needs a plug-in name' "$T/err"; echo $?)" "rc=$rc" "$(cat "$T/err")"

count() { sed -n 's/^\([0-9]*\) configurations from .*/\1/p' | head -1; }
all=$(PB_TEST_ONLY= PB_TEST_SCALE=1 "$BLD/tests/test_conformance" 2>&1 | count)
hp=$(PB_TEST_ONLY=hp PB_TEST_SCALE=1 "$BLD/tests/test_conformance" 2>&1 | tee "$T/hp" | count)
mx=$(PB_TEST_ONLY=mutex PB_TEST_SCALE=1 "$BLD/tests/test_conformance" 2>&1 | count)
check "PB_TEST_ONLY=hp: conformance keeps only the hp configurations, and passes" \
	"$([ -n "$all" ] && [ -n "$hp" ] && [ "$hp" -gt 0 ] && [ "$hp" -lt "$all" ] && grep -q 'only those with hp' "$T/hp" && grep -q 'PASSED' "$T/hp" && ! grep -q 'FAILED' "$T/hp"; echo $?)" \
	"all=$all hp=$hp" "$(tail -3 "$T/hp")"
check "PB_TEST_ONLY=mutex: conformance keeps fewer configurations again" \
	"$([ -n "$mx" ] && [ "$mx" -gt 0 ] && [ "$mx" -lt "$all" ] && [ "$mx" != "$hp" ]; echo $?)" "all=$all mutex=$mx hp=$hp"
PB_TEST_ONLY=sha256 "$BLD/tests/test_mutex_ckring" >"$T/out" 2>&1
rc=$?
check "PB_TEST_ONLY=sha256: the mutex/ckring program skips (77)" "$([ $rc = 77 ]; echo $?)" "rc=$rc" "$(tail -2 "$T/out")"
PB_TEST_ONLY=sha256 PB_TEST_SCALE=1 "$BLD/tests/test_workloads" >"$T/out" 2>&1
rc=$?
check "PB_TEST_ONLY=sha256: the workload tests run and pass" "$([ $rc = 0 ] && grep -q PASSED "$T/out"; echo $?)" "rc=$rc" "$(tail -3 "$T/out")"

tap_done
