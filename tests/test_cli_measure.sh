#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the measurement side of poolbench (meson suite 'cli'): bad
# values of --mode, --rate, --duration, --latency and --sample-ms are refused
# with exit 2, one line and no result file; a small run per mode fills the
# latency, rate, allocation and counter columns sensibly (percentiles
# monotonic, achieved rate near a low target, "n/a" only where a figure is
# unavailable); validation stays on in every mode; timeseries.csv has the
# samples of every run and survives a crashed run.  Prints TAP.
# usage: tests/test_cli_measure.sh path/to/poolbench
set -u

PB=${1:?usage: test_cli_measure.sh path/to/poolbench}
. "$(dirname "$0")/tap.sh"
tap_init measure
unset PB_FAULT


# The backend to run: the first registered one that takes a reclaimer (its
# pending counts fill the timeseries), else the first one.
"$PB" list >"$T/list" 2>&1
BACKEND=$(awk '/^  [^ ]/{b=$1} /^reclaimers:/{exit} /flags:.*reclaim/{print b; exit}' "$T/list")
[ -n "$BACKEND" ] || BACKEND=$(awk '/^backends:/{f=1; next} f && /^  [^ ]/{print $1; exit}' "$T/list")
COMMON=(--backend "$BACKEND" --reps 1 --quiet --watchdog 60)

# ---- bad input: exit 2, one line naming the value, no files -------------------
case_no=0
bad_input() { # description, expected text, run arguments...
	local desc=$1 want=$2 out rc lines
	shift 2
	case_no=$((case_no + 1))
	out="$T/bad$case_no"
	"$PB" run "${COMMON[@]}" --jobs 100 --out "$out" "$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	lines=$(wc -l <"$T/bad.err")
	if [ $rc -ne 2 ]; then
		fail "$desc: exit 2" "rc=$rc" "args: $*" "$(head -3 "$T/bad.err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$desc: one line on stderr" "got $lines lines:" "$(head -5 "$T/bad.err")"
	elif ! grep -qF -- "$want" "$T/bad.err"; then
		fail "$desc: message names '$want'" "$(cat "$T/bad.err")"
	elif [ -e "$out/results.csv" ] || [ -e "$out/meta.json" ] || [ -e "$out/timeseries.csv" ]; then
		fail "$desc: no result file created" "$(ls "$out")"
	else
		ok "$desc (exit 2: $(cat "$T/bad.err"))"
	fi
}

bad_input "unknown mode" "'fast'" --mode fast
bad_input "mode typo suggests the name" "did you mean 'latency'" --mode latncy
bad_input "rate mode without --rate" "--rate" --mode rate
bad_input "--rate 0" "value 0" --mode rate --rate 0
bad_input "--rate -5" "'-5'" --mode rate --rate -5
bad_input "--rate x" "'x'" --mode rate --rate x
bad_input "--rate without rate mode" "--mode rate" --rate 1000
bad_input "--duration -1" "'-1'" --duration -1
bad_input "--duration 0" "'0'" --duration 0
bad_input "--duration abc" "'abc'" --duration abc
bad_input "--duration with a bad unit" "'5min'" --duration 5min
bad_input "--latency maybe" "'maybe'" --latency maybe
bad_input "--latency off in latency mode" "--latency off" --mode latency --latency off
bad_input "--sample-ms -1" "'-1'" --sample-ms -1
bad_input "--sample-ms too large" "value 99999" --sample-ms 99999
bad_input "--jobs with --duration in rate mode" "--duration" --mode rate --rate 1000 --duration 1
bad_input "--mode needs a value" "needs a value" --mode

# ---- one small run per mode ------------------------------------------------------
run() { # name, args...
	local name=$1
	shift
	"$PB" run "${COMMON[@]}" --out "$T/$name" "$@" >"$T/$name.out" 2>"$T/$name.err"
}
run thr --jobs 20000; rc_thr=$?
run thr_lat --jobs 20000 --latency on; rc_thr_lat=$?
run dur --duration 200ms --producers 2; rc_dur=$?
run lat --mode latency --jobs 20000 --workers 1,2; rc_lat=$?
run rate --mode rate --rate 20000 --jobs 10000; rc_rate=$?
run rate_dur --mode rate --rate 20000 --duration 0.25s; rc_rate_dur=$?
for r in thr thr_lat dur lat rate rate_dur; do
	eval "rc=\$rc_$r"
	if [ "$rc" -eq 0 ]; then ok "run $r exits 0"; else fail "run $r exits 0" "rc=$rc" "$(tail -3 "$T/$r.err")"; fi
done

# Hardware counters exist only with a CPU PMU; jemalloc only when linked.
HAVE_PMU=0
[ -d /sys/bus/event_source/devices/cpu ] && HAVE_PMU=1

check() { # description, python body (gets T, HAVE_PMU; rows(name) -> list of dicts)
	local desc=$1 out
	out=$("$PY" - "$T" "$HAVE_PMU" <<EOF 2>&1
import csv, json, sys
T, HAVE_PMU = sys.argv[1], sys.argv[2] == "1"
def rows(name, f="results.csv"):
    with open("%s/%s/%s" % (T, name, f), newline="") as fh:
        return list(csv.DictReader(fh))
def num(v):
    return float(v)
bad = []
$2
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
)
	if [ $? -eq 0 ]; then ok "$desc"; else fail "$desc" "$out"; fi
}

check "every measurement column is present" '
need = ["lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns", "lat_first1_ns",
        "lat_first100_p99_ns", "lat_first10k_p99_ns", "lat_first1m_p99_ns", "allocs_per_job",
        "bytes_per_job", "peak_rss_kb", "ipc", "cache_misses_per_job", "ctx_switches", "mode",
        "rate_target", "rate_achieved", "task_clock_ns", "queue_allocs_per_job", "note"]
hdr = list(rows("thr")[0].keys())
for c in need:
    if c not in hdr:
        bad.append("missing column " + c)
'

check "every row ok, validated, in its mode" '
for name, mode, nrows in [("thr", "throughput", 1), ("thr_lat", "throughput", 1), ("dur", "throughput", 1),
                          ("lat", "latency", 2), ("rate", "rate", 1), ("rate_dur", "rate", 1)]:
    rs = rows(name)
    if len(rs) != nrows:
        bad.append("%s: %d rows, want %d" % (name, len(rs), nrows))
    for r in rs:
        if r["status"] != "ok" or r["lost"] != "0" or r["duplicated"] != "0" or r["mode"] != mode:
            bad.append("%s: %s %s lost=%s dup=%s" % (name, r["status"], r["mode"], r["lost"], r["duplicated"]))
'

check "latency off: latency columns are -, latency on: filled and monotonic" '
r = rows("thr")[0]
for c in ["lat_p50_ns", "lat_p99_ns", "lat_max_ns", "lat_first1_ns"]:
    if r[c] != "-":
        bad.append("thr %s=%s with latency off" % (c, r[c]))
if r["latency"] != "off":
    bad.append("thr latency=%s" % r["latency"])
for name in ["thr_lat", "lat", "rate", "rate_dur"]:
    for r in rows(name):
        v = [num(r[c]) for c in ["lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns"]]
        if not (0 <= v[0] <= v[1] <= v[2] <= v[3] <= v[4]):
            bad.append("%s w=%s: percentiles not monotonic: %s" % (name, r["workers"], v))
        if v[4] <= 0:
            bad.append("%s: max latency 0" % name)
        if r["lat_samples"] != r["jobs"]:
            bad.append("%s: %s latency samples for %s jobs" % (name, r["lat_samples"], r["jobs"]))
        if r["latency"] != "on":
            bad.append("%s latency=%s" % (name, r["latency"]))
'

check "warm-up milestones: first 1/100/10k filled, 1M is - for a short run" '
for r in rows("lat"):
    if num(r["lat_first1_ns"]) <= 0 or num(r["lat_first100_p99_ns"]) <= 0 or num(r["lat_first10k_p99_ns"]) <= 0:
        bad.append("milestones: %s %s %s" % (r["lat_first1_ns"], r["lat_first100_p99_ns"], r["lat_first10k_p99_ns"]))
    if r["lat_first1m_p99_ns"] != "-":
        bad.append("lat_first1m_p99_ns=%s for %s+%s jobs" % (r["lat_first1m_p99_ns"], r["jobs"], r["warmup_jobs"]))
'

check "rate mode: achieved rate near 20000/s, target recorded; rate x duration jobs" '
for name, jobs in [("rate", 10000), ("rate_dur", 5000)]:
    r = rows(name)[0]
    if r["rate_target"] != "20000":
        bad.append("%s rate_target=%s" % (name, r["rate_target"]))
    a = num(r["rate_achieved"])
    if not (20000 / 1.5 <= a <= 20000 * 1.5):
        bad.append("%s rate_achieved=%s, target 20000" % (name, a))
    if int(r["jobs"]) != jobs:
        bad.append("%s jobs=%s, want %d" % (name, r["jobs"], jobs))
    if num(r["rate_lag_max_ns"]) < 0:
        bad.append("%s rate_lag_max_ns=%s" % (name, r["rate_lag_max_ns"]))
for name in ["thr", "lat"]:
    r = rows(name)[0]
    if r["rate_target"] != "-" or r["rate_achieved"] != "-":
        bad.append("%s: rate columns %s %s outside rate mode" % (name, r["rate_target"], r["rate_achieved"]))
'

check "duration: jobs counted from what ran, elapsed at least the duration" '
r = rows("dur")[0]
if int(r["jobs"]) <= 0 or int(r["jobs"]) >= 2**30 - 20000:
    bad.append("jobs=%s" % r["jobs"])
if int(r["elapsed_ns"]) < 200e6:
    bad.append("elapsed_ns=%s < 200 ms" % r["elapsed_ns"])
if abs(num(r["ns_per_job"]) - int(r["elapsed_ns"]) / int(r["jobs"])) > 0.01 * num(r["ns_per_job"]) + 0.01:
    bad.append("ns_per_job %s != elapsed/jobs" % r["ns_per_job"])
if r["duration_ms"] != "200.000":
    bad.append("duration_ms=%s" % r["duration_ms"])
'

check "allocations, RSS and counters: numbers, or n/a where unavailable here" '
jem = json.load(open(T + "/thr/meta.json")).get("libraries", {}).get("jemalloc", "not linked")
for name in ["thr", "lat", "rate"]:
    r = rows(name)[0]
    for c in ["allocs_per_job", "bytes_per_job"]:
        if jem == "not linked":
            if r[c] != "n/a":
                bad.append("%s %s=%s without jemalloc" % (name, c, r[c]))
        elif not num(r[c]) >= 0:
            bad.append("%s %s=%s" % (name, c, r[c]))
    if num(r["queue_allocs_per_job"]) < 0 or int(r["peak_rss_kb"]) <= 0 or int(r["ctx_switches"]) < 0:
        bad.append("%s: queue_allocs %s rss %s ctx %s" % (name, r["queue_allocs_per_job"], r["peak_rss_kb"], r["ctx_switches"]))
    if int(r["task_clock_ns"]) <= 0:
        bad.append("%s task_clock_ns=%s" % (name, r["task_clock_ns"]))
    for c in ["ipc", "cache_misses_per_job", "cycles_per_job"]:
        if not HAVE_PMU and r[c] != "n/a":
            bad.append("%s %s=%s on a machine without a CPU PMU" % (name, c, r[c]))
        if r[c] != "n/a" and num(r[c]) < 0:
            bad.append("%s %s=%s" % (name, c, r[c]))
'

check "timeseries.csv: samples of every run, point_id matches, t_ms grows" '
for name in ["thr", "lat", "rate"]:
    res = rows(name)
    ts = rows(name, "timeseries.csv")
    if not ts:
        bad.append(name + ": no timeseries rows")
        continue
    ids = set(r["point_id"] for r in res)
    for t in ts:
        if t["point_id"] not in ids:
            bad.append("%s: timeseries point_id %s not in results" % (name, t["point_id"]))
            break
    for r in res:
        mine = [t for t in ts if t["point_id"] == r["point_id"] and t["rep"] == r["rep"]]
        tms = [num(t["t_ms"]) for t in mine]
        if not mine or tms != sorted(tms):
            bad.append("%s: %d samples, t_ms sorted: %s" % (name, len(mine), tms == sorted(tms)))
        if r["reclaim"] != "-" and any(t["pending"] == "-" for t in mine):
            bad.append("%s: pending missing with reclaimer %s" % (name, r["reclaim"]))
        if not any(t["phase"] == "timed" for t in mine) and name != "thr":
            bad.append("%s: no sample in the timed phase" % name)
'

# ---- validation stays on in every mode; a crashed run leaves timeseries intact ---
PB_FAULT=lose@1,crash@2 "$PB" run "${COMMON[@]}" --mode latency --jobs 5000 --reps 3 \
	--out "$T/fault" >/dev/null 2>&1
rc=$?
PB_FAULT=dup@1 "$PB" run "${COMMON[@]}" --mode rate --rate 50000 --jobs 2000 \
	--out "$T/fault_rate" >/dev/null 2>&1
rc2=$?
check "validation in latency and rate modes; crash row; timeseries.csv well-formed" "
st = [(r['status'], r['lost'], r['duplicated']) for r in rows('fault')]
if [s[0] for s in st][:2] != ['invalid', 'crash'] or st[0][1] != '1':
    bad.append('latency mode rows: %s (rc=$rc)' % st)
st = [(r['status'], r['duplicated']) for r in rows('fault_rate')]
if st != [('invalid', '1')]:
    bad.append('rate mode rows: %s (rc=$rc2)' % st)
with open(T + '/fault/timeseries.csv', newline='') as fh:
    lines = list(csv.reader(fh))
for l in lines[1:]:
    if len(l) != len(lines[0]):
        bad.append('timeseries line with %d fields, header %d' % (len(l), len(lines[0])))
        break
"
if [ $rc -eq 1 ] && [ $rc2 -eq 1 ]; then ok "fault runs exit 1"; else fail "fault runs exit 1" "rc=$rc rc2=$rc2"; fi

tap_done
