#!/bin/bash
# Issue 9, third session: three builds interleaved in one run.
#   old: 88f025d, the code before any issue-9 work ("today" in the issue)
#   mid: 5c69a65, main at the start of this session
#   new: main HEAD (g_seen pre-faulted, array pool, --backlog)
# Each round runs every build once per block, in a rotating order; pinned
# compact where stated; medians over rounds x repetitions (analyze-issue9.py).
# Builds: git worktree add --detach /tmp/old 88f025d (and /tmp/exp 5c69a65),
# then meson setup build -Dbuildtype=release && ninja -C build in each.
# Usage: run-issue9.sh OUTDIR [ROUNDS]
set -u
OUT=${1:?usage: run-issue9.sh OUTDIR [ROUNDS]}; ROUNDS=${2:-3}
declare -A BIN=([old]=/tmp/old/build/harness/poolbench [mid]=/tmp/exp/build/harness/poolbench
                [new]=build/harness/poolbench)
PIN="--pin-workers compact --pin-producers compact"
COMMON="--reps 3 --cov 0 --quiet"
mkdir -p "$OUT"
run() { # build tag args...
	local b=$1 tag=$2 x=""
	shift 2
	[ "$b" != old ] && x="--no-calibrate --canary-tol 0"
	"${BIN[$b]}" run $COMMON $x "$@" --out "$OUT/$b-$tag" >/dev/null 2>&1 || echo "$b $tag: exit $?" >&2
}
orders=("old mid new" "mid new old" "new old mid")
for r in $(seq 1 "$ROUNDS"); do
	for b in ${orders[$(((r - 1) % 3))]}; do
		run $b seg64-$r --backend segmented --reclaim hp,ckepoch,urcu-memb,urcu-qsbr --workers 1,2 --jobs 1000000 $PIN
		run $b seg1-$r --backend segmented --reclaim hp,ckepoch --workers 2 --seg-size 1 --seg-count 128 --jobs 200000 $PIN
		run $b over-$r --backend segmented,mutex,ckring --reclaim hp --workers 2,8 --jobs 1000000
		run $b quick-$r --backend segmented,mutex,ckring --reclaim limbo,hp --workload empty,sha256,cpu --workers 1,2 \
			--jobs 1000000 --workload-jobs sha256=40000 --workload-jobs cpu=8000
		[ $b != old ] && run $b sbatch-$r --backend segmented,mutex,ckring --reclaim hp --submit-batch 1,64 --jobs 1000000 $PIN
	done
	# new only: the bound on the queue (--backlog) at the issue's points
	run new backlog-$r --backend segmented --reclaim hp,ckepoch --submit-batch 1,64 --backlog 0,4096 --jobs 1000000 $PIN
	run new backlog1-$r --backend segmented --reclaim hp,ckepoch --workers 2 --seg-size 1 --seg-count 128 --backlog 0,64 --jobs 200000 $PIN
	run new allocs-$r --backend segmented --reclaim hp,ckepoch,urcu-memb,urcu-qsbr,urcu-bp,ibr,he --workers 1,2 --backlog 0,4096 --jobs 1000000 $PIN
done
touch "$OUT/DONE"
