#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: install what is missing (scripts/setup.sh), build,
# run the quick sweep (scripts/presets/quick.ini: segmented with limbo and hp,
# mutex, ckring x empty, sha256, cpu x 1 producer x 1,2 workers, 3..5 reps with
# the CoV stopping rule) into results/<date>-<host>/, plot it and print the
# summary.  About 1-2 minutes on 2 cores, build included.
# Environment: BUILD (build dir, default build), OUT (output dir), REPS (most
# repetitions per point; default: the preset's 5).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-results/$(date +%Y%m%d-%H%M%S)-$(hostname)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
t0=$(date +%s)

if [ -x scripts/setup.sh ]; then
	scripts/setup.sh
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD"
fi
ninja -C "$BUILD"
PB=$BUILD/harness/poolbench

extra=()
[ -z "${REPS:-}" ] || extra=(--reps "$REPS")
status=0
"$PB" sweep scripts/presets/quick.ini --out "$OUT" "${extra[@]}" >/dev/null || status=$?
[ $status -ne 2 ] || exit 2

"$PY" scripts/plot.py "$OUT/results.csv" || status=1
"$PY" scripts/report.py "$OUT" >/dev/null || status=1
echo
"$PY" scripts/summary.py "$OUT/results.csv"
echo
echo "results: $OUT/results.csv (columns: docs/csv.md), per point: $OUT/summary.csv,"
echo "meta: $OUT/meta.json, report: $OUT/report.html"
echo "quick.sh: done in $(( $(date +%s) - t0 )) s"
exit $status
