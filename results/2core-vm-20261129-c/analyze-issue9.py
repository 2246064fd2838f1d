#!/usr/bin/env python3
"""Tables for run-issue9.sh: medians of ns/job per build and point.
Usage: analyze-issue9.py OUTDIR"""
import collections
import csv
import glob
import os
import statistics
import sys

out = sys.argv[1]
rows = collections.defaultdict(list)   # (block, point) -> build -> [ns]
extra = collections.defaultdict(list)  # (block, point) -> build -> rows
for path in sorted(glob.glob(os.path.join(out, "*", "results.csv"))):
    d = os.path.basename(os.path.dirname(path))
    build, block, _rnd = d.split("-", 2)[0], d.split("-")[1], d.split("-")[-1]
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["status"] not in ("ok", "noisy"):
                continue
            pt = (r["backend"], r["reclaim"], r["workload"], r["workers"], r["seg_size"],
                  r.get("submit_batch", "1"), r.get("backlog", "0"))
            rows[(block, pt)].append((build, float(r["ns_per_job"]), r))


def med(v):
    return statistics.median(v) if v else float("nan")


builds = ["old", "mid", "new"]
for block in ["seg64", "seg1", "over", "sbatch", "quick", "backlog", "backlog1", "allocs"]:
    keys = sorted(k for k in rows if k[0] == block)
    if not keys:
        continue
    print("\n## %s\n" % block)
    print("| backend | reclaim | workload | w | seg | submit-batch | backlog | old | mid | new | new/old | new/mid | allocs/job (new) | segs_peak (new) | n |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k in keys:
        by = {b: [ns for bb, ns, _ in rows[k] if bb == b] for b in builds}
        m = {b: med(by[b]) for b in builds}
        newrows = [r for bb, _, r in rows[k] if bb == "new"]
        al = med([float(r["allocs_per_job"]) for r in newrows if r["allocs_per_job"] not in ("n/a", "-", "")])
        sp = med([float(r["segs_peak"]) for r in newrows if r["segs_peak"] not in ("n/a", "-", "")])
        f = lambda x: "–" if x != x else "%.1f" % x
        ratio = lambda a, b: "–" if a != a or b != b else "%.2f" % (a / b)
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            k[1][0], k[1][1], k[1][2], k[1][3], k[1][4], k[1][5], k[1][6], f(m["old"]), f(m["mid"]),
            f(m["new"]), ratio(m["new"], m["old"]), ratio(m["new"], m["mid"]),
            "–" if al != al else "%.6f" % al, "–" if sp != sp else "%.0f" % sp,
            "/".join(str(len(by[b])) for b in builds)))
