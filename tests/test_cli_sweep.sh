#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the sweep engine (meson suite 'cli'): the stopping rule and
# summary.csv statistics (driven by the PB_FAKE_NS_PER_JOB test hook, so no
# check depends on the machine's speed), crash rows left out of statistics,
# --resume after a cut-short sweep, --shard K/N and "poolbench merge", sweep
# files (inih) with per-workload jobs and overrides, every preset, meta.json
# completeness, and bad input for every new option and sweep-file error:
# exit 2, one line naming the file/line/key or value, no result file.  TAP.
# usage: tests/test_cli_sweep.sh path/to/poolbench [source root]
set -u

PB=${1:?usage: test_cli_sweep.sh path/to/poolbench [source root]}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
. "$(dirname "$0")/tap.sh"
tap_init sweep
unset PB_FAULT PB_FAKE_NS_PER_JOB


NPUS=$("$PB" topo | sed -n 's/^topology: .* \([0-9][0-9]*\) PUs\{0,1\}$/\1/p')
[ -n "$NPUS" ] || NPUS=$(nproc)
B=ckring # a backend without reclaimer or segment options: short point labels
RUN=("$PB" run --backend $B --jobs 1000 --watchdog 30 --quiet)

# py SCRIPT ARGS...: run an inline Python check; prints problems, exits non-zero on any.
py() { "$PY" - "$@"; }

# ---- bad input: exit 2, one line naming the thing, no results file -------------
case_no=0
expect_bad() { # description, expected text, command...
	local desc=$1 want=$2 out rc
	shift 2
	case_no=$((case_no + 1))
	out="$T/bad$case_no"
	"$@" --out "$out" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check_refused "$desc" "$want" $rc "$out/results.csv" "$out/meta.json" "$out/summary.csv"
}

expect_bad "--min-reps 0" "--min-reps" "${RUN[@]}" --min-reps 0
expect_bad "--min-reps above --reps" "--min-reps, allowed: 1 .. 3" "${RUN[@]}" --reps 3 --min-reps 5
expect_bad "--cov not a number" "'abc' is not valid for --cov" "${RUN[@]}" --cov abc
expect_bad "--cov above 100" "'150' is not valid for --cov" "${RUN[@]}" --cov 150
expect_bad "--shard K above N" "'3/2' is not valid for --shard" "${RUN[@]}" --shard 3/2
expect_bad "--shard 0/2" "'0/2' is not valid for --shard" "${RUN[@]}" --shard 0/2
expect_bad "--shard without N" "'2' is not valid for --shard" "${RUN[@]}" --shard 2
expect_bad "--warmup bad unit" "'10parsecs' is not valid for --warmup" "${RUN[@]}" --warmup 10parsecs
expect_bad "--warmup negative" "'-5' is not valid for --warmup" "${RUN[@]}" --warmup=-5
expect_bad "--workload-jobs unknown workload" "nosuch" "${RUN[@]}" --workload-jobs nosuch=5
expect_bad "--workload-jobs 0 jobs" "--workload-jobs empty, allowed: 1 .." "${RUN[@]}" --workload-jobs empty=0
expect_bad "--workload-jobs without =" "NAME=VALUE" "${RUN[@]}" --workload-jobs empty
expect_bad "count range upside down" "bad value 'pow2:4..1'" "${RUN[@]}" --workers pow2:4..1
expect_bad "count range bad end" "bad value '1..x'" "${RUN[@]}" --workers 1..x
expect_bad "bad placement list" "'sideways'" "${RUN[@]}" --pin-workers "none sideways"
expect_bad "placement list with a policy twice" "'compact' given twice" "${RUN[@]}" --pin-workers "compact compact"
"$PB" run --backend $B --jobs 100 --resume >/dev/null 2>"$T/resume.err"
rc=$?
if [ $rc -eq 2 ] && grep -q -- '--resume needs --out' "$T/resume.err"; then
	ok "--resume without --out is refused"
else
	fail "--resume without --out is refused" "rc=$rc" "$(cat "$T/resume.err")"
fi

# Sweep files.
sweepfile() { # name, contents -> path
	printf '%s\n' "$2" >"$T/$1.ini"
	echo "$T/$1.ini"
}
expect_bad "unreadable sweep file" "cannot read sweep file '$T/nosuch.ini'" "$PB" sweep "$T/nosuch.ini"
f=$(sweepfile unkkey "[sweep]
backend = $B
wokers = 2")
expect_bad "sweep file: unknown key" "unkkey.ini:3: unknown key 'wokers' in [sweep] (did you mean 'workers'?)" "$PB" sweep "$f"
f=$(sweepfile unksec "[sweep]
backend = $B
[sweeep]
workers = 2")
expect_bad "sweep file: unknown section" "unksec.ini:3: unknown section [sweeep]" "$PB" sweep "$f"
f=$(sweepfile emptysec "[sweep]
backend = $B
[plots]")
expect_bad "sweep file: unknown section without keys" "emptysec.ini:3: unknown section [plots]" "$PB" sweep "$f"
f=$(sweepfile badval "[sweep]
backend = $B

workers = 1, 0")
expect_bad "sweep file: value out of range" "badval.ini:4: key 'workers' in [sweep]: value 0 is out of range for --workers, allowed: 1 .. 1024" "$PB" sweep "$f"
f=$(sweepfile badrange "[sweep]
backend = $B
workers = pow2:1..zillion")
expect_bad "sweep file: bad range" "badrange.ini:3: key 'workers' in [sweep]: bad value 'pow2:1..zillion'" "$PB" sweep "$f"
f=$(sweepfile badpin "[sweep]
backend = $B
pin-workers = none diagonal")
expect_bad "sweep file: bad placement list" "badpin.ini:3: key 'pin-workers' in [sweep]" "$PB" sweep "$f"
f=$(sweepfile badname "[sweep]
backend = $B, nosuchq")
expect_bad "sweep file: unknown backend (checked at planning)" "badname.ini:2: key 'backend' in [sweep]" "$PB" sweep "$f"
f=$(sweepfile badbool "[sweep]
backend = $B
quiet = maybe")
expect_bad "sweep file: flag with a non-boolean" "badbool.ini:3: key 'quiet' in [sweep]: value 'maybe' is not a boolean" "$PB" sweep "$f"
f=$(sweepfile dup "[sweep]
backend = $B
workers = 1
workers = 2")
expect_bad "sweep file: key given twice" "dup.ini:4: key 'workers' in [sweep] given twice (first at line 3)" "$PB" sweep "$f"
f=$(sweepfile syntax "[sweep]
backend = $B
workers 2")
expect_bad "sweep file: syntax error" "syntax.ini:3: syntax error" "$PB" sweep "$f"
f=$(sweepfile outside "backend = $B
[sweep]")
expect_bad "sweep file: key outside a section" "outside.ini:1: key 'backend' outside a section" "$PB" sweep "$f"
f=$(sweepfile jobsbad "[sweep]
backend = $B
[jobs]
empty = 100
nosuchwl = 5")
expect_bad "sweep file: [jobs] for an unknown workload" "jobsbad.ini:5: key 'nosuchwl' in [jobs]" "$PB" sweep "$f"
f=$(sweepfile plotbad "[sweep]
backend = $B
[plot]
x = workers
y = ns_per_jbo")
expect_bad "sweep file: [plot] y not a column" "plotbad.ini:5: key 'y' in [plot]: 'ns_per_jbo' is not a results.csv column (did you mean 'ns_per_job'?)" "$PB" sweep "$f"
f=$(sweepfile plotkey "[sweep]
backend = $B
[plot]
xaxis = workers")
expect_bad "sweep file: unknown [plot] key" "plotkey.ini:4: unknown key 'xaxis' in [plot]" "$PB" sweep "$f"
f=$(sweepfile segbad "[sweep]
backend = segmented
seg-size = 0")
expect_bad "sweep file: backend option out of range (checked at planning)" "segbad.ini:3: key 'seg-size' in [sweep]: --seg-size for backend segmented" "$PB" sweep "$f"
f=$(sweepfile override "[sweep]
backend = $B")
expect_bad "sweep file: bad override on the command line (no file context)" "value 0 is out of range for --workers" "$PB" sweep "$f" --workers 0

# ---- the stopping rule, driven by fake timings ----------------------------------
summary_field() { # dir, column -> values of that column, one per point, space-separated
	py "$1/summary.csv" "$2" <<'EOF'
import csv, sys
print(" ".join(r[sys.argv[2]] for r in csv.DictReader(open(sys.argv[1]))))
EOF
}
PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 10 --out "$T/flat" >"$T/flat.out" 2>"$T/flat.err"
rc=$?
got="$(summary_field "$T/flat" reps_run)/$(summary_field "$T/flat" cov_met)/$(summary_field "$T/flat" cov_pct)"
if [ $rc -eq 0 ] && [ "$got" = "3/true/0.000" ] && [ "$(wc -l <"$T/flat/results.csv")" -eq 4 ]; then
	ok "constant timings: stops after min-reps (3) with cov_met true"
else
	fail "constant timings: stops after min-reps (3) with cov_met true" "rc=$rc got=$got" "$(tail -3 "$T/flat.err")"
fi
# The fake timing hook is refused without PB_TEST_HOOKS=1 (a leftover export
# must not publish invented rows), and recorded in meta.json and the rows.
PB_TEST_HOOKS= PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 3 --out "$T/nohook" >/dev/null 2>"$T/nohook.err"
rc=$?
if [ $rc -eq 2 ] && [ ! -e "$T/nohook/results.csv" ] && [ "$(wc -l <"$T/nohook.err")" -eq 1 ] &&
   grep -q "PB_FAKE_NS_PER_JOB='100'.*PB_TEST_HOOKS=1" "$T/nohook.err"; then
	ok "PB_FAKE_NS_PER_JOB without PB_TEST_HOOKS=1: refused, exit 2, no results file"
else
	fail "PB_FAKE_NS_PER_JOB without PB_TEST_HOOKS=1: refused, exit 2, no results file" "rc=$rc" "$(cat "$T/nohook.err")"
fi
if py "$T/flat/meta.json" "$T/flat/results.csv" <<'EOF'
import csv, json, sys
m = json.load(open(sys.argv[1]))
hooks = m["runs"][-1]["test_hooks"]
assert hooks.get("PB_FAKE_NS_PER_JOB") == "100" and set(hooks) <= {"PB_FAKE_NS_PER_JOB", "PB_FAKE_CANARY_NS", "PB_SKIP_CALIBRATE"}, hooks
rows = list(csv.DictReader(open(sys.argv[2])))
assert rows and all("PB_FAKE_NS_PER_JOB" in r["note"] for r in rows), [r["note"] for r in rows]
EOF
then
	ok "fake timings are recorded in meta.json (test_hooks) and in every row's note"
else
	fail "fake timings are recorded in meta.json (test_hooks) and in every row's note"
fi
PB_FAKE_NS_PER_JOB=100,200,100,200,100,200,100,200 "${RUN[@]}" --reps 6 --out "$T/noisy" >/dev/null 2>"$T/noisy.err"
rc=$?
got="$(summary_field "$T/noisy" reps_run)/$(summary_field "$T/noisy" cov_met)"
if [ $rc -eq 0 ] && [ "$got" = "6/false" ]; then
	ok "noisy timings: runs the maximum (--reps 6), cov_met false"
else
	fail "noisy timings: runs the maximum (--reps 6), cov_met false" "rc=$rc got=$got"
fi
PB_FAKE_NS_PER_JOB=100,150,90,101,100,100 "${RUN[@]}" --reps 10 --out "$T/conv" >/dev/null 2>&1
rc=$?
if probs=$(py "$T/conv" <<'EOF'
import csv, math, statistics, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/results.csv")))
s = list(csv.DictReader(open(d + "/summary.csv")))
bad = []
v = [float(r["ns_per_job"]) for r in rows]
if [r["rep"] for r in rows] != ["1", "2", "3", "4", "5", "6"]:
    bad.append("reps %s, expected 1..6 (stop when the last 3 are within 2%%)" % [r["rep"] for r in rows])
if len(s) != 1:
    bad.append("%d summary rows" % len(s))
else:
    s = s[0]
    t975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365}
    n = len(v)
    mean, sd = statistics.mean(v), statistics.stdev(v)
    half = t975[n - 1] * sd / math.sqrt(n)
    last = v[-3:]
    want = {"ns_per_job_median": statistics.median(v), "ns_per_job_min": min(v),
            "ns_per_job_max": max(v), "ns_per_job_mean": mean, "ns_per_job_sd": sd,
            "ns_per_job_ci95_lo": mean - half, "ns_per_job_ci95_hi": mean + half,
            "cov_pct": 100 * statistics.stdev(last) / statistics.mean(last),
            "reps_run": 6, "reps_ok": 6, "cov_k": 3, "min_reps": 3, "cov_target_pct": 2}
    for k, w in want.items():
        if abs(float(s[k]) - w) > 1e-3 * max(1, abs(w)):
            bad.append("%s = %s, expected %.4f" % (k, s[k], w))
    if s["cov_met"] != "true":
        bad.append("cov_met %s" % s["cov_met"])
    jp = [float(r["jobs_per_s"]) for r in rows]
    if abs(float(s["jobs_per_s_median"]) - statistics.median(jp)) > 1:
        bad.append("jobs_per_s_median %s, expected %.0f" % (s["jobs_per_s_median"], statistics.median(jp)))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
); then
	ok "converging timings: stops at rep 6; median/min/max/mean/sd/CI (Student t)/CoV in summary.csv match"
else
	fail "converging timings: stops at rep 6; summary statistics match" "rc=$rc" "$probs"
fi
PB_FAKE_NS_PER_JOB=100 "$PB" run --backend $B --jobs 1000 --reps 5 --out "$T/loud" >"$T/loud.out" 2>"$T/loud.err"
if grep -q 'ns/job med' "$T/loud.out" && grep -q '3 reps, 3 ok, CoV 0.00% (target 2%), stopping rule met' "$T/loud.err"; then
	ok "summary table on stdout, stopping-rule line on stderr"
else
	fail "summary table on stdout, stopping-rule line on stderr" "$(cat "$T/loud.out" "$T/loud.err")"
fi
PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 10 --cov 0 --out "$T/cov0" >/dev/null 2>&1
got="$(summary_field "$T/cov0" reps_run)/$(summary_field "$T/cov0" cov_met)"
if [ "$got" = "10/false" ]; then ok "--cov 0 runs every repetition"; else fail "--cov 0 runs every repetition" "got=$got"; fi

# A crash is recorded, counted and left out of the statistics.
PB_FAULT=crash@2 PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 10 --out "$T/crash" >/dev/null 2>&1
rc=$?
got="$(cut -d, -f14 "$T/crash/results.csv" | tail -n +2 | tr '\n' ' ')|$(summary_field "$T/crash" reps_run)/$(summary_field "$T/crash" reps_ok)/$(summary_field "$T/crash" n_crash)/$(summary_field "$T/crash" worst_status)/$(summary_field "$T/crash" ns_per_job_max)"
if [ $rc -eq 1 ] && [ "$got" = "ok crash ok ok |4/3/1/crash/100.000" ]; then
	ok "crash row: counted (n_crash 1), not in the statistics, 3 ok reps still needed; exit 1"
else
	fail "crash row: counted, not in the statistics" "rc=$rc got=$got"
fi

# ---- --resume -------------------------------------------------------------------------
"${RUN[@]}" --workers 1,2 --reps 4 --cov 0 --out "$T/res" >/dev/null 2>&1
head -4 "$T/res/results.csv" >"$T/res/cut.csv"
sed -n 5p "$T/res/results.csv" | head -c 30 >>"$T/res/cut.csv" # a row cut short by a kill
mv "$T/res/cut.csv" "$T/res/results.csv"
"${RUN[@]}" --workers 1,2 --reps 4 --cov 0 --resume --out "$T/res" >/dev/null 2>"$T/res.err"
rc=$?
if probs=$(py "$T/res/results.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
bad = []
by = {}
for r in rows:
    by.setdefault(r["point_id"], []).append(int(r["rep"]))
if len(by) != 2:
    bad.append("%d points, expected 2" % len(by))
for p, reps in by.items():
    if sorted(reps) != [1, 2, 3, 4]:
        bad.append("point %s has reps %s, expected 1..4 once each" % (p, reps))
if any(r["status"] != "ok" for r in rows):
    bad.append("a row is not ok")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
) && [ $rc -eq 0 ] && grep -q 'cut short' "$T/res.err"; then
	ok "--resume after a cut-short sweep: the partial row is removed, missing reps run, each rep once"
else
	fail "--resume after a cut-short sweep" "rc=$rc" "$probs" "$(cat "$T/res.err")"
fi
before=$(wc -l <"$T/res/results.csv")
"${RUN[@]}" --workers 1,2 --reps 4 --cov 0 --resume --out "$T/res" >/dev/null 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$T/res/results.csv")" -eq "$before" ]; then
	ok "--resume of a finished sweep runs nothing"
else
	fail "--resume of a finished sweep runs nothing" "rc=$rc rows $before -> $(wc -l <"$T/res/results.csv")"
fi
"${RUN[@]}" --workers 1,2 --reps 5 --cov 0 --resume --out "$T/res" >/dev/null 2>&1
reps=$(py "$T/res/results.csv" <<'EOF'
import csv, sys
print(" ".join(sorted({r["rep"] for r in csv.DictReader(open(sys.argv[1]))})))
EOF
)
nruns=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"]))' "$T/res/meta.json" 2>&1)
if [ "$reps" = "1 2 3 4 5" ] && [ "$(wc -l <"$T/res/results.csv")" -eq $((before + 2)) ] && [ "$nruns" = 4 ]; then
	ok "--resume with a larger --reps continues the numbering (rep 5); meta.json lists every run"
else
	fail "--resume with a larger --reps continues the numbering" "reps='$reps' runs=$nruns"
fi

"${RUN[@]}" --reps 2 --cov 0 --out "$T/app" >/dev/null 2>&1
"${RUN[@]}" --reps 2 --cov 0 --append --out "$T/app" >/dev/null 2>&1
reps=$(cut -d, -f9 "$T/app/results.csv" | tail -n +2 | tr '\n' ' ')
if [ "$reps" = "1 2 3 4 " ]; then
	ok "--append runs a point again and numbers its reps on (1 2 | 3 4)"
else
	fail "--append runs a point again and numbers its reps on" "reps='$reps'"
fi

# ---- --shard and merge ----------------------------------------------------------------
SH=("$PB" run --backend $B,mutex --workload empty --workers 1,2 --producers 1,2 --jobs 1000 --reps 2 --quiet)
"${SH[@]}" --out "$T/all" >/dev/null 2>&1
for k in 1 2 3; do "${SH[@]}" --shard $k/3 --out "$T/sh$k" >/dev/null 2>&1; done
"$PB" merge "$T/sh1" "$T/sh2" "$T/sh3" --out "$T/merged" >"$T/merge.out" 2>"$T/merge.err"
rc=$?
if probs=$(py "$T" <<'EOF'
import csv, json, sys
T = sys.argv[1]
def rows(d, f="results.csv"):
    return list(csv.DictReader(open("%s/%s/%s" % (T, d, f))))
bad = []
order = []
for r in rows("all"):
    if r["point_id"] not in order:
        order.append(r["point_id"])
shards = [[r["point_id"] for r in rows("sh%d" % k)] for k in (1, 2, 3)]
for k in range(3):
    want = [p for i, p in enumerate(order) if i % 3 == k]
    got = list(dict.fromkeys(shards[k]))
    if got != want:
        bad.append("shard %d/3 has points %s, expected %s" % (k + 1, got, want))
m = rows("merged")
if sorted((r["point_id"], r["rep"]) for r in m) != sorted((r["point_id"], r["rep"]) for r in rows("all")):
    bad.append("merged (point, rep) set differs from the unsharded run")
if len({(r["point_id"], r["rep"]) for r in m}) != len(m):
    bad.append("merged rows have duplicates")
s = rows("merged", "summary.csv")
if sorted(r["point_id"] for r in s) != sorted(order):
    bad.append("merged summary.csv points differ")
meta = json.load(open(T + "/merged/meta.json"))
if len(meta.get("runs", [])) != 3 or len(meta.get("sources", [])) != 3 or "merge" not in meta:
    bad.append("merged meta.json: runs %d sources %d" % (len(meta.get("runs", [])), len(meta.get("sources", []))))
if open(T + "/merged/results.csv").readline() != open(T + "/all/results.csv").readline():
    bad.append("merged header differs")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
) && [ $rc -eq 0 ]; then
	ok "--shard K/3: point i in shard i mod 3 + 1; merge of the shards = the unsharded sweep; meta.json lists runs and sources"
else
	fail "--shard and merge" "rc=$rc" "$probs" "$(cat "$T/merge.err")"
fi
"$PB" merge "$T/merged" "$T/sh1" --out "$T/merged2" --quiet >/dev/null 2>"$T/merge2.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$T/merged2/results.csv")" -eq "$(wc -l <"$T/merged/results.csv")" ] &&
   "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/merged2/meta.json" 2>/dev/null; then
	ok "merge of overlapping inputs drops identical (point, rep) rows; merged meta.json merges again"
else
	fail "merge of overlapping inputs drops identical rows" "rc=$rc" "$(cat "$T/merge2.err")"
fi
mkdir -p "$T/conflict"
cp "$T/sh1/meta.json" "$T/conflict/"
py "$T/sh1/results.csv" "$T/conflict/results.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
h = rows[0]
rows[1][h.index("ns_per_job")] = "12345.000"
csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n").writerows(rows)
EOF
expect_bad "merge: the same point and rep with different rows" "with different results" "$PB" merge "$T/sh1" "$T/conflict"
mkdir -p "$T/otherschema"
cp "$T/sh1/meta.json" "$T/otherschema/"
printf 'schema_version,backend,something_else\n1,x,y\n' >"$T/otherschema/results.csv"
expect_bad "merge: inputs with different headers" "different headers" "$PB" merge "$T/sh1" "$T/otherschema"
mkdir -p "$T/nometa"
cp "$T/sh1/results.csv" "$T/nometa/"
expect_bad "merge: an input without meta.json" "nometa/meta.json" "$PB" merge "$T/nometa"
expect_bad "merge: no inputs" "no input directory" "$PB" merge
"$PB" merge "$T/sh1" --out "$T/sh2" >/dev/null 2>"$T/mergeex.err"
rc=$?
if [ $rc -eq 2 ] && grep -q 'exists already' "$T/mergeex.err" && [ "$(wc -l <"$T/mergeex.err")" -eq 1 ]; then
	ok "merge into a directory that has results.csv is refused"
else
	fail "merge into a directory that has results.csv is refused" "rc=$rc" "$(cat "$T/mergeex.err")"
fi

# ---- sweep files -------------------------------------------------------------------------
f=$(sweepfile sweep1 "; a small sweep
[sweep]
backend = $B
workload = empty, cpu
workers = 1, 2  ; inline comment
producers = 1
reps = 2
quiet = true
warmup = 0
watchdog = 30

[jobs]
empty = 3000
cpu = 20

[workload-opt]
iters = 1000

[plot]
title = A test sweep
x = workers
y = jobs_per_s")
"$PB" sweep "$f" --workers 1 --out "$T/sw" >"$T/sw.out" 2>"$T/sw.err"
rc=$?
if probs=$(py "$T/sw" "$f" <<'EOF'
import csv, json, sys
d, f = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(d + "/results.csv")))
bad = []
jobs = {(r["workload"], r["jobs"]) for r in rows}
if jobs != {("empty", "3000"), ("cpu", "20")}:
    bad.append("jobs per workload %s" % sorted(jobs))
if {r["workers"] for r in rows} != {"1"}:
    bad.append("workers %s: the --workers 1 override did not win" % {r["workers"] for r in rows})
if any(r["workload"] == "cpu" and "iters=1000" not in r["workload_opts"] for r in rows):
    bad.append("[workload-opt] iters not applied")
if any(r["warmup_jobs"] != "0" for r in rows):
    bad.append("warmup = 0 not applied")
run = json.load(open(d + "/meta.json"))["runs"][-1]
if run.get("sweep_file") != f or "[jobs]" not in run.get("sweep_file_text", ""):
    bad.append("meta.json run lacks the sweep file")
if run.get("plot", {}).get("x") != "workers" or run["plot"].get("y") != "jobs_per_s":
    bad.append("meta.json plot: %s" % run.get("plot"))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
) && [ $rc -eq 0 ]; then
	ok "sweep file: axes, [jobs] per workload, [workload-opt], command-line override, [plot] in meta.json"
else
	fail "sweep file: axes, [jobs] per workload, overrides, [plot]" "rc=$rc" "$probs" "$(cat "$T/sw.err")"
fi
# The count syntax: pow2:1..2xpus and pus.
want=$("$PY" -c "
n=$NPUS; v=[]; p=1
while p <= 2*n: v.append(p); p *= 2
if (2*n) & (2*n-1): v.append(2*n)
print(','.join(map(str, v)))")
f=$(sweepfile pow2 "[sweep]
backend = $B
workers = pow2:1..2xPUS
producers = pus")
got=$("$PB" sweep "$f" --dry-run 2>/dev/null | sed -n 's/.* p=\([0-9]*\) workers=\([0-9]*\) .*/\1:\2/p' | tr '\n' ' ')
wantp=$(for w in ${want//,/ }; do printf '%s:%s ' "$NPUS" "$w"; done)
if [ "$got" = "$wantp" ]; then
	ok "workers = pow2:1..2xPUS -> $want, producers = pus -> $NPUS (--dry-run)"
else
	fail "workers = pow2:1..2xPUS, producers = pus" "got '$got' want '$wantp'"
fi
# Every preset parses and plans, and states its axes.
for p in "$SRC"/scripts/presets/*.ini; do
	name=$(basename "$p")
	if out=$("$PB" sweep "$p" --dry-run 2>&1) && echo "$out" | tail -1 | grep -q ' points\{0,1\}, at most ' &&
	   grep -q '^x = ' "$p" && grep -q '^y = ' "$p" && grep -q '^title = ' "$p"; then
		ok "preset $name plans ($(echo "$out" | tail -1)) and states x, y and title"
	else
		fail "preset $name plans and states x, y, title" "$(echo "$out" | tail -3)"
	fi
done
for p in quick worker-scale producer-pressure segment-size latency channel reclaim placement; do
	[ -f "$SRC/scripts/presets/$p.ini" ] || fail "preset $p.ini exists"
done

# ---- warm-up by duration, placement axis, meta.json ------------------------------------
"${RUN[@]}" --reps 2 --warmup 5ms --pin-workers "none compact" --out "$T/warm" >/dev/null 2>"$T/warm.err"
rc=$?
if probs=$(py "$T/warm" <<'EOF'
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/results.csv")))
bad = []
if {r["pin_workers"] for r in rows} != {"none", "compact"} or len({r["point_id"] for r in rows}) != 2:
    bad.append("pin_workers axis: %s" % [(r["pin_workers"], r["point_id"]) for r in rows])
if any(r["status"] != "ok" or int(r["warmup_jobs"]) < 1 for r in rows):
    bad.append("warm-up by duration: %s" % [(r["status"], r["warmup_jobs"]) for r in rows])
m = json.load(open(d + "/meta.json"))
for k in ["host", "cpu_model", "cpu_flags", "topology", "kernel", "clocksource", "governor",
          "compiler", "build", "libraries"]:
    if not m.get(k):
        bad.append("meta.json lacks %s" % k)
for k in ["ck", "liburcu", "hwloc", "openssl", "jemalloc", "inih"]:
    if not m.get("libraries", {}).get(k):
        bad.append("meta.json libraries lack %s" % k)
if not m.get("build", {}).get("git") or not m["build"].get("buildtype"):
    bad.append("meta.json build lacks git or buildtype")
run = m["runs"][-1]
for k in ["command", "pin_workers", "pinning_applied", "stopping_rule", "shard", "warmup"]:
    if k not in run:
        bad.append("meta.json run lacks %s" % k)
if run.get("warmup") != "5000000ns" or run.get("stopping_rule", {}).get("min_reps") != 2:
    bad.append("meta.json run: warmup %s rule %s" % (run.get("warmup"), run.get("stopping_rule")))
if len(run.get("pinning_applied", [])) != 2:
    bad.append("pinning_applied %s" % run.get("pinning_applied"))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
) && [ $rc -eq 0 ]; then
	ok "--warmup 5ms and a placement list: rows ok, two points; meta.json complete"
else
	fail "--warmup 5ms, placement list, meta.json" "rc=$rc" "$probs" "$(tail -3 "$T/warm.err")"
fi

tap_done
