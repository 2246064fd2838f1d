#!/bin/bash
# SPDX-License-Identifier: MIT
# The cluster runners against real engines (meson suite 'cluster', issue 12):
# GNU parallel (scripts/cluster/parallel-sweep.sh) on this machine, and a
# single-node Slurm 22.05 started here from Debian's slurm-wlm and munge:
# munged, slurmctld and slurmd run from a generated slurm.conf (one node named
# as this host with its CPU count, proctrack/linuxproc, task/none, no cgroups,
# state and spool under a temporary directory, ports of their own) and are
# stopped by PID at the end, whatever happens (trap).  Then:
#   - sweep A through slurm-sweep.sh with 3 shards: the merge job's (point,
#     rep) set equals the unsharded run's, each shard's meta.json names its
#     Slurm job and node;
#   - sweep B: one task cancelled mid-run (scancel: SIGTERM), resubmitted with
#     --resubmit: --resume completes it, no duplicate and no missing pair;
#   - merge refuses a set with a missing shard and a set mixing A and B.
# Installs the packages as root where they are missing; skips, saying why,
# only where they cannot be installed.  TAP; the evidence is in # comments.
# usage: tests/test_cluster.sh path/to/poolbench [source root]
set -u

PB=${1:?usage: test_cluster.sh path/to/poolbench [source root]}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
PB=$(realpath "$PB")
. "$(dirname "$0")/tap.sh"
tap_init cluster
unset PB_FAULT PB_FAKE_NS_PER_JOB
say() { echo "# $*"; }

# ---- packages --------------------------------------------------------------------
need_cmds() {
	local c
	for c in sbatch scontrol scancel squeue sinfo slurmctld slurmd munged parallel; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}
if ! need_cmds; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing slurm-wlm munge parallel (Debian packages)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
			slurm-wlm munge parallel >"$T/apt.log" 2>&1 ||
			{ [ "${PB_APT_UPDATED:-0}" = 1 ] || apt-get update >>"$T/apt.log" 2>&1
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 \
				slurm-wlm munge parallel >>"$T/apt.log" 2>&1; }
	fi
	if ! need_cmds; then
		echo "1..0 # SKIP slurm-wlm, munge and parallel are not installed and cannot be installed here ($([ "$(id -u)" -eq 0 ] && echo "apt-get failed: $(tail -1 "$T/apt.log" 2>/dev/null)" || echo "not root")); as root: apt-get install slurm-wlm munge parallel"
		exit 0
	fi
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP slurmd must run as root to start jobs; run this test as root (CI does)"
	exit 0
fi

# (point_id, rep) pairs of a results.csv, sorted; "DUP" lines for duplicates.
pairs() { "$PY" - "$1" <<'EOF'
import csv, sys
rows = [(r["point_id"], int(r["rep"])) for r in csv.DictReader(open(sys.argv[1]))]
for p in sorted(set(rows)):
    print(p[0], p[1])
for p in sorted({p for p in rows if rows.count(p) > 1}):
    print("DUP", p[0], p[1])
EOF
}

cat >"$T/a.ini" <<'EOF'
; SPDX-License-Identifier: MIT
; sweep A: quick, 6 points
[sweep]
backend = ckring, mutex, segmented
workers = 1, 2
jobs = 2000
reps = 2
cov = 0
watchdog = 30
EOF
cat >"$T/b.ini" <<'EOF'
; SPDX-License-Identifier: MIT
; sweep B: 6 points of 5 reps of 0.4 s, slow enough to cancel a shard mid-run
[sweep]
backend = ckring, mutex, segmented
workers = 1, 2
duration = 0.4s
reps = 5
cov = 0
watchdog = 30
EOF

# The unsharded runs, to compare with (B in the background meanwhile).
"$PB" sweep "$T/a.ini" --out "$T/a-all" --quiet >/dev/null 2>&1
"$PB" sweep "$T/b.ini" --out "$T/b-all" --quiet >/dev/null 2>&1 &
ball_pid=$!

# ---- GNU parallel -------------------------------------------------------------------
t0=$(date +%s)
"$SRC/scripts/cluster/parallel-sweep.sh" "$T/a.ini" --shards 3 -j 2 --out "$T/par" \
	--poolbench "$PB" --no-report >"$T/par.out" 2>&1
rc=$?
say "$ parallel-sweep.sh a.ini --shards 3 -j 2 --out par --no-report   (exit $rc, $(($(date +%s) - t0)) s)"
while IFS= read -r l; do say "  $l"; done <"$T/par.out"
while IFS= read -r l; do say "  joblog: $l"; done < <(cut -f1,2,4,7 "$T/par/logs/parallel.joblog")
npar=$(pairs "$T/par/merged/results.csv" | grep -vc DUP)
if [ $rc -eq 0 ] && [ "$(pairs "$T/par/merged/results.csv")" = "$(pairs "$T/a-all/results.csv")" ] &&
   [ "$(grep -c '	0	0	' "$T/par/logs/parallel.joblog")" -eq 3 ]; then
	ok "GNU parallel: 3 shards (job log: 3 exit 0), merged (point, rep) set = the unsharded run's ($npar pairs)"
else
	fail "GNU parallel: 3 shards merged = the unsharded run" "rc=$rc" "$(tail -5 "$T/par.out")"
fi

# ---- a single-node Slurm --------------------------------------------------------------
W="$T/slurm"
mkdir -p "$W/munge" "$W/key" "$W/state" "$W/spool" "$W/log"
chmod 700 "$W/key"
chmod 755 "$W" "$W/munge"
MUNGED_PID="" CTLD_PID="" SLURMD_PID=""
export SLURM_CONF="$W/slurm.conf"

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$CTLD_PID" ] && kill -0 "$CTLD_PID" 2>/dev/null; then
		# Jobs first: their slurmstepd outlive slurmd.
		scancel --quiet --user="$(id -un)" 2>/dev/null
		for _ in $(seq 1 40); do
			[ -z "$(squeue -h 2>/dev/null)" ] && break
			sleep 0.25
		done
	fi
	for p in "$SLURMD_PID" "$CTLD_PID" "$MUNGED_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "$SLURMD_PID" "$CTLD_PID" "$MUNGED_PID"; do
		[ -n "$p" ] || continue
		for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# munge: a key of our own, a socket of our own (no system munged needed).
if command -v mungekey >/dev/null 2>&1; then
	mungekey --create --keyfile="$W/key/munge.key" >/dev/null 2>&1
fi
[ -s "$W/key/munge.key" ] || head -c 1024 /dev/urandom >"$W/key/munge.key"
chmod 600 "$W/key/munge.key"
munged --foreground --force --key-file="$W/key/munge.key" --socket="$W/munge/munge.sock" \
	--pid-file="$W/munge/munged.pid" --log-file="$W/log/munged.log" --seed-file="$W/key/seed" \
	>"$W/log/munged.out" 2>&1 &
MUNGED_PID=$!

H=$(hostname -s)
NODE=$(slurmd -C | head -1 | sed 's/ *UpTime=.*//')
CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$NODE")
PORT=$((20000 + ($$ % 20000) * 2)) # two ports of our own
cat >"$SLURM_CONF" <<EOF
# Generated by tests/test_cluster.sh: one node, this host.
ClusterName=pbtest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$W/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=2
MinJobAge=600
InactiveLimit=0
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=pb Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
say "slurm.conf: node '$NODE', proctrack/linuxproc, task/none, ports $PORT-$((PORT + 1)), state in $W"
for _ in $(seq 1 40); do [ -S "$W/munge/munge.sock" ] && break; sleep 0.25; done
slurmctld -D -f "$SLURM_CONF" >"$W/log/slurmctld.out" 2>&1 &
CTLD_PID=$!
slurmd -D -N "$H" -f "$SLURM_CONF" >"$W/log/slurmd.out" 2>&1 &
SLURMD_PID=$!
state=""
for _ in $(seq 1 120); do
	state=$(sinfo -h -o %T 2>/dev/null | head -1)
	[ "$state" = idle ] && break
	sleep 0.25
done
if [ "$state" = idle ]; then
	ok "single-node Slurm $(sinfo -V 2>/dev/null | cut -d' ' -f2) up: munged $MUNGED_PID, slurmctld $CTLD_PID, slurmd $SLURMD_PID, node $H idle"
else
	fail "single-node Slurm up" "node state '$state'" "$(tail -5 "$W/log/slurmctld.log" 2>/dev/null)" \
		"$(tail -5 "$W/log/slurmd.log" 2>/dev/null)" "$(tail -3 "$W/log/munged.out")"
	tap_done
fi

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
# wait_job JOB SECONDS: until it has ended; prints its state.
wait_job() {
	local s="" i
	for ((i = 0; i < $2 * 4; i++)); do
		s=$(job_state "$1")
		case $s in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED) break ;; esac
		sleep 0.25
	done
	echo "${s:-unknown}"
}
# Job ids of a submission (slurm-sweep.sh writes "shards ARRAY merge MERGE").
ids() { tail -1 "$1/jobs.txt" | awk '{print $2, $4}'; }

# ---- sweep A: 3 shards, merge job --------------------------------------------------------
SA="$T/sa"
t0=$(date +%s)
"$SRC/scripts/cluster/slurm-sweep.sh" "$T/a.ini" --shards 3 --out "$SA" --poolbench "$PB" >"$T/sa.out" 2>&1
rc=$?
say "$ slurm-sweep.sh a.ini --shards 3 --out sa   (exit $rc)"
while IFS= read -r l; do say "  $l"; done <"$T/sa.out"
read -r arr mj < <(ids "$SA")
ms=$(wait_job "$mj" 90)
states=""
for k in 1 2 3; do states+="${arr}_$k=$(job_state "${arr}_$k") "; done
say "after $(($(date +%s) - t0)) s: shards $states; merge job $mj=$ms"
while IFS= read -r l; do say "  merge.log: $l"; done <"$SA/logs/merge.log"
na=$(pairs "$SA/merged/results.csv" | grep -vc DUP)
nall=$(pairs "$T/a-all/results.csv" | grep -vc DUP)
if [ $rc -eq 0 ] && [ "$ms" = COMPLETED ] && [ "$states" = "${arr}_1=COMPLETED ${arr}_2=COMPLETED ${arr}_3=COMPLETED " ] &&
   [ "$(pairs "$SA/merged/results.csv")" = "$(pairs "$T/a-all/results.csv")" ]; then
	ok "Slurm: array job $arr (3 shards COMPLETED), merge job $mj: merged $na (point, rep) pairs = unsharded $nall, no duplicate"
else
	fail "Slurm: 3 shards and the merge job" "rc=$rc merge=$ms shards: $states; merged $na unsharded $nall" \
		"$(tail -3 "$SA/logs/shard-1.log" 2>/dev/null)" "$(tail -3 "$SA/logs/merge.log" 2>/dev/null)"
fi
if probs=$("$PY" - "$SA" "$arr" "$H" <<'EOF'
import json, sys
d, arr, host = sys.argv[1:4]
bad = []
for k in (1, 2, 3):
    runs = json.load(open("%s/shard-%d/meta.json" % (d, k)))["runs"]
    s = runs[-1].get("slurm", {})
    if s.get("array_job_id") != arr or s.get("array_task_id") != str(k) or s.get("node") != host or not s.get("job_id"):
        bad.append("shard %d: slurm %r" % (k, s))
    if runs[-1]["sweep"]["shard"] != "%d/3" % k:
        bad.append("shard %d: sweep.shard %r" % (k, runs[-1]["sweep"]["shard"]))
    print("# shard-%d/meta.json: slurm %s, sweep %s" % (k, json.dumps(s), runs[-1]["sweep"]["fingerprint"]))
m = json.load(open(d + "/merged/meta.json"))
if len(m["sources"]) != 3 or m["merge"]["shards"] != 3 or m["merge"]["partial"] is not None:
    bad.append("merged meta.json: %d sources, merge %r" % (len(m["sources"]), m["merge"]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
); then
	echo "$probs"
	ok "Slurm: each shard's meta.json records its job id, array task and node; merged meta.json: 3 sources, no gap"
else
	fail "Slurm: meta.json records the Slurm job and node" "$probs"
fi
if [ -s "$SA/merged/summary.csv" ] && [ -s "$SA/merged/report.html" ] && grep -q 'report: .*report.html' "$SA/logs/merge.log"; then
	ok "Slurm: the merge job wrote summary.csv and report.html and said where"
else
	fail "Slurm: the merge job wrote summary and report" "$(ls "$SA/merged" 2>&1)" "$(tail -3 "$SA/logs/report.log" 2>/dev/null)"
fi

# ---- sweep B: cancel a task mid-run, resubmit, --resume completes it ------------------------
SB="$T/sb"
wait "$ball_pid"
"$SRC/scripts/cluster/slurm-sweep.sh" "$T/b.ini" --shards 3 --out "$SB" --poolbench "$PB" --no-report >"$T/sb.out" 2>&1
say "$ slurm-sweep.sh b.ini --shards 3 --out sb --no-report   (exit $?)"
while IFS= read -r l; do say "  $l"; done <"$T/sb.out"
read -r barr bmj < <(ids "$SB")
rows=0
for _ in $(seq 1 400); do
	rows=$(($(cat "$SB/shard-2/results.csv" 2>/dev/null | wc -l) - 1))
	[ "$rows" -ge 2 ] && break
	sleep 0.1
done
say "$ scancel ${barr}_2   (shard 2/3 had $rows rows)"
scancel "${barr}_2"
c2=$(wait_job "${barr}_2" 30)
m1=$(wait_job "$bmj" 60)
s1=$(wait_job "${barr}_1" 60)
s3=$(wait_job "${barr}_3" 60)
say "shards ${barr}_1=$s1 ${barr}_2=$c2 ${barr}_3=$s3; merge job $bmj=$m1 ($(scontrol show job "$bmj" | grep -o 'Reason=[A-Za-z]*'))"
while IFS= read -r l; do say "  shard-2.log: $l"; done < <(grep -v '^$' "$SB/logs/shard-2.log")
cp "$SB/shard-2/results.csv" "$T/b2-before.csv"
before=$(($(wc -l <"$T/b2-before.csv") - 1))
parts=$(ls -a "$SB/shard-2" | grep -c '\.part$')
if [ "$c2" = CANCELLED ] && [ "$m1" = CANCELLED ] && [ "$before" -ge 2 ] && [ "$before" -lt 10 ] &&
   [ -s "$SB/shard-2/summary.csv" ] && [ "$parts" -eq 0 ] &&
   grep -q 'interrupted by SIGTERM' "$SB/logs/shard-2.log" &&
   grep -q -- "--shard 2/3 --out $SB/shard-2 --resume" "$SB/logs/shard-2.log"; then
	ok "Slurm: scancel mid-run: task CANCELLED with $before of 10 rows, summary.csv written, no .part file, --resume command in its log; merge job $bmj cancelled (dependency never satisfied)"
else
	fail "Slurm: scancel mid-run" "task=$c2 merge=$m1 rows=$before parts=$parts" "$(tail -4 "$SB/logs/shard-2.log")"
fi
"$PB" status "$SB"/shard-{1,2,3} >"$T/st.out" 2>&1
rc=$?
while IFS= read -r l; do say "  status: $l"; done <"$T/st.out"
if [ $rc -eq 1 ] && grep -q 'shard 2/3: .* missing' "$T/st.out" && grep -q "complete with: .*--resume" "$T/st.out"; then
	ok "status names the cancelled shard's missing pairs and the command that completes them"
else
	fail "status after the cancel" "rc=$rc" "$(cat "$T/st.out")"
fi
"$SRC/scripts/cluster/slurm-sweep.sh" --resubmit "$SB" 2 >"$T/rs.out" 2>&1
say "$ slurm-sweep.sh --resubmit sb 2   (exit $?): $(cat "$T/rs.out")"
read -r rarr rmj < <(ids "$SB")
m2=$(wait_job "$rmj" 90)
r2=$(job_state "${rarr}_2")
say "resubmitted task ${rarr}_2=$r2; merge job $rmj=$m2"
while IFS= read -r l; do say "  merge.log: $l"; done < <(grep -A20 "job $rmj" "$SB/logs/merge.log")
nb=$(pairs "$SB/merged/results.csv" | grep -vc DUP)
nball=$(pairs "$T/b-all/results.csv" | grep -vc DUP)
after=$(($(wc -l <"$SB/shard-2/results.csv") - 1))
if [ "$m2" = COMPLETED ] && [ "$r2" = COMPLETED ] &&
   [ "$(pairs "$SB/merged/results.csv")" = "$(pairs "$T/b-all/results.csv")" ] &&
   [ "$(head -n $((before + 1)) "$SB/shard-2/results.csv")" = "$(cat "$T/b2-before.csv")" ] &&
   [ "$(pairs "$SB/shard-2/results.csv" | grep -c DUP)" -eq 0 ] &&
   [ "$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"]; print(len(r), r[-1]["resume"], r[-1]["sweep"]["shard"], r[-1]["slurm"]["array_job_id"])' "$SB/shard-2/meta.json")" = "2 True 2/3 $rarr" ]; then
	ok "Slurm: resubmitted shard 2/3 (job ${rarr}) resumed: kept its $before rows, added $((after - before)); merged $nb pairs = unsharded $nball, no duplicate, none missing"
else
	fail "Slurm: resubmit and --resume" "task=$r2 merge=$m2 merged=$nb unsharded=$nball rows $before -> $after" \
		"$(tail -4 "$SB/logs/shard-2.log")" "$(tail -3 "$SB/logs/merge.log")"
fi

# ---- clear errors: output directory not shared, poolbench not reachable ---------------
# Submitted held; the directory's token (or the poolbench copy) goes away, as
# on a node that does not mount them; then released.
cp "$PB" "$T/pb-copy"
for what in token poolbench; do
	SX="$T/sx-$what"
	"$SRC/scripts/cluster/slurm-sweep.sh" "$T/a.ini" --shards 1 --out "$SX" --poolbench "$T/pb-copy" \
		--no-report --sbatch --hold >/dev/null 2>&1
	read -r xarr xmj < <(ids "$SX")
	if [ $what = token ]; then rm -f "$SX/job/token"; else mv "$T/pb-copy" "$T/pb-gone"; fi
	scontrol release "$xarr"
	xs=$(wait_job "${xarr}_1" 30)
	msg=$(grep 'slurm-sweep.sh: ' "$SX/logs/shard-1.log" 2>/dev/null)
	say "$what gone: task ${xarr}_1=$xs: $msg"
	if [ $what = token ]; then want="is not shared with node $H"; else want="poolbench is not reachable on node $H at $T/pb-copy"; fi
	if [ "$xs" = FAILED ] && [[ "$msg" == *"$want"* ]] && [ ! -e "$SX/shard-1/results.csv" ]; then
		ok "Slurm: a task that cannot see the $what fails at once with one clear line"
	else
		fail "Slurm: a task without the $what fails clearly" "state=$xs" "$(tail -3 "$SX/logs/shard-1.log" 2>/dev/null)"
	fi
	scancel "$xmj" 2>/dev/null
done

# ---- merge refusals on the Slurm shards --------------------------------------------------
"$PB" merge "$SA/shard-1" "$SA/shard-3" --out "$T/x1" >/dev/null 2>"$T/x1.err"
rc=$?
say "$ poolbench merge sa/shard-1 sa/shard-3 --out x1   (exit $rc): $(cut -c1-300 "$T/x1.err")"
if [ $rc -eq 2 ] && grep -q 'missing shard 2/3' "$T/x1.err" && [ ! -e "$T/x1" ]; then
	ok "merge refuses a set with a missing shard (exit 2, nothing written)"
else
	fail "merge refuses a missing shard" "rc=$rc" "$(cat "$T/x1.err")"
fi
"$PB" merge "$SA/shard-1" "$SB/shard-2" "$SB/shard-3" --out "$T/x2" >/dev/null 2>"$T/x2.err"
rc=$?
say "$ poolbench merge sa/shard-1 sb/shard-2 sb/shard-3 --out x2   (exit $rc): $(cut -c1-300 "$T/x2.err")"
if [ $rc -eq 2 ] && grep -q 'hold different sweeps' "$T/x2.err" && [ ! -e "$T/x2" ]; then
	ok "merge refuses shards of two sweeps (exit 2, nothing written)"
else
	fail "merge refuses a mix of two sweeps" "rc=$rc" "$(cat "$T/x2.err")"
fi

tap_done
