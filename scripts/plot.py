#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Comparison plots from a poolbench results.csv (and nothing else but the
# optional meta.json next to it, for the machine name): ns per job vs workers,
# one panel per workload, one line per backend(+reclaimer), median of the ok
# repetitions with min-max error bars.  Writes PNG and SVG.
#
# usage: scripts/plot.py RESULTS.csv [--out DIR] [--x COLUMN]
"""Plot poolbench results (reads only the CSV; see docs/csv.md)."""

import argparse
import json
import os
import sys
import zlib

REQUIRED = ["schema_version", "backend", "reclaim", "workload", "producers", "workers",
            "seg_size", "seg_count", "rep", "jobs", "elapsed_ns", "ns_per_job", "jobs_per_s",
            "status", "lost", "duplicated"]
# Columns that, when they vary inside one backend(+reclaimer) and workload,
# split its line into several (so different configurations are never mixed).
SPLIT = ["producers", "seg_size", "seg_count", "capacity", "seg_supply", "batch",
         "wake_min_jobs", "flush_us", "pin_workers", "pin_producers", "backend_opts",
         "reclaim_opts", "workload_opts", "jobs"]
# Fixed colours for the known backends / schemes, so that a series has the
# same colour in every plot; others get a colour from a hash of their name.
FIXED = {
    "segmented+limbo": "#d62728", "segmented+hp": "#1f77b4", "segmented+urcu-memb": "#2ca02c",
    "segmented+urcu-qsbr": "#17becf", "segmented+ckepoch": "#9467bd", "segmented+none": "#7f7f7f",
    "mutex": "#ff7f0e", "ckring": "#8c564b", "segmented": "#d62728",
}
PALETTE = ["#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
           "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def die(msg):
    print("plot.py: " + msg, file=sys.stderr)
    sys.exit(1)


def colour(series):
    if series in FIXED:
        return FIXED[series]
    return PALETTE[zlib.crc32(series.encode()) % len(PALETTE)]


def machine_name(csv_path):
    d = os.path.dirname(os.path.abspath(csv_path))
    meta = os.path.join(d, "meta.json")
    try:
        with open(meta) as f:
            m = json.load(f)
        name = m.get("host", "?")
        if m.get("cpu_model"):
            name += " (%s, %s CPUs)" % (m["cpu_model"], m.get("nproc", "?"))
        return name
    except (OSError, ValueError):
        return os.path.basename(d)


def load(path):
    import pandas as pd
    if not os.path.isfile(path):
        die("no such CSV file: %s" % path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as e:  # pandas raises several parser error types
        die("cannot parse %s as CSV: %s" % (path, str(e).splitlines()[0] if str(e) else e))
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        die("%s lacks required columns: %s (is it a poolbench results.csv? see docs/csv.md)"
            % (path, ", ".join(missing)))
    if len(df) and set(df["schema_version"]) - {"1"}:
        die("%s has schema_version %s; this script reads version 1"
            % (path, ",".join(sorted(set(df["schema_version"]) - {"1"}))))
    return df


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv", help="results.csv written by poolbench run")
    ap.add_argument("--out", help="output directory (default: the CSV's directory)")
    ap.add_argument("--x", default="workers", help="x axis column (default: workers)")
    ap.add_argument("--name", default="ns_per_job_vs_workers", help="output file stem")
    args = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    import pandas as pd

    df = load(args.csv)
    if args.x not in df.columns:
        die("x column %s is not in %s" % (args.x, args.csv))
    ok = df[df["status"] == "ok"].copy()
    if ok.empty:
        die("%s has no rows with status ok to plot" % args.csv)
    try:
        ok["ns"] = pd.to_numeric(ok["ns_per_job"])
        ok["x"] = pd.to_numeric(ok[args.x])
    except ValueError as e:
        die("non-numeric ns_per_job or %s in %s: %s" % (args.x, args.csv, e))
    ok["series"] = ok["backend"].where(ok["reclaim"] == "-", ok["backend"] + "+" + ok["reclaim"])
    split = [c for c in SPLIT if c in ok.columns and c != args.x and
             (ok.groupby(["series", "workload"])[c].nunique() > 1).any()]

    def label(row):
        s = row["series"]
        extra = ["%s=%s" % (c, row[c]) for c in split]
        return s + (" " + " ".join(extra) if extra else "")

    ok["label"] = ok.apply(label, axis=1)
    workloads = list(dict.fromkeys(ok["workload"]))
    n = len(workloads)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    reps = sorted(set(ok.groupby(["label", "workload", "x"]).size()))
    for i, wl in enumerate(workloads):
        ax = axes[i // cols][i % cols]
        sub = ok[ok["workload"] == wl]
        styles = {}
        for lab, g in sub.groupby("label", sort=True):
            st = g.groupby("x")["ns"].agg(["median", "min", "max"]).sort_index()
            series = g["series"].iloc[0]
            k = styles.setdefault(series, 0)
            styles[series] = k + 1
            ax.errorbar(st.index, st["median"],
                        yerr=[st["median"] - st["min"], st["max"] - st["median"]],
                        label=lab, color=colour(series), marker=MARKERS[k % len(MARKERS)],
                        linestyle=["-", "--", ":", "-."][k % 4], capsize=3, linewidth=1.5)
        lo, hi = sub["ns"].min(), sub["ns"].max()
        if lo > 0 and hi / lo >= 10:
            ax.set_yscale("log")
            # Label 1-2-5 steps: a decade or two gets readable ticks.
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: "%g" % v))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        else:
            ax.set_ylim(bottom=0)
        ax.set_title("workload: %s" % wl)
        ax.set_xlabel("%s (threads)" % args.x if args.x in ("workers", "producers") else args.x)
        ax.set_ylabel("ns per job (median, bars min-max)")
        xs = sorted(set(sub["x"]))
        if len(xs) <= 16:
            ax.set_xticks(xs)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle("poolbench: ns per job vs %s - %s\n(%s repetitions per point)"
                 % (args.x, machine_name(args.csv), ",".join(str(r) for r in reps)), fontsize=10)
    fig.tight_layout()
    out = args.out or os.path.dirname(os.path.abspath(args.csv))
    os.makedirs(out, exist_ok=True)
    for ext in ("png", "svg"):
        p = os.path.join(out, "%s.%s" % (args.name, ext))
        fig.savefig(p, dpi=110)
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
