#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The seed's published figures (azargarov/wpool, the Go pool poolbench starts
# from), as data: each figure with its source and the machine it came from, so
# that scripts/report.py can set them beside ours.  Transcribed from
# docs/seed.md (the seed's figures with their sources, in the repository).
"""wpool's published figures, for comparison tables (see docs/plots.md)."""

# Machines.  Figures from one machine only compare with figures from the same
# machine; ours come with their own meta.json.
MACHINES = {
    "ryzen": "AMD Ryzen 7 8845HS, 8 cores / 16 threads (wpool's author; Go 1.22)",
    "vm2": "2-core development VM, AMD EPYC (same kind as poolbench's development "
           "machines); wpool's own benchmark suite built with Go 1.19",
    "xeon16": "16-core Intel Xeon (model 207), KVM, 16 cores, no SMT, 1 NUMA node, SHA-NI; "
              "wpool's own benchmark suite built with Go 1.19, medians of 3",
}

SOURCES = {
    "readme": "wpool README (published)",
    "article": "wpool article (published)",
    "here": "wpool's benchmark suite run on this project's machines (anchors/wpool.md)",
}

# Caveats the report prints under each comparison table.
CAVEATS = {
    "worker-scale": "wpool figures: 1 producer, ns/op.  The Go build's sha256 job takes "
                    "~20-28 µs on the project's machines, OpenSSL's SHA-256 of the same 8 KiB "
                    "several times less: compare speed-up curves for sha256, not times.",
    "segment-size": "wpool figures: empty job, SEGCOUNT=128; on vm2 and xeon16 with 2 workers, "
                    "on the Ryzen with 16 threads.  Where a range is given, it is min-max.",
    "latency": "wpool figures: submit-to-start latency from its article, Ryzen, 16 threads.",
}

# Worker scaling: (machine, source, workload, workers, ns per op); 1 producer.
WORKER_SCALE = [
    ("ryzen", "readme", "empty", 1, 93), ("ryzen", "readme", "empty", 2, 115),
    ("ryzen", "readme", "empty", 4, 146), ("ryzen", "readme", "empty", 8, 261),
    ("ryzen", "readme", "empty", 16, 855),
    ("ryzen", "readme", "sha256", 1, 4379), ("ryzen", "readme", "sha256", 2, 2267),
    ("ryzen", "readme", "sha256", 4, 1200), ("ryzen", "readme", "sha256", 8, 683),
    ("ryzen", "readme", "sha256", 16, 557),
    ("ryzen", "readme", "cpu", 1, 40939), ("ryzen", "readme", "cpu", 4, 11064),
    ("ryzen", "readme", "cpu", 8, 7395), ("ryzen", "readme", "cpu", 16, 5927),
    ("vm2", "here", "empty", 1, 293), ("vm2", "here", "empty", 2, 251),
    ("vm2", "here", "sha256", 1, 19802), ("vm2", "here", "sha256", 2, 16966),
    ("vm2", "here", "cpu", 1, 41592), ("vm2", "here", "cpu", 2, 24679),
    ("vm2", "here", "io", 1, 11932), ("vm2", "here", "io", 2, 9275),
    ("xeon16", "here", "empty", 1, 412), ("xeon16", "here", "empty", 2, 580),
    ("xeon16", "here", "empty", 4, 555), ("xeon16", "here", "empty", 8, 481),
    ("xeon16", "here", "empty", 16, 515),
    ("xeon16", "here", "sha256", 1, 27796), ("xeon16", "here", "sha256", 2, 14743),
    ("xeon16", "here", "sha256", 4, 7809), ("xeon16", "here", "sha256", 8, 3828),
    ("xeon16", "here", "sha256", 16, 2037),
    ("xeon16", "here", "cpu", 1, 50120), ("xeon16", "here", "cpu", 2, 21803),
    ("xeon16", "here", "cpu", 4, 13446), ("xeon16", "here", "cpu", 8, 6995),
    ("xeon16", "here", "cpu", 16, 3669),
    ("xeon16", "here", "io", 1, 2555), ("xeon16", "here", "io", 2, 2248),
    ("xeon16", "here", "io", 4, 1505), ("xeon16", "here", "io", 8, 1098),
    ("xeon16", "here", "io", 16, 1149),
]

# Segment size, empty job, SEGCOUNT=128: (machine, source, seg_size, workers
# (None: "16 threads"), ns per op low, high, allocs per op or None).
SEGMENT_SIZE = [
    ("ryzen", "article", 1, None, 784, 784, 2),
    ("ryzen", "article", 64, None, 166, 166, None),
    ("ryzen", "article", 4096, None, 103, 103, None),
    ("vm2", "here", 1, 2, 1637, 2695, 2),
    ("vm2", "here", 64, 2, 317, 382, 0),
    ("xeon16", "here", 1, 2, 686, 988, 2),
    ("xeon16", "here", 64, 2, 474, 502, 0),
    ("xeon16", "here", 4096, 2, 516, 538, 0),
]

# Latency (submit to start): (machine, source, percentile column, ns).
LATENCY = [
    ("ryzen", "article", "lat_p50_ns", 1700),
    ("ryzen", "article", "lat_p90_ns", 4500),
    ("ryzen", "article", "lat_p99_ns", 25000),
]


def machine(key):
    """The description of machine @key."""
    return MACHINES[key]


if __name__ == "__main__":
    # A self-check: every figure names a known machine and source.
    import sys
    bad = [r for t in (WORKER_SCALE, SEGMENT_SIZE, LATENCY) for r in t
           if r[0] not in MACHINES or r[1] not in SOURCES]
    for r in bad:
        print("anchors.py: unknown machine or source in %r" % (r,), file=sys.stderr)
    print("%d worker-scale, %d segment-size, %d latency figures"
          % (len(WORKER_SCALE), len(SEGMENT_SIZE), len(LATENCY)))
    sys.exit(1 if bad else 0)
