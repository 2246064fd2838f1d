#!/bin/bash
# Issue 9 targets: before (88f025d, the code before issue 9) vs after (main
# HEAD), interleaved rounds (the order of the two binaries alternates), pinned
# where stated, medians.  Usage: run.sh OUTDIR ROUNDS
set -u
OUT=${1:?}; ROUNDS=${2:-3}
# the "before" build: git worktree add /tmp/old 88f025d && (cd /tmp/old && meson setup build -Dbuildtype=release && ninja -C build)
OLD=/tmp/old/build/harness/poolbench
NEW=build/harness/poolbench
PIN="--pin-workers compact --pin-producers compact"
NC="--no-calibrate"
mkdir -p "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  order="old new"; [ $((r % 2)) -eq 0 ] && order="new old"
  for bin in $order; do
    B=$OLD; X=""; [ $bin = new ] && { B=$NEW; X=$NC; }
    $B run --backend segmented --reclaim hp,ckepoch,urcu-memb,urcu-qsbr --workers 1,2 --jobs 1000000 --reps 3 --cov 0 $PIN $X --out "$OUT/$bin-seg64-$r" >/dev/null 2>&1
    $B run --backend segmented --reclaim hp,ckepoch --workers 2 --seg-size 1 --seg-count 128 --jobs 200000 --reps 3 --cov 0 $PIN $X --out "$OUT/$bin-seg1-$r" >/dev/null 2>&1
    $B run --backend segmented,mutex,ckring --reclaim hp --workers 2,8 --jobs 1000000 --reps 3 --cov 0 $X --out "$OUT/$bin-over-$r" >/dev/null 2>&1
    $B sweep scripts/presets/quick.ini --reps 2 $X --out "$OUT/$bin-quick-$r" >/dev/null 2>&1
  done
  $NEW run --backend segmented,mutex,ckring --reclaim hp --submit-batch 1,64 --jobs 1000000 --reps 3 --cov 0 $PIN $NC --out "$OUT/new-sbatch-$r" >/dev/null 2>&1
  $NEW run --backend segmented --reclaim hp --backend-opt readiness=stamp,bitmap --submit-batch 1,64 --seg-size 64,1 --workers 1,2 --jobs 500000 --reps 3 --cov 0 $PIN $NC --out "$OUT/new-ready-$r" >/dev/null 2>&1
done
touch "$OUT/DONE"
