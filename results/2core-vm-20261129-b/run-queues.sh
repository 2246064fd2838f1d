#!/bin/bash
# Issue 10 table: every backend with its default reclaimer(s), stamp vs
# bitmap, p=1 w=1 and p=2 w=2, empty job, the harness's interleaved order,
# then the queues preset with its figure.
set -u
OUT=${1:?}
NEW=build/harness/poolbench
mkdir -p "$OUT"
for pw in "1 1" "2 2"; do
  set -- $pw
  $NEW run --backend mutex,ckring,scq,wfcq,spmc,segmented,lfq,ckfifo --reclaim limbo,hp,urcu-memb \
    --backend-opt readiness=stamp,bitmap --producers $1 --workers $2 --jobs 300000 --reps 5 --cov 0 \
    --no-calibrate --out "$OUT/table-p$1w$2" >"$OUT/table-p$1w$2.log" 2>&1
done
cd . && BUILD=build scripts/run-presets.sh "$OUT/presets" queues >"$OUT/presets.log" 2>&1
touch "$OUT/DONE"
