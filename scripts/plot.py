#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Comparison figures from a poolbench results directory: results.csv, and when
# present summary.csv (confidence intervals), timeseries.csv (pending segments
# over time) and meta.json (machine name, preset name).  One figure per preset
# kind, PNG + SVG, plus a JSON sidecar listing the panels and series drawn.
#
# usage: scripts/plot.py RESULTS.csv [--kind auto|KIND] [--out DIR] [--x COLUMN|OPTION]
#        [--y ns_per_job|jobs_per_s] [--name STEM] [--errors auto|median|minmax|ci]
#        [--summary FILE] [--timeseries FILE] [--meta FILE]
# Kinds: worker-scale producer-pressure segment-size latency channel reclaim
# placement queues generic.  docs/plots.md describes every figure.
# Honest by construction: the marker and its error bar are the same statistic
# (median with its order-statistic interval by default; mean with its Student
# t interval with --errors ci), points that missed the CoV target are hollow
# and counted in the caption, the settings that do not vary are a subtitle,
# and points with more threads than PUs are shaded.
"""Plot poolbench results (reads only the CSV files and meta.json; see docs/plots.md)."""

import argparse
import json
import math
import os
import re
import sys
import zlib

PROG = "plot.py"

# The first 16 columns of every results.csv (docs/csv.md: fixed in name and order).
REQUIRED = ["schema_version", "backend", "reclaim", "workload", "producers", "workers",
            "seg_size", "seg_count", "rep", "jobs", "elapsed_ns", "ns_per_job", "jobs_per_s",
            "status", "lost", "duplicated"]
# Columns that define a point (a configuration); repetitions of a point share them.
KEY = ["mode", "backend", "reclaim", "workload", "producers", "workers", "seg_size", "seg_count",
       "capacity", "seg_supply", "batch", "submit_batch", "backlog", "coalesce", "idle_poll", "wake_min_jobs",
       "flush_us",
       "pin_workers",
       "pin_producers", "jobs", "duration_ms", "rate_target", "latency", "backend_opts",
       "reclaim_opts", "workload_opts"]
# Key columns never shown in a legend label: the series name already says them,
# or they repeat what another column says.
NOT_IN_LABEL = {"backend", "reclaim", "workload", "backend_opts"}
# Most lines a panel keeps its own legend for; beyond, one legend right of the panels.
LEGEND_IN_PANEL = 8
KINDS = ["worker-scale", "producer-pressure", "segment-size", "latency", "channel", "reclaim",
         "placement", "queues", "generic", "drift"]
# Preset file names (scripts/presets/NAME.ini) that are not themselves a kind.
PRESET_ALIASES = {"quick": "worker-scale", "pinning": "placement", "workers": "worker-scale",
                  "producers": "producer-pressure", "seg-size": "segment-size",
                  "segsize": "segment-size", "submit-batch": "generic"}

# One colour per "backend/reclaim" (backend alone when it takes no reclaimer),
# the same in every figure.  A series not listed gets a colour from a hash of
# its name, which is also stable from figure to figure.
PALETTE = {
    "segmented/limbo": "#d62728",
    "segmented/hp": "#1f77b4",
    "segmented/urcu-memb": "#2ca02c",
    "segmented/urcu-qsbr": "#17becf",
    "segmented/ckepoch": "#9467bd",
    "segmented/none": "#7f7f7f",
    "segmented/urcu-bp": "#98df8a",
    "segmented/ibr": "#e377c2",
    "segmented/he": "#393b79",
    "mutex": "#ff7f0e",
    "ckring": "#8c564b",
    "scq": "#bcbd22",
    "wfcq": "#637939",
    "spmc": "#8c6d31",
    "lfq/urcu-memb": "#843c39",
    "lfq/urcu-qsbr": "#ad494a",
    "ckfifo/urcu-memb": "#7b4173",
    "ckfifo/urcu-qsbr": "#a55194",
    "ckfifo/ckepoch": "#ce6dbd",
    "null": "#000000",
}
SPARE = ["#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
         "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
STYLES = ["-", "--", ":", "-."]

# Axis labels with units.
AXIS = {
    "workers": "worker threads",
    "producers": "producer threads",
    "seg_size": "segment size (jobs per segment)",
    "seg_count": "segments in the pool",
    "batch": "jobs per pop_batch",
    "wake_min_jobs": "wake threshold (jobs)",
    "flush_us": "flush timer (µs)",
    "pin_workers": "worker placement",
    "pin_producers": "producer placement",
    "ns_per_job": "ns per job",
    "jobs_per_s": "jobs per second",
    "allocs_per_job": "backend allocations per job (calls)",
    "bytes_per_job": "bytes allocated per job",
    "peak_rss_kb": "peak RSS (KiB)",
    "pending": "retired, not yet freed (segments)",
    "pending_peak": "peak retired, not yet freed (segments)",
    "capacity": "capacity (jobs)",
    "rate_target": "target rate (jobs/s)",
}
PERCENTILES = [("lat_p50_ns", "p50"), ("lat_p90_ns", "p90"), ("lat_p99_ns", "p99"),
               ("lat_p999_ns", "p99.9"), ("lat_max_ns", "max")]
NA = {"", "-", "n/a", "na", "nan", "none"}
# Background of points with more threads (producers + workers) than PUs.
OVER_SHADE = "#d9d9d9"
# Columns named in the "fixed settings" subtitle when they take one value.
FIXED = ["mode", "backend", "reclaim", "workload", "producers", "workers", "seg_size",
         "seg_count", "capacity", "seg_supply", "batch", "wake_min_jobs", "flush_us",
         "submit_batch", "backlog", "coalesce", "idle_poll", "pin_workers", "pin_producers", "jobs", "rate_target", "duration_ms", "latency"]
PLACEMENT_ORDER = ["none", "compact", "scatter"]

# Two-sided 95% Student t quantiles, t(0.975, df) for df = 1..30; 1.96 above.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


class PlotError(Exception):
    """A problem with the input: printed as one line, exit status 1."""


def note(msg):
    print("%s: note: %s" % (PROG, msg), file=sys.stderr)


def t975(df):
    if df < 1:
        return float("nan")
    return T975[df - 1] if df <= len(T975) else 1.96


def median_ci(values):
    """Distribution-free interval of the median: order statistics x(k) ..
    x(n+1-k) with k the largest rank whose coverage 1 - 2 P(Bin(n, 1/2) < k)
    is at least 95 %; for n < 6 none is, and it is min .. max with its own
    coverage (0.75 for n = 3, 0.9375 for n = 5).  Returns (lo, hi, coverage);
    NaNs for n < 2.  The same rule as harness/stats.c (summary.csv)."""
    v = sorted(x for x in values if x == x)
    n = len(v)
    if n < 2:
        return float("nan"), float("nan"), float("nan")
    k, cover, tail = 1, float("nan"), 0.0
    for j in range(1, n // 2 + 1):
        tail += math.comb(n, j - 1) / 2.0 ** n
        c = 1 - 2 * tail
        if j > 1 and c < 0.95:
            break
        k, cover = j, c
    return v[k - 1], v[n - k], cover


def colour(series):
    if series in PALETTE:
        return PALETTE[series]
    return SPARE[zlib.crc32(series.encode()) % len(SPARE)]


# ---------------------------------------------------------------- input --------

def read_csv(path, what):
    """A CSV file as a DataFrame of strings; PlotError on an unreadable one."""
    import pandas as pd
    if not os.path.isfile(path):
        raise PlotError("no such %s file: %s" % (what, path))
    if os.path.getsize(path) == 0:
        raise PlotError("%s is empty (no header line): not a poolbench %s" % (path, what))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False)
    except Exception as e:  # pandas raises several parser error types
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PlotError("cannot parse %s as CSV: %s" % (path, msg)) from None
    df.columns = [c.strip() for c in df.columns]
    return df


def numeric(df, col, path, required=False):
    """Column @col as floats; '-', 'n/a' and '' become NaN (or an error when
    @required); anything else that is not a number is an error."""
    import pandas as pd
    s = df[col].astype(str).str.strip()
    na = s.str.lower().isin(NA)
    v = pd.to_numeric(s.where(~na), errors="coerce")
    bad = v.isna() & ~na
    if bad.any():
        i = bad[bad].index[0]
        raise PlotError("%s line %d: column %s has non-numeric value %r"
                        % (path, int(i) + 2, col, s[i]))
    if required and na.any():
        i = na[na].index[0]
        raise PlotError("%s line %d: column %s has no value (%r) in an ok row"
                        % (path, int(i) + 2, col, s[i]))
    return v


def load_results(path):
    df = read_csv(path, "results.csv")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise PlotError("%s lacks required columns: %s (is it a poolbench results.csv? "
                        "see docs/csv.md)" % (path, ", ".join(missing)))
    if df.empty:
        raise PlotError("%s has a header but no rows" % path)
    bad = [v for v in set(df["schema_version"]) if not v.strip().isdigit()]
    if bad:
        raise PlotError("%s: schema_version %r is not a version number" % (path, sorted(bad)[0]))
    return df


def load_meta(path):
    if not path or not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            m = json.load(f)
        return m if isinstance(m, dict) else {}
    except (OSError, ValueError) as e:
        note("ignoring %s: %s" % (path, e))
        return {}


def machine_name(meta, fallback="machine not recorded (no meta.json)"):
    """'host (CPU model, N CPUs)' from meta.json."""
    if not meta:
        return fallback
    name = str(meta.get("host", "?"))
    bits = [str(meta[k]) for k in ("cpu_model",) if meta.get(k)]
    if meta.get("nproc"):
        bits.append("%s CPUs" % meta["nproc"])
    return name + (" (%s)" % ", ".join(bits) if bits else "")


def meta_runs(meta):
    runs = meta.get("runs") if isinstance(meta, dict) else None
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def preset_from_meta(meta):
    """The preset name recorded in meta.json, or None.  Looks at a top-level or
    per-run "preset" / "sweep" entry, then at the sweep file named in a run's
    command line (poolbench sweep .../NAME.ini)."""
    cands = [meta] + meta_runs(meta)
    for d in cands:
        for k in ("preset", "sweep", "sweep_file", "sweep_name"):
            v = d.get(k)
            if isinstance(v, dict):
                v = v.get("name") or v.get("preset") or v.get("file")
            if isinstance(v, str) and v.strip():
                return os.path.splitext(os.path.basename(v.strip()))[0]
    for d in cands:
        m = re.search(r"\bsweep\s+(\S+?)(?:\.ini)?(?:\s|$)", str(d.get("command", "")))
        if m:
            return os.path.basename(m.group(1))
    return None


def plot_section(meta):
    """The preset's [plot] section (title, x, y) when meta.json carries it."""
    for d in [meta] + meta_runs(meta):
        p = d.get("plot")
        if isinstance(p, dict):
            p = {k: str(v) for k, v in p.items() if isinstance(v, (str, int, float)) and str(v)}
            if p:
                return p
    return {}


def kind_of_preset(name):
    if not name:
        return None
    n = name.lower()
    if n in KINDS:
        return n
    if n in PRESET_ALIASES:
        return PRESET_ALIASES[n]
    for k in KINDS:  # e.g. "worker-scale-16core"
        if n.startswith(k):
            return k
    return None


# ---------------------------------------------------------------- data ---------

class Results:
    """One results directory: rows, per-point statistics, optional files."""

    def __init__(self, csv, summary=None, timeseries=None, meta=None):
        self.csv = csv
        d = os.path.dirname(os.path.abspath(csv))
        self.dir = d
        self.df = load_results(csv)
        self.meta = load_meta(meta or os.path.join(d, "meta.json"))
        self.machine = machine_name(self.meta)
        self.preset = preset_from_meta(self.meta)
        self.plot = plot_section(self.meta)
        ok = self.df[self.df["status"].str.strip() == "ok"].copy()
        self.n_rows = len(self.df)
        self.n_notok = len(self.df) - len(ok)
        if ok.empty:
            raise PlotError("%s has no rows with status ok to plot" % csv)
        for c in ("ns_per_job", "jobs_per_s"):
            ok[c] = numeric(ok, c, csv, required=True)
        for c in ("producers", "workers", "rep"):
            ok[c] = numeric(ok, c, csv, required=True)
        self.ok = ok
        self.keys = [c for c in KEY if c in ok.columns]
        bad = self.df[self.df["status"].str.strip() != "ok"].copy()
        bad["series"] = bad["backend"].where(bad["reclaim"].isin(["-", ""]),
                                             bad["backend"] + "/" + bad["reclaim"])
        self.notok = bad
        ok["series"] = ok["backend"].where(ok["reclaim"].isin(["-", ""]),
                                           ok["backend"] + "/" + ok["reclaim"])
        # Optional files: a broken one found next to the CSV is a note and is
        # left out; one named on the command line must be readable.
        self.summary = self.timeseries = None
        self.opt_x = {}  # x columns made from a plug-in option: name -> *_opts column
        sp = summary or os.path.join(d, "summary.csv")
        if summary or os.path.isfile(sp):
            try:
                self.summary = read_csv(sp, "summary.csv")
                if self.summary.empty:
                    self.summary = None
            except PlotError as e:
                if summary:
                    raise
                note("summary.csv left out: %s" % e)
        tp = timeseries or os.path.join(d, "timeseries.csv")
        if timeseries or os.path.isfile(tp):
            try:
                self.timeseries = self._load_timeseries(tp)
            except PlotError as e:
                if timeseries:
                    raise
                note("timeseries.csv left out: %s" % e)

    def has_numeric(self, col, rows=None):
        rows = self.ok if rows is None else rows
        if col not in rows.columns:
            return False
        return numeric(rows, col, self.csv).notna().any()

    def varying(self, rows=None):
        """Key columns with more than one value inside one backend (so that
        '-' for a backend without the option does not count as varying)."""
        rows = self.ok if rows is None else rows
        g = rows.groupby("backend")
        return [c for c in self.keys if (rows[c].nunique() > 1 if c == "backend"
                                         else (g[c].nunique() > 1).any())]

    def _load_timeseries(self, path):
        ts = read_csv(path, "timeseries.csv")
        tcol = next((c for c in ("t_ms", "t_us", "t_ns", "time_ms") if c in ts.columns), None)
        if tcol is None or "pending" not in ts.columns or "backend" not in ts.columns:
            raise PlotError("%s lacks a time column (t_ms), pending or backend: not a poolbench "
                            "timeseries.csv (see docs/csv.md)" % path)
        if ts.empty:
            note("%s has no rows" % path)
            return None
        scale = {"t_ms": 1.0, "time_ms": 1.0, "t_us": 1e-3, "t_ns": 1e-6}[tcol]
        ts["t"] = numeric(ts, tcol, path, required=True) * scale
        ts["pending_n"] = numeric(ts, "pending", path)
        rc = ts["reclaim"] if "reclaim" in ts.columns else "-"
        ts["series"] = ts["backend"].where(rc.isin(["-", ""]) if "reclaim" in ts.columns
                                           else True, ts["backend"] + "/" + rc)
        return ts

    # -- statistics per point ----------------------------------------------------

    def stats(self, metric, rows=None):
        """Per point (self.keys) median, min, max, count and Student-t 95% CI of
        @metric over the ok repetitions.  When summary.csv has a CI for the
        metric, its bounds are used instead (column ci_src says which)."""
        import pandas as pd
        rows = self.ok if rows is None else rows
        rows = rows.copy()
        rows["_v"] = numeric(rows, metric, self.csv)
        rows = rows[rows["_v"].notna()]
        if rows.empty:
            return None
        g = rows.groupby(self.keys, sort=False, dropna=False)
        st = g["_v"].agg(["median", "min", "max", "count", "mean", "std"]).reset_index()
        carry = ["series"] + (["point_id"] if "point_id" in rows.columns else [])
        first = g[carry].first().reset_index(drop=True)
        for c in carry:
            st[c] = first[c].values
        half = [t975(int(n) - 1) * (sd / math.sqrt(n)) if n > 1 and sd == sd else float("nan")
                for n, sd in zip(st["count"], st["std"])]
        st["ci_lo"] = st["mean"] - pd.Series(half)
        st["ci_hi"] = st["mean"] + pd.Series(half)
        st["ci_src"] = "rows"
        mci = [median_ci(list(v)) for _, v in g["_v"]]
        st["med_lo"] = [m[0] for m in mci]
        st["med_hi"] = [m[1] for m in mci]
        st["med_level"] = [m[2] for m in mci]
        st["med_src"] = "rows"
        # Did the point meet the stopping rule's CoV target?  summary.csv says
        # (cov_met); without it, the rule of meta.json over the rows in rep order.
        k, target = self.rule()
        met = []
        for _, grp in g:
            vals = list(grp.sort_values("rep")["ns_per_job"]) if "rep" in grp.columns else []
            last = vals[-k:] if len(vals) >= k else []
            m = len(last) >= 2 and sum(last) > 0 and target > 0
            if m:
                mu = sum(last) / len(last)
                sd = math.sqrt(sum((x - mu) ** 2 for x in last) / (len(last) - 1))
                m = 100 * sd / mu < target
            met.append(bool(m))
        st["cov_met"] = met
        if self.summary is not None:
            self._overlay_summary(st, metric)
        return st

    def rule(self):
        """(min_reps, cov_pct) of the stopping rule in meta.json, else (3, 2)."""
        for r in reversed(meta_runs(self.meta)):
            sr = r.get("stopping_rule")
            if isinstance(sr, dict):
                try:
                    return max(int(sr.get("min_reps", 3)), 2), float(sr.get("cov_pct", 2))
                except (TypeError, ValueError):
                    pass
        return 3, 2.0

    def pus(self):
        """Processing units of the machine (meta.json nproc), or None."""
        try:
            n = int(self.meta.get("nproc", 0))
        except (TypeError, ValueError, AttributeError):
            return None
        return n if n > 0 else None

    def oversubscribed(self, row):
        """More threads (producers + workers) than PUs at this point?"""
        pus = self.pus()
        try:
            return bool(pus) and int(float(row["producers"])) + int(float(row["workers"])) > pus
        except (KeyError, TypeError, ValueError):
            return False

    def add_option_column(self, name):
        """x = a plug-in option (threshold): a column read from the
        backend_opts / reclaim_opts / workload_opts strings ("a=1;b=2").
        Returns the column's name, or None if no opts column has it."""
        found = None
        for oc in ("backend_opts", "reclaim_opts", "workload_opts"):
            if oc not in self.ok.columns:
                continue
            vals = self.ok[oc].astype(str).map(lambda s: dict(
                kv.split("=", 1) for kv in s.split(";") if "=" in kv).get(name, "-"))
            if (vals != "-").any():
                found = oc
                break
        if not found:
            return None
        for df in (self.ok, self.notok):
            if found in df.columns:
                df[name] = df[found].astype(str).map(lambda s: dict(
                    kv.split("=", 1) for kv in s.split(";") if "=" in kv).get(name, "-"))
        AXIS.setdefault(name, "%s (%s option)" % (name, found.split("_")[0]))
        self.opt_x[name] = found
        if name not in self.keys:
            self.keys.append(name)  # carried into the per-point statistics
        return name

    def _overlay_summary(self, st, metric):
        cols = summary_columns(self.summary, metric)
        if not cols:
            return
        # Points are matched by point_id (schema 2) where both files have it,
        # else by the configuration columns the two files share.
        if "point_id" in st.columns and "point_id" in self.summary.columns:
            keys = ["point_id"]
        else:
            keys = [c for c in self.keys if c in self.summary.columns]
        if not keys:
            return
        look = {}
        for _, r in self.summary.iterrows():
            look[tuple(str(r[k]) for k in keys)] = r
        for i, r in st.iterrows():
            s = look.get(tuple(str(r[k]) for k in keys))
            if s is None:
                continue
            try:
                if "lo" in cols:
                    lo, hi = float(s[cols["lo"]]), float(s[cols["hi"]])
                else:
                    c = float(s[cols["median"]]) if "median" in cols else r["median"]
                    h = float(s[cols["half"]])
                    lo, hi = c - h, c + h
            except (ValueError, TypeError):
                continue
            if lo == lo and hi == hi:
                st.at[i, "ci_lo"], st.at[i, "ci_hi"], st.at[i, "ci_src"] = lo, hi, "summary"
            if "cov_met" in self.summary.columns and str(s["cov_met"]) in ("true", "false"):
                st.at[i, "cov_met"] = str(s["cov_met"]) == "true"
            ml, mh = "%s_med_ci_lo" % metric, "%s_med_ci_hi" % metric
            if ml in self.summary.columns and mh in self.summary.columns:
                try:
                    a, b = float(s[ml]), float(s[mh])
                except (ValueError, TypeError):
                    continue
                if a == a and b == b:
                    st.at[i, "med_lo"], st.at[i, "med_hi"] = a, b
                    st.at[i, "med_src"] = "summary"


def summary_columns(summary, metric):
    """Names of the CI columns of @metric in summary.csv: {'lo','hi'} or
    {'half'}, and 'median' when present.  Accepts <metric>_ci95_lo / _ci_lo /
    _ci95_low / _ci_lower (and _hi / _high / _upper) or a half width
    <metric>_ci95 / _ci95_half / _ci_half; also <stat>_<metric> orders."""
    cols = list(summary.columns)
    out = {}

    def find(pat):
        rx = re.compile(pat)
        return next((c for c in cols if rx.fullmatch(c)), None)

    m = re.escape(metric)
    lo = find(r"%s_ci(?:95)?_(?:lo|low|lower)|ci(?:95)?_(?:lo|low|lower)_%s" % (m, m))
    hi = find(r"%s_ci(?:95)?_(?:hi|high|upper)|ci(?:95)?_(?:hi|high|upper)_%s" % (m, m))
    half = find(r"%s_ci(?:95)?(?:_half|_halfwidth|_pm)?|ci(?:95)?_%s" % (m, m))
    med = find(r"%s_(?:median|med)|(?:median|med)_%s" % (m, m))
    if lo and hi:
        out.update(lo=lo, hi=hi)
    elif half:
        out["half"] = half
    else:
        return {}
    if med:
        out["median"] = med
    return out


# ---------------------------------------------------------------- figures ------

class Figure:
    """A matplotlib figure plus the record of what was drawn (the sidecar)."""

    def __init__(self, res, kind, title, nrows, ncols, w=5.4, h=4.0, shared_legend=False):
        import matplotlib.pyplot as plt
        self.res = res
        self.kind = kind
        self.title = title
        # One legend for the whole figure, right of the panels, instead of one
        # per panel (a figure with 20-30 series: per-panel legends cover the data).
        self.shared_legend = shared_legend
        self.legend_items = {}
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows + 0.9),
                                           squeeze=False)
        self.panels = []
        self.notes = []
        self.errors = set()
        self.points = set()   # point keys drawn
        self.missed = set()   # ... of which missed the CoV target
        self.over = set()     # ... of which had more threads than PUs
        self.levels = []      # coverage of the median intervals drawn
        self.ns = set()       # ok repetitions per point drawn
        self.n_over = 0

    def note_points(self, src, st):
        """Record what a call drew: the error-bar kind and, per point of @st
        (None: already counted), whether it met the CoV target."""
        self.errors.add(src)
        if st is None:
            return
        keys = [c for c in ("point_id",) if c in st.columns] or \
            [c for c in self.res.keys if c in st.columns]
        for _, r in st.iterrows():
            k = tuple(str(r[c]) for c in keys)
            self.points.add(k)
            self.ns.add(int(r["count"]))
            if not bool(r["cov_met"]):
                self.missed.add(k)
            if self.res.oversubscribed(r):
                self.over.add(k)
            if "median, order" in src and r["med_level"] == r["med_level"]:
                self.levels.append(float(r["med_level"]))

    def panel(self, ax, title, xlabel, ylabel, series):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
        # More than LEGEND_IN_PANEL lines: the legend goes right of the
        # panels (the figure widens for it), where it cannot cover the data.
        if series and (self.shared_legend or len(series) > LEGEND_IN_PANEL):
            if not self.shared_legend and not self.legend_items:
                self.fig.set_figwidth(self.fig.get_figwidth() + 2.8)
            for h, lab in zip(*ax.get_legend_handles_labels()):
                self.legend_items.setdefault(lab, h)
        elif series:
            ax.legend(fontsize=7)
        self.panels.append({"title": title, "xlabel": xlabel, "ylabel": ylabel,
                            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
                            "series": series, "colours": legend_colours(ax)})

    def empty(self, ax, title, why):
        ax.set_title(title, fontsize=10)
        ax.text(0.5, 0.5, "not drawn:\n" + why, ha="center", va="center", wrap=True,
                transform=ax.transAxes, fontsize=9, color="#555555")
        ax.set_xticks([])
        ax.set_yticks([])
        self.notes.append("%s: %s" % (title, why))
        note("%s figure, panel %r not drawn: %s" % (self.kind, title, why))

    def save(self, out, stem):
        import matplotlib.pyplot as plt
        res = self.res
        reps = sorted(self.ns) or sorted(set(int(n) for n in
                                             res.ok.groupby(res.keys, dropna=False).size()))
        errs = " / ".join(sorted(self.errors)) or "none"
        st = res.notok["status"].str.strip().value_counts()
        others = ", ".join("%d %s" % (n, k) for k, n in sorted(st.items()))
        k, target = res.rule()
        what = "; ".join(sorted(self.errors)) or "median"
        if self.levels:
            lo, hi = min(self.levels), max(self.levels)
            what += " (distribution-free, coverage %s%%%s)" % (
                "%.1f" % (100 * lo) if lo == hi else "%.1f-%.1f" % (100 * lo, 100 * hi),
                "; with under 6 repetitions it is the min-max range" if lo < 0.95 else "")
        caption = ("Machine: %s.  Markers and bars: %s, over %s ok repetition(s) per point.  "
                   "Hollow: %d of %d points missed the CoV < %g%% target (last %d "
                   "repetitions).%s  %d of %d rows ok%s.%s"
                   % (res.machine, what, ",".join(str(r) for r in reps), len(self.missed),
                      len(self.points), target, k,
                      ("  Grey: %d points with more threads (producers + workers) than the "
                       "%d PUs." % (len(self.over), res.pus())) if self.over else "",
                      res.n_rows - res.n_notok, res.n_rows,
                      " (%s)" % others if others else "",
                      ("  Preset: %s." % res.preset) if res.preset else ""))
        self.caption_parts = {"missed": len(self.missed), "points": len(self.points),
                              "oversubscribed": len(self.over), "errors": errs}
        fixed = fixed_settings(res, max(int(self.fig.get_figwidth() * 10.5), 50))
        self.fig.suptitle("poolbench: %s\n%s%s" % (self.title, res.machine,
                                                   "\n" + fixed if fixed else ""), fontsize=10)
        self.fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=7.5, wrap=True)
        right = 1.0
        if self.legend_items:
            labs = series_order([(lab, lab.split(" ")[0]) for lab in self.legend_items])
            self.fig.legend([self.legend_items[lab] for lab, _ in labs], [lab for lab, _ in labs],
                            loc="center right", fontsize=7, frameon=False)
            right = 1.0 - 2.8 / self.fig.get_figwidth()  # about 2.8 in for the labels
        self.fig.tight_layout(rect=(0, 0.06, right, 1))
        os.makedirs(out, exist_ok=True)
        files = []
        for ext in ("png", "svg"):
            p = os.path.join(out, "%s.%s" % (stem, ext))
            self.fig.savefig(p, dpi=100)
            files.append(p)
        plt.close(self.fig)
        side = {"figure": stem, "kind": self.kind, "title": self.title, "caption": caption,
                "machine": res.machine, "preset": res.preset,
                # relative to the figure, so that a results directory can move
                "csv": os.path.relpath(os.path.abspath(res.csv), os.path.abspath(out)),
                "files": [os.path.basename(f) for f in files], "errors": sorted(self.errors),
                "fixed": fixed, "points": len(self.points), "missed_cov": len(self.missed),
                "oversubscribed": len(self.over),
                "panels": self.panels, "notes": self.notes}
        sp = os.path.join(out, "%s.json" % stem)
        with open(sp, "w") as f:
            json.dump(side, f, indent=1)
        return files + [sp]


def fixed_settings(res, width=110):
    """'producers=1, reclaim=hp, jobs: empty=1000000 sha256=40000, ...': the
    settings every ok row shares (jobs per workload when only the workload
    changes them), and plug-in options with one value."""
    ok = res.ok
    out = []
    for c in FIXED:
        if c not in ok.columns:
            continue
        vals = set(ok[c].astype(str).str.strip())
        if len(vals) == 1:
            v = vals.pop()
            if v.lower() not in NA:
                out.append("%s=%s" % (c, v))
        elif c == "jobs" and ok.groupby("workload")["jobs"].nunique().max() == 1:
            per = ok.groupby("workload", sort=False)["jobs"].first()
            out.append("jobs: " + " ".join("%s=%s" % (w, j) for w, j in per.items()))
    for oc in ("backend_opts", "reclaim_opts", "workload_opts"):
        if oc not in ok.columns:
            continue
        opts = {}
        for sv in set(ok[oc].astype(str)):
            for kv in sv.split(";"):
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    opts.setdefault(k, set()).add(v)
        for k, v in sorted(opts.items()):
            if len(v) == 1 and k.replace("-", "_") not in FIXED:
                out.append("%s=%s" % (k, v.pop()))
    # How much each backend's queue could hold: not alike at the defaults
    # (docs/methodology.md, "Unequal defaults"), so every figure says so.
    if "queue_bound" in ok.columns and "backend" in ok.columns:
        per = ok.groupby("backend", sort=False)["queue_bound"].agg(
            lambda s: "|".join(sorted(set(s.astype(str).str.strip()))))
        per = {b: v for b, v in per.items() if v.lower() not in NA}
        if per:
            out.append("queue bound: " + " ".join("%s=%s" % (b, v) for b, v in per.items()))
    text, line = [], "fixed:"
    for item in out:  # wrap at about @width characters
        if line and len(line) + len(item) > width:
            text.append(line)
            line = ""
        line += (" " if line == "fixed:" else ", " if line else "") + item
    return "\n".join(text + [line]) if out else ""


def shade_oversubscribed(fig, ax, res, st, x):
    """Grey behind points with more threads (producers + workers) than PUs:
    a band from the first such x when x is workers or producers, else a disc
    behind each such point."""
    import pandas as pd
    pus = res.pus()
    if not pus or st is None or st.empty:
        return
    over = st[[res.oversubscribed(r) for _, r in st.iterrows()]]
    if over.empty:
        return
    xs = pd.to_numeric(st[x], errors="coerce") if x in st.columns else None
    if x in ("workers", "producers") and xs is not None and xs.notna().all():
        ox = pd.to_numeric(over[x], errors="coerce")
        inside = xs[xs < ox.min()]
        left = (ox.min() + inside.max()) / 2.0 if len(inside) else ox.min() * 0.9
        ax.axvspan(left, max(xs.max(), ox.max()) * 1.05, color=OVER_SHADE, zorder=0, alpha=0.6)
        ax.text(ox.min(), 0.02, " > %d PUs" % pus, transform=ax.get_xaxis_transform(),
                fontsize=7, color="#555555", va="bottom")
    elif xs is not None:
        ax.scatter(pd.to_numeric(over[x], errors="coerce"), over["median"], s=260,
                   color=OVER_SHADE, zorder=0)


def legend_colours(ax):
    """{legend label: colour drawn}, read back from the artists."""
    from matplotlib import colors
    out = {}
    for h, lab in zip(*ax.get_legend_handles_labels()):
        art = getattr(h, "lines", None)
        art = art[0] if art else (h.patches[0] if hasattr(h, "patches") else h)
        c = art.get_facecolor() if hasattr(h, "patches") else art.get_color()
        if hasattr(h, "patches") and colors.to_hex(c) == "#ffffff":
            c = art.get_edgecolor()  # a hollow bar (missed the CoV target)
        out[lab] = colors.to_hex(c)
    return out


def placement_varies(rows, col):
    """Does @col (pin_workers/pin_producers) vary for the same thread counts?
    Placement "auto" resolves to compact or none by the number of threads, so
    a policy that follows the thread count is not an axis of its own."""
    keys = [c for c in ("series", "workload", "producers", "workers") if c in rows.columns]
    return col in rows.columns and (rows.groupby(keys)[col].nunique() > 1).any()


def label_cols(res, rows, exclude):
    """Key columns that vary inside one series and workload in @rows (they split
    a series into several lines), minus @exclude."""
    g = rows.groupby(["series", "workload"])
    # An x read from an *_opts column: that column varies with x, so it does
    # not split a line (unless another option in it varies too).
    exclude = set(exclude) | {res.opt_x[x] for x in exclude if x in getattr(res, "opt_x", {})}
    cols = [c for c in res.keys if c not in NOT_IN_LABEL and c not in exclude and
            (g[c].nunique() > 1).any() and
            (c not in ("pin_workers", "pin_producers") or placement_varies(rows, c))]
    # backend_opts is a key but not a label: when it splits a series (an
    # option axis such as readiness=stamp,bitmap), name the options that
    # differ, or the lines share one label.
    if "backend_opts" in rows.columns and "backend_opts" not in exclude and \
            (g["backend_opts"].nunique() > 1).any():
        axis_cols = {"seg-size": "seg_size", "seg-count": "seg_count", "capacity": "capacity",
                     "seg-supply": "seg_supply"}
        vals = {}
        for (ser, wl), sub in g:
            for o in sub["backend_opts"].unique():
                for kv in str(o).split(";"):
                    if "=" in kv:
                        k, v = kv.split("=", 1)
                        vals.setdefault((ser, wl, k), set()).add(v)
        names = sorted({k for (_, _, k), v in vals.items() if len(v) > 1 and
                        axis_cols.get(k) not in cols and axis_cols.get(k) not in exclude and
                        "opt:" + k not in exclude})
        cols += ["opt:" + k for k in names]
    return cols


def backend_opt(row, name):
    """Value of backend option @name in the row's backend_opts ("" if absent)."""
    for kv in str(row.get("backend_opts", "")).split(";"):
        if kv.startswith(name + "="):
            return kv[len(name) + 1:]
    return ""


def label_of(row, cols, short=True):
    extra = []
    for c in cols:
        if c.startswith("opt:"):
            v = backend_opt(row, c[4:])
            if v:
                extra.append("%s=%s" % (c[4:], v))
            continue
        name = {"producers": "p", "workers": "w", "seg_size": "seg", "seg_count": "segs",
                "pin_workers": "pin"}.get(c, c) if short else c
        extra.append("%s=%s" % (name, row[c]))
    return row["series"] + (" " + " ".join(extra) if extra else "")


def series_order(labels_series):
    """Sort (label, series) pairs: known palette order first, then by name."""
    known = list(PALETTE)
    return sorted(labels_series, key=lambda ls: (known.index(ls[1]) if ls[1] in known
                                                 else len(known), ls[0]))


def pick_errors(errors, st):
    """(centre, lower, upper error distances, description): the marker and its
    bar are always the same statistic.  auto / median: the median with its
    order-statistic interval (median_ci); ci: the mean with its Student t 95%
    interval (summary.csv's when present); minmax: the median with min-max."""
    import numpy as np
    med = st["median"].to_numpy(dtype=float)
    if errors == "ci":
        mean = st["mean"].to_numpy(dtype=float)
        lo, hi = st["ci_lo"].to_numpy(dtype=float), st["ci_hi"].to_numpy(dtype=float)
        src = "mean, 95% Student t interval" + (
            " (summary.csv)" if (st["ci_src"] == "summary").all() else "")
        return mean, np.nan_to_num(np.clip(mean - lo, 0, None)), \
            np.nan_to_num(np.clip(hi - mean, 0, None)), src
    if errors == "minmax":
        return med, (st["median"] - st["min"]).to_numpy(), \
            (st["max"] - st["median"]).to_numpy(), "median, min-max range"
    lo, hi = st["med_lo"].to_numpy(dtype=float), st["med_hi"].to_numpy(dtype=float)
    src = "median, order-statistic interval" + (
        " (summary.csv)" if (st["med_src"] == "summary").all() else "")
    return med, np.nan_to_num(np.clip(med - lo, 0, None)), \
        np.nan_to_num(np.clip(hi - med, 0, None)), src


def fmt_num(v, _=None):
    """Tick label: 2M, 500k, 2000, 0.5."""
    if abs(v) >= 1e6:
        return "%gM" % (v / 1e6)
    if abs(v) >= 1e5:
        return "%gk" % (v / 1e3)
    return "%g" % v


def scale_y(ax, values):
    """Log y when the data spans a decade or more, with 1-2-5 labels."""
    from matplotlib import ticker
    v = [x for x in values if x == x and x > 0]
    if v and max(v) / min(v) >= 10:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(fmt_num))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        return "log"
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(fmt_num))
    ax.set_ylim(bottom=0)
    return "linear"


def scale_x(ax, xs, force_log=False):
    from matplotlib import ticker
    v = sorted(set(x for x in xs if x == x))
    if v and v[0] > 0 and (force_log or v[-1] / v[0] >= 8):
        ax.set_xscale("log", base=2 if all(float(x).is_integer() for x in v) else 10)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: "%g" % x))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    if len(v) <= 16:
        ax.set_xticks(v)


def failed_points(res, rows):
    """Points of @rows' workload(s) and mode(s) where no repetition finished ok:
    DataFrame of their first row, with a 'statuses' column."""
    bad = res.notok
    if bad.empty:
        return bad
    bad = bad[bad["workload"].isin(set(rows["workload"]))]
    if "mode" in rows.columns and "mode" in bad.columns:
        bad = bad[bad["mode"].isin(set(rows["mode"]))]
    okk = set(tuple(r) for r in res.ok[res.keys].astype(str).itertuples(index=False))
    bad = bad[[tuple(r) not in okk for r in bad[res.keys].astype(str).itertuples(index=False)]]
    if bad.empty:
        return bad
    g = bad.groupby(res.keys, sort=False, dropna=False)
    out = g.first().reset_index()
    out["statuses"] = g["status"].agg(lambda v: "/".join(sorted(set(v)))).values
    return out


def mark_failed(fig, ax, res, rows, x, numeric_x=True, positions=None):
    """An X at the top of the panel where a point has no ok repetition
    (stall, crash, ...), in its series' colour, with the status."""
    import pandas as pd
    from matplotlib import transforms
    fp = failed_points(res, rows)
    if fp.empty:
        return
    tr = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for _, r in fp.iterrows():
        if positions is not None:
            xv = positions.get(str(r[x]) if x else "")
        else:
            xv = pd.to_numeric(pd.Series([r[x]]), errors="coerce").iloc[0]
        if xv is None or xv != xv:
            continue
        ax.plot([xv], [0.96], marker="X", markersize=9, color=colour(r["series"]),
                markeredgecolor="black", transform=tr, clip_on=False, linestyle="none")
        ax.text(xv, 0.90, r["statuses"], transform=tr, ha="center", va="top", fontsize=7,
                color=colour(r["series"]))
        fig.notes.append("%s %s=%s: no ok repetition (%s)" % (r["series"], x, r[x], r["statuses"]))


def lines(fig, ax, res, rows, x, metric, errors, exclude=(), log_x=False):
    """Median of @metric vs numeric column @x, one line per series (+ varying
    key columns), error bars.  Returns the labels drawn."""
    import pandas as pd
    st = res.stats(metric, rows)
    if st is None:
        return []
    st["_x"] = pd.to_numeric(st[x], errors="coerce")
    st = st[st["_x"].notna()]
    cols = label_cols(res, rows, set(exclude) | {x})
    st["label"] = st.apply(lambda r: label_of(r, cols), axis=1)
    drawn = []
    styles = {}
    pairs = series_order(set(zip(st["label"], st["series"])))
    # Dodge: shift each line a little along x so that error bars at the same
    # x do not hide each other (multiplicative on a log axis).
    xs_all = sorted(set(st["_x"]))
    logx = log_x or (xs_all and xs_all[0] > 0 and xs_all[-1] / xs_all[0] >= 8)
    span = (xs_all[-1] - xs_all[0]) if len(xs_all) > 1 else 1.0
    for j, (lab, ser) in enumerate(pairs):
        s = st[st["label"] == lab].sort_values("_x")
        k = styles.setdefault(ser, 0)
        styles[ser] = k + 1
        centre, down, up, src = pick_errors(errors, s)
        fig.note_points(src, s)
        off = j - (len(pairs) - 1) / 2.0
        xd = s["_x"] * (2 ** (0.02 * off)) if logx else s["_x"] + 0.008 * span * off
        mk = MARKERS[k % len(MARKERS)]
        ax.errorbar(xd, centre, yerr=[down, up], label=lab, color=colour(ser), marker=mk,
                    linestyle=STYLES[k % len(STYLES)], capsize=3, linewidth=1.5, markersize=5)
        miss = ~s["cov_met"].astype(bool).to_numpy()
        if miss.any():  # hollow: the point missed the CoV target
            ax.plot(xd.to_numpy()[miss], centre[miss], linestyle="none", marker=mk,
                    markersize=5, markerfacecolor="white", markeredgecolor=colour(ser),
                    markeredgewidth=1.3, zorder=5)
        drawn.append(lab)
    shade_oversubscribed(fig, ax, res, st, x)
    scale_x(ax, list(st["_x"]), log_x)
    scale_y(ax, list(st["min"]) + list(st["max"]))
    mark_failed(fig, ax, res, rows, x)
    return drawn


def bars(fig, ax, res, rows, group, metric, errors, order=None):
    """Grouped bars: one group per value of @group (None: a single group), one
    bar per series (+ varying key columns)."""
    import numpy as np
    st = res.stats(metric, rows)
    if st is None:
        return []
    cols = label_cols(res, rows, {group} if group else set())
    st["label"] = st.apply(lambda r: label_of(r, cols), axis=1)
    if group:
        fp = failed_points(res, rows)
        vals = list(dict.fromkeys(list(st[group]) + (list(fp[group]) if not fp.empty else [])))
        if order:
            vals.sort(key=lambda v: order.index(v) if v in order else len(order))
        else:
            try:
                vals.sort(key=float)
            except ValueError:
                vals.sort()
    else:
        vals = [""]
    pairs = series_order(set(zip(st["label"], st["series"])))
    n = max(len(pairs), 1)
    width = 0.8 / n
    drawn = []
    for j, (lab, ser) in enumerate(pairs):
        s = st[st["label"] == lab]
        xs, meds, downs, ups, met, over = [], [], [], [], [], []
        for gi, gv in enumerate(vals):
            r = s[s[group] == gv] if group else s
            if r.empty:
                continue
            centre, down, up, src = pick_errors(errors, r.iloc[:1])
            fig.note_points(src, r.iloc[:1])
            xs.append(gi - 0.4 + width * (j + 0.5))
            meds.append(centre[0])
            downs.append(down[0])
            ups.append(up[0])
            met.append(bool(r["cov_met"].iloc[0]))
            over.append(res.oversubscribed(r.iloc[0]))
        bs = ax.bar(xs, meds, width=width * 0.95, yerr=[downs, ups], capsize=2, label=lab,
                    color=colour(ser), edgecolor="black", linewidth=0.4)
        for b, m, o, xv in zip(bs, met, over, xs):
            if not m:  # hollow: the point missed the CoV target
                b.set_facecolor("white")
                b.set_edgecolor(colour(ser))
                b.set_linewidth(1.5)
            if o:
                ax.axvspan(xv - width / 2, xv + width / 2, color=OVER_SHADE, zorder=0)
                fig.n_over += 1
        drawn.append(lab)
    ax.set_xticks(np.arange(len(vals)))
    if group:
        ax.set_xticklabels([str(v) for v in vals])
    else:  # one group: say what it is
        same = [c for c in ("producers", "workers") if rows[c].nunique() == 1]
        ax.set_xticklabels([" ".join("%s=%s" % ({"producers": "p", "workers": "w"}[c],
                                                  fmt_num(rows[c].iloc[0])) for c in same)])
    scale_y(ax, list(st["min"]) + list(st["max"]))
    mark_failed(fig, ax, res, rows, group, positions={str(v): i for i, v in enumerate(vals)})
    return drawn


def workloads_of(rows):
    return list(dict.fromkeys(rows["workload"]))


def throughput_rows(res):
    """Rows measured in throughput mode (all rows when there is no mode column)."""
    ok = res.ok
    if "mode" in ok.columns and (ok["mode"] == "throughput").any():
        return ok[ok["mode"] == "throughput"]
    return ok


# The statistic the markers show: "mean" with --errors ci, else "median".
CENTRE = ["median"]


def ylabel(metric):
    base = AXIS.get(metric, metric)
    return "%s (%s)" % (base, CENTRE[0])


def grid_for(n, ncols_max=3):
    cols = min(max(n, 1), ncols_max)
    return (n + cols - 1) // cols, cols


def fig_lines_by_workload(res, kind, x, metric, errors, title, log_x=False):
    rows = throughput_rows(res)
    wls = workloads_of(rows)
    nr, nc = grid_for(len(wls))
    f = Figure(res, kind, title, nr, nc)
    for i, wl in enumerate(wls):
        ax = f.axes[i // nc][i % nc]
        sub = rows[rows["workload"] == wl]
        drawn = lines(f, ax, res, sub, x, metric, errors, log_x=log_x)
        f.panel(ax, "workload: %s" % wl, AXIS.get(x, x), ylabel(metric), drawn)
    for j in range(len(wls), nr * nc):
        f.axes[j // nc][j % nc].set_visible(False)
    return f


def fig_worker_scale(res, metric, errors, title, x=None):
    x = x or "workers"
    return fig_lines_by_workload(res, "worker-scale", x, metric, errors,
                                 title or "%s vs %s" % (AXIS.get(metric, metric), AXIS.get(x, x)))


def fig_producer_pressure(res, metric, errors, title, x=None):
    x = x or "producers"
    return fig_lines_by_workload(res, "producer-pressure", x, metric, errors,
                                 title or "%s vs %s" % (AXIS.get(metric, metric), AXIS.get(x, x)))


def fig_generic(res, metric, errors, title, x=None):
    x = x or "workers"
    if x not in res.ok.columns:
        raise PlotError("x column %s is not in %s" % (x, res.csv))
    numeric(res.ok, x, res.csv)  # a clear error for a non-numeric axis
    return fig_lines_by_workload(res, "generic", x, metric, errors,
                                 title or "%s vs %s" % (AXIS.get(metric, metric), AXIS.get(x, x)))


def fig_segment_size(res, metric, errors, title, x=None):
    x = x or "seg_size"
    rows = throughput_rows(res)
    rows = rows[~rows[x].isin(["-", ""])]
    if rows.empty:
        raise PlotError("%s: no ok row has a %s (the segment-size figure needs a backend "
                        "with that option)" % (res.csv, x))
    wls = workloads_of(rows)
    f = Figure(res, "segment-size", title or "%s and allocations per job vs segment size"
               % AXIS.get(metric, metric), len(wls), 2)
    for i, wl in enumerate(wls):
        sub = rows[rows["workload"] == wl]
        ax = f.axes[i][0]
        drawn = lines(f, ax, res, sub, x, metric, errors, log_x=True)
        f.panel(ax, "workload: %s" % wl, AXIS.get(x, x) + ", log scale", ylabel(metric), drawn)
        ax = f.axes[i][1]
        if res.has_numeric("allocs_per_job", sub):
            drawn = lines(f, ax, res, sub, x, "allocs_per_job", errors, log_x=True)
            if ax.get_yscale() == "log":
                ax.set_yscale("symlog", linthresh=0.01)
            f.panel(ax, "allocations, workload: %s" % wl, AXIS.get(x, x) + ", log scale",
                    ylabel("allocs_per_job"), drawn)
        else:
            f.empty(ax, "allocations, workload: %s" % wl,
                    "no numeric allocs_per_job column in results.csv")
    return f


def milestone_columns(cols):
    """Warm-up milestone columns: lat_first<N>[k|m][_<pct>]_ns -> (N, pct, col)."""
    out = []
    for c in cols:
        m = re.fullmatch(r"lat_first(\d+)([km]?)(?:_(p\d+|max|mean))?_ns", c)
        if m:
            n = int(m.group(1)) * {"": 1, "k": 1000, "m": 1000000}[m.group(2)]
            out.append((n, m.group(3) or "value", c))
    return sorted(out)


def fig_latency(res, metric, errors, title, x=None):
    ok = res.ok
    pcols = [(c, n) for c, n in PERCENTILES if c in ok.columns]
    if not pcols or not res.has_numeric(pcols[0][0]):
        raise PlotError("%s has no latency columns with values (lat_p50_ns ...): "
                        "run with --mode latency" % res.csv)
    rows = ok[numeric(ok, pcols[0][0], res.csv).notna()]
    wls = workloads_of(rows)
    miles = [m for m in milestone_columns(rows.columns) if res.has_numeric(m[2], rows)]
    # The preset's own view (e.g. lat_p99_ns vs workers) as a third panel
    # when its x varies.
    y3 = metric if metric.startswith("lat_") and res.has_numeric(metric, rows) else "lat_p99_ns"
    x3 = x if x and x in rows.columns else "workers"
    third = y3 in rows.columns and res.has_numeric(y3, rows) and rows[x3].nunique() > 1
    f = Figure(res, "latency", title or "submit-to-start latency", len(wls), 3 if third else 2)
    for i, wl in enumerate(wls):
        sub = rows[rows["workload"] == wl]
        cols = label_cols(res, sub, set())
        ax = f.axes[i][0]
        allv = []
        drawn = []
        stats = {}
        for c, _ in pcols:
            st = res.stats(c, sub)
            if st is not None:
                st["label"] = st.apply(lambda r: label_of(r, cols), axis=1)
                stats[c] = st
        base = stats[pcols[0][0]]
        styles = {}
        for lab, ser in series_order(set(zip(base["label"], base["series"]))):
            meds, downs, ups, xs = [], [], [], []
            for j, (c, _) in enumerate(pcols):
                r = stats[c][stats[c]["label"] == lab] if c in stats else None
                if r is None or r.empty:
                    continue
                c0, d, u, src = pick_errors(errors, r)
                f.note_points(src, r if j == 0 else None)
                xs.append(j)
                meds.append(c0[0])
                downs.append(d[0])
                ups.append(u[0])
                allv += [r["min"].iloc[0], r["max"].iloc[0]]
            k = styles.setdefault(ser, 0)
            styles[ser] = k + 1
            ax.errorbar(xs, meds, yerr=[downs, ups], label=lab, color=colour(ser),
                        marker=MARKERS[k % len(MARKERS)], linestyle=STYLES[k % len(STYLES)],
                        capsize=3)
            drawn.append(lab)
        ax.set_xticks(range(len(pcols)))
        ax.set_xticklabels([n for _, n in pcols])
        scale_y(ax, allv)
        f.panel(ax, "latency percentiles, workload: %s" % wl, "percentile",
                "submit-to-start latency (ns)", drawn)
        if third:
            ax = f.axes[i][2]
            drawn = lines(f, ax, res, sub, x3, y3, errors)
            f.panel(ax, "%s vs %s, workload: %s" % (y3, x3, wl), AXIS.get(x3, x3),
                    "%s (ns, %s)" % (y3, CENTRE[0]), drawn)
        ax = f.axes[i][1]
        if not miles:
            f.empty(ax, "warm-up milestones, workload: %s" % wl,
                    "no lat_first* milestone columns with values")
            continue
        drawn, allv = [], []
        # lat_first1_ns is the first job's own latency: every percentile of a
        # single value, so it starts each percentile's line.
        pcts = list(dict.fromkeys(p for n, p, _ in miles if not (n == 1 and p == "value")))
        pcts = pcts or ["value"]
        mstats = {}
        for _, _, c in miles:
            st = res.stats(c, sub)
            if st is not None:
                st["label"] = st.apply(lambda r: label_of(r, cols), axis=1)
                mstats[c] = st
        mstyles = {}
        for lab, ser in series_order(set(zip(base["label"], base["series"]))):
            k = mstyles.setdefault(ser, 0)
            mstyles[ser] = k + 1
            for pi, pct in enumerate(pcts):
                xs, meds, downs, ups = [], [], [], []
                for n, p, c in miles:
                    if p != pct and not (n == 1 and p == "value"):
                        continue
                    r = mstats[c][mstats[c]["label"] == lab] if c in mstats else None
                    if r is None or r.empty:
                        continue
                    c0, d, u, src = pick_errors(errors, r)
                    f.errors.add(src)
                    xs.append(n)
                    meds.append(c0[0])
                    downs.append(d[0])
                    ups.append(u[0])
                    allv += [r["min"].iloc[0], r["max"].iloc[0]]
                if not xs:
                    continue
                name = lab if len(pcts) == 1 else "%s %s" % (lab, pct)
                ax.errorbar(xs, meds, yerr=[downs, ups], label=name, color=colour(ser),
                            marker=MARKERS[(k + pi) % len(MARKERS)],
                            linestyle=STYLES[(k + pi) % len(STYLES)], capsize=3)
                drawn.append(name)
        ax.set_xscale("log")
        scale_y(ax, allv)
        what = "/".join(pcts) if pcts != ["value"] else "latency"
        f.panel(ax, "warm-up milestones, workload: %s" % wl,
                "first N jobs of the run (log scale)", "%s over the first N jobs (ns)" % what,
                drawn)
    return f


def bars_by_workload(res, kind, group, metric, errors, title, order=None, rows=None):
    rows = throughput_rows(res) if rows is None else rows
    wls = workloads_of(rows)
    nr, nc = grid_for(len(wls))
    f = Figure(res, kind, title, nr, nc)
    for i, wl in enumerate(wls):
        ax = f.axes[i // nc][i % nc]
        sub = rows[rows["workload"] == wl]
        g = group if group and sub[group].nunique() > 1 else (group if order else None)
        drawn = bars(f, ax, res, sub, g, metric, errors, order)
        f.panel(ax, "workload: %s" % wl, AXIS.get(g, g) if g else "", ylabel(metric), drawn)
    for j in range(len(wls), nr * nc):
        f.axes[j // nc][j % nc].set_visible(False)
    return f


def fig_channel(res, metric, errors, title, x=None):
    rows = throughput_rows(res)
    if not x:
        x = next((c for c in ("workers", "producers") if rows[c].nunique() > 1), None)
    return bars_by_workload(res, "channel", x, metric, errors,
                            title or "%s per queue, per workload" % AXIS.get(metric, metric))


def fig_queues(res, metric, errors, title, x=None):
    """Every backend side by side: one panel per workload (rows) and producer
    count (columns), @metric vs workers, one line per backend/reclaimer."""
    x = x or "workers"
    rows = throughput_rows(res)
    if x not in rows.columns:
        raise PlotError("x column %s is not in %s" % (x, res.csv))
    numeric(rows, x, res.csv)
    wls = workloads_of(rows)
    ps = sorted(set(rows["producers"]), key=float)
    f = Figure(res, "queues", title or "%s per queue backend and reclaimer"
               % AXIS.get(metric, metric), len(wls), len(ps), w=6.4, h=4.8, shared_legend=True)
    for i, wl in enumerate(wls):
        for j, p in enumerate(ps):
            ax = f.axes[i][j]
            sub = rows[(rows["workload"] == wl) & (rows["producers"] == p)]
            pt = "workload: %s, producers: %s" % (wl, fmt_num(p))
            if sub.empty:
                f.empty(ax, pt, "no ok row")
                continue
            drawn = lines(f, ax, res, sub, x, metric, errors, exclude=("producers",))
            f.panel(ax, pt, AXIS.get(x, x), ylabel(metric), drawn)
    return f


def fig_placement(res, metric, errors, title, x=None):
    x = x or "pin_workers"
    if x not in res.ok.columns:
        raise PlotError("%s has no %s column: the placement figure needs it" % (res.csv, x))
    return bars_by_workload(res, "placement", x, metric, errors,
                            title or "%s per worker placement" % AXIS.get(metric, metric),
                            order=PLACEMENT_ORDER)


def fig_reclaim(res, metric, errors, title, x=None):
    rows = throughput_rows(res)
    if metric == "ns_per_job" and not (res.plot.get("y") == "ns_per_job"):
        metric = "jobs_per_s"  # "throughput per scheme"
    wls = workloads_of(rows)
    f = Figure(res, "reclaim", title or "throughput and unreclaimed memory per reclamation scheme",
               len(wls), 2)
    if x in (None, "reclaim", "backend"):  # those are the series already
        x = next((c for c in ("seg_size", "workers", "producers") if rows[c].nunique() > 1), None)
    ts = res.timeseries
    for i, wl in enumerate(wls):
        sub = rows[rows["workload"] == wl]
        ax = f.axes[i][0]
        drawn = bars(f, ax, res, sub, x, metric, errors)
        f.panel(ax, "throughput, workload: %s" % wl, AXIS.get(x, x) if x else "",
                ylabel(metric), drawn)
        ax = f.axes[i][1]
        tsub = None
        if ts is not None:
            tsub = ts[ts["workload"] == wl] if "workload" in ts.columns else ts
            tsub = tsub[tsub["pending_n"].notna()]
        if tsub is not None and not tsub.empty:
            drawn = pending_over_time(ax, tsub, x)
            f.panel(ax, "unreclaimed segments over time, workload: %s\n(thick line: first "
                    "repetition, thin: others; | timed phase starts)" % wl,
                    "time since the run's child started (ms; warm-up included)",
                    AXIS["pending"], drawn)
        elif res.has_numeric("pending_peak", sub):
            why = "no timeseries.csv" if ts is None else "no timeseries rows for %s" % wl
            drawn = bars(f, ax, res, sub, x, "pending_peak", errors)
            f.panel(ax, "peak unreclaimed segments (%s), workload: %s" % (why, wl),
                    AXIS.get(x, x) if x else "", ylabel("pending_peak"), drawn)
            f.notes.append("pending over time not drawn for %s: %s" % (wl, why))
            note("reclaim figure: %s for workload %s; drew pending_peak instead" % (why, wl))
        else:
            f.empty(ax, "unreclaimed segments, workload: %s" % wl,
                    "no timeseries.csv and no numeric pending_peak")
    return f


def pending_over_time(ax, ts, split):
    """One line per series (and value of @split), every repetition drawn thin,
    labelled once."""
    drawn = []
    keys = ["series"] + ([split] if split and split in ts.columns else [])
    other = [c for c in KEY if c in ts.columns and c not in keys and c not in NOT_IN_LABEL
             and ts[c].nunique() > 1]
    keys += other
    styles = {}
    groups = sorted(ts.groupby(keys, sort=True), key=lambda kv: (
        list(PALETTE).index(kv[1]["series"].iloc[0]) if kv[1]["series"].iloc[0] in PALETTE
        else len(PALETTE), str(kv[0])))
    for gk, g in groups:
        gk = gk if isinstance(gk, tuple) else (gk,)
        ser = gk[0]
        lab = ser + "".join(" %s=%s" % (k, v) for k, v in zip(keys[1:], gk[1:]))
        k = styles.setdefault(ser, 0)
        styles[ser] = k + 1
        reps = g.groupby("rep") if "rep" in g.columns else [(1, g)]
        first = True
        for _, r in reps:
            r = r.sort_values("t")
            ax.plot(r["t"], r["pending_n"], color=colour(ser), linestyle=STYLES[k % len(STYLES)],
                    linewidth=1.4 if first else 0.6, alpha=1.0 if first else 0.5,
                    label=lab if first else None, drawstyle="steps-post")
            if first and "phase" in r.columns:
                timed = r[r["phase"] == "timed"]
                if not timed.empty:  # a tick where the timed phase starts
                    ax.plot(timed["t"].iloc[0], timed["pending_n"].iloc[0], marker="|",
                            markersize=14, markeredgewidth=2, color=colour(ser))
            first = False
        drawn.append(lab)
    v = ts["pending_n"]
    if v.max() > 0 and v[v > 0].min() > 0 and v.max() / max(v[v > 0].min(), 1) >= 100:
        ax.set_yscale("symlog", linthresh=1)
    else:
        ax.set_ylim(bottom=0)
    return drawn


def fig_drift(res, metric, errors, title, x=None):
    """Every repetition's @metric against run_seq (the order the rows ran in,
    issue 8), one panel per workload, one colour per series; noisy rows (the
    canary ran slow around them) as hollow markers.  Drift over time shows as
    a slope shared by every series; interleaving spreads it over all of them."""
    import pandas as pd
    if "run_seq" not in res.df.columns:
        raise PlotError("%s has no run_seq column (schema 4): the drift figure needs the "
                        "order the rows ran in" % res.csv)
    rows = res.df[res.df["status"].str.strip().isin(["ok", "noisy"])].copy()
    rows["_x"] = pd.to_numeric(rows["run_seq"], errors="coerce")
    rows["_y"] = pd.to_numeric(rows[metric if metric in rows.columns else "ns_per_job"],
                               errors="coerce")
    rows["series"] = rows["backend"].where(rows["reclaim"].isin(["-", ""]),
                                           rows["backend"] + "/" + rows["reclaim"])
    rows = rows[rows["_x"].notna() & rows["_y"].notna()]
    wls = workloads_of(rows)
    nr, nc = grid_for(len(wls))
    f = Figure(res, "drift", title or "%s in the order the runs ran" % AXIS.get(metric, metric),
               nr, nc)
    f.errors.add("none (one marker per repetition)")
    for i, wl in enumerate(wls):
        ax = f.axes[i // nc][i % nc]
        sub = rows[rows["workload"] == wl]
        drawn = []
        for ser in sorted(set(sub["series"])):
            s = sub[sub["series"] == ser]
            ok = s[s["status"].str.strip() == "ok"]
            noisy = s[s["status"].str.strip() == "noisy"]
            ax.plot(ok["_x"], ok["_y"], "o", color=colour(ser), label=ser, markersize=4)
            if len(noisy):
                ax.plot(noisy["_x"], noisy["_y"], "o", markerfacecolor="none",
                        color=colour(ser), label="%s (noisy)" % ser, markersize=5)
            drawn.append(ser)
        scale_y(ax, list(sub["_y"]))
        f.panel(ax, "workload: %s" % wl, "run_seq (order run)", AXIS.get(metric, metric), drawn)
    for j in range(len(wls), nr * nc):
        f.axes[j // nc][j % nc].set_visible(False)
    return f


DRAW = {"worker-scale": fig_worker_scale, "producer-pressure": fig_producer_pressure,
        "segment-size": fig_segment_size, "latency": fig_latency, "channel": fig_channel,
        "reclaim": fig_reclaim, "placement": fig_placement, "queues": fig_queues,
        "generic": fig_generic,
        "drift": fig_drift}


def auto_kind(res):
    """The figure kind: from the preset name in meta.json, else from which axes
    vary in the CSV.  Returns (kind, why)."""
    k = kind_of_preset(res.preset)
    if k:
        return k, "preset %s in meta.json" % res.preset
    ok = res.ok
    var = set(res.varying())
    if "mode" in ok.columns and ok["mode"].isin(["latency", "rate"]).all():
        return "latency", "every row is in latency/rate mode"
    if any(c in var and placement_varies(ok, c) for c in ("pin_workers", "pin_producers")):
        return "placement", "pin_workers varies"
    segs = ok.loc[~ok["seg_size"].isin(["-", ""]), "seg_size"].nunique()
    if segs >= 3:
        return "segment-size", "seg_size takes %d values" % segs
    if "reclaim" in var and ok["backend"].nunique() == 1 and not var & {"workers", "producers"}:
        return "reclaim", "only the reclaimer (and seg_size) vary"
    if "seg_size" in var:
        return "segment-size", "seg_size varies"
    if "producers" in var:
        return "producer-pressure", "producers varies"
    if "workers" in var:
        return "worker-scale", "workers varies"
    if "backend" in var:
        return "channel", "only the backend varies"
    if res.has_numeric("lat_p50_ns"):
        return "latency", "latency columns have values"
    return "worker-scale", "nothing varies"


def machine_floor(meta):
    """The batched SPSC ring's ns per item that poolbench calibrate stored in
    meta.json (the last run that has one), or None."""
    for run in reversed((meta or {}).get("runs") or []):
        f = run.get("floor") if isinstance(run, dict) else None
        v = f.get("spsc_batched_ns_per_item") if isinstance(f, dict) else None
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    return None


def normalize_floor(res):
    """--normalize floor: add ns_per_floor = ns_per_job / the machine's floor
    (docs/methodology.md, "The machine's floor"), so that figures of different
    machines share a scale.  Returns the column name."""
    floor = machine_floor(res.meta)
    if floor is None:
        raise PlotError("--normalize floor: %s has no floor (meta.json runs[].floor: the sweep "
                        "ran with --no-calibrate, or without meta.json)" % res.dir)
    res.ok["ns_per_floor"] = res.ok["ns_per_job"] / floor
    AXIS["ns_per_floor"] = "ns per job / floor (%.2f ns, batched SPSC item)" % floor
    return "ns_per_floor"


def plot(res, kind="auto", out=None, x=None, y=None, name=None, errors="auto"):
    """Draw one figure; returns (kind, [files written])."""
    import matplotlib
    matplotlib.use("Agg")
    # Keep SVG text as text (searchable, smaller); DejaVu Sans is matplotlib's own.
    matplotlib.rcParams["svg.fonttype"] = "none"
    why = "asked for"
    CENTRE[0] = "mean" if errors == "ci" else "median"
    if kind == "auto":
        kind, why = auto_kind(res)
    if kind not in DRAW:
        raise PlotError("unknown figure kind %r; known: auto, %s" % (kind, ", ".join(KINDS)))
    y = y or res.plot.get("y") or "ns_per_job"
    if y not in ("ns_per_job", "jobs_per_s"):
        y = {"ns/job": "ns_per_job", "jobs/s": "jobs_per_s", "throughput": "jobs_per_s"}.get(
            y, "ns_per_job" if y not in res.ok.columns else y)
    if y not in res.ok.columns:
        raise PlotError("y column %s is not in %s" % (y, res.csv))
    px = res.plot.get("x")
    if px and px not in res.ok.columns:
        px = res.add_option_column(px) or px
    if x is None and px and px in res.ok.columns and kind not in ("latency", "channel"):
        x = px
    if x is not None and x not in res.ok.columns and not res.add_option_column(x):
        raise PlotError("x column %s is not in %s, nor a plug-in option in its *_opts columns"
                        % (x, res.csv))
    title = res.plot.get("title")
    if kind == "generic" and name is None and res.preset:
        name = res.preset  # e.g. submit-batch.png, not generic.png
    fig = DRAW[kind](res, y, errors, title, x)
    files = fig.save(out or res.dir, name or kind)
    note("%s figure (%s)" % (kind, why)) if why != "asked for" else None
    return kind, files


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__)
    ap.add_argument("csv", help="results.csv written by poolbench run / sweep")
    ap.add_argument("--kind", default=None,
                    help="figure kind: auto (default), %s" % ", ".join(KINDS))
    ap.add_argument("--out", help="output directory (default: the CSV's directory)")
    ap.add_argument("--x", default=None, help="x axis column, or a plug-in option such as "
                    "threshold (read from backend_opts / reclaim_opts / workload_opts); "
                    "default: the kind's own; with no --kind, --x draws a generic line figure")
    ap.add_argument("--y", default=None, help="ns_per_job (default) or jobs_per_s")
    ap.add_argument("--name", default=None, help="output file stem (default: the kind)")
    ap.add_argument("--errors", default="auto", choices=["auto", "median", "minmax", "ci"],
                    help="markers and bars, always the same statistic: the median with its "
                    "distribution-free order-statistic interval (auto, median); the median "
                    "with min-max (minmax); or the mean with its 95%% Student t interval "
                    "(ci; summary.csv's when present)")
    ap.add_argument("--summary", help="summary.csv (default: next to the CSV, if present)")
    ap.add_argument("--timeseries", help="timeseries.csv (default: next to the CSV, if present)")
    ap.add_argument("--meta", help="meta.json (default: next to the CSV, if present)")
    ap.add_argument("--normalize", choices=["floor"], default=None,
                    help="floor: ns per job as a multiple of the machine's floor that "
                    "poolbench calibrate stored in meta.json (the batched SPSC ring's "
                    "ns per item)")
    a = ap.parse_args(argv)
    kind = a.kind or ("generic" if a.x else "auto")
    try:
        res = Results(a.csv, a.summary, a.timeseries, a.meta)
        if a.normalize == "floor":
            if a.y not in (None, "ns_per_job"):
                raise PlotError("--normalize floor scales ns_per_job; --y %s cannot be "
                                "normalized" % a.y)
            a.y = normalize_floor(res)
        _, files = plot(res, kind, a.out, a.x, a.y, a.name, a.errors)
    except PlotError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 1
    for p in files:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
