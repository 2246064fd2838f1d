import csv, glob, statistics as st, sys
OUT = sys.argv[1]
def rows(pat):
    out = []
    for f in sorted(glob.glob(OUT + "/" + pat + "/results.csv")):
        out += [r for r in csv.DictReader(open(f))]
    return out
def med(rs, key, col="ns_per_job"):
    v = [float(r[col]) for r in rs if r["status"] in ("ok", "noisy") and key(r) and r.get(col) not in (None, "", "-")]
    return (st.median(v), len(v)) if v else (float("nan"), 0)
def table(title, pat, keys):
    print("\n### " + title)
    print("| point | before (88f025d) | after | after/before |")
    print("|---|---|---|---|")
    ro, rn = rows("old-" + pat), rows("new-" + pat)
    for name, k in keys:
        o, no = med(ro, k); n, nn = med(rn, k)
        print("| %s | %.1f (n=%d) | %.1f (n=%d) | %.2f |" % (name, o, no, n, nn, n / o if o == o and o else float("nan")))
seg = lambda rc, w: (lambda r: r["reclaim"] == rc and r["workers"] == str(w))
table("empty job, p=1, seg-size 64, pinned, ns/job", "seg64-*",
      [("segmented+%s w=%d" % (rc, w), seg(rc, w)) for rc in ("hp", "ckepoch", "urcu-memb", "urcu-qsbr") for w in (1, 2)])
table("seg-size 1, seg-count 128, p=1 w=2, pinned, ns/job", "seg1-*",
      [("segmented+%s" % rc, seg(rc, 2)) for rc in ("hp", "ckepoch")])
table("oversubscription (unpinned), p=1, ns/job", "over-*",
      [("%s w=%d" % (b, w), (lambda b, w: lambda r: r["backend"] == b and r["workers"] == str(w))(b, w)) for b in ("segmented", "mutex", "ckring") for w in (2, 8)])
print("\n### allocations per job at seg-size 64, p=1 (after): median, max; segs_peak median")
for rc in ("hp", "ckepoch", "urcu-memb", "urcu-qsbr"):
    for w in (1, 2):
        rs = [r for r in rows("new-seg64-*") if r["reclaim"] == rc and r["workers"] == str(w)]
        a = sorted(float(r["allocs_per_job"]) for r in rs)
        pk = sorted(int(r["segs_peak"]) for r in rs)
        print("%s w=%d: allocs/job median %.6f max %.6f; segs_peak median %d (prefill 128)" % (rc, w, st.median(a), a[-1], st.median(pk)))
print("\n### batched submit (after only), p=1 w=1, pinned, ns/job")
sb = rows("new-sbatch-*")
for b in ("segmented", "mutex", "ckring"):
    print("%s: per-job %.1f, batch 64 %.1f" % (b, med(sb, lambda r: r["backend"] == b and r["submit_batch"] == "1")[0], med(sb, lambda r: r["backend"] == b and r["submit_batch"] == "64")[0]))
print("\n### readiness stamp vs bitmap (after), segmented+hp, pinned, ns/job")
rd = rows("new-ready-*")
for ss in ("64", "1"):
    for w in ("1", "2"):
        for sbv in ("1", "64"):
            f = lambda kind: med(rd, lambda r: r["seg_size"] == ss and r["workers"] == w and r["submit_batch"] == sbv and ("readiness=" + kind) in r["backend_opts"])[0]
            print("seg-size %s w=%s submit-batch %s: stamp %.1f bitmap %.1f (bitmap/stamp %.2f)" % (ss, w, sbv, f("stamp"), f("bitmap"), f("bitmap") / f("stamp")))
qo, qn = rows("old-quick-*"), rows("new-quick-*")
if qo and qn:
    print("\n### quick preset, per point median ns/job")
    print("| point | before | after | after/before |")
    print("|---|---|---|---|")
    pts = sorted(set((r["backend"], r["reclaim"], r["workload"], r["workers"]) for r in qo))
    worst = []
    for p in pts:
        k = lambda r, p=p: (r["backend"], r["reclaim"], r["workload"], r["workers"]) == p
        o, _ = med(qo, k); n, _ = med(qn, k)
        worst.append((n / o, p))
        print("| %s | %.1f | %.1f | %.2f |" % ("/".join(p), o, n, n / o))
    print("worst after/before: %.2f at %s" % max(worst))
# status counts
import collections
c = collections.Counter(r["status"] for pat in ("old-*", "new-*") for r in rows(pat))
print("\nstatuses:", dict(c))
