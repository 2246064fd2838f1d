#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The harness is a one-way stack (README "Layout", issue 8):

    main -> sweep/plan/merge/compare -> run -> child -> sinks -> base

Each harness/*.c may use what files of a lower layer define (functions and
global variables, found by name), never what a higher layer defines, and the
files form no cycle inside a layer either.  A new harness file must be given a
layer here.  Prints TAP.  usage: tests/test_layers.py [source root]"""
import os
import re
import sys

LAYER = {
    "main.c": 5,
    "sweep.c": 4, "plan.c": 4, "merge.c": 4, "compare.c": 4,
    "run.c": 3,
    "child.c": 2,
    "csv.c": 1, "stats.c": 1, "meta.c": 1, "memstat.c": 1, "perf.c": 1, "hist.c": 1,
    "canary.c": 1, "calibrate.c": 1,
    "base.c": 0,
}

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
hdir = os.path.join(root, "harness")
files = sorted(f for f in os.listdir(hdir) if f.endswith(".c"))
n = 0
bad = []


def strip(src):
    """Source without comments and string literals."""
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    return re.sub(r'"(\\.|[^"\\])*"', '""', src)


text = {f: strip(open(os.path.join(hdir, f)).read()) for f in files}
# External definitions: a line at column 0 that is not static and defines a
# pb_* function ("type pb_x(...)\n{") or a pb_* global ("type pb_x = ..." / "type pb_x;").
defs = {}
for f, src in text.items():
    for m in re.finditer(r"^(?!static\b)(?![ \t#}])[^\n;{(]*?\b(pb_[a-z0-9_]+)\s*(\(|\[|=|;)", src, re.M):
        name, kind = m.group(1), m.group(2)
        if kind == "(":
            # a definition has its body's brace after the parameter list
            rest = src[m.end():m.end() + 400]
            close = rest.find(")")
            if not re.match(r"\s*(__attribute__\s*\(\(.*?\)\)\s*)?\{", rest[close + 1:], re.S):
                continue
        defs.setdefault(name, f)

uses = {f: set() for f in files}
for f, src in text.items():
    for name in set(re.findall(r"\bpb_[a-z0-9_]+\b", src)):
        d = defs.get(name)
        if d and d != f:
            uses[f].add((d, name))

for f in files:
    n += 1
    if f not in LAYER:
        print("not ok %d - harness/%s has a layer in tests/test_layers.py" % (n, f))
        bad.append(f)
        continue
    up = sorted("%s (%s)" % (name, d) for d, name in uses[f] if LAYER.get(d, -1) > LAYER[f])
    if up:
        print("not ok %d - harness/%s (layer %d) uses no higher layer" % (n, f, LAYER[f]))
        for u in up:
            print("# uses %s" % u)
        bad.append(f)
    else:
        print("ok %d - harness/%s (layer %d) uses only %s" % (
            n, f, LAYER[f], ", ".join(sorted({d for d, _ in uses[f]})) or "nothing of harness/"))

# No cycle among the files (same-layer uses included).
graph = {f: {d for d, _ in uses[f]} for f in files}
state = {}
cycle = []


def visit(f, path):
    state[f] = 1
    for d in sorted(graph[f]):
        if state.get(d) == 1:
            cycle.append(path + [f, d])
        elif d in graph and not state.get(d):
            visit(d, path + [f])
    state[f] = 2


for f in files:
    if not state.get(f):
        visit(f, [])
n += 1
if cycle:
    print("not ok %d - the harness files form no cycle" % n)
    for c in cycle:
        print("# " + " -> ".join(c))
    bad.append("cycle")
else:
    print("ok %d - the harness files form no cycle" % n)
# The check itself must see something: base.c defines pb_usage_error, used upward.
n += 1
if defs.get("pb_usage_error") == "base.c" and ("base.c", "pb_usage_error") in uses["main.c"]:
    print("ok %d - the definition scan finds pb_usage_error in base.c and its use in main.c" % n)
else:
    print("not ok %d - the definition scan finds pb_usage_error in base.c (found: %s)" % (
        n, defs.get("pb_usage_error")))
    bad.append("scan")
print("1..%d" % n)
sys.exit(1 if bad else 0)
