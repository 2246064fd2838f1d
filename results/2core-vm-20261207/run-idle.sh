#!/bin/bash
# What an idle worker does between empty polls: --idle-poll relax (a cpu
# pause, the pool before this change) against yield (sched_yield, the new
# default), one binary, interleaved by scripts/ab.py: "relax" is a wrapper
# that appends --idle-poll relax to every run.  Points: every point of the
# quick preset (scripts/presets/quick.ini: segmented with limbo and hp, both
# readiness designs, mutex and ckring; empty, sha256, cpu; w=1 and 2), issue
# 9's targets, the other backends at w=2, and the latency mode.
#
# usage: run-idle.sh [OUT [ab.py args...]] (from the repository root; the
# environment may set PB, the binary, and ROUNDS)
set -eu
PB=${PB:-build/harness/poolbench}
ROUNDS=${ROUNDS:-9}
OUT=${1:-results/2core-vm-20261207/idle-rerun}
shift $(($# > 0 ? 1 : 0))
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PBA=$(cd "$(dirname "$PB")" && pwd)/$(basename "$PB")
cat >"$T/relax" <<EOF
#!/bin/sh
if [ "\$1" = run ]; then shift; exec "$PBA" run "\$@" --idle-poll relax; fi
exec "$PBA" "\$@"
EOF
chmod +x "$T/relax"

PIN="--pin-workers compact --pin-producers compact"
U="--pin-workers none --pin-producers none"
S="--backend segmented"
args=()
# (The recorded idle/ run passed readiness=stamp explicitly to the stamp
# points; it is the default, so quick-points.sh leaves it out.)
. "$(dirname "$0")/quick-points.sh"
quick_points "quick " ""
args+=(
	--point "hp w=1 pinned: $S --reclaim hp --workers 1 --jobs 1000000 $PIN"
	--point "hp w=1 submit-batch 64: $S --reclaim hp --workers 1 --submit-batch 64 --jobs 1000000 $PIN"
	--point "hp w=2 pinned: $S --reclaim hp --workers 2 --jobs 1000000 $PIN"
	--point "ckepoch w=2 pinned: $S --reclaim ckepoch --workers 2 --jobs 1000000 $PIN"
	--point "hp w=2 seg-size 1: $S --reclaim hp --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "ckepoch w=2 seg-size 1: $S --reclaim ckepoch --workers 2 --seg-size 1 --jobs 200000 $PIN"
	--point "hp w=2 unpinned: $S --reclaim hp --workers 2 --jobs 1000000 $U"
	--point "hp w=8 unpinned: $S --reclaim hp --workers 8 --jobs 1000000 $U"
	--point "urcu-memb w=2 backlog 4096: $S --reclaim urcu-memb --workers 2 --backlog 4096 --jobs 1000000 $PIN"
	--point "scq w=2: --backend scq --workers 2 --jobs 1000000"
	--point "wfcq w=2: --backend wfcq --workers 2 --jobs 1000000"
	--point "lfq w=2: --backend lfq --reclaim urcu-memb --workers 2 --jobs 1000000"
	--point "ckfifo w=2: --backend ckfifo --reclaim ckepoch --workers 2 --jobs 1000000"
	--point "spmc w=2: --backend spmc --workers 2 --jobs 1000000"
	--point "latency hp w=1: $S --reclaim hp --workers 1 --mode latency --jobs 200000"
	--point "latency hp w=2: $S --reclaim hp --workers 2 --mode latency --jobs 200000"
)
scripts/ab.py --build relax="$T/relax" --build yield="$PBA" --rounds "$ROUNDS" \
	--keep ns_per_job,parks,batches,allocs_per_job,lat_p50_ns,lat_p99_ns \
	--out "$OUT" "${args[@]}" "$@"
