#!/usr/bin/env python3
"""Issue 9 targets, finely interleaved: every (point, build) pair runs once
per round, one repetition, in a rotating build order, so drift of the VM over
minutes falls on every build alike (run-issue9.sh interleaves whole blocks,
~1.5 min per build, too coarse for this VM).  Writes OUT/runs.csv (every run)
and prints medians.  Builds as in run-issue9.sh.
Usage: ab-fine.py OUT [ROUNDS]"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile

out = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
BIN = {"old": "/tmp/old/build/harness/poolbench", "mid": "/tmp/exp/build/harness/poolbench",
       "new": "build/harness/poolbench"}
PIN = ["--pin-workers", "compact", "--pin-producers", "compact"]
POINTS = [  # name, args, builds
    ("hp w=1", ["--reclaim", "hp", "--workers", "1", "--jobs", "1000000"] + PIN, "old mid new"),
    ("hp w=1 submit-batch 64", ["--reclaim", "hp", "--workers", "1", "--jobs", "1000000",
                                "--submit-batch", "64"] + PIN, "mid new"),
    ("hp w=2", ["--reclaim", "hp", "--workers", "2", "--jobs", "1000000"] + PIN, "old mid new"),
    ("ckepoch w=2", ["--reclaim", "ckepoch", "--workers", "2", "--jobs", "1000000"] + PIN, "old mid new"),
    ("hp w=2 seg-size 1", ["--reclaim", "hp", "--workers", "2", "--seg-size", "1", "--jobs", "200000"] + PIN,
     "old mid new"),
    ("ckepoch w=2 seg-size 1", ["--reclaim", "ckepoch", "--workers", "2", "--seg-size", "1",
                                "--jobs", "200000"] + PIN, "old mid new"),
]
os.makedirs(out, exist_ok=True)
rows = []
builds_all = ["old", "mid", "new"]
for r in range(rounds):
    order = builds_all[r % 3:] + builds_all[:r % 3]
    for name, args, builds in POINTS:
        for b in order:
            if b not in builds.split():
                continue
            d = tempfile.mkdtemp()
            extra = [] if b == "old" else ["--no-calibrate", "--canary-tol", "0"]
            subprocess.run([BIN[b], "run", "--backend", "segmented", "--reps", "1", "--cov", "0", "--quiet",
                            "--out", d + "/o"] + args + extra,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                with open(d + "/o/results.csv", encoding="utf-8") as f:
                    x = next(csv.DictReader(f))
            except (OSError, StopIteration):
                continue
            rows.append({"round": r + 1, "point": name, "build": b, "status": x["status"],
                         "ns_per_job": x["ns_per_job"], "allocs_per_job": x["allocs_per_job"],
                         "segs_peak": x["segs_peak"]})
with open(os.path.join(out, "runs.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print("| point | old | mid | new | new/old | new/mid | n |")
print("|---|---|---|---|---|---|---|")
for name, _, _ in POINTS:
    m = {}
    for b in builds_all:
        v = [float(x["ns_per_job"]) for x in rows if x["point"] == name and x["build"] == b]
        m[b] = (statistics.median(v), len(v)) if v else (float("nan"), 0)
    f = lambda v: "–" if v != v else "%.1f" % v
    ra = lambda a, c: "–" if a != a or c != c else "%.2f" % (a / c)
    print("| %s | %s | %s | %s | %s | %s | %s |" % (name, f(m["old"][0]), f(m["mid"][0]), f(m["new"][0]),
                                               ra(m["new"][0], m["old"][0]), ra(m["new"][0], m["mid"][0]),
                                               "/".join(str(m[b][1]) for b in builds_all)))
