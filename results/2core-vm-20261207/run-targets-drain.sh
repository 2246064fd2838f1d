#!/bin/bash
# Issue 9's targets after drain=batch, the producer's prefetch and the packed
# small-segment layout (targets-drain/): old = 8bd623b (the previous
# session's last commit), new = 6eec163; both built with
# `meson setup build -Dbuildtype=release` (old in a worktree), binaries
# passed as $1 and $2 (targets-drain: new = 6eec163; targets-drain-2: 8a0f628).  Same points as run-targets.sh, 11 rounds, plus
# seg-size 8 and the new build with drain=segment (the seed's pop).
set -eu
OLD=$1 NEW=$2 OUT=${3:-results/2core-vm-20261207/targets-drain-rerun}
PIN="--pin-workers compact --pin-producers compact"
S="--backend segmented"
M="--jobs 1000000"
U="--pin-workers none --pin-producers none"
args=(
	--point "hp w=1: $S --reclaim hp --workers 1 $M $PIN"
	--point "hp w=1 coalesce 64: $S --reclaim hp --workers 1 --coalesce 64 $M $PIN"
	--point "hp w=1 submit-batch 64: $S --reclaim hp --workers 1 --submit-batch 64 $M $PIN"
	--point "hp w=2: $S --reclaim hp --workers 2 $M $PIN"
	--point "ckepoch w=2: $S --reclaim ckepoch --workers 2 $M $PIN"
	--point "hp w=2 seg-size 1: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "ckepoch w=2 seg-size 1: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "hp w=2 seg-size 1 drain=segment@new: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 --backend-opt drain=segment $PIN"
	--point "ckepoch w=2 seg-size 1 drain=segment@new: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 --backend-opt drain=segment $PIN"
	--point "hp w=2 seg-size 8: $S --reclaim hp --workers 2 --seg-size 8 $M $PIN"
	--point "hp w=2 unpinned: $S --reclaim hp --workers 2 $M $U"
	--point "hp w=8 unpinned: $S --reclaim hp --workers 8 $M $U"
)
for rc in hp ckepoch urcu-memb urcu-qsbr urcu-bp ibr he; do
	args+=(--point "$rc w=2 backlog 4096: $S --reclaim $rc --workers 2 --backlog 4096 $M $PIN")
done
scripts/ab.py --build old="$OLD" --build new="$NEW" \
	--rounds 11 --keep ns_per_job,allocs_per_job,batches,pending_peak \
	--out "$OUT" "${args[@]}"
