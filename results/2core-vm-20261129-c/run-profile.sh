#!/bin/bash
# Callgrind counts (scripts/profile.py) for mid (5c69a65, this session's start)
# and new (main HEAD): instructions, atomic RMWs and fences per job; and one
# perf cpu-clock sample profile per point of the new build (--sample).
# Usage: run-profile.sh OUTDIR
set -u
OUT=${1:?usage: run-profile.sh OUTDIR}
mkdir -p "$OUT"
MID=/tmp/exp/build/harness/poolbench NEW=build/harness/poolbench
for b in mid new; do
	B=$MID; [ $b = new ] && B=$NEW
	python3 scripts/profile.py --poolbench $B --top 24 -- --backend segmented --reclaim hp --workers 1 --jobs 200000 >"$OUT/$b-hp-w1.txt" 2>&1
	python3 scripts/profile.py --poolbench $B --top 24 -- --backend segmented --reclaim hp --workers 1 --submit-batch 64 --jobs 200000 >"$OUT/$b-hp-w1-b64.txt" 2>&1
	python3 scripts/profile.py --poolbench $B --top 24 -- --backend segmented --reclaim hp --workers 2 --seg-size 1 --jobs 30000 >"$OUT/$b-hp-s1.txt" 2>&1
	python3 scripts/profile.py --poolbench $B --top 24 -- --backend segmented --reclaim ckepoch --workers 2 --seg-size 1 --jobs 30000 >"$OUT/$b-ck-s1.txt" 2>&1
done
python3 scripts/profile.py --sample --top 30 -- --backend segmented --reclaim hp --workers 1 --submit-batch 64 --backlog 4096 --jobs 3000000 --pin-workers compact --pin-producers compact >"$OUT/sample-hp-w1-b64-backlog.txt" 2>&1
python3 scripts/profile.py --sample --top 30 -- --backend segmented --reclaim hp --workers 2 --seg-size 1 --jobs 300000 >"$OUT/sample-hp-s1.txt" 2>&1
