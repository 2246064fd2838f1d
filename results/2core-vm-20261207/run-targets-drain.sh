#!/bin/bash
# Issue 9's targets after drain=batch, the producer's prefetch and the packed
# small-segment layout: old = 8bd623b (the previous session's last commit),
# new = 6eec163 (targets-drain/) and 8a0f628 (targets-drain-2/), both built
# with `meson setup build -Dbuildtype=release` (old in a worktree), passed as
# $1 and $2.  run-targets.sh's points, 11 rounds, every point on both builds,
# plus seg-size 8 and the new build with drain=segment (the seed's pop).  The
# recorded runs listed these three right after the seg-size-1 points; this
# script appends them (only the order within a round differs).
set -eu
S="--backend segmented"
PIN="--pin-workers compact --pin-producers compact"
OLD=$1 NEW=$2 ROUNDS=11 ONLY_NEW="" KEEP=ns_per_job,allocs_per_job,batches,pending_peak \
	exec "$(dirname "$0")/run-targets.sh" "${3:-results/2core-vm-20261207/targets-drain-rerun}" \
	--point "hp w=2 seg-size 1 drain=segment@new: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 --backend-opt drain=segment $PIN" \
	--point "ckepoch w=2 seg-size 1 drain=segment@new: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 --backend-opt drain=segment $PIN" \
	--point "hp w=2 seg-size 8: $S --reclaim hp --workers 2 --seg-size 8 --jobs 1000000 $PIN"
