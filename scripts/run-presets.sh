#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every research preset (scripts/presets/*.ini except quick) into
# OUT/<preset>/, draw each preset's figure and write OUT/report.html.
# Usage: scripts/run-presets.sh [OUT] [PRESET...]
# Environment: BUILD (build dir, default build).  A preset whose sweep had
# invalid/stall/crash rows still gets its figure (the rows say what failed);
# bad input stops the script.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${1:-results/$(date +%Y%m%d)-$(hostname)-presets}
shift || true
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ $# -gt 0 ]; then
	presets=("$@")
else
	presets=()
	for f in scripts/presets/*.ini; do
		n=$(basename "$f" .ini)
		[ "$n" = quick ] || presets+=("$n")
	done
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	[ ! -x scripts/setup.sh ] || scripts/setup.sh
	meson setup "$BUILD"
fi
ninja -C "$BUILD"
PB=$BUILD/harness/poolbench

status=0
for p in "${presets[@]}"; do
	f=scripts/presets/$p.ini
	[ -f "$f" ] || { echo "run-presets.sh: no preset '$p' (scripts/presets/*.ini)" >&2; exit 2; }
	echo "run-presets.sh: $p" >&2
	t0=$(date +%s)
	rc=0
	"$PB" sweep "$f" --out "$OUT/$p" --quiet || rc=$?
	[ $rc -ne 2 ] || exit 2
	[ $rc -eq 0 ] || status=1
	"$PY" scripts/plot.py "$OUT/$p/results.csv" || status=1
	echo "run-presets.sh: $p done in $(( $(date +%s) - t0 )) s (exit $rc)" >&2
done
"$PY" scripts/report.py "$OUT" || status=1
echo "report: $OUT/report.html"
exit $status
