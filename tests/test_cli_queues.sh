#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the library-based queue backends (issue 10: wfcq, lfq, ckfifo,
# spmc; meson suite 'cli'): refused combinations and out-of-range options get
# exit 2, one stderr line naming the value and what is allowed, and no results
# file; a small valid run of each backend (with each reclaimer it takes)
# writes rows whose jobs all ran exactly once.  TAP.
# usage: tests/test_cli_queues.sh path/to/poolbench
set -u

PB=${1:?usage: test_cli_queues.sh path/to/poolbench}
. "$(dirname "$0")/tap.sh"
tap_init queues
unset PB_FAULT PB_FAKE_NS_PER_JOB

expect_bad() { # description, expected text, run arguments...
	local desc=$1 want=$2 out rc
	shift 2
	out="$T/bad-$n"
	"$PB" run --quiet --jobs 100 --reps 1 --out "$out" "$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	check_refused "$desc" "$want" $rc "$out/results.csv" "$out/meta.json"
}

# The registry knows the four backends (poolbench list).
list=$("$PB" list 2>&1)
for b in wfcq lfq ckfifo spmc; do
	if grep -qE "^  $b " <<<"$list"; then ok "poolbench list shows $b"; else fail "poolbench list shows $b"; fi
done

# ---- bad input ---------------------------------------------------------------
expect_bad "lfq with hp refused, naming hp" "(hp)" --backend lfq --reclaim hp
expect_bad "lfq with hp refused, naming what is allowed" "allowed: urcu-memb, urcu-qsbr" \
	--backend lfq --reclaim hp
expect_bad "lfq with ckepoch refused (RCU sections of liburcu only)" "allowed: urcu-memb, urcu-qsbr" \
	--backend lfq --reclaim ckepoch
expect_bad "ckfifo with hp refused, naming what is allowed" "allowed: urcu-memb, urcu-qsbr, ckepoch" \
	--backend ckfifo --reclaim hp
expect_bad "ckfifo with limbo refused" "(limbo)" --backend ckfifo --reclaim limbo
expect_bad "ckfifo with none refused" "(none)" --backend ckfifo --reclaim none
expect_bad "spmc --capacity below range" "value 2 is out of range for capacity, allowed: 4 .. 16777216" \
	--backend spmc --capacity 2
expect_bad "spmc --capacity above range" "allowed: 4 .. 16777216" --backend spmc --capacity 33554432
expect_bad "spmc --capacity not a power of two" "value 6 is not a power of two for capacity" \
	--backend spmc --capacity 6
expect_bad "spmc max-producers below range" "value 8 is out of range for max-producers, allowed: 16 .. 4096" \
	--backend spmc --backend-opt max-producers=8
# More producers than spmc has rings (max-producers): refused before anything
# runs (it used to wait for a free ring until the watchdog called it a
# stall).  One ring stays for the harness's own submitter (core/queue.h,
# PB_QUEUE_EXTRA_PUSHERS), so 16 producers need max-producers 17.
expect_bad "spmc with 20 producers over max-producers 16 refused" \
	"spmc max-producers 16 is less than the 21 threads that push (20 producers + 1 harness submitter); raise --backend-opt max-producers" \
	--backend spmc --producers 20 --workers 1 --watchdog 10
expect_bad "spmc with 16 producers at max-producers 16 refused (no ring for the harness)" \
	"spmc max-producers 16 is less than the 17 threads" --backend spmc --producers 16 --workers 1 \
	--watchdog 10
expect_bad "spmc max-producers 32 with 40 producers refused, naming 32" \
	"spmc max-producers 32 is less than the 41 threads" \
	--backend spmc --backend-opt max-producers=32 --producers 40 --workers 1 --watchdog 10
expect_bad "spmc: the largest producer count of a list decides" \
	"spmc max-producers 16 is less than the 21 threads" --backend spmc --producers 1,20 --workers 1 \
	--watchdog 10
# With --backend all the spmc points that cannot run are left out with a note
# (as combinations a backend does not take are); the other backends stay.
"$PB" run --dry-run --backend all --producers 20,32 --workers 1 --out "$T/dry" >"$T/dry.out" 2>"$T/dry.err"
rc=$?
if [ $rc -eq 0 ] && grep -qF "backend spmc: 2 points left out, the first with reclaimer -, 20 producers, 1 workers: spmc max-producers 16 is less than the 21 threads" "$T/dry.err" &&
	! grep -q "backend=spmc" "$T/dry.out" && grep -q "backend=mutex" "$T/dry.out"; then
	ok "--backend all: spmc with 20 and 32 producers left out with a note, the others planned"
else
	fail "--backend all: spmc with 20 and 32 producers left out with a note" "rc=$rc" "$(cat "$T/dry.err")" \
		"$(grep -c backend=spmc "$T/dry.out") spmc points"
fi
# ... and one ring more than the producers is enough: it runs, every job once.
"$PB" run --quiet --backend spmc --backend-opt max-producers=17 --producers 16 --workers 1 \
	--jobs 2000 --reps 1 --watchdog 60 --out "$T/maxp" >/dev/null 2>"$T/maxp.err"
rc=$?
# (status ok, or noisy on a busy machine: not a stall; no job lost or run twice)
if [ $rc -eq 0 ] && python3 - "$T/maxp/results.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sys.exit(not (len(rows) == 1 and rows[0]["status"] in ("ok", "noisy") and
              rows[0]["lost"] == "0" and rows[0]["duplicated"] == "0"))
PYEOF
then
	ok "spmc with 16 producers and max-producers 17 runs"
else
	fail "spmc with 16 producers and max-producers 17 runs" "rc=$rc" "$(tail -3 "$T/maxp.err")"
fi
expect_bad "wfcq chunk 0 refused" "value 0 is out of range for chunk, allowed: 1 .. 65536" \
	--backend wfcq --backend-opt chunk=0
expect_bad "lfq recycle 2 refused" "value '2' is not valid for recycle, allowed: true, false" \
	--backend lfq --reclaim urcu-memb --backend-opt recycle=2

# ---- a small valid run of each backend -----------------------------------------
# Every reclaimer a backend takes (the others are left out with a note), p=2
# w=2 (test_cli.sh runs every backend at w=1,2 too), then small geometry
# (capacity 4, chunk 1, recycle off).
"$PB" run --backend wfcq,lfq,ckfifo,spmc --reclaim urcu-memb,urcu-qsbr,ckepoch \
	--producers 2 --workers 2 --jobs 3000 --reps 1 --watchdog 60 \
	--out "$T/run" >"$T/run.out" 2>"$T/run.err"
rc=$?
if [ $rc -eq 0 ]; then ok "small run of wfcq, lfq, ckfifo, spmc exits 0"; else fail "small run exits 0" "rc=$rc" "$(tail -5 "$T/run.err")"; fi
"$PB" run --backend spmc --capacity 4 --producers 2 --workers 2 --jobs 3000 --reps 1 --watchdog 60 \
	--quiet --out "$T/small" >/dev/null 2>"$T/small.err" &&
"$PB" run --backend wfcq --backend-opt chunk=1 --producers 2 --workers 2 --jobs 3000 --reps 1 \
	--watchdog 60 --quiet --append --out "$T/small" >/dev/null 2>>"$T/small.err" &&
"$PB" run --backend lfq,ckfifo --reclaim urcu-memb,ckepoch --backend-opt recycle=off --producers 2 \
	--workers 2 --jobs 3000 --reps 1 --watchdog 60 --quiet --append --out "$T/small" \
	>/dev/null 2>>"$T/small.err"
rc=$?
if [ $rc -eq 0 ]; then ok "small-geometry runs exit 0"; else fail "small-geometry runs exit 0" "rc=$rc" "$(tail -5 "$T/small.err")"; fi

# Rows: status ok, every job exactly once (the harness's per-job counters:
# lost = duplicated = 0), the expected backend x reclaimer pairs, queue_bound
# as each backend says (unbounded, or (capacity-1) x max-producers for spmc).
check_rows() { # dir, expected "backend/reclaim" pairs (space separated), rows per pair
	"$PY" - "$@" <<'EOF'
import csv, sys
d, pairs, per = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
rows = list(csv.DictReader(open(d + "/results.csv", newline="")))
bad, seen = [], {}
for r in rows:
    key = r["backend"] + "/" + r["reclaim"]
    seen[key] = seen.get(key, 0) + 1
    if r["status"] != "ok" or r["lost"] != "0" or r["duplicated"] != "0" or r["errors"] != "0":
        bad.append("row not ok: %s %s p=%s w=%s status=%s lost=%s dup=%s" % (
            key, r["capacity"], r["producers"], r["workers"], r["status"], r["lost"], r["duplicated"]))
    if float(r["ns_per_job"]) <= 0:
        bad.append("no timing: %s" % key)
    qb = r.get("queue_bound", "")
    if r["backend"] == "spmc":
        cap = int(r["capacity"])
        if qb != str((cap - 1) * 16):
            bad.append("spmc queue_bound %s, want %d" % (qb, (cap - 1) * 16))
    elif qb not in ("unbounded", "-1", str(2**64 - 1)):
        bad.append("%s queue_bound %s, want unbounded" % (key, qb))
for p in pairs:
    if seen.get(p, 0) != per:
        bad.append("%s: %d rows, want %d" % (p, seen.get(p, 0), per))
for p in seen:
    if p not in pairs:
        bad.append("unexpected pair %s" % p)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}
pairs="wfcq/- spmc/- lfq/urcu-memb lfq/urcu-qsbr ckfifo/urcu-memb ckfifo/urcu-qsbr ckfifo/ckepoch"
if probs=$(check_rows "$T/run" "$pairs" 1 2>&1); then
	ok "every row ok, lost=0 duplicated=0, each backend with each reclaimer it takes, queue_bound right"
else
	fail "every row ok, lost=0 duplicated=0, each backend with each reclaimer it takes, queue_bound right" "$probs"
fi
if probs=$(check_rows "$T/small" "spmc/- wfcq/- lfq/urcu-memb ckfifo/urcu-memb ckfifo/ckepoch" 1 2>&1); then
	ok "small geometry: every row ok, lost=0 duplicated=0"
else
	fail "small geometry: every row ok, lost=0 duplicated=0" "$probs"
fi
if grep -q "backend lfq does not take reclaimer ckepoch" "$T/run.err"; then
	ok "the run notes the combinations it left out"
else
	fail "the run notes the combinations it left out" "$(head -5 "$T/run.err")"
fi

tap_done
