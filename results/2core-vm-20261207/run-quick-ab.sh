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
. "$(dirname "$0")/quick-points.sh"
quick_points "" @new
scripts/ab.py --build old="$OLD" --build new="$NEW" --rounds "${ROUNDS:-9}" --keep ns_per_job,parks \
	--out "$OUT" "${args[@]}" "$@"
