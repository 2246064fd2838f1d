#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the noisy-machine features (issue 8, meson suite 'cli'): the
# run order (interleaved, random with --seed, sequential) read back from
# run_seq, the per-point stopping rule under interleaving (PB_FAKE_NS_PER_JOB),
# --resume after SIGKILL under interleaved order, placement "auto", the
# canary (PB_FAULT=slow@RUN gives "noisy" and a re-run within --reps, with
# faked and with real canary timings), calibrate and the floor in meta.json,
# "poolbench compare" against a reference computed with scipy, and bad input:
# exit 2, one line naming the value, no output file.  No check depends on the
# machine's speed.  TAP.
# usage: tests/test_cli_noise.sh path/to/poolbench [source root]
set -u

PB=${1:?usage: test_cli_noise.sh path/to/poolbench [source root]}
. "$(dirname "$0")/tap.sh"
tap_init noise
unset PB_FAULT PB_FAKE_NS_PER_JOB

B=ckring # no reclaimer, no segment options
RUN=("$PB" run --backend $B --jobs 1000 --watchdog 30 --quiet)
py() { "$PY" - "$@"; }

# ---- bad input ----------------------------------------------------------------------
case_no=0
expect_bad() { # description, expected text, output path to check, command...
	local desc=$1 want=$2 outp=$3 rc
	shift 3
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check_refused "$desc" "$want" $rc "$outp"
}
expect_bad "--order nonsense" "unknown order 'nonsense' for --order, allowed: interleaved, random, sequential" \
	"$T/b1/results.csv" "${RUN[@]}" --order nonsense --out "$T/b1"
expect_bad "--order with a typo" "(did you mean 'random'?)" "$T/b2/results.csv" "${RUN[@]}" --order randon --out "$T/b2"
expect_bad "--canary-tol -1" "value '-1' is not valid for --canary-tol, allowed: a percentage 0 .. 1000" \
	"$T/b3/results.csv" "${RUN[@]}" --canary-tol=-1 --out "$T/b3"
expect_bad "--canary-tol above 1000" "'5000' is not valid for --canary-tol" "$T/b4/results.csv" \
	"${RUN[@]}" --canary-tol 5000 --out "$T/b4"
expect_bad "--seed without --order random" "--seed 7 needs --order random" "$T/b5/results.csv" \
	"${RUN[@]}" --seed 7 --out "$T/b5"
expect_bad "--seed not a number" "value 'x' is not an integer for --seed" "$T/b6/results.csv" \
	"${RUN[@]}" --order random --seed x --out "$T/b6"
expect_bad "calibrate --cpus bogus" "calibrate: value 'bogus' is not valid for --cpus" "$T/none" \
	"$PB" calibrate --cpus bogus

# ---- the order of the runs ----------------------------------------------------------------
# Three points x 3 reps, --cov 0 (every rep runs): rounds of (point, rep) by run_seq.
order_check() { # dir, expected order kind
	py "$1/results.csv" "$2" <<'EOF'
import csv, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["run_seq"]))
kind = sys.argv[2]
seq = [int(r["run_seq"]) for r in rows]
assert seq == list(range(1, len(rows) + 1)), seq
pts = []
for r in rows:
    if r["point_id"] not in pts:
        pts.append(r["point_id"])
assert len(pts) == 3 and len(rows) == 9, (len(pts), len(rows))
reps = [int(r["rep"]) for r in rows]
if kind == "sequential":
    assert [r["point_id"] for r in rows] == [p for p in pts for _ in range(3)], rows
else:
    # rounds: repetition r of every point before r+1 of any
    assert reps == [1, 1, 1, 2, 2, 2, 3, 3, 3], reps
    for k in range(3):
        assert {r["point_id"] for r in rows[3 * k:3 * k + 3]} == set(pts)
    if kind == "interleaved":
        assert all([r["point_id"] for r in rows[3 * k:3 * k + 3]] == pts for k in range(3))
print(",".join(r["point_id"][:4] for r in rows))
EOF
}
for o in interleaved sequential; do
	"${RUN[@]}" --workers 1,2,3 --reps 3 --cov 0 --order $o --out "$T/ord-$o" >/dev/null 2>"$T/ord.err"
	if got=$(order_check "$T/ord-$o" $o 2>&1); then
		ok "--order $o: run_seq 1..9 in $o order ($got)"
	else
		fail "--order $o: run_seq 1..9 in $o order" "$got" "$(cat "$T/ord.err")"
	fi
done
"${RUN[@]}" --workers 1,2,3 --reps 3 --cov 0 --out "$T/ord-default" >/dev/null 2>&1
if order_check "$T/ord-default" interleaved >/dev/null 2>&1 &&
   py "$T/ord-default/meta.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["runs"][-1]
assert r["order"] == "interleaved" and "seed" not in r, r
EOF
then
	ok "the default order is interleaved (meta.json order, no seed)"
else
	fail "the default order is interleaved (meta.json order, no seed)"
fi
for s in 1 2; do
	"${RUN[@]}" --workers 1,2,3 --reps 3 --cov 0 --order random --seed 42 --out "$T/rnd-$s" >/dev/null 2>&1
done
"${RUN[@]}" --workers 1,2,3 --reps 3 --cov 0 --order random --out "$T/rnd-3" >/dev/null 2>&1
if a=$(order_check "$T/rnd-1" random 2>&1) && b=$(order_check "$T/rnd-2" random 2>&1) &&
   order_check "$T/rnd-3" random >/dev/null 2>&1 && [ "$a" = "$b" ] &&
   py "$T/rnd-1/meta.json" "$T/rnd-3/meta.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))["runs"][-1]
b = json.load(open(sys.argv[2]))["runs"][-1]
assert a["order"] == "random" and a["seed"] == 42, a
assert b["order"] == "random" and isinstance(b["seed"], int), b
EOF
then
	ok "--order random: rounds kept, --seed 42 gives the same order twice ($a), the seed is in meta.json (chosen when not given)"
else
	fail "--order random: rounds kept, same seed same order, seed in meta.json" "$a" "$b"
fi

# ---- the stopping rule per point, under interleaving ------------------------------------
# Two points A (workers 1) and B (workers 2); ok runs in the order A1 B1 A2 B2 A3 B3 ...
# get 100,100,100,200,100,100: A's last 3 have CoV 0 (stops at 3), B goes on to --reps 6.
PB_FAKE_NS_PER_JOB=100,100,100,200,100,100,200,100,200 "${RUN[@]}" --workers 1,2 --reps 6 --min-reps 3 \
	--cov 2 --out "$T/rule" >/dev/null 2>"$T/rule.err"
if got=$(py "$T/rule/results.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {}
for r in rows:
    by.setdefault(r["workers"], []).append(int(r["run_seq"]))
assert sorted(by["1"]) == [1, 3, 5], by
assert sorted(by["2"]) == [2, 4, 6, 7, 8, 9], by
print(by)
EOF
); then
	ok "stopping rule per point under interleaving: A stops after 3 reps, B drops out at --reps 6 ($got)"
else
	fail "stopping rule per point under interleaving" "$got" "$(cat "$T/rule.err")"
fi

# ---- resume after SIGKILL, interleaved ---------------------------------------------------------
# cpu jobs (about 40 us each): 3 points x 4 reps of 2000 jobs; killed after 4 rows, resumed.
"$PB" run --backend $B --workload cpu --workers 1,2,3 --jobs 2000 --reps 4 --cov 0 --quiet \
	--out "$T/kill" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
	[ -f "$T/kill/results.csv" ] && [ "$(wc -l <"$T/kill/results.csv")" -ge 5 ] && break
	sleep 0.05
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
before=$(($(wc -l <"$T/kill/results.csv") - 1))
"$PB" run --backend $B --workload cpu --workers 1,2,3 --jobs 2000 --reps 4 --cov 0 --quiet \
	--out "$T/kill" --resume >/dev/null 2>"$T/kill.err"
rc=$?
if got=$(py "$T/kill/results.csv" "$before" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
before = int(sys.argv[2])
assert 4 <= before < 12, "killed too late to test anything: %d rows" % before
keys = [(r["point_id"], int(r["rep"])) for r in rows]
assert len(keys) == len(set(keys)), "duplicate (point, rep)"
pts = {p for p, _ in keys}
assert len(pts) == 3 and all(sorted(rep for p2, rep in keys if p2 == p) == [1, 2, 3, 4] for p in pts), keys
seq = [int(r["run_seq"]) for r in rows]
assert seq == list(range(1, 13)), seq
print("%d rows before the kill, 12 after, run_seq continued" % before)
EOF
) && [ $rc -eq 0 ]; then
	ok "--resume after SIGKILL, interleaved: no duplicate and no missing (point, rep) ($got)"
else
	fail "--resume after SIGKILL, interleaved: no duplicate and no missing (point, rep)" "rc=$rc" "$got" "$(cat "$T/kill.err")"
fi

# ---- placement auto -------------------------------------------------------------------
NP=$("$PY" -c 'import os; print(len(os.sched_getaffinity(0)))')
NPT=$("$PB" topo | sed -n 's/^topology: .* \([0-9][0-9]*\) PUs\{0,1\}$/\1/p')
[ -n "$NPT" ] && [ "$NPT" -lt "$NP" ] && NP=$NPT
"${RUN[@]}" --workers "1,$((NP + 1))" --reps 1 --out "$T/auto" >/dev/null 2>&1
if got=$(py "$T/auto/results.csv" "$NP" <<'EOF'
import csv, sys
np_ = int(sys.argv[2])
for r in csv.DictReader(open(sys.argv[1])):
    fits = int(r["workers"]) + int(r["producers"]) <= np_
    want = "compact" if fits else "none"
    assert r["pin_workers"] == want and r["pin_producers"] == want, (r["workers"], r["pin_workers"], r["pin_producers"], np_)
    assert (r["cpus_workers"] != "-") == fits, r["cpus_workers"]
    print("w=%s:%s" % (r["workers"], r["pin_workers"]), end=" ")
EOF
); then
	ok "--pin-workers/--pin-producers default auto: compact when the threads fit the $NP PUs, else none; the row names the resolved policy ($got)"
else
	fail "placement auto resolved per point" "$got"
fi

# ---- the canary -------------------------------------------------------------------------------
# Faked canaries (2 ms each), run 2 slowed 8x: rep 2 is noisy, kept, not counted, and
# re-run within --reps (the rule needs 3 ok reps of equal fake timings).
PB_FAULT=slow@2 PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 5 --min-reps 3 --out "$T/can" >"$T/can.out" 2>"$T/can.err"
rc=$?
if got=$(py "$T/can/results.csv" "$T/can/summary.csv" <<'EOF'
import csv, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["rep"]))
st = [r["status"] for r in rows]
assert st == ["ok", "noisy", "ok", "ok"], st
assert int(rows[1]["canary_after_ns"]) == 8 * int(rows[1]["canary_before_ns"]), rows[1]
assert "canary" in rows[1]["note"], rows[1]["note"]
s = list(csv.DictReader(open(sys.argv[2])))[0]
assert (s["n_noisy"], s["reps_ok"], s["reps_run"], s["cov_met"]) == ("1", "3", "4", "true"), s
print(" ".join(st))
EOF
) && [ $rc -eq 0 ]; then
	ok "canary: an injected slowdown (PB_FAULT=slow@2) gives noisy, re-run within --reps, counted in summary.csv n_noisy, exit 0 ($got)"
else
	fail "canary: injected slowdown gives noisy and a re-run" "rc=$rc" "$got" "$(cat "$T/can.err")"
fi
# Real canary timings: the slowed canary runs 8 times the loop; --canary-tol 200 leaves
# room for a loaded machine (a 3x slower canary is needed to mark a repetition).
PB_FAKE_CANARY_NS= PB_FAULT=slow@2 PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 4 --cov 0 --canary-tol 200 \
	--out "$T/canreal" >/dev/null 2>"$T/canreal.err"
if got=$(py "$T/canreal/results.csv" "$T/canreal/meta.json" <<'EOF'
import csv, json, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: int(r["rep"]))
assert rows[1]["status"] == "noisy", [(r["status"], r["canary_before_ns"], r["canary_after_ns"]) for r in rows]
assert all(int(r["canary_before_ns"]) > 0 and int(r["canary_after_ns"]) > 0 for r in rows)
c = json.load(open(sys.argv[2]))["runs"][-1]["canary"]
assert c["iters"] > 0 and c["tol_pct"] == 200 and len(c["baseline_ns"]) == 5, c
print("rep 2: %s ns after vs %s before" % (rows[1]["canary_after_ns"], rows[1]["canary_before_ns"]))
EOF
); then
	ok "canary with real timings: the 8x slowed loop marks its repetition noisy ($got)"
else
	fail "canary with real timings: the slowed loop marks its repetition noisy" "$got" "$(cat "$T/canreal.err")"
fi
# --canary-tol 0: never noisy.
PB_FAULT=slow@2 PB_FAKE_NS_PER_JOB=100 "${RUN[@]}" --reps 3 --cov 0 --canary-tol 0 --out "$T/cantol0" >/dev/null 2>&1
if [ "$(cut -d, -f14 "$T/cantol0/results.csv" | tail -n +2 | tr '\n' ' ')" = "ok ok ok " ]; then
	ok "--canary-tol 0: the slowed repetition stays ok"
else
	fail "--canary-tol 0: the slowed repetition stays ok" "$(cut -d, -f14 "$T/cantol0/results.csv" | tr '\n' ' ')"
fi

# ---- the machine's floor ------------------------------------------------------------------
if PB_SKIP_CALIBRATE= "$PB" calibrate --json >"$T/cal.json" 2>"$T/cal.err" && py "$T/cal.json" "$NP" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert len(f["cpus"]) == n and len(f["atomic_inc_ns"]) == n and all(x > 0 for x in f["atomic_inc_ns"]), f
if n >= 2:
    assert 0 < f["oneway_latency_min_ns"] <= f["oneway_latency_median_ns"] and f["spsc_batched_ns_per_item"] > 0, f
EOF
then
	ok "poolbench calibrate --json: one-way latency, contended atomic per thread count, SPSC ring"
else
	fail "poolbench calibrate --json" "$(cat "$T/cal.json" "$T/cal.err")"
fi
PB_SKIP_CALIBRATE= "${RUN[@]}" --reps 1 --out "$T/fl1" >/dev/null 2>&1
PB_SKIP_CALIBRATE= "${RUN[@]}" --reps 1 --no-calibrate --out "$T/fl2" >/dev/null 2>&1
if py "$T/fl1/meta.json" "$T/fl2/meta.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))["runs"][-1]
b = json.load(open(sys.argv[2]))["runs"][-1]
assert a["floor"]["atomic_inc_ns"][0] > 0 and a["floor"]["cpus"], a.get("floor")
assert "floor" not in b, b.get("floor")
EOF
then
	ok "every sweep stores the floor in meta.json; --no-calibrate leaves it out"
else
	fail "every sweep stores the floor in meta.json; --no-calibrate leaves it out"
fi

# ---- compare ------------------------------------------------------------------------------------
# Two directories of the same points (ckring and mutex, workers 1 and 2) with faked timings:
# A/A-like values, a clear shift, and ties across the sides (the normal approximation).
CMP=("$PB" run --backend ckring,mutex --workers 1,2 --jobs 1000 --reps 6 --cov 0 --quiet)
PB_FAKE_NS_PER_JOB=100,200,300,400,101,201,301,401,102,202,302,402,103,203,303,403,104,204,304,404,105,205,305,405 \
	"${CMP[@]}" --out "$T/cA" >/dev/null 2>&1
PB_FAKE_NS_PER_JOB=100.5,260,300,380,101.5,262,301,382,102.5,264,302,384,103.5,266,303,386,104.5,268,304,388,105.5,270,305,390 \
	"${CMP[@]}" --out "$T/cB" >/dev/null 2>&1
"$PB" compare "$T/cA" "$T/cB" --out "$T/cmp.csv" >"$T/cmp.out" 2>"$T/cmp.err"
rc=$?
if got=$(py "$T/cA/results.csv" "$T/cB/results.csv" "$T/cmp.csv" <<'EOF'
import csv, itertools, math, sys
import numpy as np
from scipy.stats import mannwhitneyu

def oks(path):
    d = {}
    for r in csv.DictReader(open(path)):
        if r["status"] == "ok":
            d.setdefault(r["point_id"], []).append(float(r["ns_per_job"]))
    return d

A, B = oks(sys.argv[1]), oks(sys.argv[2])
out = {r["point_id_a"]: r for r in csv.DictReader(open(sys.argv[3]))}
assert set(out) == set(A) == set(B) and len(out) == 4, (sorted(out), sorted(A))

def u_null(n, m):
    # exact null distribution of U by enumerating every split of ranks 1..n+m
    counts = {}
    for comb in itertools.combinations(range(n + m), m):
        u = sum(1 for j in comb for i in range(n + m) if i not in comb and i < j)
        counts[u] = counts.get(u, 0) + 1
    tot = sum(counts.values())
    return [counts.get(u, 0) / tot for u in range(n * m + 1)]

kinds = set()
for pid, r in out.items():
    a, b = np.array(A[pid]), np.array(B[pid])
    d = np.sort(np.log(b)[None, :] - np.log(a)[:, None], axis=None)
    hl = math.exp(np.median(d))
    ties = bool(np.isin(a, b).any())
    method = "asymptotic" if ties else "exact"
    p = mannwhitneyu(b, a, alternative="two-sided", method=method, use_continuity=True).pvalue
    assert math.isclose(float(r["ratio"]), hl, rel_tol=1e-5), (pid, r["ratio"], hl)
    assert math.isclose(float(r["p_value"]), p, rel_tol=1e-4, abs_tol=1e-9), (pid, r["p_value"], p)
    assert r["test"] == ("normal" if ties else "exact"), r
    assert (r["significant"] == "true") == (p < 0.05), r
    kinds.add((r["test"], r["significant"]))
    if not ties:
        pdf = u_null(len(a), len(b))
        k, acc = 0, 0.0
        while acc + pdf[k] <= 0.025 + 1e-12:
            acc += pdf[k]
            k += 1
        lo, hi = math.exp(d[k - 1]), math.exp(d[len(d) - k])
        assert math.isclose(float(r["ci95_lo"]), lo, rel_tol=1e-5) and math.isclose(float(r["ci95_hi"]), hi, rel_tol=1e-5), (pid, r, lo, hi)
assert ("exact", "true") in kinds and ("normal", "false") in kinds, kinds
print(sorted(kinds))
EOF
) && [ $rc -eq 0 ] && grep -q " ~$" "$T/cmp.out"; then
	ok "compare A B: Hodges-Lehmann ratio, Moses 95% CI and Mann-Whitney p agree with scipy/numpy; ~ where p >= 0.05 ($got)"
else
	fail "compare A B agrees with the scipy reference" "rc=$rc" "$got" "$(cat "$T/cmp.out" "$T/cmp.err")"
fi
# Series within one directory: mutex vs ckring, matched on workload/producers/workers.
"$PB" compare "$T/cA" --a backend=ckring --b backend=mutex --out "$T/cmp2.csv" >"$T/cmp2.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(($(wc -l <"$T/cmp2.csv") - 1))" -eq 2 ] &&
   py "$T/cmp2.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# ckring got 100,300,... (workers 1) and 200,400 (2) style values: mutex is slower on both
assert all(float(r["ratio"]) > 1 for r in rows), rows
assert {r["point"].split(" pin_")[0] for r in rows} == {"empty p=1 w=1", "empty p=1 w=2"}, rows
EOF
then
	ok "compare DIR --a backend=ckring --b backend=mutex: two points matched on the other columns"
else
	fail "compare --a/--b series" "rc=$rc" "$(cat "$T/cmp2.out")"
fi
# A/A: the same values on both sides: no difference anywhere.
"$PB" compare "$T/cA" "$T/cA" >"$T/aa.out" 2>&1
if [ "$(grep -c ' ~$' "$T/aa.out")" -eq 4 ]; then
	ok "compare A A: every point shows ~"
else
	fail "compare A A: every point shows ~" "$(cat "$T/aa.out")"
fi
# bad input
"${RUN[@]}" --workers 3 --reps 1 --out "$T/cC" >/dev/null 2>&1
expect_bad "compare: no common points" "compare: no common points" "$T/cmp-bad1.csv" \
	"$PB" compare "$T/cA" "$T/cC" --out "$T/cmp-bad1.csv"
mkdir -p "$T/cD"
head -1 "$T/cA/results.csv" | sed 's/,note$/,extra,note/' >"$T/cD/results.csv"
tail -n +2 "$T/cA/results.csv" | sed 's/,\([^,]*\)$/,x,\1/' >>"$T/cD/results.csv"
expect_bad "compare: different columns" "have different columns" "$T/cmp-bad2.csv" \
	"$PB" compare "$T/cA" "$T/cD" --out "$T/cmp-bad2.csv"
expect_bad "compare: series on an unknown column" "'backnd' is not a results.csv column" "$T/cmp-bad3.csv" \
	"$PB" compare "$T/cA" --a backnd=ckring --b backend=mutex --out "$T/cmp-bad3.csv"
expect_bad "compare: series matching nothing in common" "compare: no common points" "$T/cmp-bad4.csv" \
	"$PB" compare "$T/cA" --a backend=ckring --b backend=nosuch --out "$T/cmp-bad4.csv"
expect_bad "compare: one directory" "usage: poolbench compare A B" "$T/cmp-bad5.csv" \
	"$PB" compare "$T/cA" --out "$T/cmp-bad5.csv"

tap_done
