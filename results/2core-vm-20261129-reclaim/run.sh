#!/bin/bash
# The measurements of results/2core-vm-20261129-reclaim (issue 11), from the
# worktree root with a release build: meson setup build -Dbuildtype=release.
# Three runs, each interleaved (repetition r of every point before r+1).
set -u
PB=${PB:-build/harness/poolbench}
D=$(dirname "$0")
ALL=hp,urcu-memb,urcu-qsbr,urcu-bp,ckepoch,limbo,none,ibr,he
# 1. ns/job, p=1 w=2, empty, seg-size 64 and 1 (throughput, unbounded supply)
"$PB" run --backend segmented --reclaim $ALL --workload empty --producers 1 --workers 2 \
	--seg-size 64,1 --jobs 200000 --reps 3 --min-reps 3 --cov 0 --watchdog 60 \
	--out "$D/throughput" --quiet
# 2. latency mode, allocation allowed: allocations per job, pending peak
"$PB" run --backend segmented --reclaim $ALL --workload empty --producers 1 --workers 2 \
	--seg-size 1 --mode latency --jobs 100000 --reps 3 --min-reps 3 --cov 0 --watchdog 60 \
	--out "$D/latency" --quiet
# 3. bounded supply, seg-size 1, seg-count 16, p=2 w=2: one run per scheme
#    (a refused one exits 2 with its one line, kept in bounded/<scheme>.err)
mkdir -p "$D/bounded"
for r in ${ALL//,/ }; do
	"$PB" run --backend segmented --reclaim $r --workload empty --producers 2 --workers 2 \
		--seg-size 1 --seg-count 16 --seg-supply bounded --jobs 20000 --reps 1 --cov 0 \
		--watchdog 30 --out "$D/bounded/$r" --quiet >/dev/null 2>"$D/bounded/$r.err"
	echo "$r rc=$?" >>"$D/bounded/exit_codes.txt"
done
