#!/usr/bin/env python3
"""Issue 9's targets at main, finely interleaved against the build from
before any issue-9 work: every (point, build) pair runs once per round, one
repetition, the build order alternating.  Builds: old = 88f025d (a worktree
at /tmp/old88, release build; it lacks --no-calibrate, --canary-tol,
--submit-batch, --backlog and --coalesce), new = this checkout's build/.
Writes OUT/runs.csv and prints medians.  Usage: targets.py OUT [ROUNDS]"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile

out = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
BIN = {"old": "/tmp/old88/build/harness/poolbench", "new": "build/harness/poolbench"}
PIN = ["--pin-workers", "compact", "--pin-producers", "compact"]
M = ["--jobs", "1000000"]
POINTS = [  # name, args, builds
    ("hp w=1", ["--reclaim", "hp", "--workers", "1"] + M + PIN, "old new"),
    ("hp w=1 coalesce 64", ["--reclaim", "hp", "--workers", "1", "--coalesce", "64"] + M + PIN, "new"),
    ("hp w=1 submit-batch 64", ["--reclaim", "hp", "--workers", "1", "--submit-batch", "64"] + M + PIN, "new"),
    ("hp w=2", ["--reclaim", "hp", "--workers", "2"] + M + PIN, "old new"),
    ("ckepoch w=2", ["--reclaim", "ckepoch", "--workers", "2"] + M + PIN, "old new"),
    ("hp w=2 seg-size 1", ["--reclaim", "hp", "--workers", "2", "--seg-size", "1", "--jobs", "200000"] + PIN,
     "old new"),
    ("ckepoch w=2 seg-size 1", ["--reclaim", "ckepoch", "--workers", "2", "--seg-size", "1",
                                "--jobs", "200000"] + PIN, "old new"),
    ("hp w=2 unpinned", ["--reclaim", "hp", "--workers", "2", "--pin-workers", "none",
                         "--pin-producers", "none"] + M, "old new"),
    ("hp w=8 unpinned", ["--reclaim", "hp", "--workers", "8", "--pin-workers", "none",
                         "--pin-producers", "none"] + M, "old new"),
] + [(f"{rc} w=2 backlog 4096", ["--reclaim", rc, "--workers", "2", "--backlog", "4096"] + M + PIN, "new")
     for rc in ("hp", "ckepoch", "urcu-memb", "urcu-qsbr", "urcu-bp", "ibr", "he")]
KEEP = ["ns_per_job", "allocs_per_job", "segs_peak", "pending_peak"]
os.makedirs(out, exist_ok=True)
rows = []
for r in range(rounds):
    order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
    for name, args, builds in POINTS:
        for b in order:
            if b not in builds.split():
                continue
            d = tempfile.mkdtemp()
            extra = [] if b == "old" else ["--no-calibrate", "--canary-tol", "0"]
            subprocess.run([BIN[b], "run", "--backend", "segmented", "--reps", "1", "--cov", "0", "--quiet",
                            "--out", d + "/o"] + args + extra,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            try:
                with open(d + "/o/results.csv", encoding="utf-8") as f:
                    x = next(csv.DictReader(f))
            except (OSError, StopIteration):
                continue
            rows.append({"round": r + 1, "point": name, "build": b, "status": x["status"],
                         **{k: x[k] for k in KEEP}})
with open(os.path.join(out, "runs.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)


def med(name, b, k):
    xs = [float(x[k]) for x in rows if x["point"] == name and x["build"] == b and x[k] not in ("", "-")]
    return (statistics.median(xs), len(xs)) if xs else (float("nan"), 0)


print("| point | old ns/job | new ns/job | new/old | new allocs/job | new pending_peak | n |")
print("|---|---|---|---|---|---|---|")
for name, _, builds in POINTS:
    o, _ = med(name, "old", "ns_per_job")
    n, cnt = med(name, "new", "ns_per_job")
    a, _ = med(name, "new", "allocs_per_job")
    pp, _ = med(name, "new", "pending_peak")
    ratio = f"{n / o:.2f}" if "old" in builds else ""
    ostr = f"{o:.1f}" if "old" in builds else ""
    print(f"| {name} | {ostr} | {n:.1f} | {ratio} | {a:.6f} | {pp:.0f} | {cnt} |")
