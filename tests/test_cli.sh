#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the poolbench program (meson suite 'cli'): bad input is refused
# with exit 2, one line naming the value and no results file; "list" is the
# registry; a small run over every backend and reclaimer writes a valid CSV
# and meta.json; the watchdog records crash/stall rows and the sweep goes on;
# --append refuses a mismatching header.  Prints TAP.
# usage: tests/test_cli.sh path/to/poolbench
set -u

PB=${1:?usage: test_cli.sh path/to/poolbench}
. "$(dirname "$0")/tap.sh"
tap_init cli
unset PB_FAULT


# ---- the registry, as "list" prints it --------------------------------------
"$PB" list >"$T/list" 2>"$T/list.err"
rc=$?
section_names() { # names of the entries of one section of the list output
	awk -v s="$1:" '/^[a-z]+:$/ {in_s = ($0 == s); next} in_s && /^  [^ ]/ {print $1}' "$T/list"
}
BACKENDS=$(section_names backends)
RECLAIMERS=$(section_names reclaimers)
WORKLOADS=$(section_names workloads)
if [ $rc -eq 0 ] && [ -n "$BACKENDS" ] && [ -n "$WORKLOADS" ]; then
	ok "list exits 0 and has backends and workloads"
else
	fail "list exits 0 and has backends and workloads" "rc=$rc" "$(cat "$T/list.err")"
fi
missing=""
for name in segmented mutex ckring; do
	echo "$BACKENDS" | grep -qx "$name" || missing="$missing backend:$name"
done
for name in limbo hp; do
	echo "$RECLAIMERS" | grep -qx "$name" || missing="$missing reclaimer:$name"
done
for name in empty sha256 cpu; do
	echo "$WORKLOADS" | grep -qx "$name" || missing="$missing workload:$name"
done
if [ -z "$missing" ]; then ok "list names the known plug-ins"; else fail "list names the known plug-ins" "missing:$missing"; fi
# Every entry is followed (before the next entry) by an "options:" line.
bad=$(awk '/^  [^ ]/ {if (name != "" && !seen) print name; name = $1; seen = 0; next}
	   /^    options:/ {seen = 1}
	   END {if (name != "" && !seen) print name}' "$T/list")
if [ -z "$bad" ]; then ok "every plug-in in list has its options printed"; else fail "every plug-in in list has its options printed" "no options line: $bad"; fi
# Options shown for a plug-in that declares them (ckring: capacity).
if awk '/^  ckring /{f=1; next} /^  [^ ]/{f=0} f && /^      capacity / {found=1} END {exit !found}' "$T/list"; then
	ok "list prints ckring's capacity option"
else
	fail "list prints ckring's capacity option"
fi

"$PB" topo >"$T/topo" 2>&1
if [ $? -eq 0 ] && grep -q '^topology: ' "$T/topo" && grep -q 'compact' "$T/topo" && grep -q 'scatter' "$T/topo"; then
	ok "topo prints the topology and the policies"
else
	fail "topo prints the topology and the policies" "$(head -5 "$T/topo")"
fi
NPUS=$(sed -n 's/^topology: .* \([0-9][0-9]*\) PUs\{0,1\}$/\1/p' "$T/topo")
[ -n "$NPUS" ] || NPUS=$(nproc)

# ---- bad input: exit 2, one stderr line naming the value, no results.csv ----
case_no=0
bad_input() { # description, expected text in the message, run arguments...
	local desc=$1 want=$2 out rc
	shift 2
	case_no=$((case_no + 1))
	out="$T/bad$case_no"
	# A later --backend overrides this one (the default backend may not be built).
	"$PB" run --quiet --backend "$first_backend" --jobs 100 --reps 1 --out "$out" "$@" \
		>"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check_refused "$desc" "$want" $rc "$out/results.csv" "$out/meta.json"
}

first_backend=$(echo "$BACKENDS" | head -1)
first_workload=$(echo "$WORKLOADS" | head -1)
# A one-letter typo (last letter doubled) must be refused with the suggestion.
bad_input "unknown backend with suggestion" "did you mean '$first_backend'" --backend "${first_backend}${first_backend: -1}"
bad_input "unknown backend names the value" "'nosuchqueue'" --backend nosuchqueue
bad_input "--submit-batch 0" "value 0 is out of range for --submit-batch, allowed: 1 .. 4096" --submit-batch 0
bad_input "--submit-batch over 4096" "value 4097 is out of range for --submit-batch" --submit-batch 1,4097
bad_input "bounded supply below the minimum" "seg-supply bounded needs seg-count >= 6 for hp with 4 threads" --backend segmented --reclaim hp --seg-size 1 --seg-count 5 --seg-supply bounded --producers 2 --workers 2
bad_input "bounded supply with a reclaimer that never frees" "cannot make progress with reclaimer none" --backend segmented --reclaim none --seg-supply bounded
bad_input "--submit-batch > 1 in latency mode" "--submit-batch 8 needs --mode throughput" --mode latency --submit-batch 8
bad_input "--backlog in latency mode" "--backlog 64 needs --mode throughput (the latency mode sets its own bound), allowed otherwise: 0" --mode latency --backlog 64
bad_input "--backlog over 2^32" "value 4294967297 is out of range for --backlog, allowed: 0 .. 4294967296" --backlog 0,4294967297
bad_input "--coalesce over 65536" "value 65537 is out of range for --coalesce, allowed: 0 .. 65536" --coalesce 65537
bad_input "unknown --idle-poll" "unknown value 'spin' for --idle-poll, allowed: yield, relax" --idle-poll yield,spin
bad_input "--idle-poll twice" "bad list 'relax,relax' for --idle-poll: 'relax' given twice" --idle-poll relax,relax
bad_input "unknown workload" "'${first_workload}${first_workload: -1}'" --workload "${first_workload}${first_workload: -1}"
rc_backend=$(awk '/^  [^ ]/{b=$1} /^reclaimers:/{exit} /flags:.*reclaim/{print b; exit}' "$T/list")
bad_input "unknown reclaimer" "'nosuchscheme'" --backend "${rc_backend:-$first_backend}" --reclaim nosuchscheme
seg_backend=$(awk '/^  [^ ]/{b=$1} /^reclaimers:/{exit} /^      seg-size /{print b; exit}' "$T/list")
if [ -n "$seg_backend" ]; then
	bad_input "--seg-size 0 out of range" "value 0" --backend "$seg_backend" --seg-size 0
	bad_input "--seg-size 0 refused in a mixed backend list" "value 0" --backend "ckring,$seg_backend" --seg-size 0
else
	fail "a backend with a seg-size option exists" "no backend declares seg-size in 'poolbench list'"
fi
bad_input "--capacity 3 for ckring" "value 3" --backend ckring --capacity 3
bad_input "--capacity 6 for ckring (not a power of two)" "value 6" --backend ckring --capacity 6
bad_input "bad list syntax (empty item)" "'1,,2'" --workers 1,,2
bad_input "bad list syntax (trailing comma)" "'1,'" --producers 1,
bad_input "bad list item" "'two'" --workers 1,two
bad_input "duplicate list item" "'1,1'" --workers 1,1
bad_input "unwritable --out" "/proc/x" --backend ckring --out /proc/x
bad_input "bad --reps 0" "value 0" --reps 0
bad_input "bad --reps x" "'x'" --reps x
bad_input "bad --jobs -5" "'-5'" --jobs -5
bad_input "unknown option" "--frobnicate" --frobnicate
bad_input "bad pin policy" "'sideways'" --pin-workers sideways
bad_input "pin list with a CPU that does not exist" "CPU 4096" --pin-workers 0,4096
bad_input "unknown --backend-opt name" "'capacty'" --backend ckring --backend-opt capacty=8
bad_input "bad --backend-opt value" "value 5" --backend ckring --backend-opt capacity=5
bad_input "unknown --workload-opt name" "'nosuch'" --workload-opt nosuch=1

# ---- a small valid run over every backend and reclaimer ------------------------
check_csv() { # dir, expected minimum rows -> prints problems, exits non-zero on any
	"$PY" - "$1" "$2" <<'EOF'
import csv, json, sys
d, want = sys.argv[1], int(sys.argv[2])
req = ["schema_version", "backend", "reclaim", "workload", "producers", "workers", "seg_size",
       "seg_count", "rep", "jobs", "elapsed_ns", "ns_per_job", "jobs_per_s", "status", "lost",
       "duplicated"]
more = ["capacity", "seg_supply", "batch", "wake_min_jobs", "flush_us", "warmup_jobs", "errors",
        "allocs_per_job", "segs_allocated", "segs_reused", "segs_retired", "pending_end",
        "pending_peak", "batches", "parks", "wakes", "peak_rss_kb", "ctx_switches",
        "pin_workers", "pin_producers", "cpus_workers", "cpus_producers", "note"]
bad = []
with open(d + "/results.csv", newline="") as f:
    rows = list(csv.reader(f))
hdr = rows[0]
if hdr[:len(req)] != req:
    bad.append("header does not start with the required columns: %s" % hdr[:len(req)])
for c in more:
    if c not in hdr:
        bad.append("column %s missing" % c)
body = [dict(zip(hdr, r)) for r in rows[1:]]
for r, raw in zip(body, rows[1:]):
    if len(raw) != len(hdr):
        bad.append("row with %d fields, header %d" % (len(raw), len(hdr)))
    if r["schema_version"] != body[0]["schema_version"] or not r["schema_version"].isdigit():
        bad.append("schema_version %s" % r["schema_version"])
    if r["status"] == "skip":
        continue
    if r["status"] != "ok" or r["lost"] != "0" or r["duplicated"] != "0" or r["errors"] != "0":
        bad.append("row not ok: %s" % ",".join(raw))
    if float(r["ns_per_job"]) <= 0 or int(r["elapsed_ns"]) <= 0:
        bad.append("no timing: %s" % ",".join(raw))
if len(body) < want:
    bad.append("%d rows, expected at least %d" % (len(body), want))
m = json.load(open(d + "/meta.json"))
for k in ["schema_version", "date", "host", "cpu_model", "nproc", "topology", "kernel",
          "compiler", "build", "libraries", "runs"]:
    if k not in m:
        bad.append("meta.json lacks %s" % k)
if not m.get("runs") or "command" not in m["runs"][-1]:
    bad.append("meta.json lacks the command line")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

blist=$(echo $BACKENDS | tr ' ' ',')
rlist=$(echo $RECLAIMERS | tr ' ' ',')
nb=$(echo $BACKENDS | wc -w)
# Reclaimer-taking backends only run with reclaimers they accept; pass all.
rc_args=()
[ -n "$rc_backend" ] && rc_args=(--reclaim "$rlist")
"$PB" run --backend "$blist" "${rc_args[@]}" --jobs 2000 --reps 2 --workers 1,2 \
	--watchdog 60 --out "$T/run" >"$T/run.out" 2>"$T/run.err"
rc=$?
if [ $rc -eq 0 ]; then ok "small run over every backend exits 0"; else fail "small run over every backend exits 0" "rc=$rc" "$(tail -5 "$T/run.err")"; fi
if probs=$(check_csv "$T/run" $((nb * 2 * 2))); then
	ok "CSV: required columns, status ok, lost=0 duplicated=0 on every row; meta.json parses"
else
	fail "CSV: required columns, status ok, lost=0 duplicated=0 on every row; meta.json parses" "$probs"
fi
if grep -q '^\[1/' "$T/run.err" && grep -q 'ns/job' "$T/run.out"; then
	ok "progress lines on stderr and a summary table on stdout"
else
	fail "progress lines on stderr and a summary table on stdout"
fi
# Each backend shows up in the CSV.
missing=""
for b in $BACKENDS; do
	cut -d, -f2 "$T/run/results.csv" | grep -qx "$b" || missing="$missing $b"
done
if [ -z "$missing" ]; then ok "every backend has rows"; else fail "every backend has rows" "missing:$missing"; fi

# An axis that no selected backend has collapses to "-" with a note; the run goes on.
"$PB" run --backend ckring --seg-size 64 --jobs 1000 --reps 1 --quiet --out "$T/collapse" \
	>/dev/null 2>"$T/collapse.err"
rc=$?
seg=$(cut -d, -f7 "$T/collapse/results.csv" 2>/dev/null | tail -n +2 | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$seg" = "- " ] && grep -q 'no selected backend has option seg-size' "$T/collapse.err"; then
	ok "--seg-size for a backend without it: one row with seg_size '-', and a note"
else
	fail "--seg-size for a backend without it: one row with seg_size '-', and a note" "rc=$rc seg='$seg'" "$(cat "$T/collapse.err")"
fi

# ---- --append ----------------------------------------------------------------
rows_before=$(wc -l <"$T/run/results.csv")
"$PB" run --backend ckring --jobs 1000 --reps 1 --quiet --append --out "$T/run" >/dev/null 2>"$T/app.err"
rc=$?
rows_after=$(wc -l <"$T/run/results.csv")
nruns=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"]))' "$T/run/meta.json" 2>&1)
if [ $rc -eq 0 ] && [ "$rows_after" -eq $((rows_before + 1)) ] && [ "$nruns" = 2 ]; then
	ok "--append adds rows to a matching CSV and a run to meta.json"
else
	fail "--append adds rows to a matching CSV and a run to meta.json" "rc=$rc rows $rows_before -> $rows_after runs=$nruns" "$(cat "$T/app.err")"
fi
"$PB" run --backend ckring --jobs 1000 --reps 1 --quiet --out "$T/run" >/dev/null 2>"$T/app.err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$T/run/results.csv")" -eq "$rows_after" ]; then
	ok "an existing results.csv without --append is refused"
else
	fail "an existing results.csv without --append is refused" "rc=$rc" "$(cat "$T/app.err")"
fi
mkdir -p "$T/other"
printf 'schema_version,backend,something_else\n1,x,y\n' >"$T/other/results.csv"
cp "$T/other/results.csv" "$T/other.orig"
"$PB" run --backend ckring --jobs 1000 --reps 1 --quiet --append --out "$T/other" >/dev/null 2>"$T/app.err"
rc=$?
if [ $rc -eq 2 ] && cmp -s "$T/other/results.csv" "$T/other.orig" && grep -q 'header' "$T/app.err" &&
   [ "$(wc -l <"$T/app.err")" -eq 1 ]; then
	ok "--append to a CSV with another header is refused, file unchanged"
else
	fail "--append to a CSV with another header is refused, file unchanged" "rc=$rc" "$(cat "$T/app.err")"
fi

# ---- watchdog: injected crash and stall are recorded, the sweep goes on ------
PB_FAULT=crash@2,stall@3 "$PB" run --backend ckring --jobs 2000 --reps 4 --watchdog 2 --max-fail 0 \
	--out "$T/fault" >"$T/fault.out" 2>"$T/fault.err"
rc=$?
statuses=$(cut -d, -f14 "$T/fault/results.csv" | tail -n +2 | tr '\n' ' ')
if [ $rc -eq 1 ] && [ "$statuses" = "ok crash stall ok " ]; then
	ok "watchdog: rows ok crash stall ok, exit 1"
else
	fail "watchdog: rows ok crash stall ok, exit 1" "rc=$rc statuses='$statuses'" "$(tail -4 "$T/fault.err")"
fi
# With the default --max-fail 2 the point is given up after its second
# stall/crash: the 4th repetition is not run.
PB_FAULT=crash@2,stall@3 "$PB" run --backend ckring --jobs 2000 --reps 4 --watchdog 2 \
	--out "$T/fault2" >"$T/fault2.out" 2>"$T/fault2.err"
rc=$?
statuses=$(cut -d, -f14 "$T/fault2/results.csv" | tail -n +2 | tr '\n' ' ')
if [ $rc -eq 1 ] && [ "$statuses" = "ok crash stall " ]; then
	ok "--max-fail 2 (default): point given up after crash + stall"
else
	fail "--max-fail 2 (default): point given up after crash + stall" "rc=$rc statuses='$statuses'"
fi
if grep -q ',crash,.*SIGSEGV' "$T/fault/results.csv" && grep -q ',stall,.*watchdog' "$T/fault/results.csv"; then
	ok "crash row names the signal, stall row says watchdog"
else
	fail "crash row names the signal, stall row says watchdog" "$(cat "$T/fault/results.csv")"
fi

# ---- every row says how much its queue could hold (unequal defaults) ---------
"$PB" run --backend segmented,mutex,ckring --reclaim hp --jobs 2000 --reps 1 \
	--out "$T/bound" >/dev/null 2>"$T/bound.err" &&
"$PB" run --backend segmented --reclaim hp --seg-supply bounded --seg-size 64 --seg-count 64 \
	--jobs 2000 --reps 1 --out "$T/bound2" >/dev/null 2>>"$T/bound.err"
rc=$?
got=$(cat "$T/bound/results.csv" "$T/bound2/results.csv" | "$PY" -c '
import csv, sys
print(" ".join("%s=%s" % (r["backend"], r["queue_bound"]) for r in csv.DictReader(sys.stdin) if r["backend"] != "backend"))')
want="segmented=unbounded mutex=4096 ckring=4095 segmented=4096"
if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
	ok "queue_bound: segmented unbounded by default, 4096 bounded 64x64; mutex 4096; ckring 4095"
else
	fail "queue_bound: segmented unbounded by default, 4096 bounded 64x64; mutex 4096; ckring 4095" "rc=$rc got '$got'" "$(tail -2 "$T/bound.err")"
fi

# axis_is DESC COLUMN WANT DIR RUN_ARGS...: one run into DIR; one check that it
# exits 0 and that its rows give "N ['v1', ...] True M": N rows, the column's
# values, every row ok with nothing lost or duplicated, M distinct point ids.
axis_is() {
	local desc=$1 col=$2 want=$3 dir=$4 rc got
	shift 4
	"$PB" run "$@" --out "$T/$dir" >/dev/null 2>"$T/$dir.err"
	rc=$?
	got=$("$PY" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(len(rows), sorted(set(r[sys.argv[2]] for r in rows), key=lambda v: (len(v), v)),
      all(r["status"] == "ok" and r["lost"] == "0" and r["duplicated"] == "0" for r in rows),
      len(set(r["point_id"] for r in rows)))' "$T/$dir/results.csv" "$col" 2>&1)
	if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
		ok "$desc"
	else
		fail "$desc" "rc=$rc got: $got" "$(tail -2 "$T/$dir.err")"
	fi
}

# ---- --submit-batch is an axis: one point per value, recorded, validated ------
axis_is "--submit-batch 1,7,64: 9 valid rows, submit_batch column, 9 distinct point ids" \
	submit_batch "9 ['1', '7', '64'] True 9" sbatch \
	--backend segmented,mutex,ckring --reclaim hp --submit-batch 1,7,64 --jobs 3000 --reps 1

# ---- --backlog bounds the queue: no growth past the pre-filled segments ------
# A slow job (cpu, 5000 iterations) under one worker: without a bound the
# producer floods the queue, which grows far past the 256 pre-filled
# segments of 16 slots (10000 jobs need 625); with --backlog 256 it holds at
# most 256 jobs (16 segments), and the supply never allocates (hp's pending
# list and the per-thread caches stay far under the other 240).
"$PB" run --backend segmented --reclaim hp --workload cpu --workload-opt iters=5000 --workers 1 \
	--seg-size 16 --seg-count 256 --backlog 0,256 --jobs 10000 --warmup 0 --reps 1 --cov 0 \
	--out "$T/backlog" >/dev/null 2>"$T/backlog.err"
rc=$?
got=$("$PY" -c '
import csv, sys
rows = {r["backlog"]: r for r in csv.DictReader(open(sys.argv[1]))}
ok = all(r["status"] == "ok" for r in rows.values())
print(sorted(rows, key=int), ok, int(rows["0"]["segs_allocated"]) > 256,
      rows["256"]["segs_allocated"], int(rows["256"]["segs_peak"]) <= 256,
      rows["0"]["point_id"] != rows["256"]["point_id"])' "$T/backlog/results.csv" 2>&1)
if [ $rc -eq 0 ] && [ "$got" = "['0', '256'] True True 256 True True" ]; then
	ok "--backlog 0,256: the flood grows the queue past its 256 segments, backlog 256 allocates none"
else
	fail "--backlog 0,256: the flood grows the queue past its 256 segments, backlog 256 allocates none" "rc=$rc got: $got" "$(tail -2 "$T/backlog.err")"
fi

# ---- --coalesce is an axis: recorded, validated, its own point ids ----------
axis_is "--coalesce 0,256: 4 valid rows, coalesce column, 4 distinct point ids" \
	coalesce "4 ['0', '256'] True 4" coal \
	--backend segmented,mutex --reclaim hp --coalesce 0,256 --jobs 3000 --reps 1

# ---- --idle-poll is an axis: recorded, validated, its own point ids ---------
axis_is "--idle-poll yield,relax: 4 valid rows, idle_poll column, 4 distinct point ids" \
	idle_poll "4 ['relax', 'yield'] True 4" idle \
	--backend segmented,mutex --reclaim hp --idle-poll yield,relax --jobs 3000 --reps 1

# statuses_are DESC WANT DIR RUN_ARGS...: one run into DIR; one check that it
# exits 0 with rows "reclaim=status ..." equal to WANT (a stall fails it).
statuses_are() {
	local desc=$1 want=$2 dir=$3 rc got
	shift 3
	"$PB" run "$@" --reps 1 --watchdog 30 --max-fail 1 --out "$dir" >/dev/null 2>"$dir.err"
	rc=$?
	got=$("$PY" -c '
import csv, sys
print(" ".join("%s=%s" % (r["reclaim"], r["status"]) for r in csv.DictReader(open(sys.argv[1]))))' "$dir/results.csv" 2>&1)
	if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
		ok "$desc"
	else
		fail "$desc" "rc=$rc got '$got'" "$(tail -2 "$dir.err")"
	fi
}

# ---- liburcu keeps up under a bounded supply (default retire-mode=thread) -----
# A stall here (the watchdog) fails the check.  With liburcu's call_rcu worker
# (the old default) this small run crawled at ~775 us/job and larger ones hit
# the watchdog: the producer waited for a worker that naps between rounds.
statuses_are "urcu-memb and urcu-qsbr finish seg-size 1 with a bounded supply of 16 segments" \
	"urcu-memb=ok urcu-qsbr=ok" "$T/urcub" --backend segmented --reclaim urcu-memb,urcu-qsbr \
	--seg-size 1 --seg-count 16 --seg-supply bounded --workers 2 --jobs 3000

# ---- the computed minimum bounded supply is enough for every proven scheme ----
# Generated from the registry: every reclaimer that 'list' flags proven and
# not no-reuse.  segmented_check computes the minimum (2 + held_max x
# threads); the refusal of seg-count 1 names it.  At exactly that minimum,
# seg-size 1, 2 producers and 2 workers, each scheme must finish (a stall
# fails the check: watchdog 30 s), and one below it must be refused.
PROVEN=$(awk '/^reclaimers:$/ {in_r = 1; next} /^[a-z]+:$/ {in_r = 0}
	in_r && /^  [^ ]/ {name = $1}
	in_r && /^    flags:/ && /proven/ && !/no-reuse/ {print name}' "$T/list")
declare -A min_of=()
for r in $PROVEN; do
	"$PB" run --quiet --backend segmented --reclaim "$r" --seg-size 1 --seg-count 1 \
		--seg-supply bounded --producers 2 --workers 2 --jobs 100 --reps 1 \
		--out "$T/minq_$r" >/dev/null 2>"$T/bad.err"
	rc=$?
	m=$(sed -n 's/.*needs seg-count >= \([0-9][0-9]*\) for .*/\1/p' "$T/bad.err")
	if [ -z "$m" ]; then
		fail "$r: seg-count 1 refused with the computed minimum" "rc=$rc" "$(cat "$T/bad.err")"
		continue
	fi
	check_refused "$r: seg-count 1 refused, naming the minimum $m" "needs seg-count >= $m for $r" \
		$rc "$T/minq_$r/results.csv"
	min_of[$r]=$m
	if [ "$m" -gt 2 ]; then
		"$PB" run --quiet --backend segmented --reclaim "$r" --seg-size 1 --seg-count $((m - 1)) \
			--seg-supply bounded --producers 2 --workers 2 --jobs 100 --reps 1 \
			--out "$T/minb_$r" >/dev/null 2>"$T/bad.err"
		check_refused "$r: seg-count $((m - 1)), one below the minimum, refused" \
			"needs seg-count >= $m" $? "$T/minb_$r/results.csv"
	fi
done
# One run per distinct minimum, all its schemes together.
for m in $(printf '%s\n' "${min_of[@]}" | sort -un); do
	list="" want=""
	for r in $PROVEN; do
		if [ "${min_of[$r]:-}" = "$m" ]; then
			list="$list${list:+,}$r"
			want="$want${want:+ }$r=ok"
		fi
	done
	# noisy (the shared machine slowed down around a row) also finished
	statuses_are "finish at the computed minimum seg-count $m (seg-size 1, 2x2): $list" \
		"$want" "$T/minsup$m" --backend segmented --reclaim "$list" --seg-size 1 \
		--seg-count "$m" --seg-supply bounded --producers 2 --workers 2 --jobs 2000 \
		--canary-tol 1000
done

# ---- a child never outlives its parent, nor its own deadline -----------------
# child_of PID: the first child process of PID (from /proc, no procps needed).
child_of() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" '$4 == pp {print $1; exit}'
}
# alive PID: exists and is not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
# wait_child PARENT: prints the child's pid once it exists (10 s at most).
wait_child() {
	local i c
	for i in $(seq 1 100); do
		c=$(child_of "$1")
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}
# gone_within PID SECONDS: 0 once PID has ended.
gone_within() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}
# 1. The parent is SIGKILLed (its watchdog cannot run): the child dies with it.
PB_FAULT=stall "$PB" run --backend ckring --jobs 2000 --reps 1 --watchdog 60 \
	--out "$T/orphan" >/dev/null 2>&1 &
ppid=$!
cpid=$(wait_child $ppid)
sleep 0.5
kill -9 $ppid 2>/dev/null
wait $ppid 2>/dev/null
if [ -n "$cpid" ] && gone_within "$cpid" 5; then
	ok "a stalled child dies with its SIGKILLed parent (PDEATHSIG)"
else
	fail "a stalled child dies with its SIGKILLed parent (PDEATHSIG)" "child '$cpid' still alive 5 s after its parent was killed"
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
fi
# 2. The parent is alive but stopped: the child ends itself after its own
#    deadline (watchdog + 2 s), long before anyone kills it.
PB_FAULT=stall "$PB" run --backend ckring --jobs 2000 --reps 1 --watchdog 2 \
	--out "$T/stopped" >/dev/null 2>&1 &
ppid=$!
cpid=$(wait_child $ppid)
kill -STOP $ppid 2>/dev/null
if [ -n "$cpid" ] && gone_within "$cpid" 8; then
	ok "a stalled child ends itself at its own deadline while the parent is stopped"
else
	fail "a stalled child ends itself at its own deadline while the parent is stopped" "child '$cpid' alive 8 s after a 2 s watchdog"
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
fi
kill -CONT $ppid 2>/dev/null
wait $ppid 2>/dev/null

# ---- validation: a lost, a duplicated and a failed job each make a row invalid ---
PB_FAULT=lose@1,dup@2,err@3 "$PB" run --backend "$first_backend" --jobs 2000 --reps 4 \
	--out "$T/valid" >/dev/null 2>"$T/valid.err"
rc=$?
got=$(cut -d, -f14-16,23 "$T/valid/results.csv" | tail -n +2 | tr '\n' ' ')
want="invalid,1,0,0 invalid,0,1,0 invalid,0,0,1 ok,0,0,0 "
if [ $rc -eq 1 ] && [ "$got" = "$want" ]; then
	ok "validation: lost, duplicated and failed jobs give invalid rows, exit 1"
else
	fail "validation: lost, duplicated and failed jobs give invalid rows, exit 1" "rc=$rc" "got:  $got" "want: $want"
fi

# ---- pinning: more threads than PUs wraps around and says so -------------------
w=$((NPUS + 1))
"$PB" run --backend ckring --jobs 2000 --reps 1 --workers $w --pin-workers compact \
	--out "$T/pin" >/dev/null 2>"$T/pin.err"
rc=$?
cpus=$("$PY" -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(r[0]["cpus_workers"], r[0]["status"])' "$T/pin/results.csv" 2>&1)
ncpus=$(echo "$cpus" | awk '{print NF - 1}')
if [ $rc -eq 0 ] && grep -q 'wraps around' "$T/pin.err" && [ "$ncpus" -eq $w ] && echo "$cpus" | grep -q ' ok$'; then
	ok "pin compact with $w workers on $NPUS PUs: wraps, says so, cpus_workers='${cpus% ok}'"
else
	fail "pin compact with $w workers on $NPUS PUs: wraps and says so" "rc=$rc cpus='$cpus'" "$(cat "$T/pin.err")"
fi

tap_done
