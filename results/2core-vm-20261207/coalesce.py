#!/usr/bin/env python3
"""Tables of the --coalesce sweep in coalesce/ (medians over repetitions).
Usage: coalesce.py [DIR]  (DIR: this file's folder by default)."""
import os
import sys

import numpy as np
import pandas as pd

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def load(name):
    d = pd.read_csv(os.path.join(here, "coalesce", name, "results.csv"), na_values=["-"])
    d["reclaim"] = d["reclaim"].fillna("-")
    d["jobs_per_batch"] = d["jobs"] / d["batches"]
    return d


def table(d, by):
    g = d.groupby(by)
    return g.agg(ns_per_job=("ns_per_job", "median"), jobs_per_batch=("jobs_per_batch", "median"),
                 lat_p50_ns=("lat_p50_ns", "median"), lat_p99_ns=("lat_p99_ns", "median"),
                 reps=("ns_per_job", "size")).round(1)


print("== throughput mode, segmented, p=1 (tp/)")
print(table(load("tp"), ["reclaim", "workers", "coalesce"]).drop(columns=["lat_p50_ns", "lat_p99_ns"]).to_string())
print("\n== latency mode, segmented+hp, p=1 (lat/)")
print(table(load("lat"), ["workers", "coalesce"]).to_string())
for r in ("rate200000", "rate2000000"):
    print(f"\n== rate mode {r[4:]} jobs/s, segmented+hp, p=1 ({r}/)")
    print(table(load(r), ["workers", "coalesce"]).to_string())
a = load("all")
m = a.groupby(["backend", "reclaim", "workers", "coalesce"])["ns_per_job"].median().unstack("coalesce")
m["ratio_64_over_0"] = m[64] / m[0]
print("\n== every backend and reclaimer, coalesce 0 vs 64, throughput, p=1 (all/)")
print(m.round(2).to_string())
print("\ngeometric mean of the ratio, by workers:")
print(m.groupby(level="workers")["ratio_64_over_0"].apply(lambda x: float(np.exp(np.log(x).mean()))).round(3).to_string())
print("\n== mutex against segmented+hp, w=1 (mx/)")
print(table(load("mx"), ["backend", "coalesce"]).drop(columns=["lat_p50_ns", "lat_p99_ns"]).to_string())
