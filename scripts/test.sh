#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, in four build configurations:
#   build-test   debugoptimized                         all suites
#   build-asan   ASan + UBSan                            all but scripts (plot.py,
#                                                        report.py, links, profile: no C
#                                                        code of ours runs there that
#                                                        the test build does not cover)
#   build-tsan   TSan                                    unit, conformance, torture
#   build-delay  delay injection (random yields)         conformance, torture
# Results are counted from each build's meson-logs/testlog.json; the last
# line is "N passed, N failed[, N skipped]".  Exit status 1 if anything failed.
# Options: PB_TEST_CONFIGS="test asan" runs a subset.
#   --only NAME   every suite that exercises plug-ins (unit, conformance,
#                 torture, integration), each limited to the configurations
#                 that include the backend, reclaimer or workload NAME
#                 (PB_TEST_ONLY=NAME, read by tests/common.h tc_only()); the
#                 cli and scripts suites do not run.  E.g. after adding a
#                 reclaimer: PB_TEST_CONFIGS=asan scripts/test.sh --only mine
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

ONLY=
while [ $# -gt 0 ]; do
	case $1 in
	--only) [ $# -ge 2 ] && [ -n "$2" ] || { echo "test.sh: --only needs a plug-in name (see 'poolbench list')" >&2; exit 2; }
		ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#--only=}; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "test.sh: unknown argument '$1', allowed: --only NAME (and PB_TEST_CONFIGS in the environment)" >&2; exit 2 ;;
	esac
done
# check_only POOLBENCH: NAME must be a plug-in that poolbench lists (or a
# skeleton, which is not registered but has its own tests).  Exit 2 if not.
only_checked=
check_only() {
	local names
	[ -z "$ONLY" ] || [ -n "$only_checked" ] || [ ! -x "$1" ] && return 0
	names=$("$1" list | sed -n 's/^  \([a-z0-9][a-z0-9-]*\) .*/\1/p' | sort -u | tr '\n' ' ')
	case " $names skeleton " in
	*" $ONLY "*) only_checked=1 ;;
	*) echo "test.sh: unknown plug-in '$ONLY' for --only, allowed: ${names}skeleton" >&2; exit 2 ;;
	esac
}
if [ -n "$ONLY" ]; then
	export PB_TEST_ONLY=$ONLY
	for b in "${PB_POOLBENCH:-}" build-test build-asan build-tsan build-delay build; do
		case $b in */poolbench) check_only "$b" ;; *) check_only "$b/harness/poolbench" ;; esac
	done
fi

scripts/setup.sh || { echo "test.sh: setup failed"; echo "0 passed, 1 failed"; exit 1; }

# name | meson options | suites ("" = all)
CONFIGS=(
	"test|-Dbuildtype=debugoptimized|"
	"asan|-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Djemalloc=disabled|unit conformance torture integration cli"
	"tsan|-Dbuildtype=debugoptimized -Db_sanitize=thread -Djemalloc=disabled|unit conformance torture"
	"delay|-Dbuildtype=debugoptimized -Ddelay_inject=true|conformance torture"
)
SELECT=${PB_TEST_CONFIGS:-test asan tsan delay}

total_pass=0 total_fail=0 total_skip=0
summary=()
t_all=$(date +%s)

# Count one testlog.json: prints "pass fail skip" then one failing name per line.
count_log() {
	"$PY" - "$1" <<'PYEOF'
import json, sys
p = f = s = 0
bad = []
with open(sys.argv[1]) as fh:
    for line in fh:
        line = line.strip()
        if not line:
            continue
        t = json.loads(line)
        r = t.get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r == "SKIP":
            s += 1
        else:
            f += 1
            bad.append("%s (%s)" % (t.get("name", "?"), r))
print(p, f, s)
for b in bad:
    print(b)
PYEOF
}

for entry in "${CONFIGS[@]}"; do
	IFS='|' read -r name opts suites <<<"$entry"
	case " $SELECT " in *" $name "*) ;; *) continue ;; esac
	if [ -n "$ONLY" ]; then # plug-in suites only: drop cli and scripts
		only_suites=
		for s in ${suites:-unit conformance torture integration}; do
			case $s in unit|conformance|torture|integration) only_suites+="${only_suites:+ }$s" ;; esac
		done
		suites=$only_suites
	fi
	dir="build-$name"
	t0=$(date +%s)
	echo
	echo "=== $dir: $opts ${suites:+(suites: $suites)}"
	# shellcheck disable=SC2086
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" $opts >"$ROOT/.test-$name-setup.log" 2>&1
	else
		meson setup "$dir" $opts >"$ROOT/.test-$name-setup.log" 2>&1
	fi
	rc=$?
	if [ $rc -eq 0 ]; then
		mv "$ROOT/.test-$name-setup.log" "$dir/meson-logs/setup-output.txt"
		ninja -C "$dir" >"$dir/meson-logs/build-output.txt" 2>&1
		rc=$?
		[ $rc -ne 0 ] && tail -n 40 "$dir/meson-logs/build-output.txt"
	else
		cat "$ROOT/.test-$name-setup.log"
		rm -f "$ROOT/.test-$name-setup.log"
	fi
	if [ $rc -ne 0 ]; then
		echo "$dir: configure/build FAILED"
		total_fail=$((total_fail + 1))
		summary+=("$dir: build FAILED ($(($(date +%s) - t0)) s)")
		continue
	fi

	check_only "$dir/harness/poolbench" # --only NAME, if no earlier build could say

	# Only the suites this build defines (meson test --suite X with no X
	# runs nothing and would leave an old testlog.json behind).
	have=$(meson introspect --tests "$dir" | "$PY" -c '
import json, sys
print(" ".join(sorted({s.split(":")[-1] for t in json.load(sys.stdin) for s in t["suite"]})))')
	args=()
	if [ -n "$suites" ]; then
		for s in $suites; do
			case " $have " in *" $s "*) args+=(--suite "$s") ;; esac
		done
		if [ ${#args[@]} -eq 0 ]; then
			summary+=("$dir: no tests in suites: $suites")
			continue
		fi
	fi
	mult=1
	[ "$name" != test ] && mult=3
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier "$mult" "${args[@]}"
	dt=$(($(date +%s) - t0))
	if [ ! -s "$dir/meson-logs/testlog.json" ]; then
		echo "$dir: meson test wrote no testlog.json"
		total_fail=$((total_fail + 1))
		summary+=("$dir: no test results (${dt} s)")
		continue
	fi
	mapfile -t res < <(count_log "$dir/meson-logs/testlog.json")
	read -r p f s <<<"${res[0]}"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	summary+=("$dir: $p passed, $f failed, $s skipped (${dt} s, build + tests)")
	for ((i = 1; i < ${#res[@]}; i++)); do
		summary+=("    FAILED: ${res[i]}")
	done
done

echo
echo "=== summary ($(($(date +%s) - t_all)) s in all${ONLY:+; only configurations with $ONLY})"
for l in "${summary[@]}"; do
	echo "$l"
done
line="$total_pass passed, $total_fail failed"
[ "$total_skip" -gt 0 ] && line="$line, $total_skip skipped"
echo "$line"
[ "$total_fail" -eq 0 ]
