#!/bin/bash
# SPDX-License-Identifier: MIT
# CLI tests of the sweep identity and the cluster safety nets (meson suite
# 'cli', issue 12): --resume refuses another sweep's directory naming what
# differs, --append --resume is refused, SIGTERM/SIGINT stop after the current
# row with summary.csv, the exact --resume command and a non-zero exit, and no
# .timeseries.*.part file left; merge refuses a missing shard, shards of two
# sweeps, two cuts and missing (point, rep) pairs, --allow-partial records the
# gap, timeseries.csv is merged; "poolbench status"; meta.json records every
# invocation and the CPUs allowed under taskset.  TAP.
# usage: tests/test_cli_cluster.sh path/to/poolbench
set -u

PB=${1:?usage: test_cli_cluster.sh path/to/poolbench}
. "$(dirname "$0")/tap.sh"
tap_init clicluster
unset PB_FAULT PB_FAKE_NS_PER_JOB

py() { "$PY" - "$@"; }

# one_line_refusal DESC WANT RC_FILE ERR_FILE: exit 2, one line, naming WANT.
refused() {
	local desc=$1 want=$2 rc=$3 err=$4
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$err")" -eq 1 ] && grep -qF -- "$want" "$err"; then
		ok "$desc ($(cut -c1-220 "$err"))"
	else
		fail "$desc" "rc=$rc, want exit 2 and one line naming '$want'" "$(head -5 "$err")"
	fi
}

# (point_id, rep) pairs of a results.csv, sorted, one per line.
pairs() { py "$1" <<'EOF'
import csv, sys
for p in sorted((r["point_id"], int(r["rep"])) for r in csv.DictReader(open(sys.argv[1]))):
    print(p[0], p[1])
EOF
}

# ---- SIGTERM to poolbench, SIGINT to its process group ---------------------------
SLOW=(run --backend ckring --workers 1,2 --duration 0.3s --reps 3 --cov 0 --watchdog 30)
for sig in TERM INT; do
	out="$T/sig$sig"
	if [ $sig = TERM ]; then
		"$PB" "${SLOW[@]}" --out "$out" >"$T/sig.out" 2>"$T/sig.err" &
		pid=$!
	else
		# A new process group, as a terminal's Ctrl-C reaches it: parent and child.
		setsid "$PB" "${SLOW[@]}" --out "$out" >"$T/sig.out" 2>"$T/sig.err" &
		pid=$!
	fi
	for _ in $(seq 1 150); do
		[ "$(cat "$out/results.csv" 2>/dev/null | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	if [ $sig = TERM ]; then kill -TERM "$pid"; else kill -INT -- "-$pid"; fi
	wait "$pid"
	rc=$?
	want=$((128 + $([ $sig = TERM ] && echo 15 || echo 2)))
	rows=$(($(wc -l <"$out/results.csv") - 1))
	cmd=$(grep -A1 'continue with:' "$T/sig.err" | tail -1 | sed 's/^  //')
	parts=$(ls -a "$out" | grep -c '\.part$')
	if [ $rc -eq $want ] && grep -q "interrupted by SIG$sig" "$T/sig.err" && [ -s "$out/summary.csv" ] &&
	   [ "$parts" -eq 0 ] && [ "$rows" -ge 1 ] && [ "$rows" -lt 6 ] &&
	   [[ "$cmd" == *" --out $out --resume" ]]; then
		ok "SIG$sig: exit $rc, summary.csv written for $rows rows, no .part file, prints: $cmd"
	else
		fail "SIG$sig stops the sweep cleanly" "rc=$rc (want $want) rows=$rows parts=$parts cmd='$cmd'" \
			"$(tail -4 "$T/sig.err")" "$(ls -a "$out" | tr '\n' ' ')"
	fi
	# The printed command completes the sweep: every (point, rep) once.
	eval "$cmd" >/dev/null 2>"$T/sig2.err"
	rc=$?
	got=$(pairs "$out/results.csv" | awk '{print $2}' | tr '\n' ' ')
	if [ $rc -eq 0 ] && [ "$got" = "1 2 3 1 2 3 " ]; then
		ok "SIG$sig: the printed --resume command completes the sweep, each (point, rep) once"
	else
		fail "SIG$sig: the printed --resume command completes the sweep" "rc=$rc reps: $got" "$(tail -3 "$T/sig2.err")"
	fi
done

# ---- --resume refusals ----------------------------------------------------------
# Explicit placement: "auto" (the default) resolves against the allowed CPUs, so a
# --resume under taskset -c 0 would plan other points (docs/sweeps.md).
R=(run --backend ckring,mutex --workers 1 --jobs 1000 --reps 2 --cov 0 --watchdog 30 --quiet
   --pin-workers none --pin-producers none)
"$PB" "${R[@]}" --out "$T/r" >/dev/null 2>&1
sum0=$(md5sum <"$T/r/results.csv")
"$PB" "${R[@]}" --workers 1,2 --out "$T/r" --resume >/dev/null 2>"$T/e"
refused "--resume with other points is refused, naming them" "the planned points differ (4 points" $? "$T/e"
"$PB" "${R[@]}" --shard 1/2 --out "$T/r" --resume >/dev/null 2>"$T/e"
refused "--resume with another --shard is refused, naming it" "the shard differs (1/2 here, 1/1 there)" $? "$T/e"
"$PB" "${R[@]}" --out "$T/r" --resume --append >/dev/null 2>"$T/e"
refused "--append with --resume is refused" "--append and --resume exclude each other" $? "$T/e"
# Another commit: as if the directory had been written by another build.
sed -i 's/"fingerprint": "[0-9a-f]*"/"fingerprint": "0123456789abcdef"/; s/"commit": "[^"]*"/"commit": "0000000-other"/' "$T/r/meta.json"
"$PB" "${R[@]}" --out "$T/r" --resume >/dev/null 2>"$T/e"
refused "--resume of a directory of another commit is refused, naming it" "the commit differs (" $? "$T/e"
if [ "$(md5sum <"$T/r/results.csv")" = "$sum0" ]; then
	ok "refused --resume left results.csv untouched"
else
	fail "refused --resume left results.csv untouched"
fi
"$PB" "${R[@]}" --out "$T/fresh" --resume >/dev/null 2>"$T/e"
rc=$?
if [ $rc -eq 0 ] && [ "$(pairs "$T/fresh/results.csv" | wc -l)" -eq 4 ]; then
	ok "--resume of a directory that does not exist yet starts the sweep (a first Slurm attempt)"
else
	fail "--resume of a new directory starts the sweep" "rc=$rc" "$(cat "$T/e")"
fi

# A directory with rows but no meta.json: refused; with a header only (a first
# attempt killed before meta.json was written): resumed.
mkdir -p "$T/nometa" "$T/hdronly"
cp "$T/fresh/results.csv" "$T/nometa/"
head -n 1 "$T/fresh/results.csv" >"$T/hdronly/results.csv"
"$PB" "${R[@]}" --out "$T/nometa" --resume >/dev/null 2>"$T/e"
refused "--resume of rows without meta.json is refused" "nometa/meta.json is missing" $? "$T/e"
"$PB" "${R[@]}" --out "$T/hdronly" --resume >/dev/null 2>"$T/e"
rc=$?
if [ $rc -eq 0 ] && [ "$(pairs "$T/hdronly/results.csv" | wc -l)" -eq 4 ]; then
	ok "--resume of a header-only results.csv without meta.json runs the sweep"
else
	fail "--resume of a header-only results.csv" "rc=$rc" "$(cat "$T/e")"
fi

# ---- meta.json: every invocation, allowed CPUs -------------------------------------
taskset -c 0 "$PB" "${R[@]}" --reps 3 --out "$T/fresh" --resume >/dev/null 2>&1
if probs=$(py "$T/fresh/meta.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
bad = []
runs = m["runs"]
if len(runs) != 2:
    bad.append("%d runs, expected 2" % len(runs))
for k in ("sweep", "planned", "host", "cpus_allowed", "ncpus_allowed", "command"):
    for r in runs:
        if k not in r:
            bad.append("runs[] lacks %s" % k)
if runs[0]["sweep"]["fingerprint"] != runs[1]["sweep"]["fingerprint"]:
    bad.append("fingerprints differ between the runs")
if runs[1]["cpus_allowed"] != "0" or runs[1]["ncpus_allowed"] != 1:
    bad.append("under taskset -c 0: cpus_allowed %r ncpus %r" % (runs[1]["cpus_allowed"], runs[1]["ncpus_allowed"]))
if "--resume" not in runs[1]["command"] or not runs[1]["resume"]:
    bad.append("second run is not the --resume one")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
); then
	ok "meta.json: one runs[] entry per invocation (sweep identity, host, command); taskset -c 0 recorded as cpus_allowed 0"
else
	fail "meta.json per invocation and allowed CPUs" "$probs"
fi
taskset -c 0 "$PB" "${R[@]}" --out "$T/ts0" >/dev/null 2>&1
np=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["nproc"], m["cpus_allowed"])' "$T/ts0/meta.json")
if [ "$np" = "1 0" ]; then
	ok "meta.json under taskset -c 0: nproc 1, cpus_allowed 0 (not every CPU)"
else
	fail "meta.json under taskset -c 0" "nproc, cpus_allowed = $np"
fi

# ---- merge: checks ------------------------------------------------------------------
S=(run --backend ckring,mutex --workers 1,2 --jobs 1000 --reps 2 --cov 0 --watchdog 30 --sample-ms 1 --quiet)
"$PB" "${S[@]}" --out "$T/all" >/dev/null 2>&1
for k in 1 2 3; do "$PB" "${S[@]}" --shard $k/3 --out "$T/s$k" >/dev/null 2>&1; done
"$PB" "${S[@]}" --shard 2/4 --out "$T/c24" >/dev/null 2>&1
"$PB" "${S[@]}" --workers 1,2,3 --shard 2/3 --out "$T/o2" >/dev/null 2>&1

"$PB" merge "$T/s1" "$T/s3" --out "$T/m1" >/dev/null 2>"$T/e"
refused "merge of 2 of 3 shards is refused, naming the missing shard" "missing shard 2/3 (2 of 3 present)" $? "$T/e"
[ ! -e "$T/m1" ] && ok "refused merge wrote nothing" || fail "refused merge wrote nothing" "$(ls "$T/m1")"
"$PB" merge "$T/s1" "$T/o2" "$T/s3" --out "$T/m2" >/dev/null 2>"$T/e"
refused "merge of shards of two sweeps is refused, naming what differs" "hold different sweeps: the planned points differ" $? "$T/e"
"$PB" merge "$T/s1" "$T/c24" --out "$T/m3" >/dev/null 2>"$T/e"
refused "merge of shards cut differently (1/3 with 2/4) is refused" "are cut differently" $? "$T/e"
mkdir -p "$T/s2cut"
cp "$T/s2/meta.json" "$T/s2/summary.csv" "$T/s2cut/"
head -n 2 "$T/s2/results.csv" >"$T/s2cut/results.csv" # the first row only
"$PB" merge "$T/s1" "$T/s2cut" "$T/s3" --out "$T/m4" >/dev/null 2>"$T/e"
refused "merge with missing (point, rep) pairs is refused, naming them" "1 (point, rep) pair missing (at most): shard 2/3" $? "$T/e"
"$PB" merge "$T/s1" "$T/s2cut" "$T/s3" --out "$T/m5" --allow-partial --quiet >/dev/null 2>"$T/e"
rc=$?
part=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1]))["merge"]; print(m["allow_partial"], m["partial"]["missing_pairs_at_most"], "rep 2" in m["partial"]["missing"])' "$T/m5/meta.json" 2>&1)
if [ $rc -eq 0 ] && [ "$part" = "True 1 True" ] && grep -q 'allow-partial' "$T/e"; then
	ok "merge --allow-partial merges and records the gap in meta.json (merge.partial: $part)"
else
	fail "merge --allow-partial records the gap" "rc=$rc partial=$part" "$(cat "$T/e")"
fi
"$PB" merge "$T/s1" "$T/s2" "$T/s3" --out "$T/m" --quiet >/dev/null 2>"$T/e"
rc=$?
ts_in=$(($(cat "$T"/s{1,2,3}/timeseries.csv | wc -l) - 3))
ts_out=$(($(wc -l <"$T/m/timeseries.csv") - 1))
if [ $rc -eq 0 ] && [ "$(pairs "$T/m/results.csv")" = "$(pairs "$T/all/results.csv")" ] &&
   [ "$ts_out" -eq "$ts_in" ] && [ "$ts_out" -gt 0 ] &&
   [ "$(head -1 "$T/m/timeseries.csv")" = "$(head -1 "$T/s1/timeseries.csv")" ]; then
	ok "merge of all shards = the unsharded (point, rep) set; timeseries.csv merged ($ts_out lines)"
else
	fail "merge of all shards" "rc=$rc ts $ts_in -> $ts_out" "$(cat "$T/e")"
fi
"$PB" merge "$T/m" "$T/s2" --out "$T/mm" --quiet >/dev/null 2>"$T/e"
rc=$?
ts_mm=$(($(wc -l <"$T/mm/timeseries.csv") - 1))
if [ $rc -eq 0 ] && [ "$ts_mm" -eq "$ts_out" ]; then
	ok "merging a merged directory with one of its shards: duplicates and their timeseries lines dropped"
else
	fail "merge of merged + shard" "rc=$rc ts $ts_out -> $ts_mm" "$(cat "$T/e")"
fi

# ---- status ---------------------------------------------------------------------------
"$PB" status "$T/s1" "$T/s2" "$T/s3" >"$T/st" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '; complete$' "$T/st")" -eq 3 ] && grep -q 'all 3 shards given' "$T/st"; then
	ok "status of a complete sweep: exit 0, 3 shards complete"
else
	fail "status of a complete sweep" "rc=$rc" "$(cat "$T/st")"
fi
"$PB" status "$T/s1" "$T/s2cut" >"$T/st" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'shard 2/3: 0 of 1 points complete; (point, rep) pairs: 1 done, 0 failed, 1 missing' "$T/st" &&
   grep -q "complete with: .* --shard 2/3 --out $T/s2cut .*--resume" "$T/st" &&
   grep -q 'missing shard 3/3' "$T/st" && grep -q 'shard 3/3 runs with: .*--shard 3/3' "$T/st"; then
	ok "status of an incomplete sweep: exit 1, done/failed/missing per shard, the completing command, the missing shard"
else
	fail "status of an incomplete sweep" "rc=$rc" "$(cat "$T/st")"
fi
"$PB" status >/dev/null 2>"$T/e"
refused "status without a directory is refused" "no directory given" $? "$T/e"
"$PB" status "$T/nosuch" >/dev/null 2>"$T/e"
refused "status of a directory without meta.json is refused" "nosuch/meta.json" $? "$T/e"

tap_done
