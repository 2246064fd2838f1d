#!/usr/bin/env python3
"""The era schemes' parking fix (65542f5), finely interleaved: every (point,
build) pair runs once per round, one repetition, the build order alternating,
so the VM's drift over minutes falls on both builds alike.  Builds:
before = add6001 (a worktree at /tmp/old, release build), after = this
checkout's build/.  Writes OUT/runs.csv (every run) and prints medians.
Usage: ab-era.py OUT [ROUNDS]"""
import csv
import os
import statistics
import subprocess
import sys
import tempfile

out = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 7
BIN = {"before": "/tmp/old/build/harness/poolbench", "after": "build/harness/poolbench"}
PIN = ["--pin-workers", "compact", "--pin-producers", "compact"]
POINTS = [(f"{rc} w={w}", ["--reclaim", rc, "--workers", str(w), "--jobs", "1000000"] + PIN)
          for rc in ("ibr", "he", "hp") for w in (1, 2)]
KEEP = ["ns_per_job", "allocs_per_job", "segs_peak", "pending_peak", "pending_end", "parks"]
os.makedirs(out, exist_ok=True)
rows = []
for r in range(rounds):
    order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
    for name, args in POINTS:
        for b in order:
            d = tempfile.mkdtemp()
            subprocess.run([BIN[b], "run", "--backend", "segmented", "--reps", "1", "--cov", "0",
                            "--quiet", "--no-calibrate", "--canary-tol", "0", "--out", d + "/o"] + args,
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
print("| point | build | ns/job | allocs/job | segs_peak | pending_peak | parks | n |")
print("|---|---|---|---|---|---|---|---|")
for name, _ in POINTS:
    for b in ("before", "after"):
        xs = [x for x in rows if x["point"] == name and x["build"] == b]
        med = {k: statistics.median(float(x[k]) for x in xs) for k in KEEP}
        print(f"| {name} | {b} | {med['ns_per_job']:.1f} | {med['allocs_per_job']:.6f} | "
              f"{med['segs_peak']:.0f} | {med['pending_peak']:.0f} | {med['parks']:.0f} | {len(xs)} |")
