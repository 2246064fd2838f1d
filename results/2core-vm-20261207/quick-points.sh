# Sourced by run-idle.sh and run-quick-ab.sh: every point of the quick preset
# (scripts/presets/quick.ini: segmented with limbo and hp, both readiness
# designs, mutex and ckring; empty, sha256, cpu; w=1 and 2; default pinning)
# as scripts/ab.py --point arguments, appended to the array `args`.
#
# quick_points PREFIX ONLY: labels start with PREFIX; ONLY follows the label
# of the bitmap points ("@new" where the old build lacks the option).  Stamp
# readiness is the default and is not passed (88f025d has no such option).

quick_jobs() {
	case $1 in
	sha256) echo 40000 ;;
	cpu) echo 8000 ;;
	*) echo 1000000 ;;
	esac
}

quick_points() {
	local prefix=$1 only=$2 c b rc rd wl w name opt tag
	for c in "segmented limbo stamp" "segmented limbo bitmap" "segmented hp stamp" \
		"segmented hp bitmap" "mutex - -" "ckring - -"; do
		read -r b rc rd <<<"$c"
		name=$b opt="--backend $b" tag=""
		[ "$rc" = - ] || name="$rc $rd" opt="$opt --reclaim $rc"
		[ "$rd" != bitmap ] || opt="$opt --backend-opt readiness=$rd" tag=$only
		for wl in empty sha256 cpu; do
			for w in 1 2; do
				args+=(--point "$prefix$name $wl w$w$tag: $opt --workload $wl --workers $w --jobs $(quick_jobs $wl)")
			done
		done
	done
}
