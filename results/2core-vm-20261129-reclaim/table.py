#!/usr/bin/env python3
# Builds table.md from the three runs' results.csv (medians over the ok and
# noisy repetitions of each point; the count of each is shown).
import csv, os, statistics as st
D = os.path.dirname(os.path.abspath(__file__))
ALL = "hp urcu-memb urcu-qsbr urcu-bp ckepoch limbo none ibr he".split()
NEW = {"ibr", "he", "urcu-bp"}
def rows(p):
    return list(csv.DictReader(open(os.path.join(D, p, "results.csv"))))
def med(rs, col):
    v = [float(r[col]) for r in rs if r["status"] in ("ok", "noisy") and r[col] not in ("-", "n/a", "")]
    return (st.median(v) if v else None), len(v)
thr, lat = rows("throughput"), rows("latency")
codes = dict(l.split(" rc=") for l in open(os.path.join(D, "bounded", "exit_codes.txt")).read().split("\n") if l)
out = ["| scheme | ns/job seg-size 64 | ns/job seg-size 1 | queue allocs/job (latency, seg-size 1) | allocs/job all (latency) | pending peak (latency, seg-size 1) | bounded seg-size 1, seg-count 16, p=2 w=2 |",
       "|---|---|---|---|---|---|---|"]
for r in ALL:
    a, na = med([x for x in thr if x["reclaim"] == r and x["seg_size"] == "64"], "ns_per_job")
    b, nb = med([x for x in thr if x["reclaim"] == r and x["seg_size"] == "1"], "ns_per_job")
    l = [x for x in lat if x["reclaim"] == r]
    q, nq = med(l, "queue_allocs_per_job")
    al, _ = med(l, "allocs_per_job")
    p, _ = med(l, "pending_peak")
    rc = codes.get(r, "?")
    if rc == "0":
        brs = rows(os.path.join("bounded", r))
        b16 = "finished (" + ", ".join(x["status"] for x in brs) + ", %.0f ns/job)" % float(brs[0]["ns_per_job"])
    elif rc == "2":
        msg = open(os.path.join(D, "bounded", r + ".err")).read().strip().split(": ")[-1]
        b16 = "refused: " + msg
    else:
        b16 = "did not finish (rc %s)" % rc
    f = lambda v, fmt: "-" if v is None else fmt % v
    out.append("| %s%s | %s (%d) | %s (%d) | %s | %s | %s | %s |" % (
        r, " (new)" if r in NEW else "", f(a, "%.0f"), na, f(b, "%.0f"), nb, f(q, "%.5f"), f(al, "%.4f"), f(p, "%.0f"), b16))
open(os.path.join(D, "table.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
