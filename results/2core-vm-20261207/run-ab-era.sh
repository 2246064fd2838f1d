#!/bin/bash
# The era fix's A/B (ab-era/): before = add6001 built in a worktree at
# /tmp/old (git worktree add --detach /tmp/old add6001; meson setup build
# -Dbuildtype=release; ninja -C build), after = this checkout's build/.
# Run from the repository root.  ab-era/runs.csv was written by the first
# form of this procedure, a script of its own (ab-era.py, commit 5fe8af9):
# the same runs, one repetition per (point, build) and round, 7 rounds, the
# order alternating; scripts/ab.py is that loop made general.
set -eu
PIN="--pin-workers compact --pin-producers compact"
args=()
for rc in ibr he hp; do
	for w in 1 2; do
		args+=(--point "$rc w=$w: --backend segmented --reclaim $rc --workers $w --jobs 1000000 $PIN")
	done
done
scripts/ab.py --build before=/tmp/old/build/harness/poolbench --build after=build/harness/poolbench \
	--rounds 7 --keep ns_per_job,allocs_per_job,segs_peak,pending_peak,pending_end,parks \
	--out "${1:-results/2core-vm-20261207/ab-era-rerun}" "${args[@]}"
