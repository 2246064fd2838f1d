#!/bin/bash
# Issue 9's targets (targets/): old = 88f025d, before any issue-9 work, built
# in a worktree at /tmp/old88 (it lacks --submit-batch, --backlog and
# --coalesce: those points run on new only), new = this checkout's build/.
# Run from the repository root.  targets/runs.csv was written by the first
# form of this procedure, a script of its own (targets.py, commit 5fe8af9):
# the same runs, 7 rounds; scripts/ab.py is that loop made general.
#
# usage: run-targets.sh [OUT [ab.py args...]]; the environment may set OLD,
# NEW (binaries), ROUNDS, KEEP (ab.py --keep) and ONLY_NEW (the '@new' put on
# the points an old build lacks; empty when both builds have every option).
# Extra ab.py arguments (more --point) come after the standard points.
set -eu
OLD=${OLD:-/tmp/old88/build/harness/poolbench}
NEW=${NEW:-build/harness/poolbench}
ROUNDS=${ROUNDS:-7}
KEEP=${KEEP:-ns_per_job,allocs_per_job,segs_peak,pending_peak}
N=${ONLY_NEW-@new}
OUT=${1:-results/2core-vm-20261207/targets-rerun}
shift $(($# > 0 ? 1 : 0))
PIN="--pin-workers compact --pin-producers compact"
S="--backend segmented"
M="--jobs 1000000"
U="--pin-workers none --pin-producers none"
args=(
	--point "hp w=1: $S --reclaim hp --workers 1 $M $PIN"
	--point "hp w=1 coalesce 64$N: $S --reclaim hp --workers 1 --coalesce 64 $M $PIN"
	--point "hp w=1 submit-batch 64$N: $S --reclaim hp --workers 1 --submit-batch 64 $M $PIN"
	--point "hp w=2: $S --reclaim hp --workers 2 $M $PIN"
	--point "ckepoch w=2: $S --reclaim ckepoch --workers 2 $M $PIN"
	--point "hp w=2 seg-size 1: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "ckepoch w=2 seg-size 1: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "hp w=2 unpinned: $S --reclaim hp --workers 2 $M $U"
	--point "hp w=8 unpinned: $S --reclaim hp --workers 8 $M $U"
)
for rc in hp ckepoch urcu-memb urcu-qsbr urcu-bp ibr he; do
	args+=(--point "$rc w=2 backlog 4096$N: $S --reclaim $rc --workers 2 --backlog 4096 $M $PIN")
done
scripts/ab.py --build old="$OLD" --build new="$NEW" --rounds "$ROUNDS" --keep "$KEEP" \
	--out "$OUT" "${args[@]}" "$@"
