#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages poolbench needs to build, test and plot.
# Fast no-op when everything is present (one dpkg-query).  As root it runs
# apt-get update once and installs what is missing; otherwise it prints the
# command to run and exits non-zero.
set -euo pipefail

# The project's list, plus a C compiler and libc headers (a bare Debian image
# has neither; gcc-12 brings the ASan/UBSan/TSan runtimes).  slurm-wlm, munge
# and parallel: the cluster runners (scripts/cluster/) and the test that
# starts a single-node Slurm (tests/test_cluster.sh); no daemon is started here.
# python3-scipy: tests/test_cli_noise.sh checks "poolbench compare" against
# scipy's Mann-Whitney U test.  valgrind: scripts/profile.py (instructions
# and atomics per job where the VM has no hardware counters) and its test.
# linux-perf: scripts/profile.py --sample (time per thread role and function
# from cpu-clock samples, which need no hardware counters either).
PKGS=(liburcu-dev libck-dev libhwloc-dev hwloc libjemalloc-dev libssl-dev meson ninja-build
      pkg-config libcmocka-dev gnuplot-nox python3-matplotlib python3-pandas libinih-dev git
      gcc libc6-dev slurm-wlm munge parallel python3-scipy valgrind
      linux-perf)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "setup.sh: dpkg-query not found: this script knows Debian 12 only." >&2
	echo "setup.sh: install the equivalents of: ${PKGS[*]}" >&2
	exit 1
fi

# One query for all packages; unknown packages print nothing on stdout.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do
	if ! grep -qE "^${p}(:[a-z0-9]+)? ii" <<<"$installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup.sh: all ${#PKGS[@]} packages present"
	exit 0
fi

echo "setup.sh: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: not root; run as root:" >&2
	echo "  apt-get update && apt-get install -y -o DPkg::Lock::Timeout=600 ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# .ci/run has just updated the lists: PB_APT_UPDATED=1 skips a second update.
if [ "${PB_APT_UPDATED:-0}" != 1 ]; then
	apt-get update
fi
apt-get install -y -o DPkg::Lock::Timeout=600 "${missing[@]}"
echo "setup.sh: installed ${missing[*]}"
