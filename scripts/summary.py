#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Text summary of a poolbench results.csv: one line per point (all columns
# that define a configuration), median / min / max ns per job over the ok
# repetitions, median jobs/s, ok reps / reps, and the worst status.
# usage: scripts/summary.py RESULTS.csv
"""Summarise poolbench results per point (reads only the CSV)."""

import csv
import statistics
import sys

KEY = ["backend", "reclaim", "workload", "producers", "workers", "seg_size", "seg_count",
       "capacity", "seg_supply", "batch", "wake_min_jobs", "flush_us", "pin_workers",
       "pin_producers", "jobs", "backend_opts", "reclaim_opts", "workload_opts"]
SHOW = ["backend", "reclaim", "workload", "producers", "workers"]
SEVERITY = ["ok", "noisy", "skip", "invalid", "error", "crash", "stall"]  # as summary.csv worst_status


def main():
    if len(sys.argv) != 2:
        print("usage: summary.py RESULTS.csv", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print("summary.py: %s" % e, file=sys.stderr)
        return 1
    if rows and any(c not in rows[0] for c in SHOW + ["ns_per_job", "status"]):
        print("summary.py: %s is not a poolbench results.csv (see docs/csv.md)" % sys.argv[1],
              file=sys.stderr)
        return 1
    key = [c for c in KEY if rows and c in rows[0]]
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[c] for c in key), []).append(r)
    # Extra columns worth showing: those that vary inside one backend,
    # reclaimer and workload (the rest is implied by those three).
    base = {}
    for r in rows:
        base.setdefault((r["backend"], r["reclaim"], r["workload"]), []).append(r)
    extra = [c for c in key if c not in SHOW and
             any(len({r[c] for r in rs}) > 1 for rs in base.values())]
    cols = SHOW + extra
    head = cols + ["ns/job med", "min", "max", "jobs/s med", "ok", "status"]
    table = []
    for k, rs in groups.items():
        d = dict(zip(key, k))
        ns = sorted(float(r["ns_per_job"]) for r in rs if r["status"] == "ok")
        worst = max((r["status"] for r in rs),
                    key=lambda s: SEVERITY.index(s) if s in SEVERITY else len(SEVERITY))
        if ns:
            med = statistics.median(ns)
            nums = ["%.1f" % med, "%.1f" % ns[0], "%.1f" % ns[-1], "%.0f" % (1e9 / med)]
        else:
            nums = ["-"] * 4
        table.append([d[c] for c in cols] + nums + ["%d/%d" % (len(ns), len(rs)), worst])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table)]
    for line in [head] + table:
        print("  ".join(str(v).rjust(w) if i >= len(cols) else str(v).ljust(w)
                        for i, (v, w) in enumerate(zip(line, widths))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
