#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/bundle.sh (meson suite 'scripts'): the bundle carries every library
# the binary loads and the loader; it runs with an empty environment from
# another directory, a sweep included (the harness forks its runs); bad input
# is one line, exit 2, and no bundle.  TAP.
# usage: tests/test_bundle.sh SOURCE_ROOT POOLBENCH (BUILD/harness/poolbench)
set -u

. "$(dirname "$0")/tap.sh"
tap_tool bundle "$@"
BUNDLE=$SRC/scripts/bundle.sh
BUILD=$(dirname "$(dirname "$PB")")

out=$("$BUNDLE" --build "$BUILD" "$T/b" 2>&1)
rc=$?
check_status "bundle.sh packs the build: exit 0, a wrapper and BUNDLE" \
	"$([ $rc = 0 ] && [ -x "$T/b/poolbench" ] && [ -s "$T/b/BUNDLE" ]; echo $?)" "rc=$rc $out"
want=$(ldd "$PB" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | xargs -n1 basename | sort -u)
have=$(ls "$T/b/lib" | sort)
check_status "every library ldd resolves is carried, the loader included" \
	"$([ -n "$want" ] && [ "$want" = "$have" ]; echo $?)" "want: $want" "have: $have"
check_status "the wrapper starts the binary through the carried loader" \
	"$(grep -q 'lib/ld-linux[^ ]* --library-path' "$T/b/poolbench"; echo $?)" "$(cat "$T/b/poolbench")"
mkdir -p "$T/elsewhere"
lst=$(cd "$T/elsewhere" && env -i "$T/b/poolbench" list 2>&1)
check_status "it runs with an empty environment from another directory (list)" \
	"$(grep -q '^backends:' <<<"$lst"; echo $?)" "$lst"
run=$(cd "$T/elsewhere" && env -i "$T/b/poolbench" run --backend segmented --no-calibrate --canary-tol 0 \
	--reclaim hp,ibr --jobs 2000 --warmup 200 --reps 2 --cov 0 --quiet --out "$T/o" 2>&1)
rc=$?
rows=$(awk -F, 'NR > 1 && $14 == "ok"' "$T/o/results.csv" 2>/dev/null | wc -l)
check_status "a sweep through the bundle: exit 0, every row ok (4)" "$([ $rc = 0 ] && [ "$rows" = 4 ]; echo $?)" \
	"rc=$rc rows=$rows $run"

refused() { # refused DESC WANT ARGS...: exit 2, one line naming WANT, no bundle made
	local desc=$1 want=$2 rc
	shift 2
	"$BUNDLE" "$@" 2>"$T/bad.err" >/dev/null
	rc=$?
	check_refused "$desc" "$want" "$rc" "$T/new/poolbench"
}
mkdir -p "$T/full" && echo x >"$T/full/keep"
refused "a non-empty output directory" "exists and is not empty" --build "$BUILD" "$T/full"
refused "a build directory without poolbench" "is not built" --build "$T/nobuild" "$T/new"
refused "an unknown option" "unknown option '--bogus'" --bogus "$T/new"
refused "no output directory" "expected one output directory, got 0" --build "$BUILD"
check_status "the non-empty directory was left as it was" "$([ "$(ls "$T/full")" = keep ]; echo $?)" "$(ls "$T/full")"
tap_done
