#!/bin/bash
# Every point of the quick preset (scripts/presets/quick.ini: segmented with
# limbo and hp, both readiness designs, mutex and ckring; empty, sha256, cpu;
# w=1 and 2; default pinning), old against new, interleaved by scripts/ab.py:
# issue 9's "no backend or reclaimer more than 5 % slower than today at any
# point of the quick preset".  Bitmap readiness runs on the new build only
# when the old one lacks it (88f025d does).  usage: run-quick-ab.sh OLD NEW [OUT [ab.py
# args...]] (binaries; from the repository root; ROUNDS in the environment).
set -eu
OLD=$1 NEW=$2
OUT=${3:-results/2core-vm-20261207/quick-ab-rerun}
shift $(($# > 2 ? 3 : 2))
args=()
for rc in limbo hp; do
	for rd in stamp bitmap; do
		for wl in empty sha256 cpu; do
			for w in 1 2; do
				j=1000000
				[ $wl = sha256 ] && j=40000
				[ $wl = cpu ] && j=8000
				if [ $rd = stamp ]; then
					# the default, and the only design before readiness
					# became an option (88f025d has no such option)
					args+=(--point "$rc $rd $wl w$w: --backend segmented --reclaim $rc --workload $wl --workers $w --jobs $j")
				else
					args+=(--point "$rc $rd $wl w$w@new: --backend segmented --reclaim $rc --backend-opt readiness=$rd --workload $wl --workers $w --jobs $j")
				fi
			done
		done
	done
done
for b in mutex ckring; do
	for wl in empty sha256 cpu; do
		for w in 1 2; do
			j=1000000
			[ $wl = sha256 ] && j=40000
			[ $wl = cpu ] && j=8000
			args+=(--point "$b $wl w$w: --backend $b --workload $wl --workers $w --jobs $j")
		done
	done
done
scripts/ab.py --build old="$OLD" --build new="$NEW" --rounds "${ROUNDS:-9}" --keep ns_per_job,parks \
	--out "$OUT" "${args[@]}" "$@"
