#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of option handling (meson suite 'cli'): the command line wins over
# the sweep file key by key, for each class of option (plug-in lists, count
# lists, scalars, [jobs], reps/min-reps, plug-in settings, mode/rate, pin
# policies), and meta.json records the values that ran; any declared plug-in
# option is an axis (--backend-opt / --reclaim-opt / --workload-opt NAME=V1,V2
# and the sweep-file sections), shown by --dry-run and in the *_opts columns,
# each value range-checked by name; "did you mean" for options and commands;
# the "all" keyword.  TAP.
# usage: tests/test_cli_options.sh path/to/poolbench [source root]
set -u

PB=${1:?usage: test_cli_options.sh path/to/poolbench [source root]}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
. "$(dirname "$0")/tap.sh"
tap_init options
unset PB_FAULT PB_FAKE_NS_PER_JOB

# dry NAME WANT CMD...: --dry-run output (stdout) must contain every line of WANT
# as a grep -E pattern; the last line must be "N points, at most M runs".
check() { # description, condition (0 = ok), details...
	local desc=$1 rc=$2
	shift 2
	if [ "$rc" -eq 0 ]; then ok "$desc"; else fail "$desc" "$@"; fi
}

# plan CMD...: the --dry-run point lines (stderr kept in $T/plan.err).
plan() { "$@" --dry-run 2>"$T/plan.err" | grep -v ' points\{0,1\}, at most '; }
# count CMD...: number of planned points.
count() { plan "$@" | wc -l; }

expect_bad() { # description, expected text, command...
	local desc=$1 want=$2 out rc
	shift 2
	out="$T/bad-$n"
	"$@" --out "$out" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check_refused "$desc" "$want" $rc "$out"
}

# py SCRIPT ARGS...: run an inline Python check; prints problems, exits non-zero on any.
py() { "$PY" - "$@"; }

# ---- precedence: the command line wins over the sweep file, key by key ----------
F=$T/s.ini
cat >"$F" <<'EOF'
[sweep]
backend = segmented, mutex
reclaim = limbo, hp
workload = empty, sha256
workers = 1, 2
reps = 10
min-reps = 5
pin-workers = compact
mode = rate
rate = 1000
duration = 1s
[jobs]
empty = 1000000
sha256 = 40000
[reclaim-opt]
threshold = 16, 64
[workload-opt]
size = 64
EOF
S=("$PB" sweep "$F" --mode throughput)

# plug-in list
got=$(plan "${S[@]}" --backend ckring | sed 's/.*backend=\([a-z]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "--backend on the command line replaces the file's list" "$([ "$got" = "ckring " ]; echo $?)" "backends: $got"
# count list
got=$(plan "${S[@]}" --workers 3 | sed 's/.* workers=\([0-9]*\).*/\1/' | sort -u | tr '\n' ' ')
check "--workers replaces the file's list" "$([ "$got" = "3 " ]; echo $?)" "workers: $got"
# scalar and [jobs]: --jobs wins over every [jobs] entry (the user's trial)
got=$(plan "${S[@]}" --jobs 50000 | sed 's/.* jobs=\([0-9]*\).*/\1/' | sort -u | tr '\n' ' ')
check "--jobs 50000 replaces the file's [jobs] for every workload" "$([ "$got" = "50000 " ]; echo $?)" "jobs: $got"
check "--jobs over [jobs]: a note says so" "$(grep -q 'replaces the sweep file.s \[jobs\]' "$T/plan.err"; echo $?)" "$(cat "$T/plan.err")"
got=$(plan "${S[@]}" | sed 's/.*workload=\([a-z0-9]*\) .* jobs=\([0-9]*\).*/\1=\2/' | sort -u | tr '\n' ' ')
check "without --jobs the file's [jobs] applies" "$([ "$got" = "empty=1000000 sha256=40000 " ]; echo $?)" "jobs: $got"
got=$(plan "${S[@]}" --workload-jobs empty=500 | sed 's/.*workload=\([a-z0-9]*\) .* jobs=\([0-9]*\).*/\1=\2/' | sort -u | tr '\n' ' ')
check "--workload-jobs NAME=N replaces the file's [jobs] NAME only" "$([ "$got" = "empty=500 sha256=40000 " ]; echo $?)" "jobs: $got"
# reps against the file's min-reps, min-reps against the file's reps
out=$("${S[@]}" --reps 2 --dry-run 2>"$T/e")
check "--reps 2 below the file's min-reps 5: runs, at most 2 reps" "$(echo "$out" | tail -1 | grep -q 'at most .* runs' && grep -q 'min-reps 5 lowered to 2' "$T/e"; echo $?)" "$(tail -1 <<<"$out")" "$(cat "$T/e")"
n16=$(count "${S[@]}")
out=$("${S[@]}" --min-reps 12 --dry-run 2>"$T/e" | tail -1)
check "--min-reps 12 above the file's reps 10: reps raised to 12" "$([ "$out" = "$n16 points, at most $((n16 * 12)) runs" ] && grep -q 'reps 10 raised to 12' "$T/e"; echo $?)" "$out" "$(cat "$T/e")"
expect_bad "--min-reps above --reps, both on the command line" "--min-reps, allowed: 1 .. 3" "${S[@]}" --reps 3 --min-reps 5
# plug-in settings: by name
got=$(plan "${S[@]}" --backend segmented --reclaim hp --workload empty --reclaim-opt threshold=256 | grep -o 'reclaim.threshold=[0-9]*' | sort -u | tr '\n' ' ')
check "--reclaim-opt threshold=256 replaces the file's threshold axis" "$([ "$got" = "reclaim.threshold=256 " ]; echo $?)" "got: $got"
got=$(plan "${S[@]}" --backend segmented --reclaim hp --workload sha256 --workload-opt api=oneshot | grep -o 'workload.[a-z]*=[a-z0-9]*' | sort -u | tr '\n' ' ')
check "--workload-opt api=oneshot keeps the file's size=64 (another name)" "$([ "$got" = "workload.api=oneshot workload.size=64 " ]; echo $?)" "got: $got"
# mode over the file's rate (and duration): no "--rate needs --mode rate"
"${S[@]}" --dry-run >/dev/null 2>"$T/e"
check "--mode throughput over the file's mode=rate + rate: accepted" "$?" "$(cat "$T/e")"
# pin policy
got=$(plan "${S[@]}" --pin-workers none | grep -c 'pin-workers=')
check "--pin-workers none replaces the file's compact" "$([ "$got" = 0 ]; echo $?)" "labels with pin-workers: $got"
# boolean keys: --quiet from the file, progress lines absent either way; --append
# cannot be switched off, so it is not tested here.

# meta.json records the values that ran (a real run, 1 rep)
"$PB" sweep "$F" --mode throughput --backend ckring --workload empty,sha256 --workers 1 --jobs 2000 \
	--reps 1 --workload-opt size=64 --out "$T/m" --quiet >/dev/null 2>"$T/e"
rc=$?
check "small sweep with --jobs 2000 over [jobs] runs" "$rc" "$(cat "$T/e")"
py "$T/m" <<'PYEOF'
import csv, json, sys
d = sys.argv[1]
run = json.load(open(d + "/meta.json"))["runs"][-1]
bad = []
if run["jobs"] != 2000:
    bad.append("runs[-1].jobs = %r, want 2000" % run["jobs"])
if run["workload_jobs"] != {"empty": 2000, "sha256": 2000}:
    bad.append("workload_jobs = %r" % run["workload_jobs"])
if run["stopping_rule"]["max_reps"] != 1 or run["stopping_rule"]["min_reps"] != 1:
    bad.append("stopping_rule = %r (want min 1, max 1)" % run["stopping_rule"])
rows = list(csv.DictReader(open(d + "/results.csv")))
if {r["jobs"] for r in rows} != {"2000"}:
    bad.append("results.csv jobs %r" % {r["jobs"] for r in rows})
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
check "meta.json: jobs 2000, workload_jobs, stopping rule as they ran" "$?"

# ---- any declared plug-in option is an axis --------------------------------------
SEG=("$PB" run --backend segmented --reclaim hp --workload empty)
got=$(plan "${SEG[@]}" --reclaim-opt threshold=16,64,256 | grep -o 'reclaim.threshold=[0-9]*' | tr '\n' ' ')
check "--reclaim-opt threshold=16,64,256: three points in --dry-run" "$([ "$got" = "reclaim.threshold=16 reclaim.threshold=64 reclaim.threshold=256 " ]; echo $?)" "got: $got"
got=$(count "${SEG[@]}" --reclaim-opt threshold=1k,1024)
check "values that normalise alike count once (1k, 1024)" "$([ "$got" = 1 ]; echo $?)" "points: $got"
got=$(count "${SEG[@]}" --backend-opt pool-cap=0,256 --reclaim-opt threshold=16,64)
check "two axes multiply (pool-cap x threshold = 4)" "$([ "$got" = 4 ]; echo $?)" "points: $got"
got=$(plan "$PB" run --backend ckring --workload empty,sha256 --workload-opt size=64,128 | sed 's/.*workload=\([a-z0-9]*\) .*/\1/' | tr '\n' ' ')
check "a workload axis applies where declared (empty 1 + sha256 2)" "$([ "$got" = "empty sha256 sha256 " ]; echo $?)" "got: $got"
a=$(plan "${SEG[@]}" --seg-size 1,64 | cut -d' ' -f1 | tr '\n' ' ')
b=$(plan "${SEG[@]}" --backend-opt seg-size=1,64 | cut -d' ' -f1 | tr '\n' ' ')
check "--seg-size 1,64 is --backend-opt seg-size=1,64 (same point_ids)" "$([ -n "$a" ] && [ "$a" = "$b" ]; echo $?)" "$a" "$b"
cat >"$T/ax.ini" <<'EOF'
[sweep]
backend = segmented
reclaim = hp, ckepoch
workload = empty
[reclaim-opt]
threshold = 16, 64
poll-every = 8, 32, 128
EOF
got=$(count "$PB" sweep "$T/ax.ini")
check "sweep-file axes per reclaimer (hp 2 + ckepoch 3)" "$([ "$got" = 5 ]; echo $?)" "points: $got"
"${SEG[@]}" --reclaim-opt threshold=16,64 --jobs 1000 --reps 1 --out "$T/ax" --quiet >/dev/null 2>"$T/e"
got=$(cut -d, -f"$(head -1 "$T/ax/results.csv" | tr ',' '\n' | grep -nx reclaim_opts | cut -d: -f1)" "$T/ax/results.csv" | tail -n +2 | sort | tr '\n' ' ')
check "reclaim_opts column carries the axis value" "$([ "$got" = "threshold=16 threshold=64 " ]; echo $?)" "got: $got" "$(cat "$T/e")"

expect_bad "an axis value out of range is refused by name" "value 0 is out of range for threshold, allowed: 1 .. 1048576" "${SEG[@]}" --reclaim-opt threshold=16,0,256
expect_bad "the refusal names the list and the plug-in" "--reclaim-opt threshold=16,0,256 for reclaimer hp" "${SEG[@]}" --reclaim-opt threshold=16,0,256
expect_bad "an enum axis value not a choice" "retire-order" "${SEG[@]}" --backend-opt retire-order=seed,later
expect_bad "an empty axis item" "empty item" "${SEG[@]}" --reclaim-opt threshold=16,,64
expect_bad "an axis value given twice" "'16' given twice" "${SEG[@]}" --reclaim-opt threshold=16,16
expect_bad "an undeclared axis name gets a suggestion" "did you mean 'threshold'" "${SEG[@]}" --reclaim-opt treshold=16,64
cat >"$T/bad.ini" <<'EOF'
[sweep]
backend = segmented
reclaim = hp
[reclaim-opt]
threshold = 16, 2000000
EOF
expect_bad "a sweep-file axis value out of range names file, line and key" "bad.ini:5: key 'threshold' in [reclaim-opt]" "$PB" sweep "$T/bad.ini"

# summary.csv: the median's order-statistic interval (fake timings, 10 reps:
# x(2) .. x(9), coverage 1 - 2 * 11/1024; 5 reps: min .. max, 0.9375)
PB_FAKE_NS_PER_JOB=15,11,19,13,17,10,12,18,14,16 "$PB" run --backend ckring --jobs 1000 --reps 10 \
	--cov 0 --out "$T/med" --quiet >/dev/null 2>"$T/e"
PB_FAKE_NS_PER_JOB=15,11,19,13,17 "$PB" run --backend ckring --jobs 1000 --reps 5 \
	--cov 0 --out "$T/med5" --quiet >/dev/null 2>>"$T/e"
py "$T/med" "$T/med5" <<'PYEOF'
import csv, sys
bad = []
for d, lo, hi, lev in ((sys.argv[1], 11, 18, 1 - 2 * 11 / 1024), (sys.argv[2], 11, 19, 0.9375)):
    r = list(csv.DictReader(open(d + "/summary.csv")))[0]
    got = (float(r["ns_per_job_med_ci_lo"]), float(r["ns_per_job_med_ci_hi"]), float(r["med_ci_level"]))
    if abs(got[0] - lo) > 0.01 or abs(got[1] - hi) > 0.01 or abs(got[2] - lev) > 1e-4:
        bad.append("%s: %r, want %r" % (d, got, (lo, hi, lev)))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
check "summary.csv: median interval by order statistics, with its coverage" "$?" "$(cat "$T/e")"

# plot.py: a plug-in option as x (the threshold axis run above)
if "$PY" "$SRC/scripts/plot.py" "$T/ax/results.csv" --x threshold --out "$T/axfig" >"$T/o" 2>"$T/e"; then
	py "$T/axfig/generic.json" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
p = s["panels"][0]
ok = p["xlabel"].startswith("threshold") and p["series"] == ["segmented/hp"]
print("" if ok else json.dumps(p))
sys.exit(0 if ok else 1)
PYEOF
	check "plot.py --x threshold: one line over the reclaimer option" "$?"
else
	fail "plot.py --x threshold: one line over the reclaimer option" "$(cat "$T/e")"
fi

# ---- did you mean ------------------------------------------------------------------
"$PB" run --jbos 5 >/dev/null 2>"$T/e"
check "run --jbos: did you mean '--jobs'" "$(grep -q "did you mean '--jobs'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" run --reclaim-otp threshold=5 >/dev/null 2>"$T/e"
check "run --reclaim-otp: did you mean '--reclaim-opt'" "$(grep -q "did you mean '--reclaim-opt'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" sweep "$F" --workres=2 >/dev/null 2>"$T/e"
check "sweep FILE --workres=2: did you mean '--workers'" "$(grep -q "did you mean '--workers'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" rnu >/dev/null 2>"$T/e"; rc=$?
check "command rnu: did you mean 'run', exit 2" "$([ $rc = 2 ] && grep -q "did you mean 'run'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" swep x >/dev/null 2>"$T/e"
check "command swep: did you mean 'sweep'" "$(grep -q "did you mean 'sweep'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" --workers 2 >/dev/null 2>"$T/e"
check "a run option without 'run': did you mean 'run --workers'" "$(grep -q "did you mean 'run --workers'" "$T/e"; echo $?)" "$(cat "$T/e")"
"$PB" run --zzzzzzzz >/dev/null 2>"$T/e"
check "nothing close: no suggestion" "$(! grep -q 'did you mean' "$T/e" && grep -q "unknown option '--zzzzzzzz'" "$T/e"; echo $?)" "$(cat "$T/e")"

# ---- all ---------------------------------------------------------------------------
list=$("$PB" list)
section() { sed -n "/^$1:/,/^[a-z]*:$/p" <<<"$list" | sed -n 's/^  \([a-z0-9][a-z0-9-]*\) .*/\1/p' | sort | tr '\n' ' '; }
want_b=$(section backends) want_r=$(section reclaimers) want_w=$(section workloads)
got=$(plan "$PB" run --backend all | sed 's/.*backend=\([a-z0-9-]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "--backend all: every registered backend" "$([ "$got" = "$want_b" ]; echo $?)" "got: $got" "want: $want_b"
got=$(plan "$PB" run --backend segmented --reclaim all | sed 's/.*reclaim=\([a-z0-9-]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "--reclaim all: every reclaimer segmented takes" "$([ "$got" = "$want_r" ]; echo $?)" "got: $got" "want: $want_r"
got=$(plan "$PB" run --backend ckring --workload all | sed 's/.*workload=\([a-z0-9-]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "--workload all: every registered workload" "$([ "$got" = "$want_w" ]; echo $?)" "got: $got" "want: $want_w"
got=$(plan "$PB" run --backend mutex --reclaim all | sed 's/.*reclaim=\([a-z0-9-]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "--reclaim all with a backend taking none: reclaim '-'" "$([ "$got" = "- " ]; echo $?)" "got: $got"
expect_bad "'all' does not combine with names" "'all' stands alone" "$PB" run --reclaim all,hp
# a backend that refuses the reclaimer: with --backend all it is left out (a
# note names what it takes); with no reclaimer named it runs with the first
# it takes; named explicitly, the combination is refused (test_cli_queues.sh)
"$PB" run --backend all --reclaim hp --dry-run >"$T/o" 2>"$T/e"; rc=$?
got=$(sed 's/.*backend=\([a-z0-9-]*\) .*/\1/' "$T/o" | sort -u | tr '\n' ' ')
check "--backend all --reclaim hp: exit 0, lfq left out with a note naming what it takes" \
	"$([ $rc = 0 ] && ! grep -qw lfq <<<"$got" && grep -q 'backend lfq takes none of the reclaimers given (hp): left out (it takes: urcu-memb' "$T/e"; echo $?)" "rc=$rc got: $got" "$(cat "$T/e")"
"$PB" run --backend all --dry-run >"$T/o" 2>"$T/e"; rc=$?
got=$(grep -o 'backend=lfq reclaim=[a-z0-9-]*' "$T/o" | sort -u)
check "--backend all, no reclaimer named: lfq runs with the first reclaimer it takes" \
	"$([ $rc = 0 ] && [ "$got" = "backend=lfq reclaim=urcu-memb" ] && grep -q 'backend lfq does not take the default reclaimer limbo: it runs with urcu-memb' "$T/e"; echo $?)" "rc=$rc got: $got" "$(cat "$T/e")"
got=$(grep -o 'backend=segmented reclaim=[a-z0-9-]*' "$T/o" | sort -u)
check "--backend all, no reclaimer named: segmented keeps the default (limbo) only" "$([ "$got" = "backend=segmented reclaim=limbo" ]; echo $?)" "got: $got"
got=$(plan "$PB" sweep "$SRC/scripts/presets/reclaim.ini" | sed 's/.*reclaim=\([a-z0-9-]*\) .*/\1/' | sort -u | tr '\n' ' ')
check "the reclaim preset covers every registered reclaimer (reclaim = all)" "$([ "$got" = "$want_r" ]; echo $?)" "got: $got" "want: $want_r"

# ---- algorithm variants (PB_OPTF_VARIANT) ----------------------------------------
expect_bad "readiness=bits is refused, naming the allowed values" "value 'bits' is not valid for readiness, allowed: stamp, bitmap" \
	"$PB" run --backend segmented --reclaim hp --backend-opt readiness=bits --jobs 1000
"$PB" run --backend segmented --reclaim hp --backend-opt readiness=stamp,bitmap --jobs 2000 --reps 1 --out "$T/rd" --quiet >"$T/o" 2>"$T/e"
got=$(grep -o 'readiness=[a-z]*' "$T/rd/results.csv" 2>/dev/null | sort | tr '\n' ' ')
check "readiness=stamp,bitmap: one row each, backend_opts says which" "$([ "$got" = "readiness=bitmap readiness=stamp " ]; echo $?)" "got: $got" "$(cat "$T/e")"
got=$(grep -o 'readiness=[a-z]*' "$T/o" | sort | tr '\n' ' ')
check "the summary table tells the two lines apart (an option that varies is shown)" "$([ "$got" = "readiness=bitmap readiness=stamp " ]; echo $?)" "got: $got" "$(cat "$T/o")"

# ---- scq: its capacity is refused by value, with what is allowed -----------------------
expect_bad "scq --capacity 6 (not a power of two)" "value 6 is not a power of two for capacity, allowed: powers of two in 2 .. 67108864" \
	"$PB" run --backend scq --capacity 6 --jobs 1000
expect_bad "scq --capacity 1 (below the range)" "value 1 is out of range for capacity, allowed: 2 .. 67108864" \
	"$PB" run --backend scq --capacity 1 --jobs 1000
expect_bad "scq --capacity 128m (above the range)" "value 128m is out of range for capacity, allowed: 2 .. 67108864" \
	"$PB" run --backend scq --capacity 128m --jobs 1000
expect_bad "scq --backend-opt capacity=3 (not a power of two)" "value 3 is not a power of two for capacity" \
	"$PB" run --backend scq --backend-opt capacity=3 --jobs 1000
expect_bad "scq --backend-opt remap=maybe" "value 'maybe' is not valid for remap, allowed: on, off" \
	"$PB" run --backend scq --backend-opt remap=maybe --jobs 1000
got=$(plan "$PB" run --backend scq --capacity 2,64m | sed 's/.*capacity=\([0-9]*\).*/\1/' | sort -n | tr '\n' ' ')
check "scq --capacity 2,64m: both ends of the range plan" "$([ "$got" = "2 67108864 " ]; echo $?)" "got: $got"

# ---- all x all: each backend with exactly the reclaimers it takes ------------------------
# (a backend that refuses some reclaimer, or takes none, is paired with what
# 'poolbench list' says it takes, and nothing else: no error, no refused pair)
pairs=$(plan "$PB" run --backend all --reclaim all --workers 1 | sed 's/.*backend=\([a-z0-9-]*\) reclaim=\([a-z0-9-]*\) .*/\1 \2/')
want=$(awk '/^backends:/{f=1; next} /^[a-z]/{f=0} f && /^  [a-z0-9]/{if (b != "") print b, (r == "" ? "-" : r); b=$1; r=""} f && /^    reclaimers: /{sub(/^    reclaimers: /, ""); r=$0} END {if (b != "") print b, (r == "" ? "-" : r)}' <<<"$list" |
	while read -r b rest; do for r in $rest; do echo "$b $r"; done; done | sort)
got=$(sort <<<"$pairs")
check "--backend all --reclaim all: every backend with exactly the reclaimers it takes ($(wc -l <<<"$got") pairs)" \
	"$([ -n "$got" ] && [ "$got" = "$want" ]; echo $?)" "got: $(tr '\n' ',' <<<"$got")" "want: $(tr '\n' ',' <<<"$want")"

got=$(plan "$PB" sweep "$SRC/scripts/presets/queues.ini" | sed 's/.*backend=\([a-z0-9-]*\) reclaim=\([a-z0-9-]*\) .*/\1 \2/' | sort -u)
check "the queues preset: every backend with exactly the reclaimers it takes (reclaim = all)" \
	"$([ -n "$got" ] && [ "$got" = "$want" ]; echo $?)" "got: $(tr '\n' ',' <<<"$got")" "want: $(tr '\n' ',' <<<"$want")"
got=$(plan "$PB" sweep "$SRC/scripts/presets/queues.ini" | sed 's/.* workload=\([a-z0-9]*\) p=\([0-9]*\) workers=\([0-9]*\) .*/\1:\2:\3/' | sort -u | tr '\n' ' ')
check "the queues preset: empty and sha256 at p=1,2 and w=1,2,4" \
	"$([ "$got" = "empty:1:1 empty:1:2 empty:1:4 empty:2:1 empty:2:2 empty:2:4 sha256:1:1 sha256:1:2 sha256:1:4 sha256:2:1 sha256:2:2 sha256:2:4 " ]; echo $?)" "got: $got"

tap_done
