#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/ab.py (meson suite 'scripts'): builds interleaved round by round,
# the order rotating; a point restricted to some builds runs on those only;
# runs.csv gets a row per run, a run that writes nothing included (status
# error, exit 1); the per-sweep checks are turned off only where a build has
# the options (an old build is given none); bad input is one line, exit 2,
# and no runs.csv; --table prints the table of a runs.csv again.  TAP.
# usage: tests/test_ab.sh SOURCE_ROOT POOLBENCH
set -u

. "$(dirname "$0")/tap.sh"
tap_tool ab "$@"
AB=$SRC/scripts/ab.py

# An "old build": no --no-calibrate or --canary-tol in its help; it records
# its arguments and writes the row a poolbench run would.
OLD=$T/old-poolbench
cat >"$OLD" <<'SH'
#!/bin/bash
if [ "$1" = --help ]; then echo "usage: poolbench run [options]"; exit 0; fi
echo "$*" >>"$(dirname "$0")/old-args"
while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
mkdir -p "$out" && printf 'status,ns_per_job\nok,50\n' >"$out/results.csv"
SH
chmod +x "$OLD"

P="--backend segmented --reclaim hp --workers 1 --jobs 2000 --warmup 200"
out=$("$PY" "$AB" --build new="$PB" --build same="$PB" --build old="$OLD" --point "all: $P" \
	--point "two@new,same: $P --coalesce 8" --rounds 2 --out "$T/ab" 2>&1)
rc=$?
check_status "two real builds and an old one, 2 rounds: exit 0" "$([ $rc = 0 ]; echo $?)" "$out"
check_status "runs.csv: a row per (point, build, round): 2 x (3 + 2)" \
	"$([ "$(($(wc -l <"$T/ab/runs.csv") - 1))" = 10 ]; echo $?)" "$(cat "$T/ab/runs.csv")"
order=$(awk -F, '$2 == "all" {printf "%s%s ", $1, $3}' "$T/ab/runs.csv")
check_status "the build order rotates per round (1: new same old, 2: same old new)" \
	"$([ "$order" = "1new 1same 1old 2same 2old 2new " ]; echo $?)" "$order"
check_status "a point restricted to new,same does not run on old" \
	"$(! grep -q '^[0-9]*,two,old,' "$T/ab/runs.csv"; echo $?)" "$(cat "$T/ab/runs.csv")"
check_status "the table: medians, the ratio to the first build, runs" \
	"$(grep -q '^| all | new | [0-9.]* | 1.00 |  | 2 |$' <<<"$out" && grep -q '^| two | same | ' <<<"$out"; echo $?)" "$out"
check_status "the paired ratio of 2 rounds shows its interval's coverage (50 %)" \
	"$(grep -q '^| all | same | [0-9.]* | [0-9.]* | [0-9.]* \[[0-9.]*, [0-9.]*\] (50 %) | 2 |$' <<<"$out"; echo $?)" "$out"

# The paired ratio by hand: b over a per round, median, and the order-statistic
# interval: 11 rounds give [2nd, 10th] (98.8 % coverage), 5 give the whole range
# at 94 %.  A round where one build failed pairs nothing.  a drifts from round
# to round (51 .. 61) and b = a x (1 + i/100): the pairs see 1.01 .. 1.11.
{
	echo "round,point,build,status,rc,ns_per_job,note"
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		echo "$i,p11,a,ok,0,$((50 + i)),"
		awk -v i=$i 'BEGIN { printf "%d,p11,b,ok,0,%.4f,\n", i, (50 + i) * (1 + i / 100) }'
	done
	for i in 1 2 3 4 5; do
		echo "$i,p5,a,ok,0,100,"
		echo "$i,p5,b,ok,0,$((100 + 2 * i)),"
	done
	echo "6,p5,a,ok,0,100,"
	echo "6,p5,b,error,1,,"
} >"$T/hand.csv"
hand=$("$PY" "$AB" --table "$T/hand.csv" 2>&1)
check_status "paired ratio: 11 rounds of b = a x (1 + i/100): 1.06 [1.02, 1.10]" \
	"$(grep -q '^| p11 | b | .* | 1.06 \[1.02, 1.10\] | 11 |$' <<<"$hand"; echo $?)" "$hand"
check_status "paired ratio: 5 pairs (a failed run pairs nothing): 1.06 [1.02, 1.10] (94 %)" \
	"$(grep -q '^| p5 | b | .* | 1.06 \[1.02, 1.10\] (94 %) | 5 |$' <<<"$hand"; echo $?)" "$hand"
check_status "the old build gets no --no-calibrate / --canary-tol (it lacks them)" \
	"$(grep -q -- '--jobs 2000' "$T/old-args" && ! grep -q -- '--no-calibrate\|--canary-tol' "$T/old-args"; echo $?)" \
	"$(cat "$T/old-args")"

again=$("$PY" "$AB" --table "$T/ab/runs.csv" 2>&1)
check_status "--table: the same table again from runs.csv" "$([ "$again" = "$out" ]; echo $?)" "$again" "---" "$out"

out=$("$PY" "$AB" --build new="$PB" --point "bad: --backend nosuch --jobs 100" --rounds 1 --out "$T/err" 2>&1)
rc=$?
check_status "a run that writes no row: exit 1, recorded as status error with poolbench's message" \
	"$([ $rc = 1 ] && grep -q ',bad,new,error,2,.*unknown backend' "$T/err/runs.csv"; echo $?)" "rc=$rc $out" \
	"$(cat "$T/err/runs.csv" 2>&1)"

refused() { # refused DESC WANT ARGS...: exit 2, one line naming WANT, no runs.csv
	local desc=$1 want=$2 rc
	shift 2
	rm -rf "$T/r"
	"$PY" "$AB" "$@" 2>"$T/bad.err" >/dev/null
	rc=$?
	check_refused "$desc" "$want" "$rc" "$T/r/runs.csv"
}
refused "a --build without NAME=" "expected NAME=POOLBENCH" --build "$PB" --point "a: x" --out "$T/r"
refused "a --build that is not executable" "is not an executable file" --build a=/nonexistent --point "a: x" --out "$T/r"
refused "a point for an unknown build" "unknown build 'zz'" --build a="$PB" --point "p@zz: x" --out "$T/r"
refused "a point without 'LABEL: '" "expected 'LABEL: ARGS'" --build a="$PB" --point "x" --out "$T/r"
refused "--rounds 0" "--rounds '0': allowed 1 .. 10000" --build a="$PB" --point "a: x" --rounds 0 --out "$T/r"
refused "an unknown option" "unrecognized arguments" --build a="$PB" --point "a: x" --out "$T/r" --bogus
refused "--table on a file ab.py did not write" "not a runs.csv written by ab.py" --table "$T/old-args"
mkdir -p "$T/r2" && echo keep >"$T/r2/runs.csv"
"$PY" "$AB" --build a="$PB" --point "a: x" --out "$T/r2" 2>"$T/bad.err" >/dev/null
rc=$?
check_status "an existing runs.csv: exit 2, one line, left as it was" \
	"$([ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && [ "$(cat "$T/r2/runs.csv")" = keep ]; echo $?)" \
	"rc=$rc $(cat "$T/bad.err")"
tap_done
