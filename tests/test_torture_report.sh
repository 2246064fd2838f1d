#!/bin/bash
# SPDX-License-Identifier: MIT
# The queue torture test says what it found before the process dies (meson
# suite 'torture'): a crash in the middle of a configuration, as a broken
# reclaimer causes in a build without ASan (here forced by the test hook
# PB_TORTURE_CRASH_AT_STALL=2), must print the configuration and the counts
# so far, then die of the signal (cmocka's own handler used to exit 255
# without a word).  Runs in whatever build type meson built.  TAP.
# usage: tests/test_torture_report.sh path/to/test_queue_torture
set -u

TT=${1:?usage: test_torture_report.sh path/to/test_queue_torture}
. "$(dirname "$0")/tap.sh"
tap_init torture-report
# It tests the report itself, always on segmented with hp (PB_TORTURE_ONLY):
# scripts/test.sh --only NAME (PB_TEST_ONLY) must not empty its run.
unset PB_TEST_ONLY

PB_TORTURE_ONLY=hp PB_TORTURE_CRASH_AT_STALL=2 PB_TEST_SCALE=25 "$TT" >"$T/out" 2>&1
rc=$?
if [ $rc -ge 128 ] && grep -q "FINDING at crash (signal 11) in reclaim=hp seg-size=1 .* of them" "$T/out"; then
	ok "a crash mid-run prints the configuration and the findings so far, then dies (rc $rc)"
else
	fail "a crash mid-run prints the configuration and the findings so far, then dies" "rc=$rc" "$(tail -5 "$T/out")"
fi
PB_TORTURE_ONLY=hp PB_TEST_SCALE=25 "$TT" >"$T/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! grep -q "FINDING at crash" "$T/out"; then
	ok "without the hook: passes, no crash report"
else
	fail "without the hook: passes, no crash report" "rc=$rc" "$(tail -5 "$T/out")"
fi
tap_done
