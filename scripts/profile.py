#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where a point's nanoseconds go, on a machine without hardware counters.

Runs one poolbench point under valgrind's callgrind (instruction counts, which
do not drift with the machine's load as timings do) and prints, per job:

  * instructions executed, in all and per function (self cost);
  * atomic read-modify-writes (x86 lock-prefixed instructions and xchg with
    memory), per function: the cache-line transfers a lock-free queue pays
    for when threads share lines;
  * full fences (mfence, and "lock or $0,(%rsp)", the fence compilers emit
    for seq_cst fences).

Usage: scripts/profile.py [--poolbench PATH] [--top N] -- RUN-ARGS...
  e.g. scripts/profile.py -- --backend segmented --reclaim hp --workers 1
The RUN-ARGS go to "poolbench run"; --jobs defaults to 100000 and the script
adds --reps 1 --warmup 0 --cov 0 (and --no-calibrate where the build knows it).  Build with debug symbols
or not (function names come from the symbol table; build/ is a release
build with symbols kept).

What it cannot show: time.  Valgrind runs the threads one at a time, so
there is no contention, no cache miss between cores and no parking cost;
the counts are the single-core work a job costs, the floor under the
measured ns/job.  A count that is per job in one point may be per batch in
another: read them next to the point's batch size (batches_per_job in the
CSV).

--sample: time instead of counts.  Runs the point at full speed under
"perf record -e cpu-clock" (a software clock: it works in VMs without
hardware counters) and prints the CPU time per job of each thread role
(poolbench names its threads: pb-p<i> producers, pb-w<i> workers, pb-timer,
pb-monitor, pb-urcu-reclaim; "poolbench" is the main thread, whose setup,
prefill and teardown count here too), then the functions that take it, per
role, kernel ones included (page faults, futex calls).  Cross-core cache
misses and contended atomics show up as time in the function that waits on
them.  Sampling at 10 kHz: a row under about 20 samples is noise.  Needs
perf (Debian: linux-perf) and kernel.perf_event_paranoid <= 2 (or root).
--jobs defaults to 300000 here; warm-up is 0 so that every job is timed.
"""
import argparse
import collections
import csv
import glob
import os
import re
import subprocess
import sys
import tempfile


def die(msg):
    print("profile.py: " + msg, file=sys.stderr)
    sys.exit(2)


def parse_callgrind(path):
    """Self cost per (object, function) and per (object, address)."""
    by_fn = collections.Counter()
    by_addr = collections.Counter()
    names = {"ob": {}, "fn": {}}
    ob = fn = None
    addr = 0
    skip_next = False
    pos_re = re.compile(r"^([+-]?(?:0x[0-9a-fA-F]+|\d+)|\*)$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^(ob|fn|cob|cfn|fl|fi|fe|cfi|cfl)=\((\d+)\)(?: (.*))?$", line)
            if m:
                kind, ident, name = m.groups()
                key = "ob" if kind in ("ob", "cob") else "fn" if kind in ("fn", "cfn") else None
                if key and name is not None:
                    names[key][ident] = name
                if kind == "ob":
                    ob = names["ob"].get(ident, ident)
                elif kind == "fn":
                    fn = names["fn"].get(ident, ident)
                continue
            if line.startswith("calls="):
                skip_next = True  # the next cost line is the call's inclusive cost
                continue
            if "=" in line.split(" ")[0] or ":" in line.split(" ")[0]:
                continue
            parts = line.split()
            if not parts or not pos_re.match(parts[0]):
                continue
            a = parts[0]
            if a == "*":
                pass
            elif a[0] in "+-":
                addr += int(a, 0)
            else:
                addr = int(a, 16) if not a.startswith("0x") else int(a, 16)
            if skip_next:
                skip_next = False
                continue
            if len(parts) < 3:
                continue
            ir = int(parts[2])
            by_fn[(ob, fn)] += ir
            by_addr[(ob, fn, addr)] += ir
    return by_fn, by_addr


def atomic_addrs(obj):
    """Addresses of atomic RMWs and full fences in an object file."""
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}, {}
    rmw, fence = {}, {}
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        a, ins = int(m.group(1), 16), m.group(2).strip()
        if re.match(r"^lock\s+or[lq]?\s+\$0x0,(-?0x[0-9a-f]+)?\(%rsp\)", ins) or ins.startswith("mfence"):
            fence[a] = ins
        elif ins.startswith("lock ") or (re.match(r"^xchg[bwlq]?\s", ins) and "(" in ins):
            rmw[a] = ins
    return rmw, fence


def role_of(comm):
    """Thread role from the name poolbench gives it."""
    for prefix, role in (("pb-p", "producers"), ("pb-w", "workers"), ("pb-timer", "timer"),
                         ("pb-monitor", "monitor"), ("pb-urcu", "urcu reclaim thread")):
        if comm.startswith(prefix):
            return role
    return "main thread" if comm.startswith("poolbench") else "other (%s)" % comm


def perf_samples(text):
    """(comm, period, [(sym, dso), ...]) per sample of "perf script -F
    comm,period,ip,sym,dso" with call chains (innermost frame first)."""
    head_re = re.compile(r"^\s*(\S.*?)\s+(\d+)\s*$")
    frame_re = re.compile(r"^\s+[0-9a-f]+\s+(.*?)\s*\((.*)\)\s*$")
    cur = None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = frame_re.match(line) if line[0] in " \t" and cur else None
        if m:
            cur[2].append((re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)))
            continue
        m = head_re.match(line)
        if m:
            if cur:
                yield cur
            cur = (m.group(1), int(m.group(2)), [])
    if cur:
        yield cur


def sample_name(frames):
    """The function a sample is charged to.  In user space: the innermost
    frame.  In the kernel: the way in (a system call, a fault, an interrupt)
    and the user function it came from, e.g. "[k] exc_page_fault < seg_alloc"
    -- the kernel frame alone (pvm_irq_enable, ...) says nothing about why.
    Only the innermost user frame is trusted: a release build keeps no frame
    pointers, so the callers perf walks to beyond it may be wrong."""
    if not frames:
        return "?"
    kern = [f for f in frames if "kernel" in f[1]]
    if not kern:
        sym, dso = frames[0]
        return sym if sym and sym != "[unknown]" else "? (%s)" % os.path.basename(dso)
    user = [f for f in frames if "kernel" not in f[1]]
    entry = next((f[0] for f in kern if re.match(r"^(__x64_sys_|__do_sys_|exc_|sysvec_)", f[0])),
                 kern[0][0])
    name = "[k] " + entry
    if user and user[0][0] and user[0][0] != "[unknown]":
        name += " < " + user[0][0]
    return name


def sample(pb, args, top):
    """--sample: perf record -e cpu-clock, CPU time per job by role and function."""
    if subprocess.run(["sh", "-c", "command -v perf"], capture_output=True).returncode:
        die("perf is not installed (apt-get install linux-perf)")
    if "--jobs" not in args:
        args += ["--jobs", "300000"]
    jobs = int(args[args.index("--jobs") + 1])
    with tempfile.TemporaryDirectory(prefix="pb-sample-") as tmp:
        data, out = os.path.join(tmp, "perf.data"), os.path.join(tmp, "out")
        cmd = ["perf", "record", "-q", "-g", "-e", "cpu-clock", "-F", "10000", "-o", data, "--", pb, "run"] + \
            args + ["--reps", "1", "--warmup", "0", "--cov", "0", "--quiet", "--no-calibrate",
                    "--canary-tol", "0", "--out", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode or not os.path.exists(data):
            die("perf record failed (exit %d): %s" % (r.returncode, " ".join(r.stderr.strip().splitlines()[-2:])))
        try:
            with open(os.path.join(out, "results.csv"), encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            row = rows[0]
        except (OSError, IndexError):
            die("poolbench wrote no result under perf")
        if row["status"] != "ok":
            die("the point's run was not ok under perf: status %s" % row["status"])
        r = subprocess.run(["perf", "script", "-i", data, "-F", "comm,period,ip,sym,dso"],
                           capture_output=True, text=True)
        if r.returncode:
            die("perf script failed: %s" % r.stderr.strip().splitlines()[-1:])
    by_role, by_fn = collections.Counter(), collections.Counter()
    for comm, period, frames in perf_samples(r.stdout):
        role = role_of(comm)
        by_role[role] += period
        by_fn[(role, sample_name(frames))] += period
    if not by_role:
        die("perf recorded no samples (kernel.perf_event_paranoid too high?)")
    print("point: poolbench run %s" % " ".join(args))
    print("ns/job measured in this run, under perf: %.1f (%d timed jobs, warm-up 0)"
          % (float(row["ns_per_job"]), jobs))
    print()
    print("CPU time per job by thread role (ns; the whole process, cpu-clock samples at 10 kHz):")
    for role, t in by_role.most_common():
        print("  %-24s %10.1f%s" % (role, t / jobs, "  (and the parent: setup, prefill, canary, teardown)"
                                     if role == "main thread" else ""))
    print()
    print("%-52s %-12s %9s %7s" % ("function (self time; [k]: kernel, way in < from)", "role", "ns/job",
                                      "of role"))
    for (role, sym), t in by_fn.most_common(top):
        print("%-52s %-12s %9.1f %6.1f%%" % (sym[:52], role[:12], t / jobs, 100.0 * t / by_role[role]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--poolbench", default=None, help="poolbench binary (default build/harness/poolbench)")
    ap.add_argument("--top", type=int, default=14, help="functions to list (default 14)")
    ap.add_argument("--sample", action="store_true",
                    help="time per thread role and function under perf record -e cpu-clock")
    ap.add_argument("run_args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pb = a.poolbench or os.path.join(root, "build", "harness", "poolbench")
    if not os.access(pb, os.X_OK):
        die("%s: not an executable (build it: meson setup build -Dbuildtype=release && ninja -C build)" % pb)
    args = [x for x in a.run_args if x != "--"]
    if a.sample:
        return sample(pb, args, a.top)
    if subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode:
        die("valgrind is not installed (apt-get install valgrind)")
    if "--jobs" not in args:
        args += ["--jobs", "100000"]
    jobs = int(args[args.index("--jobs") + 1])
    # An older build (a before/after comparison) may not know --no-calibrate.
    helptext = subprocess.run([pb, "run", "--help"], capture_output=True, text=True)
    nocal = ["--no-calibrate"] if "--no-calibrate" in helptext.stdout + helptext.stderr else []
    with tempfile.TemporaryDirectory(prefix="pb-profile-") as tmp:
        cmd = ["valgrind", "--tool=callgrind", "--dump-instr=yes",
               "--callgrind-out-file=" + os.path.join(tmp, "cg.%p"), pb, "run"] + args + \
              ["--reps", "1", "--warmup", "0", "--cov", "0", "--quiet"] + nocal + \
              ["--out", os.path.join(tmp, "out")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            die("poolbench under callgrind failed (exit %d): %s" % (r.returncode, r.stderr.strip().splitlines()[-1:]))
        # The measuring child is the profile with the most cost (the parent
        # only plans and writes).
        files = sorted(glob.glob(os.path.join(tmp, "cg.*")), key=os.path.getsize)
        if not files:
            die("callgrind wrote no profile")
        best = None
        for f in files:
            by_fn, by_addr = parse_callgrind(f)
            if best is None or sum(by_fn.values()) > sum(best[0].values()):
                best = (by_fn, by_addr)
        by_fn, by_addr = best
    total = sum(by_fn.values())
    objs = {ob for ob, _, _ in by_addr}
    rmw_fn, fence_fn = collections.Counter(), collections.Counter()
    for ob in objs:
        if not ob or not os.path.exists(ob):
            continue
        rmw, fence = atomic_addrs(ob)
        for (o, fn, addr), ir in by_addr.items():
            if o != ob:
                continue
            if addr in rmw:
                rmw_fn[(o, fn)] += ir
            elif addr in fence:
                fence_fn[(o, fn)] += ir
    nrmw, nfence = sum(rmw_fn.values()), sum(fence_fn.values())
    # Fixed costs that are not the job path: the dynamic loader and the
    # canary (a fixed loop per repetition, docs/methodology.md).
    fixed = re.compile(r"^(_dl_|dl_|do_lookup|check_match|strcmp|canary_loop|_dl_relocate)")
    setup = sum(ir for (ob, fn), ir in by_fn.items() if fn and fixed.match(fn))
    print("point: poolbench run %s" % " ".join(args))
    print("jobs: %d (the whole child: setup, warmup 0, timed phase, teardown)" % jobs)
    print("instructions per job: %.1f (%.1f without the loader and the canary)"
          % (total / jobs, (total - setup) / jobs))
    print("atomic RMWs per job:  %.2f" % (nrmw / jobs))
    print("full fences per job:  %.3f" % (nfence / jobs))
    print()
    print("%-40s %10s %7s %9s %9s" % ("function (self cost)", "instr/job", "share", "RMWs/job",
                                         "fences/job"))
    for key, ir in by_fn.most_common(a.top):
        print("%-40s %10.1f %6.1f%% %9.3f %9.4f" % ((key[1] or "?")[:40], ir / jobs, 100.0 * ir / total,
                                                 rmw_fn[key] / jobs, fence_fn[key] / jobs))
    rest = [(k, v) for k, v in rmw_fn.most_common() if k not in dict(by_fn.most_common(a.top))]
    for key, n in rest[:6]:
        print("%-40s %10.1f %6.1f%% %9.3f %9.4f" % ((key[1] or "?")[:40], by_fn[key] / jobs,
                                                 100.0 * by_fn[key] / total, n / jobs, fence_fn[key] / jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
