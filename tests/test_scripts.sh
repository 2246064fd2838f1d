#!/bin/bash
# SPDX-License-Identifier: MIT
# Tests of the plotting and report scripts (meson suite 'scripts'): plot.py
# draws every figure kind from the fixture CSVs in tests/fixtures (PNG + SVG +
# a JSON sidecar naming the series drawn), picks the kind from meta.json or
# from the axes, degrades with a note when an optional file is absent, and
# refuses malformed input with one line and a non-zero exit; report.py embeds
# every figure and a table per preset, with the seed's figures beside ours;
# plot.gp runs with the dumb and pngcairo terminals.  Prints TAP.
# usage: tests/test_scripts.sh
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIX=$ROOT/tests/fixtures
PLOT=$ROOT/scripts/plot.py
REPORT=$ROOT/scripts/report.py
. "$ROOT/tests/tap.sh"
tap_init scripts
export MPLCONFIGDIR=$T/mpl

if ! "$PY" -c 'import matplotlib, pandas' 2>/dev/null; then
	echo "1..0 # SKIP $PY has no matplotlib/pandas (scripts/setup.sh installs them)"
	exit 0
fi

check() { # check NAME COMMAND...: ok when the command succeeds
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$out"; fi
}

# A PNG starts with its 8-byte signature; an SVG has an <svg element.
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }
is_svg() { [ -s "$1" ] && grep -q '<svg' "$1"; }

# sidecar FILE PYTHON-EXPRESSION: evaluate the expression with s = the JSON
# sidecar, series = every series label drawn, titles = every panel title.
sidecar() {
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
series = [x for p in s["panels"] for x in p["series"]]
titles = [p["title"] for p in s["panels"]]
ok = eval(sys.argv[2])
if not ok:
    print("false: %s\nsidecar: %s" % (sys.argv[2], json.dumps(s)[:1500]))
sys.exit(0 if ok else 1)
PYEOF
}

# One results directory per fixture, as poolbench writes them.
mkdir -p "$T/mpl"
setup_dir() { # setup_dir NAME FIXTURE.csv [meta.json content]
	mkdir -p "$T/r/$1"
	cp "$FIX/$2" "$T/r/$1/results.csv"
	if [ $# -ge 3 ]; then printf '%s\n' "$3" >"$T/r/$1/meta.json"; fi
}
# meta.json as poolbench sweep writes it: the sweep file and its [plot] section per run.
META='{"schema_version": 1, "host": "fixture-host", "cpu_model": "Fixture CPU 9000", "nproc": 2,
 "runs": [{"command": "poolbench sweep scripts/presets/PRESET.ini --out x", "jobs": 100000, "reps": 3,
           "sweep_file": "scripts/presets/PRESET.ini", "plot": {PLOT}}]}'
meta() { local m=${META//PRESET/$1}; printf '%s' "${m/\{PLOT\}/$2}"; }
META0=$(meta PRESET '{"title": "", "x": "", "y": ""}')
setup_dir worker-scale worker-scale.csv "$(meta worker-scale '{"title": "Worker scaling", "x": "workers", "y": "jobs_per_s"}')"
cp "$FIX/worker-scale-summary.csv" "$T/r/worker-scale/summary.csv"
setup_dir latency latency.csv "${META0/PRESET/latency}"
setup_dir segment-size segment-size.csv "${META0/PRESET/segment-size}"
cp "$FIX/segment-size-summary.csv" "$T/r/segment-size/summary.csv" # matched by point_id
setup_dir reclaim reclaim.csv "$(meta reclaim '{"title": "Reclamation schemes", "x": "reclaim", "y": "ns_per_job"}')"
cp "$FIX/timeseries.csv" "$T/r/reclaim/timeseries.csv"
setup_dir channel channel.csv "${META0/PRESET/channel}"
setup_dir placement placement.csv "${META0/PRESET/placement}"
setup_dir queues queues.csv "$(meta queues '{"title": "Queues side by side", "x": "workers", "y": "ns_per_job"}')"

# ---- plot.py: every kind, from the preset name in meta.json ------------------
# kind | series expected in the sidecar and as SVG text | extra sidecar check
CASES=(
	"worker-scale|segmented/limbo segmented/hp mutex ckring|len(s['panels']) == 3 and s['errors'] == ['median, order-statistic interval'] and all(p['xlabel'] == 'worker threads' and p['ylabel'].startswith('jobs per second') for p in s['panels']) and s['title'] == 'Worker scaling'"
	"latency|segmented/limbo segmented/hp mutex ckring|any('percentiles' in t for t in titles) and any('warm-up milestones' in t for t in titles) and any(p['xlabel'] == 'worker threads' for p in s['panels']) and s['panels'][0]['yscale'] == 'log'"
	"segment-size|segmented/limbo segmented/hp segmented/ckepoch|len(s['panels']) == 2 and all(p['xscale'] == 'log' for p in s['panels']) and any('allocations' in t for t in titles) and 'segmented/limbo seg_size=1: no ok repetition (stall)' in s['notes'] and s['errors'] == ['median, order-statistic interval']"
	"reclaim|segmented/limbo segmented/hp segmented/urcu-memb segmented/ckepoch segmented/none|any('over time' in t for t in titles) and not s['notes'] and s['panels'][0]['ylabel'].startswith('ns per job') and s['panels'][0]['xlabel'].startswith('segment size')"
	"channel|segmented/limbo mutex ckring|len(s['panels']) == 3 and s['kind'] == 'channel'"
	"placement|segmented/hp mutex|s['kind'] == 'placement'"
	"queues|scq ckring segmented/hp|s['title'] == 'Queues side by side' and len(s['panels']) == 4 and titles == ['workload: empty, producers: 1', 'workload: empty, producers: 2', 'workload: sha256, producers: 1', 'workload: sha256, producers: 2'] and all(p['xlabel'] == 'worker threads' and p['ylabel'].startswith('ns per job') for p in s['panels']) and not any(' p=' in x for x in series) and s['errors'] and 'Hollow:' in s['caption']"
)
for c in "${CASES[@]}"; do
	IFS='|' read -r kind series extra <<<"$c"
	d=$T/r/$kind
	out=$("$PY" "$PLOT" "$d/results.csv" 2>"$T/err")
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "plot.py draws the $kind figure" "rc=$rc" "$(cat "$T/err")"
		continue
	fi
	if is_png "$d/$kind.png" && is_svg "$d/$kind.svg" && [ -s "$d/$kind.json" ] &&
		grep -qx "$d/$kind.png" <<<"$out"; then
		ok "plot.py draws the $kind figure: PNG, SVG and sidecar, kind from meta.json"
	else
		fail "plot.py draws the $kind figure: PNG, SVG and sidecar, kind from meta.json" \
			"stdout: $out" "$(ls -la "$d")"
		continue
	fi
	missing=""
	for s in $series; do
		sidecar "$d/$kind.json" "any(x == '$s' or x.startswith('$s ') for x in series)" >/dev/null ||
			missing="$missing sidecar:$s"
		grep -q ">$s\( \|<\)" "$d/$kind.svg" || missing="$missing svg:$s"
	done
	if [ -z "$missing" ]; then ok "$kind figure: every expected series is drawn and in the legend"; else fail "$kind figure: every expected series is drawn and in the legend" "missing:$missing"; fi
	check "$kind figure: panels as expected" sidecar "$d/$kind.json" "s['kind'] == '$kind' and $extra"
	check "$kind figure: the machine is named in the caption" sidecar "$d/$kind.json" \
		"'fixture-host (Fixture CPU 9000, 2 CPUs)' in s['caption']"
done

# The same colour for the same backend/reclaim in every figure.
check "a series has the same colour in every figure, as the palette says" "$PY" - "$T/r" "$ROOT/scripts" <<'PYEOF'
import glob, json, sys
from collections import defaultdict
sys.path.insert(0, sys.argv[2])
import plot
seen = defaultdict(set)
for side in glob.glob(sys.argv[1] + "/*/*.json"):
    if side.endswith("meta.json"):
        continue
    for p in json.load(open(side))["panels"]:
        for lab, c in p["colours"].items():
            seen[lab.split(" ")[0]].add(c)
bad = {k: v for k, v in seen.items() if len(v) != 1 or
       (k in plot.PALETTE and v != {plot.PALETTE[k]})}
if len(seen) < 7 or bad:
    print("colours per series:", dict(seen))
    sys.exit(1)
PYEOF

# ---- plot.py: a backend option axis splits a series into labelled lines ---------
# (--backend-opt readiness=stamp,bitmap: the two lines of segmented/hp must not
# share one legend label)
mkdir -p "$T/optaxis"
"$PY" - "$FIX/queues.csv" "$T/optaxis/results.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:  # as a run with the axis writes them: every segmented row names its value
    if r["backend"] == "segmented":
        r["backend_opts"] = r["backend_opts"] + ";readiness=stamp"
seg = [dict(r) for r in rows if r["backend"] == "segmented" and r["reclaim"] == "hp"]
for r in seg:
    r["backend_opts"] = r["backend_opts"].replace("readiness=stamp", "readiness=bitmap")
    r["ns_per_job"] = "%.3f" % (float(r["ns_per_job"]) * 2)
out = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0].keys()))
out.writeheader()
out.writerows(rows + seg)
PYEOF
"$PY" "$ROOT/scripts/plot.py" "$T/optaxis/results.csv" --x workers >"$T/optaxis/out" 2>&1
check "plot.py: a backend option that varies names itself in the legend (readiness=bitmap)" \
	sidecar "$T/optaxis/generic.json" "any(x.startswith('segmented/hp') and 'readiness=bitmap' in x for x in series) and all(len(p['series']) == len(set(p['series'])) for p in s['panels'])"

# ---- plot.py: kind from the axes, old CLI, --x, degrading --------------------
mkdir -p "$T/auto"
for k in worker-scale latency segment-size reclaim channel placement; do
	mkdir -p "$T/auto/$k"
	cp "$FIX/$k.csv" "$T/auto/$k/results.csv"
	[ "$k" = reclaim ] && cp "$FIX/timeseries.csv" "$T/auto/$k/"
	"$PY" "$PLOT" "$T/auto/$k/results.csv" >/dev/null 2>"$T/err"
	if [ -s "$T/auto/$k/$k.json" ] && is_png "$T/auto/$k/$k.png"; then
		ok "without meta.json the axes give the $k figure"
	else
		fail "without meta.json the axes give the $k figure" "$(cat "$T/err")" "$(ls "$T/auto/$k")"
	fi
done
check "without meta.json the caption says the machine is not recorded" \
	sidecar "$T/auto/channel/channel.json" "'machine not recorded' in s['caption']"

"$PY" "$PLOT" "$FIX/worker-scale.csv" --out "$T/x" --x producers --name byprod >/dev/null 2>"$T/err"
if is_png "$T/x/byprod.png" && sidecar "$T/x/byprod.json" "s['kind'] == 'generic' and s['panels'][0]['xlabel'] == 'producer threads'" >/dev/null; then
	ok "--x COLUMN --name STEM --out DIR draws a generic line figure (the old CLI)"
else
	fail "--x COLUMN --name STEM --out DIR draws a generic line figure (the old CLI)" "$(cat "$T/err")"
fi
"$PY" "$PLOT" "$FIX/worker-scale.csv" --out "$T/x" --kind worker-scale --y jobs_per_s --errors ci --name ci >/dev/null 2>"$T/err"
check "--y jobs_per_s --errors ci: the mean and its Student t interval (no summary.csv)" sidecar "$T/x/ci.json" \
	"all('jobs per second (mean)' in p['ylabel'] for p in s['panels']) and s['errors'] == ['mean, 95% Student t interval'] and 'Markers and bars: mean, 95% Student t interval' in s['caption']"

# Honest figures: the median interval by order statistics, hollow markers
# counted in the caption, fixed settings, oversubscribed points.
check "median_ci: order statistics x(k)..x(n+1-k), coverage >= 95% from n = 6" "$PY" - "$(dirname "$PLOT")" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import plot
bad = []
want = {3: (1, 3, 0.75), 5: (1, 5, 0.9375), 6: (1, 6, 0.96875), 10: (2, 9, 1 - 2 * 11 / 1024),
        17: (5, 13, None)}
for n, (lo, hi, cov) in want.items():
    vals = list(range(n, 0, -1))  # unsorted on purpose
    got = plot.median_ci(vals)
    if got[0] != lo or got[1] != hi or (cov is not None and abs(got[2] - cov) > 1e-9) or got[2] < (0.95 if n >= 6 else 0):
        bad.append("n=%d: %r, want x(%d)..x(%d) coverage %r" % (n, got, lo, hi, cov))
if plot.median_ci([5.0])[0] == plot.median_ci([5.0])[0]:
    bad.append("n=1 must give NaN")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
check "worker-scale figure: hollow count, fixed settings and oversubscribed points as the data say" "$PY" - "$T/r/worker-scale" <<'PYEOF'
import csv, json, sys
d = sys.argv[1]
s = json.load(open(d + "/worker-scale.json"))
summ = list(csv.DictReader(open(d + "/summary.csv")))
rows = [r for r in csv.DictReader(open(d + "/results.csv")) if r["status"] == "ok"]
key = lambda r: tuple(r[c] for c in ("backend", "reclaim", "workload", "producers", "workers"))
pts = {key(r): r for r in rows}
missed = sum(1 for r in summ if key(r) in pts and r["cov_met"] == "false")
over = sum(1 for r in pts.values() if int(r["producers"]) + int(r["workers"]) > 2)
bad = []
if s["missed_cov"] != missed or "Hollow: %d of %d points missed the CoV" % (missed, len(pts)) not in s["caption"]:
    bad.append("missed %r (want %d of %d): %s" % (s["missed_cov"], missed, len(pts), s["caption"]))
if s["oversubscribed"] != over or (over and "more threads (producers + workers) than the 2 PUs" not in s["caption"]):
    bad.append("oversubscribed %r, want %d" % (s["oversubscribed"], over))
if "producers=1" not in s["fixed"] or "workers=" in s["fixed"]:
    bad.append("fixed settings %r" % s["fixed"])
if "coverage 75.0%" not in s["caption"]:
    bad.append("3 repetitions: the caption must give the interval's 75%% coverage: %s" % s["caption"])
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF

# A broken optional file next to the CSV is left out with a note.
mkdir -p "$T/brk"
cp "$FIX/worker-scale.csv" "$T/brk/results.csv"
: >"$T/brk/summary.csv"
"$PY" "$PLOT" "$T/brk/results.csv" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "summary.csv left out" "$T/err" &&
	sidecar "$T/brk/worker-scale.json" "s['errors'] == ['median, order-statistic interval'] and '108 of 109 rows ok (1 stall)' in s['caption']" >/dev/null; then
	ok "an empty summary.csv is left out with a note; median intervals from the rows; the stall counted"
else
	fail "an empty summary.csv is left out with a note; median intervals from the rows; the stall counted" "rc=$rc" "$(cat "$T/err")"
fi

# reclaim without timeseries.csv: pending_peak instead, with a note.
mkdir -p "$T/nots"
cp "$FIX/reclaim.csv" "$T/nots/results.csv"
"$PY" "$PLOT" "$T/nots/results.csv" --kind reclaim >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "no timeseries.csv" "$T/err" &&
	sidecar "$T/nots/reclaim.json" "s['notes'] and any('peak' in t for t in titles)" >/dev/null; then
	ok "reclaim figure without timeseries.csv: draws pending_peak, says so"
else
	fail "reclaim figure without timeseries.csv: draws pending_peak, says so" "rc=$rc" "$(cat "$T/err")"
fi
# latency figure on rows without milestone columns: that panel is skipped with a note.
mkdir -p "$T/nomile"
"$PY" - "$FIX/latency.csv" "$T/nomile/results.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = [c for c in rows[0] if not c.startswith("lat_first")]
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), cols, extrasaction="ignore")
w.writeheader(); w.writerows(rows)
PYEOF
"$PY" "$PLOT" "$T/nomile/results.csv" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "milestone" "$T/err" && sidecar "$T/nomile/latency.json" "len(s['notes']) == 1" >/dev/null; then
	ok "latency figure without milestone columns: that panel is skipped with a note"
else
	fail "latency figure without milestone columns: that panel is skipped with a note" "rc=$rc" "$(cat "$T/err")"
fi
# A latency figure asked of a CSV without latency values: a clear error.
"$PY" "$PLOT" "$FIX/channel.csv" --out "$T/x" --kind latency >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "latency" "$T/err"; then
	ok "--kind latency on throughput rows: one-line error"
else
	fail "--kind latency on throughput rows: one-line error" "rc=$rc" "$(cat "$T/err")"
fi

# ---- malformed input: one line, non-zero exit, no figure ---------------------
BAD=(
	"bad-empty.csv|empty"
	"bad-header-only.csv|no rows"
	"bad-missing-columns.csv|lacks required columns: reclaim"
	"bad-non-numeric.csv|line 3: column ns_per_job has non-numeric value 'fast'"
	"no-such-file.csv|no such"
)
for b in "${BAD[@]}"; do
	IFS='|' read -r f want <<<"$b"
	rm -rf "$T/bad"
	"$PY" "$PLOT" "$FIX/$f" --out "$T/bad" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF "plot.py: error:" "$T/err" &&
		grep -qF "$want" "$T/err" && ! ls "$T/bad"/*.png >/dev/null 2>&1; then
		ok "plot.py refuses $f with one line: $want"
	else
		fail "plot.py refuses $f with one line: $want" "rc=$rc" "stderr: $(cat "$T/err")"
	fi
done
"$PY" "$PLOT" "$FIX/channel.csv" --out "$T/bad" --kind pie >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "unknown figure kind" "$T/err"; then
	ok "plot.py refuses an unknown --kind with one line"
else
	fail "plot.py refuses an unknown --kind with one line" "rc=$rc" "$(cat "$T/err")"
fi

# ---- report.py ---------------------------------------------------------------
"$PY" "$REPORT" "$T/r" >"$T/out" 2>"$T/err"
rc=$?
H=$T/r/report.html
if [ $rc -eq 0 ] && [ -s "$H" ] && grep -qx "$H" "$T/out"; then
	ok "report.py writes DIR/report.html"
else
	fail "report.py writes DIR/report.html" "rc=$rc" "$(cat "$T/err")"
fi
missing=""
for png in "$T"/r/*/*.png; do
	rel=${png#"$T/r/"}
	grep -qF "id=\"fig-${rel%.png}\"" "$H" || missing="$missing $rel"
done
npng=$(ls "$T"/r/*/*.png | wc -l)
nimg=$(grep -o '<img [^>]*src="data:image/png;base64,' "$H" | wc -l)
if [ -z "$missing" ] && [ "$nimg" -eq "$npng" ] && [ "$npng" -ge 6 ]; then
	ok "report.html embeds every figure ($npng PNGs, base64)"
else
	fail "report.html embeds every figure" "missing:$missing" "png=$npng img=$nimg"
fi
check "report.html has a section and a points table per preset" "$PY" - "$H" <<'PYEOF'
import re, sys
h = open(sys.argv[1]).read()
secs = re.split(r'<h2 id="', h)[1:]
names = [s.split('"')[0] for s in secs]
want = {"worker-scale", "latency", "segment-size", "reclaim", "channel", "placement", "queues"}
bad = [n for n, s in zip(names, secs) if "Per point: medians and confidence intervals</h3><table>" not in s
       or "95% CI" not in s]
if set(names) != want or bad:
    print("sections", names, "without table", bad)
    sys.exit(1)
PYEOF
check "report.html sets the seed's figures beside ours, with machines" "$PY" - "$H" <<'PYEOF'
import re, sys
h = open(sys.argv[1]).read()
secs = dict((s.split('"')[0], s) for s in re.split(r'<h2 id="', h)[1:])
errs = []
need = {"worker-scale": ["wpool, ryzen", "wpool, vm2", "wpool, xeon16", "855", "AMD Ryzen 7 8845HS",
                         "ours: fixture-host (Fixture CPU 9000, 2 CPUs)"],
        "segment-size": ["wpool, vm2, w=2", "1 637 - 2 695 (2 allocs)", "784 (2 allocs)",
                         '<td class="">stall</td>'],
        "latency": ["submit-to-start latency, µs", "25.0" if False else "25", "wpool, ryzen"]}
for sec, words in need.items():
    s = secs.get(sec, "")
    if "Beside the seed" not in s:
        errs.append("%s: no seed table" % sec)
    errs += ["%s: lacks %r" % (sec, w) for w in words if w not in s]
for sec in ("channel", "placement", "reclaim"):
    if "Beside the seed" in secs.get(sec, ""):
        errs.append("%s: has a seed table it should not" % sec)
if "<script" in h:
    errs.append("has a script")
print("\n".join(errs))
sys.exit(1 if errs else 0)
PYEOF
check "report.html marks the point with a stalled repetition" grep -q '3/4 (stall)' "$H"
check "report.html's CI column says summary.csv for worker-scale" grep -q '>summary</td>' "$H"

# A tree with a malformed results.csv: reported as an error, exit non-zero.
mkdir -p "$T/rb/good" "$T/rb/bad"
cp "$FIX/channel.csv" "$T/rb/good/results.csv"
cp "$FIX/bad-non-numeric.csv" "$T/rb/bad/results.csv"
"$PY" "$REPORT" "$T/rb" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(grep -c . "$T/err")" -eq 1 ] && grep -q "report.py: error: .*non-numeric" "$T/err" &&
	grep -q "not reported" "$T/rb/report.html" && grep -q 'id="fig-good/channel"' "$T/rb/report.html"; then
	ok "report.py: a malformed CSV is one error line, exit 1, the rest still reported"
else
	fail "report.py: a malformed CSV is one error line, exit 1, the rest still reported" "rc=$rc" "$(cat "$T/err")"
fi
mkdir -p "$T/empty"
"$PY" "$REPORT" "$T/empty" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "no results.csv" "$T/err"; then
	ok "report.py on a directory without results: one-line error"
else
	fail "report.py on a directory without results: one-line error" "rc=$rc" "$(cat "$T/err")"
fi

check "anchors.py: every seed figure names a known machine and source" "$PY" "$ROOT/scripts/anchors.py"

# ---- plot.py --normalize floor, placement auto (issue 8) ------------------------
# The floor poolbench calibrate stores in meta.json (runs[].floor): ns_per_job / floor.
setup_dir floor worker-scale.csv '{"schema_version": 4, "host": "fixture-host", "nproc": 2,
 "runs": [{"command": "poolbench run", "floor": {"cpus": [0, 1], "spsc_batched_ns_per_item": 5.0}}]}'
if "$PY" "$PLOT" "$T/r/floor/results.csv" --normalize floor --out "$T/mpl/floor" >/dev/null 2>"$T/err" &&
   sidecar "$T/mpl/floor/worker-scale.json" "all(p['ylabel'].startswith('ns per job / floor (5.00 ns') for p in s['panels'])" >/dev/null &&
   "$PY" - "$ROOT/scripts" "$T/r/floor/results.csv" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import plot
r = plot.Results(sys.argv[2])
col = plot.normalize_floor(r)
assert col == "ns_per_floor" and ((r.ok[col] * 5.0 - r.ok["ns_per_job"]).abs() < 1e-9).all()
PYEOF
then
	ok "plot.py --normalize floor: ns per job divided by meta.json's floor, said on the y axis"
else
	fail "plot.py --normalize floor" "$(cat "$T/err")"
fi
setup_dir nofloor worker-scale.csv "${META0/PRESET/worker-scale}"
"$PY" "$PLOT" "$T/r/nofloor/results.csv" --normalize floor --out "$T/mpl/nofloor" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "normalize floor: .* has no floor" "$T/err" && [ ! -e "$T/mpl/nofloor" ]; then
	ok "plot.py --normalize floor without a floor in meta.json: a clear error, no figure"
else
	fail "plot.py --normalize floor without a floor in meta.json: a clear error" "rc=$rc" "$(cat "$T/err")"
fi
# Placement auto: the policy follows the thread count (compact at w=1, none above):
# not an axis of its own, so neither the figure kind nor the legend splits on it.
mkdir -p "$T/r/autopin"
awk -F, -v OFS=, 'NR > 1 && $6 == 1 {$38 = "compact"} {print}' "$FIX/worker-scale.csv" >"$T/r/autopin/results.csv"
if "$PY" "$PLOT" "$T/r/autopin/results.csv" --out "$T/mpl/autopin" >/dev/null 2>"$T/err" &&
   sidecar "$T/mpl/autopin/worker-scale.json" "s['kind'] == 'worker-scale' and not any('pin' in x for x in series)" >/dev/null; then
	ok "plot.py: a placement that follows the thread count (auto) is neither the figure kind nor a legend split"
else
	fail "plot.py: placement auto is not an axis" "$(cat "$T/err")" "$(ls "$T/mpl/autopin" 2>&1)"
fi

# Drift: every repetition against run_seq, noisy rows hollow; refused without run_seq.
mkdir -p "$T/r/drift"
awk -F, -v OFS=, 'NR == 1 {print $0, "run_seq"; next} {if (NR % 7 == 0) $14 = "noisy"; print $0, NR - 1}' \
	"$FIX/worker-scale.csv" >"$T/r/drift/results.csv"
if "$PY" "$PLOT" "$T/r/drift/results.csv" --kind drift --out "$T/mpl/drift" >/dev/null 2>"$T/err" &&
   sidecar "$T/mpl/drift/drift.json" "s['kind'] == 'drift' and all(p['xlabel'].startswith('run_seq') for p in s['panels']) and any('(noisy)' in c for p in s['panels'] for c in p['colours'])" >/dev/null; then
	ok "plot.py --kind drift: every repetition against run_seq, noisy rows marked"
else
	fail "plot.py --kind drift" "$(cat "$T/err")"
fi
"$PY" "$PLOT" "$T/r/worker-scale/results.csv" --kind drift --out "$T/mpl/nodrift" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "no run_seq column" "$T/err"; then
	ok "plot.py --kind drift without run_seq: a clear error"
else
	fail "plot.py --kind drift without run_seq: a clear error" "rc=$rc" "$(cat "$T/err")"
fi

# ---- plot.gp -----------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "csv='$T/r/worker-scale/results.csv'; term='dumb'" "$ROOT/scripts/plot.gp" >"$T/dumb" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "segmented/limbo:empty" "$T/dumb" && grep -q "mutex:cpu" "$T/dumb" &&
		grep -q "workers" "$T/dumb"; then
		ok "plot.gp term=dumb draws every series of a fixture"
	else
		fail "plot.gp term=dumb draws every series of a fixture" "rc=$rc" "$(cat "$T/err")"
	fi
	gnuplot -e "csv='$T/r/segment-size/results.csv'; xcol='seg_size'; logx=1; out='$T/gp.png'" \
		"$ROOT/scripts/plot.gp" >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && is_png "$T/gp.png"; then ok "plot.gp writes a PNG (pngcairo)"; else fail "plot.gp writes a PNG (pngcairo)" "rc=$rc" "$(cat "$T/err")"; fi
	gnuplot -e "csv='$T/r/channel/results.csv'; xcol='nosuch'; term='dumb'" "$ROOT/scripts/plot.gp" >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "x column nosuch is not in" "$T/err"; then
		ok "plot.gp refuses an unknown x column"
	else
		fail "plot.gp refuses an unknown x column" "rc=$rc" "$(cat "$T/err")"
	fi
	gnuplot -e "csv='$FIX/bad-empty.csv'; term='dumb'" "$ROOT/scripts/plot.gp" >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "missing or empty" "$T/err"; then ok "plot.gp refuses an empty CSV"; else fail "plot.gp refuses an empty CSV" "rc=$rc" "$(cat "$T/err")"; fi
else
	n=$((n + 1)); echo "ok $n - plot.gp # SKIP gnuplot not installed"
fi

tap_done
