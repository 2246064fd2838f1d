#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run one poolbench sweep as a Slurm job array: one shard per task, each on a
# node of its own (--exclusive), then a merge job that depends on every task
# (afterok): merge, summary, report.  docs/cluster.md walks through it.
#
# usage: scripts/cluster/slurm-sweep.sh SWEEP.ini --shards N [--out DIR]
#            [--partition P] [--time T] [--poolbench PATH] [--no-report]
#            [--sbatch ARG]... [-- EXTRA_POOLBENCH_ARGS...]
#        scripts/cluster/slurm-sweep.sh --resubmit DIR K[,K...]
#
# - The array is 1..N, derived from --shards: every shard runs, and each task's
#   shard K/N is written into the job script, so resubmitting one index
#   (--resubmit DIR K) still runs K/N (never K/1: the whole sweep).
# - Each task runs "poolbench sweep DIR/sweep.ini ... --shard K/N
#   --out DIR/shard-K --resume": a requeued or resubmitted task continues
#   where it stopped; poolbench refuses to resume another sweep's directory.
# - Logs: DIR/logs/shard-K.log, opened in append mode, so a requeue adds to
#   the log instead of truncating it.
# - DIR must be on a filesystem every node sees, and poolbench must be at the
#   same absolute path on every node: each task checks both first and fails
#   with one clear line otherwise.
# - meta.json of each shard records its Slurm job id, array task and node.
# Prints the job ids; DIR/jobs.txt keeps them.
set -euo pipefail

PROG=slurm-sweep.sh
die() { echo "$PROG: $*" >&2; exit 2; }
usage() { sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

command -v sbatch >/dev/null 2>&1 ||
	die "sbatch not found: run this on a Slurm submit (login) node"

# The poolbench to run: --poolbench, $POOLBENCH, a build in this checkout, PATH.
find_poolbench() {
	local c
	for c in "${POOLBENCH:-}" "$ROOT"/build-release/harness/poolbench \
		"$ROOT"/build/harness/poolbench "$ROOT"/build-test/harness/poolbench \
		"$(command -v poolbench 2>/dev/null || true)"; do
		[ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}

# sbatch --parsable prints "jobid[;cluster]".
submit() { local out; out=$(sbatch --parsable "$@") || return 1; echo "${out%%;*}"; }

submit_merge() { # DIR DEPENDENCY_JOB
	submit --dependency="afterok:$2" --kill-on-invalid-dep=yes "$1/job/merge.sbatch"
}

if [ "${1:-}" = --resubmit ]; then
	[ $# -eq 3 ] || die "usage: $PROG --resubmit DIR K[,K...]"
	DIR=$(realpath -m "$2")
	[ -f "$DIR/job/shard.sbatch" ] || die "$DIR/job/shard.sbatch not found: DIR must be a directory written by $PROG"
	N=$(cat "$DIR/job/shards")
	IFS=, read -r -a ks <<<"$3"
	for k in "${ks[@]}"; do
		[[ "$k" =~ ^[0-9]+$ ]] && [ "$k" -ge 1 ] && [ "$k" -le "$N" ] ||
			die "shard '$k' is not valid for --resubmit, allowed: 1 .. $N (this sweep has $N shards)"
	done
	arr=$(submit --array="$3" "$DIR/job/shard.sbatch") || die "sbatch refused the shard job"
	mj=$(submit_merge "$DIR" "$arr") || die "sbatch refused the merge job"
	echo "resubmitted shard(s) $3 of $N: job $arr; merge job $mj"
	echo "shards $arr merge $mj (resubmit of $3)" >>"$DIR/jobs.txt"
	exit 0
fi

[ $# -ge 1 ] || { usage >&2; exit 2; }
SWEEP=$1
shift
N="" OUT="" PART="" TIME="" PB="" REPORT=1
SBATCH_ARGS=() EXTRA=()
while [ $# -gt 0 ]; do
	case $1 in
	--shards) N=${2:-}; shift 2 || die "--shards needs a number" ;;
	--out) OUT=${2:-}; shift 2 || die "--out needs a directory" ;;
	--partition) PART=${2:-}; shift 2 || die "--partition needs a name" ;;
	--time) TIME=${2:-}; shift 2 || die "--time needs a limit (e.g. 2:00:00)" ;;
	--poolbench) PB=${2:-}; shift 2 || die "--poolbench needs a path" ;;
	--sbatch) SBATCH_ARGS+=("${2:-}"); shift 2 || die "--sbatch needs an argument" ;;
	--no-report) REPORT=0; shift ;;
	--) shift; EXTRA=("$@"); break ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument '$1', allowed: --shards N, --out DIR, --partition P, --time T, --poolbench PATH, --sbatch ARG, --no-report, -- EXTRA" ;;
	esac
done
[ -f "$SWEEP" ] && [ -r "$SWEEP" ] || die "sweep file '$SWEEP' not found or not readable"
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 10000 ] ||
	die "value '${N}' is not valid for --shards, allowed: 1 .. 10000"
if [ -n "$PB" ]; then
	[ -x "$PB" ] || die "--poolbench '$PB' is not an executable file"
else
	PB=$(find_poolbench) || die "poolbench not found: build it (meson setup build-release -Dbuildtype=release && ninja -C build-release) or give --poolbench PATH"
fi
PB=$(realpath "$PB")
"$PB" sweep "$SWEEP" --dry-run "${EXTRA[@]}" >/dev/null ||
	die "the sweep does not plan: see the line above (poolbench sweep $SWEEP --dry-run ${EXTRA[*]})"
if [ -z "$OUT" ]; then
	OUT="results/$(basename "$SWEEP" .ini)-$(date +%Y%m%d-%H%M%S)"
fi
DIR=$(realpath -m "$OUT")
if [ -e "$DIR/job/shard.sbatch" ]; then
	die "$DIR holds a submitted sweep already: continue it with '$PROG --resubmit $DIR K', or give another --out"
fi
mkdir -p "$DIR/logs" "$DIR/job" || die "cannot create $DIR"

# Every task reads the same copy of the sweep file; a token proves that a
# node sees this very directory (a node-local /tmp or results/ would not).
cp "$SWEEP" "$DIR/sweep.ini"
TOKEN="$(date +%s)-$$-$RANDOM"
echo "$TOKEN" >"$DIR/job/token"
echo "$N" >"$DIR/job/shards"

q() { printf '%q' "$1"; }
extra_q=""
for a in "${EXTRA[@]}"; do extra_q+=" $(q "$a")"; done
hdr=(--job-name="pb-$(basename "$SWEEP" .ini)" --nodes=1 --ntasks=1 --exclusive)
[ -n "$PART" ] && hdr+=(--partition="$PART")
[ -n "$TIME" ] && hdr+=(--time="$TIME")

{
	echo '#!/usr/bin/env bash'
	echo "# Generated by $PROG on $(date -u +%Y-%m-%dT%H:%M:%SZ): shard K of $N, K = the array index."
	for h in "${hdr[@]}" --requeue --open-mode=append "--output=$DIR/logs/shard-%a.log"; do
		echo "#SBATCH $h"
	done
	for h in "${SBATCH_ARGS[@]}"; do echo "#SBATCH $h"; done
	cat <<EOF
set -u
K=\${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}
N=$N
DIR=$(q "$DIR")
PB=$(q "$PB")
echo "=== shard \$K/\$N: job \${SLURM_JOB_ID:-?} (array \${SLURM_ARRAY_JOB_ID:-?}_\$K), node \$(hostname), restart \${SLURM_RESTART_COUNT:-0}, \$(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ "\$(cat "\$DIR/job/token" 2>/dev/null)" != $(q "$TOKEN") ]; then
	echo "$PROG: the output directory \$DIR is not shared with node \$(hostname) (the token written at submission is not there): put --out on a shared filesystem" >&2
	exit 2
fi
if [ ! -x "\$PB" ]; then
	echo "$PROG: poolbench is not reachable on node \$(hostname) at \$PB: build it on a shared filesystem or at the same path on every node" >&2
	exit 2
fi
"\$PB" sweep "\$DIR/sweep.ini" --shard "\$K/\$N" --out "\$DIR/shard-\$K" --resume --quiet$extra_q
rc=\$?
echo "=== shard \$K/\$N: poolbench exit status \$rc, \$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# 1: a row is invalid/stall/crash (recorded, the shard is complete); 3: all skipped.
case \$rc in 0|1|3) exit 0 ;; *) exit \$rc ;; esac
EOF
} >"$DIR/job/shard.sbatch"

{
	echo '#!/usr/bin/env bash'
	echo "# Generated by $PROG: merge the $N shards once every task ended ok."
	for h in --job-name="pb-merge" --nodes=1 --ntasks=1 --open-mode=append "--output=$DIR/logs/merge.log"; do
		echo "#SBATCH $h"
	done
	[ -n "$PART" ] && echo "#SBATCH --partition=$PART"
	cat <<EOF
set -u
DIR=$(q "$DIR")
PB=$(q "$PB")
ROOT=$(q "$ROOT")
PY=/usr/bin/python3 # Debian's, which has matplotlib and pandas
[ -x "\$PY" ] || PY=python3
echo "=== merge: job \${SLURM_JOB_ID:-?}, node \$(hostname), \$(date -u +%Y-%m-%dT%H:%M:%SZ)"
shards=()
for k in \$(seq 1 $N); do shards+=("\$DIR/shard-\$k"); done
"\$PB" status "\${shards[@]}" || true
out="\$DIR/merged"
[ -e "\$out/results.csv" ] && out="\$DIR/merged-\${SLURM_JOB_ID:-\$\$}"
"\$PB" merge "\${shards[@]}" --out "\$out" --quiet || exit \$?
"\$PY" "\$ROOT/scripts/summary.py" "\$out/results.csv" >"\$out/summary.txt" 2>&1 || echo "merge: note: summary.py failed (see \$out/summary.txt)"
if [ $REPORT = 1 ]; then
	if "\$PY" "\$ROOT/scripts/plot.py" "\$out/results.csv" >"\$DIR/logs/report.log" 2>&1 &&
	   "\$PY" "\$ROOT/scripts/report.py" "\$out" >>"\$DIR/logs/report.log" 2>&1; then
		report="\$out/report.html"
	else
		report="not written (see \$DIR/logs/report.log)"
	fi
else
	report="not asked for (--no-report)"
fi
echo "merged: \$out/results.csv (\$((\$(wc -l <"\$out/results.csv") - 1)) rows), summary: \$out/summary.csv and \$out/summary.txt, meta: \$out/meta.json, report: \$report"
EOF
} >"$DIR/job/merge.sbatch"

arr=$(submit --array="1-$N" "$DIR/job/shard.sbatch") || die "sbatch refused the shard job array"
mj=$(submit_merge "$DIR" "$arr") || die "sbatch refused the merge job (the shards run: job $arr)"
echo "shards $arr merge $mj" >>"$DIR/jobs.txt"
echo "submitted: shards job $arr (array 1-$N), merge job $mj (after every shard ended ok)"
echo "logs: $DIR/logs/shard-K.log, $DIR/logs/merge.log; merged results: $DIR/merged"
echo "progress: $PB status $DIR/shard-*"
echo "a failed or cancelled shard K: $0 --resubmit $DIR K"
