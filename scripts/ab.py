#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Before and after in one run: several poolbench builds, finely interleaved.

Every (point, build) pair runs once per round, one repetition, and the order of
the builds rotates from round to round, so a machine that drifts over minutes
(the 2-core VMs move by 20-30 %, docs/methodology.md) drifts on every build
alike.  A sweep's own interleaving cannot do this: it runs one binary.

usage: ab.py --build NAME=POOLBENCH [--build ...] --point 'LABEL: ARGS' [--point ...]
             --out DIR [--rounds N] [--keep COL,...]
       ab.py --table DIR/runs.csv

  --build NAME=PATH   a poolbench binary (an old commit's build, say); 1 to 8,
                      the first is the baseline of the ratios
  --point 'LABEL: ARGS'  poolbench run arguments for one point, every build;
                      'LABEL@NAME,NAME: ARGS' runs it on those builds only
                      (an option an old build lacks)
  --rounds N          rounds (default 7)
  --keep COLS         results.csv columns to keep (default ns_per_job); the
                      first is the one the ratios are of
  --out DIR           writes DIR/runs.csv, a row per run, appended as it
                      goes (a crash keeps what ran); refuses an existing one
  --table RUNS_CSV    print the table of an existing runs.csv and stop

Each run is `POOLBENCH run --reps 1 --cov 0 --quiet --out TMP ARGS`, plus
--no-calibrate and --canary-tol 0 where the build has them (the floor and the
canary are per-sweep checks; one repetition has nothing to compare).  A run
that writes no row is recorded with status 'error' and its exit status.
Prints a Markdown table: per point and build the median of each kept column,
the ratio of the first to the baseline build's, and the runs that counted.
Then the paired ratio: in each round where both ran, this build's value over
the baseline's (the two ran minutes apart at most, so a drift of the machine
between rounds cancels), the median of those ratios, and a distribution-free
confidence interval for it from their order statistics (the binomial
interval for a median: at least 95 % coverage where the rounds allow it;
fewer than 6 rounds cannot reach 95 %, and the coverage they do reach is
printed).  An interval that contains 1.00 shows no difference.
"""
import argparse
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def die(msg):
    print(f"ab.py: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_build(spec):
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        die(f"--build '{spec}': expected NAME=POOLBENCH")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        die(f"--build '{spec}': '{path}' is not an executable file")
    return name, path


def parse_point(spec, builds):
    head, sep, args = spec.partition(": ")
    if not sep or not head.strip():
        die(f"--point '{spec}': expected 'LABEL: ARGS' or 'LABEL@NAME,...: ARGS'")
    label, at, only = head.partition("@")
    names = [b.strip() for b in only.split(",")] if at else list(builds)
    for b in names:
        if b not in builds:
            die(f"--point '{spec}': unknown build '{b}', allowed: {', '.join(builds)}")
    return label.strip(), args.split(), names


def supports(path):
    """The per-sweep checks this build can turn off (older builds lack the options)."""
    try:
        h = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        die(f"cannot run '{path} --help': {e}")
    text = h.stdout + h.stderr
    extra = []
    if "--no-calibrate" in text:
        extra.append("--no-calibrate")
    if "--canary-tol" in text:
        extra += ["--canary-tol", "0"]
    return extra


def run_one(path, args, extra, keep):
    d = tempfile.mkdtemp(prefix="pb-ab.")
    try:
        p = subprocess.run([path, "run", "--reps", "1", "--cov", "0", "--quiet", "--out", d + "/o"] + extra + args,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        try:
            with open(d + "/o/results.csv", encoding="utf-8") as f:
                x = next(csv.DictReader(f))
        except (OSError, StopIteration):
            last = p.stderr.strip().splitlines()[-1:] or [""]
            return {"status": "error", "rc": p.returncode, "note": last[0][:200], **{k: "" for k in keep}}
        missing = [k for k in keep if k not in x]
        if missing:
            die(f"--keep: no column {missing[0]} in this build's results.csv")
        return {"status": x.get("status", ""), "rc": p.returncode, "note": "", **{k: x[k] for k in keep}}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def median_of(rows, k):
    xs = []
    for x in rows:
        try:
            xs.append(float(x[k]))
        except (TypeError, ValueError):
            pass
    return (statistics.median(xs), len(xs)) if xs else (None, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage="ab.py --build NAME=POOLBENCH ... --point 'LABEL: ARGS' ... --out DIR "
                                       "[--rounds N] [--keep COL,...]")
    ap.error = lambda m: die(m)  # one line, exit 2
    ap.add_argument("--build", action="append", default=[])
    ap.add_argument("--point", action="append", default=[])
    ap.add_argument("--rounds", default="7")
    ap.add_argument("--keep", default="ns_per_job")
    ap.add_argument("--out")
    ap.add_argument("--table", metavar="RUNS_CSV")
    a = ap.parse_args()
    if a.table:
        return table_of(a.table)
    if not a.build:
        die("no --build NAME=POOLBENCH given")
    if len(a.build) > 8:
        die(f"{len(a.build)} builds, allowed: 1 to 8")
    builds = {}
    for spec in a.build:
        name, path = parse_build(spec)
        if name in builds:
            die(f"--build '{spec}': the name '{name}' is given twice")
        builds[name] = path
    if not a.point:
        die("no --point 'LABEL: ARGS' given")
    points = [parse_point(s, builds) for s in a.point]
    try:
        rounds = int(a.rounds)
    except ValueError:
        rounds = 0
    if not 1 <= rounds <= 10000:
        die(f"--rounds '{a.rounds}': allowed 1 .. 10000")
    keep = [k for k in a.keep.split(",") if k]
    if not keep:
        die("--keep: no column named")
    if not a.out:
        die("no --out DIR given")
    out = os.path.join(a.out, "runs.csv")
    if os.path.exists(out):
        die(f"--out '{a.out}': {out} exists; choose a new directory")
    try:
        os.makedirs(a.out, exist_ok=True)
        f = open(out, "w", newline="", encoding="utf-8")
    except OSError as e:
        die(f"--out '{a.out}': {e.strerror}")
    extra = {b: supports(p) for b, p in builds.items()}
    names = list(builds)
    fields = ["round", "point", "build", "status", "rc"] + keep + ["note"]
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    f.flush()
    rows = []
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for label, args, only in points:
            for b in order:
                if b not in only:
                    continue
                row = {"round": r + 1, "point": label, "build": b,
                       **run_one(builds[b], args, extra[b], keep)}
                rows.append(row)
                w.writerow(row)
                f.flush()
    f.close()

    return print_table(rows, names, [(label, only) for label, _, only in points], keep, out)


def paired_ratios(rows, label, b, base, k):
    """Per round where both ran (ok), b's value of k over base's, sorted."""
    by = {}
    for x in rows:
        if x["point"] != label or x["status"] == "error":
            continue
        try:
            by.setdefault(x["round"], {})[x["build"]] = float(x[k])
        except (TypeError, ValueError):
            pass
    return sorted(d[b] / d[base] for d in by.values() if b in d and base in d and d[base] > 0)


def median_ci(xs, conf=0.95):
    """Median of sorted xs and the order-statistic interval [x_(j), x_(n+1-j)]
    with the largest j whose coverage, 1 - 2 P(Bin(n, 1/2) <= j-1), is at
    least conf (j = 1, the whole range, when n is too small for conf);
    returns (median, lo, hi, coverage)."""
    n = len(xs)
    j, below = 1, 0.5 ** n  # below = P(Bin(n, 1/2) <= j-1)
    while 2 * (j + 1) <= n + 1:
        nxt = below + math.comb(n, j) / 2 ** n
        if 1 - 2 * nxt < conf:
            break
        below, j = nxt, j + 1
    return statistics.median(xs), xs[j - 1], xs[n - j], 1 - 2 * below


def paired_cell(rs):
    if not rs:
        return ""
    med, lo, hi, cov = median_ci(rs)
    cell = f"{med:.2f} [{lo:.2f}, {hi:.2f}]"
    if cov < 0.95:
        cell += f" ({100 * cov:.0f} %)"
    return cell


def print_table(rows, names, points, keep, out):
    """The Markdown table; 1 when some run wrote no row."""
    base = names[0]
    print("| point | build | " + " | ".join(keep) + f" | {keep[0]} / {base} | paired, 95 % CI | runs |")
    print("|---|---|" + "---|" * len(keep) + "---|---|---|")
    for label, only in points:
        b0, _ = median_of([x for x in rows if x["point"] == label and x["build"] == base
                           and x["status"] != "error"], keep[0])
        for b in only:
            xs = [x for x in rows if x["point"] == label and x["build"] == b and x["status"] != "error"]
            meds = [median_of(xs, k)[0] for k in keep]
            cells = ["" if m is None else f"{m:.6g}" for m in meds]
            ratio = f"{meds[0] / b0:.2f}" if b0 and meds[0] is not None and base in only else ""
            pair = paired_cell(paired_ratios(rows, label, b, base, keep[0])) if b != base else ""
            print(f"| {label} | {b} | " + " | ".join(cells) + f" | {ratio} | {pair} | {len(xs)} |")
    errors = sum(1 for x in rows if x["status"] == "error")
    if errors:
        print(f"ab.py: {errors} of {len(rows)} runs wrote no row (status error in {out})", file=sys.stderr)
        return 1
    return 0


def table_of(path):
    """--table: the table again from a runs.csv, complete or cut short; builds and
    points in the order they first appear (the first build is the baseline)."""
    try:
        with open(path, encoding="utf-8") as f:
            r = csv.DictReader(f)
            fields = r.fieldnames or []
            rows = list(r)
    except OSError as e:
        die(f"--table '{path}': {e.strerror}")
    if fields[:5] != ["round", "point", "build", "status", "rc"] or fields[-1:] != ["note"] or len(fields) < 7:
        die(f"--table '{path}': not a runs.csv written by ab.py")
    if not rows:
        die(f"--table '{path}': no runs")
    names, points = [], {}
    for x in rows:
        if x["build"] not in names:
            names.append(x["build"])
        points.setdefault(x["point"], [])
        if x["build"] not in points[x["point"]]:
            points[x["point"]].append(x["build"])
    pts = [(p, [b for b in names if b in bs]) for p, bs in points.items()]
    return print_table(rows, names, pts, fields[5:-1], path)


if __name__ == "__main__":
    sys.exit(main())
