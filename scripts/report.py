#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# One self-contained HTML page for a results directory (and its subdirectories,
# one per preset): every figure (PNG embedded as base64, SVG linked relatively),
# a table per preset with medians and 95% confidence intervals, and where a
# preset matches one of the seed's published tables, wpool's figures beside
# ours with the machine each came from.  Reads only CSV files and meta.json.
#
# usage: scripts/report.py DIR [--no-plot | --replot] [--out FILE]
"""Write DIR/report.html from poolbench results (see docs/plots.md)."""

import argparse
import base64
import datetime
import glob
import html
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anchors  # noqa: E402
import plot  # noqa: E402

PROG = "report.py"
MAX_DEPTH = 3

CSS = """
body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}th{background:#eee}
td.l,th.l{text-align:left}tr.bad td{background:#fdd}figure{margin:1em 0}
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#444}
.note{color:#555;font-size:.85em}.err{color:#a00}code{background:#f4f4f4}
td.seed{background:#f3f7ff}th.seed{background:#dde6f7}
"""


def esc(x):
    return html.escape(str(x), quote=True)


def fmt(v, digits=None):
    """A number for a table cell."""
    if v is None or v != v:
        return "-"
    if digits is not None:
        return "%.*f" % (digits, v)
    a = abs(v)
    if float(v).is_integer() and a < 1000:
        return "%d" % v
    if a >= 1000:
        return "{:,.0f}".format(v).replace(",", " ")
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 0.01 or a == 0:
        return "%.2f" % v
    return "%.2g" % v


def num_or_str(v):
    """Sort key: numbers before text, numbers by value."""
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(v))


def table(head, rows, seed_cols=(), left=1, bad_rows=()):
    """An HTML table; the first @left columns are left-aligned text."""
    out = ["<table><tr>"]
    for i, h in enumerate(head):
        cls = "l" if i < left else ("seed" if i in seed_cols else "")
        out.append('<th class="%s">%s</th>' % (cls, esc(h)))
    out.append("</tr>")
    for j, r in enumerate(rows):
        out.append('<tr class="bad">' if j in bad_rows else "<tr>")
        for i, c in enumerate(r):
            cls = "l" if i < left else ("seed" if i in seed_cols else "")
            out.append('<td class="%s">%s</td>' % (cls, esc(c)))
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def find_result_dirs(root):
    """Directories under @root (itself included, MAX_DEPTH levels) holding a results.csv."""
    found = []
    for d, subs, files in os.walk(root):
        depth = os.path.relpath(d, root).count(os.sep) + (0 if d == root else 1)
        subs[:] = sorted(s for s in subs if not s.startswith(".")) if depth < MAX_DEPTH else []
        if "results.csv" in files:
            found.append(d)
    return sorted(found, key=lambda d: (d != root, d))


# ---------------------------------------------------------------- tables -------

def points_table(res, kind):
    """Medians and confidence intervals per point, plus the kind's own columns."""
    ok = res.ok
    st = res.stats("ns_per_job")
    if st is None:
        return "<p class=note>no ok rows</p>"
    js = res.stats("jobs_per_s")
    # backend_opts repeats seg_size, seg_count, ... in one string: left out.
    var = [c for c in res.varying() if c not in ("backend", "reclaim", "workload",
                                                 "backend_opts")]
    head = ["series", "workload"] + var + ["ok reps", "ns/job median",
                                           "median interval (coverage)", "CoV met",
                                           "mean, 95% CI", "CI from", "min - max",
                                           "jobs/s median"]
    extra = []
    if kind == "latency":
        extra = [(c, n + " (ns)") for c, n in plot.PERCENTILES if res.has_numeric(c)]
    elif kind == "segment-size":
        extra = [(c, n) for c, n in (("allocs_per_job", "allocs/job"),
                                     ("bytes_per_job", "bytes/job")) if res.has_numeric(c)]
    elif kind == "reclaim":
        extra = [(c, n) for c, n in (("pending_peak", "pending peak"),
                                     ("pending_end", "pending at end"),
                                     ("allocs_per_job", "allocs/job")) if res.has_numeric(c)]
    if "peak_rss_kb" in ok.columns and kind in ("reclaim", "segment-size"):
        extra += [("peak_rss_kb", "peak RSS (KiB)")] if res.has_numeric("peak_rss_kb") else []
    head += [n + " median" for _, n in extra]
    ext = {c: res.stats(c) for c, _ in extra}
    # Repetitions that did not finish ok, per point.
    allrows = res.df.copy()
    notok = {}
    for _, r in allrows[allrows["status"].str.strip() != "ok"].iterrows():
        k = tuple(str(r[c]) for c in res.keys)
        notok.setdefault(k, []).append(r["status"].strip())
    rows = []
    known = list(plot.PALETTE)

    def sort_key(i):
        ser = st["series"].iloc[i]
        return (st["workload"].iloc[i], known.index(ser) if ser in known else len(known), ser,
                [num_or_str(st[c].iloc[i]) for c in var])

    order = sorted(range(len(st)), key=sort_key)
    bad = set()
    for n, i in enumerate(order):
        r = st.iloc[i]
        key = tuple(str(r[c]) for c in res.keys)
        failed = notok.get(key, [])
        reps = "%d/%d" % (r["count"], r["count"] + len(failed))
        if failed:
            reps += " (%s)" % ", ".join(sorted(set(failed)))
            bad.add(n)
        ci = "%s [%s, %s]" % (fmt(r["mean"]), fmt(r["ci_lo"]), fmt(r["ci_hi"])) \
            if r["ci_lo"] == r["ci_lo"] else "-"
        mci = "[%s, %s] (%.1f%%)" % (fmt(r["med_lo"]), fmt(r["med_hi"]), 100 * r["med_level"]) \
            if r["med_lo"] == r["med_lo"] and r["med_level"] == r["med_level"] else "-"
        jmed = js.iloc[i]["median"] if js is not None and i < len(js) else float("nan")
        cells = [r["series"], r["workload"]] + [r[c] for c in var] + [
            reps, fmt(r["median"]), mci, "yes" if r["cov_met"] else "no", ci,
            r["ci_src"] if ci != "-" else "-",
            "%s - %s" % (fmt(r["min"]), fmt(r["max"])), fmt(jmed)]
        for c, _ in extra:
            e = ext[c]
            m = e[(e[res.keys].astype(str).apply(tuple, axis=1)) == key] if e is not None else None
            cells.append(fmt(m["median"].iloc[0]) if m is not None and len(m) else "-")
        rows.append(cells)
    # Points where no repetition finished ok.
    seen = set(tuple(str(st[c].iloc[i]) for c in res.keys) for i in range(len(st)))
    for key, failed in notok.items():
        if key in seen:
            continue
        d = dict(zip(res.keys, key))
        ser = d["backend"] if d.get("reclaim", "-") in ("-", "") else d["backend"] + "/" + d["reclaim"]
        bad.add(len(rows))
        rows.append([ser, d["workload"]] + [d.get(c, "") for c in var] +
                    ["0/%d (%s)" % (len(failed), ", ".join(sorted(set(failed))))] +
                    ["-"] * (len(head) - 3 - len(var)))
    return table(head, rows, left=2 + len(var), bad_rows=bad)


def failed_cells(res, rows, cols, xcol):
    """{(label, x): statuses} for points of @rows with no ok repetition."""
    fp = plot.failed_points(res, rows)
    out = {}
    for _, r in fp.iterrows():
        try:
            out[(plot.label_of(r, cols), float(r[xcol]))] = r["statuses"]
        except ValueError:
            pass
    return out


def seed_worker_scale(res):
    """wpool's ns/op per workers beside our medians (1 producer)."""
    rows = plot.throughput_rows(res)
    rows = rows[rows["producers"] == 1]
    out = []
    for wl in plot.workloads_of(rows):
        seed = [a for a in anchors.WORKER_SCALE if a[2] == wl]
        if not seed:
            continue
        sub = rows[rows["workload"] == wl]
        st = res.stats("ns_per_job", sub)
        cols = plot.label_cols(res, sub, {"workers"})
        st["label"] = st.apply(lambda r: plot.label_of(r, cols), axis=1)
        labels = [lab for lab, _ in plot.series_order(set(zip(st["label"], st["series"])))]
        failed = failed_cells(res, sub, cols, "workers")
        machines = list(dict.fromkeys((a[0], a[1]) for a in seed))
        ws = sorted(set(int(w) for w in st["workers"].astype(float)) | set(a[3] for a in seed))
        head = ["workers"] + ["ours: %s" % lab for lab in labels] + \
               ["wpool, %s" % m for m, _ in machines]
        trows = []
        for w in ws:
            r = [w]
            for lab in labels:
                m = st[(st["label"] == lab) & (st["workers"].astype(float) == w)]
                r.append(fmt(m["median"].iloc[0]) if len(m) else failed.get((lab, w), ""))
            for m, src in machines:
                v = [a[4] for a in seed if a[0] == m and a[1] == src and a[3] == w]
                r.append(fmt(v[0]) if v else "")
            trows.append(r)
        seed_cols = set(range(1 + len(labels), len(head)))
        out.append("<h4>workload %s: ns per job, median (ours) vs ns/op (wpool)</h4>" % esc(wl))
        out.append(table(head, trows, seed_cols=seed_cols))
    if not out:
        return ""
    return "".join(out) + machines_note(res, {a[0] for a in anchors.WORKER_SCALE},
                                        anchors.CAVEATS["worker-scale"])


def seed_segment_size(res):
    rows = plot.throughput_rows(res)
    rows = rows[(rows["workload"] == "empty") & ~rows["seg_size"].isin(["-", ""])]
    if rows.empty:
        return ""
    # Sizes where every series stalled still get a row.
    fp = plot.failed_points(res, rows)
    st = res.stats("ns_per_job", rows)
    al = res.stats("allocs_per_job", rows) if res.has_numeric("allocs_per_job", rows) else None
    cols = plot.label_cols(res, rows, {"seg_size"})
    st["label"] = st.apply(lambda r: plot.label_of(r, cols), axis=1)
    if al is not None:
        al["label"] = al.apply(lambda r: plot.label_of(r, cols), axis=1)
    labels = [lab for lab, _ in plot.series_order(set(zip(st["label"], st["series"])))]
    failed = failed_cells(res, rows, cols, "seg_size")
    seed = anchors.SEGMENT_SIZE
    machines = list(dict.fromkeys((a[0], a[1], a[3]) for a in seed))
    sizes = sorted(set(int(float(s)) for s in st["seg_size"]) | set(a[2] for a in seed) |
                   (set(int(float(s)) for s in fp["seg_size"]) if not fp.empty else set()))
    head = ["seg size"] + ["ours: %s" % lab for lab in labels] + \
           ["wpool, %s%s" % (m, ", w=%d" % w if w else ", 16 threads") for m, _, w in machines]
    trows = []
    for s in sizes:
        r = [s]
        for lab in labels:
            m = st[(st["label"] == lab) & (st["seg_size"].astype(float) == s)]
            cell = fmt(m["median"].iloc[0]) if len(m) else failed.get((lab, s), "")
            if cell and al is not None:
                a = al[(al["label"] == lab) & (al["seg_size"].astype(float) == s)]
                if len(a):
                    cell += " (%s allocs)" % fmt(a["median"].iloc[0])
            r.append(cell)
        for m, src, w in machines:
            v = [a for a in seed if a[0] == m and a[1] == src and a[3] == w and a[2] == s]
            if v:
                lo, hi, allocs = v[0][4], v[0][5], v[0][6]
                cell = fmt(lo) if lo == hi else "%s - %s" % (fmt(lo), fmt(hi))
                if allocs is not None:
                    cell += " (%s allocs)" % allocs
                r.append(cell)
            else:
                r.append("")
        trows.append(r)
    return ("<h4>empty job: ns per job, median (ours; allocations per job) vs ns/op (wpool; "
            "allocs/op)</h4>" + table(head, trows, seed_cols=set(range(1 + len(labels), len(head))))
            + machines_note(res, {a[0] for a in seed}, anchors.CAVEATS["segment-size"]))


def seed_latency(res):
    pcols = [(c, n) for c, n in plot.PERCENTILES if c in {a[2] for a in anchors.LATENCY}
             and res.has_numeric(c)]
    if not pcols:
        return ""
    ok = res.ok
    rows = ok[plot.numeric(ok, pcols[0][0], res.csv).notna()]
    stats = {}
    for c, _ in pcols:
        st = res.stats(c, rows)
        cols = plot.label_cols(res, rows, set())
        st["label"] = st.apply(lambda r: plot.label_of(r, cols) + " " + r["workload"], axis=1)
        stats[c] = st
    base = stats[pcols[0][0]]
    labels = [lab for lab, _ in plot.series_order(set(zip(base["label"], base["series"])))]
    machines = list(dict.fromkeys((a[0], a[1]) for a in anchors.LATENCY))
    head = ["percentile"] + ["ours: %s" % lab for lab in labels] + \
           ["wpool, %s" % m for m, _ in machines]
    trows = []
    for c, n in pcols:
        r = [n]
        for lab in labels:
            m = stats[c][stats[c]["label"] == lab]
            r.append(fmt(m["median"].iloc[0] / 1000.0) if len(m) else "")
        for m, src in machines:
            v = [a[3] for a in anchors.LATENCY if a[0] == m and a[1] == src and a[2] == c]
            r.append(fmt(v[0] / 1000.0) if v else "")
        trows.append(r)
    return ("<h4>submit-to-start latency, µs (median over repetitions)</h4>" +
            table(head, trows, seed_cols=set(range(1 + len(labels), len(head)))) +
            machines_note(res, {a[0] for a in anchors.LATENCY}, anchors.CAVEATS["latency"]))


def machines_note(res, keys, caveat):
    items = ["<li>ours: %s</li>" % esc(res.machine)]
    items += ["<li>wpool, %s: %s</li>" % (esc(k), esc(anchors.MACHINES[k]))
              for k in anchors.MACHINES if k in keys]
    return ("<p class=note>Machines (figures only compare within one machine):</p><ul class=note>"
            + "".join(items) + "</ul><p class=note>%s Sources: %s.</p>"
            % (esc(caveat), esc("; ".join("%s = %s" % kv for kv in anchors.SOURCES.items()))))


SEED = {"worker-scale": seed_worker_scale, "segment-size": seed_segment_size,
        "latency": seed_latency}


# ---------------------------------------------------------------- figures ------

def figures_html(d, base):
    """Every PNG in @d, embedded, with its sidecar's title and caption; the SVG
    linked relatively to the report's directory @base."""
    out = []
    for png in sorted(glob.glob(os.path.join(d, "*.png"))):
        stem = os.path.splitext(png)[0]
        side = {}
        if os.path.isfile(stem + ".json"):
            try:
                with open(stem + ".json") as f:
                    side = json.load(f)
            except (OSError, ValueError):
                side = {}
        with open(png, "rb") as f:
            data = base64.b64encode(f.read()).decode()
        title = side.get("title") or os.path.basename(stem)
        cap = [esc(side.get("caption", ""))]
        for n in side.get("notes", []):
            cap.append("<br>Not drawn: %s" % esc(n))
        links = ['<a href="%s">PNG</a>' % esc(os.path.relpath(png, base))]
        if os.path.isfile(stem + ".svg"):
            links.append('<a href="%s">SVG</a>' % esc(os.path.relpath(stem + ".svg", base)))
        out.append('<figure id="fig-%s"><img alt="%s" src="data:image/png;base64,%s">'
                   '<figcaption><b>%s</b> (%s). %s</figcaption></figure>'
                   % (esc(os.path.relpath(stem, base)), esc(title), data, esc(title),
                      " ".join(links), "".join(cap)))
    return "".join(out)


def section(d, root, replot, no_plot, errors):
    rel = os.path.relpath(d, root)
    name = "(top level)" if rel == "." else rel
    out = ['<h2 id="%s">%s</h2>' % (esc(rel), esc(name))]
    try:
        res = plot.Results(os.path.join(d, "results.csv"))
        kind, why = plot.auto_kind(res)
        have = glob.glob(os.path.join(d, "*.json"))
        have = [h for h in have if os.path.basename(h) != "meta.json"]
        if not no_plot and (replot or not have):
            plot.plot(res, kind)
        out.append("<p>Preset: <b>%s</b>; figure kind <b>%s</b> (%s).  Machine: %s.  %d rows, "
                   "%d ok.%s</p>" % (esc(res.preset or "not recorded"), esc(kind), esc(why),
                                     esc(res.machine), res.n_rows, res.n_rows - res.n_notok,
                                     "  Confidence intervals from summary.csv." if res.summary
                                     is not None else "  No summary.csv: 95% CIs computed from "
                                     "the rows (Student t)."))
        out.append(figures_html(d, root) or "<p class=note>no figures in this directory</p>")
        out.append("<h3>Per point: medians and confidence intervals</h3>")
        out.append(points_table(res, kind))
        seed = SEED.get(kind)
        if seed:
            s = seed(res)
            if s:
                out.append("<h3>Beside the seed's published figures</h3>" + s)
        return "".join(out), kind
    except plot.PlotError as e:
        errors.append(str(e))
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        out.append('<p class=err>not reported: %s</p>' % esc(e))
        out.append(figures_html(d, root))
        return "".join(out), None


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__)
    ap.add_argument("dir", help="results directory (results.csv here or in subdirectories)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--no-plot", action="store_true", help="embed existing figures only")
    g.add_argument("--replot", action="store_true", help="redraw figures even if present")
    ap.add_argument("--out", help="output file (default DIR/report.html)")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.dir):
        print("%s: error: %s is not a directory" % (PROG, a.dir), file=sys.stderr)
        return 1
    root = os.path.abspath(a.dir)
    dirs = find_result_dirs(root)
    if not dirs:
        print("%s: error: no results.csv in %s or its subdirectories" % (PROG, a.dir),
              file=sys.stderr)
        return 1
    errors = []
    parts, toc = [], []
    for d in dirs:
        body, kind = section(d, root, a.replot, a.no_plot, errors)
        rel = os.path.relpath(d, root)
        toc.append('<li><a href="#%s">%s</a>%s</li>' % (
            esc(rel), esc("(top level)" if rel == "." else rel),
            " - %s" % esc(kind) if kind else " - <span class=err>error</span>"))
        parts.append(body)
    out = a.out or os.path.join(root, "report.html")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>poolbench report: %s"
            "</title><style>%s</style></head><body><h1>poolbench report: %s</h1>"
            "<p class=note>Written %s by scripts/report.py from results.csv, summary.csv, "
            "timeseries.csv and meta.json only.  Figures: medians over the ok repetitions with "
            "their distribution-free order-statistic interval (the same statistic for marker "
            "and bar; its coverage is given: under 6 repetitions it is the min-max range, "
            "below 95%%); hollow markers missed the CoV target; grey: more threads than PUs.  "
            "Tables: median and its interval, whether the CoV target was met, mean with its "
            "95%% Student t interval (summary.csv when present, else over the repetitions), "
            "min - max.  Red rows had repetitions that did not finish "
            "ok.  Seed (wpool) figures sit in blue columns, with the machine they came from."
            "</p><ul>%s</ul>%s</body></html>\n"
            % (esc(os.path.basename(root)), CSS, esc(os.path.basename(root)), esc(now),
               "".join(toc), "".join(parts)))
    with open(out, "w") as f:
        f.write(page)
    print(out)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
