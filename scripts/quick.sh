#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: install what is missing (scripts/setup.sh), build,
# run the quick sweep (segmented+limbo, mutex, ckring x empty, sha256, cpu x
# 1 producer x 1,2 workers x 5 reps) into results/<date>-<host>/, plot it and
# print the summary.  About 1-2 minutes on 2 cores, build included.
# Environment: BUILD (build dir, default build), OUT (output dir), REPS (5).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-results/$(date +%Y%m%d-%H%M%S)-$(hostname)}
REPS=${REPS:-5}
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

# The sweep's backends, as far as this build has them.
want=(segmented mutex ckring)
have=$("$PB" list | awk '/^backends:$/ {s = 1; next} /^[a-z]+:$/ {s = 0} s && /^  [^ ]/ {print $1}')
backends=()
for b in "${want[@]}"; do
	if grep -qx "$b" <<<"$have"; then
		backends+=("$b")
	else
		echo "quick.sh: backend $b is not in this build; left out" >&2
	fi
done
[ ${#backends[@]} -gt 0 ] || { echo "quick.sh: none of ${want[*]} is built" >&2; exit 1; }
blist=$(IFS=,; echo "${backends[*]}")

# Jobs per workload, chosen so that each run takes roughly 0.1-0.5 s here
# (empty ~100-1000 ns/job, sha256 ~5 us, cpu ~40 us on the 2-core VM).
status=0
first=1
for spec in empty:1000000 sha256:40000 cpu:8000; do
	wl=${spec%%:*}
	jobs=${spec##*:}
	append=()
	[ $first -eq 1 ] || append=(--append)
	first=0
	echo "quick.sh: workload $wl, $jobs jobs per run" >&2
	"$PB" run --backend "$blist" --reclaim limbo --workload "$wl" --producers 1 --workers 1,2 \
		--jobs "$jobs" --reps "$REPS" --watchdog 60 --out "$OUT" "${append[@]}" >/dev/null ||
		status=$?
	[ $status -ne 2 ] || exit 2
done

"$PY" scripts/plot.py "$OUT/results.csv" || status=1
echo
"$PY" scripts/summary.py "$OUT/results.csv"
echo
echo "results: $OUT/results.csv (columns: docs/csv.md), meta: $OUT/meta.json"
echo "quick.sh: done in $(( $(date +%s) - t0 )) s"
exit $status
