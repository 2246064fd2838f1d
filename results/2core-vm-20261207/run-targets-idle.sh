#!/bin/bash
# Issue 9's targets at the end of the idle-policy session: old = 88f025d
# (before any issue-9 work, the issue's "today"; built in a worktree with
# `meson setup build -Dbuildtype=release`), new = this checkout's build/
# (a34d1a6 for targets-idle/, 5b81b10 for targets-idle-2/), passed as $1 and $2.  run-targets.sh's points, 11 rounds, plus
# seg-size 8, and on the new build alone the same points with --idle-poll
# relax (the pool's idle policy before this session) and the seed's
# one-segment pop.
set -eu
S="--backend segmented"
PIN="--pin-workers compact --pin-producers compact"
R="--idle-poll relax"
OLD=$1 NEW=$2 ROUNDS=11 KEEP=ns_per_job,allocs_per_job,batches,pending_peak \
	exec "$(dirname "$0")/run-targets.sh" "${3:-results/2core-vm-20261207/targets-idle-rerun}" \
	--point "hp w=2 seg-size 8: $S --reclaim hp --workers 2 --seg-size 8 --jobs 1000000 $PIN" \
	--point "hp w=1 relax@new: $S --reclaim hp --workers 1 --jobs 1000000 $PIN $R" \
	--point "hp w=1 submit-batch 64 relax@new: $S --reclaim hp --workers 1 --submit-batch 64 --jobs 1000000 $PIN $R" \
	--point "hp w=2 relax@new: $S --reclaim hp --workers 2 --jobs 1000000 $PIN $R" \
	--point "ckepoch w=2 relax@new: $S --reclaim ckepoch --workers 2 --jobs 1000000 $PIN $R" \
	--point "hp w=2 seg-size 1 relax@new: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 $PIN $R" \
	--point "ckepoch w=2 seg-size 1 relax@new: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 $PIN $R" \
	--point "hp w=8 unpinned relax@new: $S --reclaim hp --workers 8 --jobs 1000000 --pin-workers none --pin-producers none $R"
