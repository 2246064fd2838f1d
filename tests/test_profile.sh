#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/profile.py (meson suite 'scripts'): on a small point under
# callgrind it reports instructions, atomic RMWs and fences per job, and the
# functions of the job path by name; the counts are plausible (segmented's
# single-job push makes one atomic RMW a job, its reservation CAS, and the
# harness's job function none: it marks its id with a store); a missing
# binary is one clear line and exit 2.  TAP.
# usage: tests/test_profile.sh SOURCE_ROOT POOLBENCH
set -u

. "$(dirname "$0")/tap.sh"
tap_tool profile "$@"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not installed (scripts/setup.sh installs it)"
	exit 0
fi
out=$("$PY" "$SRC/scripts/profile.py" --poolbench "$PB" --top 40 -- --backend segmented --reclaim hp \
	--workers 1 --jobs 3000 2>&1)
rc=$?
check_status "profile.py runs a point under callgrind (exit 0)" "$([ $rc = 0 ]; echo $?)" "$out"
ipj=$(sed -n 's/^instructions per job: \([0-9.]*\).*/\1/p' <<<"$out")
rmw=$(sed -n 's/^atomic RMWs per job: *\([0-9.]*\).*/\1/p' <<<"$out")
check_status "instructions per job reported, between 50 and 100000" \
	"$("$PY" -c "import sys; sys.exit(0 if 50 <= float('${ipj:-0}') <= 100000 else 1)"; echo $?)" "$out"
check_status "atomic RMWs per job reported, at least the push's one" \
	"$("$PY" -c "import sys; sys.exit(0 if float('${rmw:-0}') >= 0.9 else 1)"; echo $?)" "$out"
push_rmw=$(awk '$1 == "segmented_push" {print $4}' <<<"$out")
check_status "the push's own row: one RMW a job (the reservation CAS; a segment's end goes to the batch loop)" \
	"$("$PY" -c "import sys; sys.exit(0 if abs(float('${push_rmw:-0}') - 1) < 0.1 else 1)"; echo $?)" "$out"
fn_rmw=$(awk '$1 == "job_fn" {print $4}' <<<"$out")
check_status "the job function's own row: no RMW (it marks its id with a plain store)" \
	"$("$PY" -c "import sys; sys.exit(0 if '${fn_rmw:-x}' == 'x' or float('${fn_rmw}') < 0.01 else 1)"; echo $?)" "$out"
check_status "the queue's push is named in the per-function table" \
	"$(grep -q '^segmented_push' <<<"$out"; echo $?)" "$out"

# --sample: time per thread role from perf's cpu-clock samples, where perf
# may record here (a container may forbid perf_event_open: then skipped).
if command -v perf >/dev/null 2>&1 && perf record -q -e cpu-clock -o "$T/probe.data" -- true >/dev/null 2>&1; then
	out=$("$PY" "$SRC/scripts/profile.py" --sample --poolbench "$PB" --top 60 -- --backend segmented \
		--reclaim hp --workers 1 --jobs 500000 2>&1)
	rc=$?
	check_status "profile.py --sample runs a point under perf record (exit 0)" "$([ $rc = 0 ]; echo $?)" "$out"
	prod=$(awk '$1 == "producers" {print $2}' <<<"$out")
	work=$(awk '$1 == "workers" {print $2}' <<<"$out")
	check_status "--sample: CPU time per job of the producers and the workers (named threads), both > 0" \
		"$("$PY" -c "import sys; sys.exit(0 if float('${prod:-0}') > 0 and float('${work:-0}') > 0 else 1)"; echo $?)" "$out"
	check_status "--sample: the push is charged to the producers, the pop to the workers" \
		"$(grep -Eq '^segmented_push[a-z_0-9]* +producers' <<<"$out" && grep -Eq '^segmented_pop[a-z_0-9]* +workers' <<<"$out"; echo $?)" "$out"
else
	ok "profile.py --sample # SKIP perf cannot record here"
fi
"$PY" "$SRC/scripts/profile.py" --poolbench "$T/nope" -- --backend segmented >/dev/null 2>"$T/bad.err"
check_refused "a missing poolbench binary is refused" "nope: not an executable" $?
tap_done
