#!/bin/bash
# SPDX-License-Identifier: MIT
# Pack a built poolbench with every shared library it loads -- glibc and the
# dynamic loader included -- so that it runs on a machine that has none of
# our Debian packages, or an older glibc: a lent benchmark machine, a cluster
# node.  OUT/poolbench is a wrapper that starts the binary through the
# carried loader with only the carried libraries; the harness forks (it never
# re-executes itself), so every run of a sweep uses them too.  OUT/BUNDLE
# records the commit, the build and each library's source path.
#
# usage: scripts/bundle.sh [--build DIR] OUT
#   --build DIR  the meson build directory (default: build); a release build
#                (meson setup build -Dbuildtype=release) is what to measure
#   OUT          a new or empty directory
# Then, on the other machine, from a checkout of the same commit (presets and
# sweep files are read from there):  OUT/poolbench sweep scripts/presets/X.ini
set -euo pipefail

die() {
	echo "bundle.sh: $*" >&2
	exit 2
}

BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--build)
		[ $# -ge 2 ] || die "--build needs a directory"
		BUILD=$2
		shift 2
		;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option '$1', allowed: --build DIR" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "expected one output directory, got $#: usage: bundle.sh [--build DIR] OUT"
OUT=$1
EXE=$BUILD/harness/poolbench
[ -x "$EXE" ] || die "'$EXE' is not built (meson setup $BUILD -Dbuildtype=release && ninja -C $BUILD)"
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
	die "'$OUT' exists and is not empty; choose a new directory"
fi
command -v ldd >/dev/null || die "ldd not found (Debian: libc-bin)"

# Every library the loader resolves (absolute paths), and the loader itself.
libs=$(ldd "$EXE" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
loader=$(ldd "$EXE" | awk '$1 ~ /^\/.*ld-linux/ {print $1}' | head -1)
[ -n "$loader" ] || die "no dynamic loader in ldd's output for '$EXE'"
if ldd "$EXE" | grep -q "not found"; then
	die "'$EXE' has unresolved libraries: $(ldd "$EXE" | grep 'not found' | tr -s ' \t' ' ' | tr '\n' ';')"
fi

mkdir -p "$OUT/bin" "$OUT/lib" || die "cannot create '$OUT'"
cp "$EXE" "$OUT/bin/poolbench"
for l in $libs; do
	cp -L "$l" "$OUT/lib/$(basename "$l")"
done
cat >"$OUT/poolbench" <<EOF
#!/bin/sh
# poolbench through the carried loader and libraries (scripts/bundle.sh)
d=\$(dirname "\$(readlink -f "\$0")")
exec "\$d/lib/$(basename "$loader")" --library-path "\$d/lib" "\$d/bin/poolbench" "\$@"
EOF
chmod +x "$OUT/poolbench"
{
	echo "poolbench bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
	echo "commit: $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
	echo "build: $BUILD ($(sed -n "s/^buildtype *= *//p" "$BUILD/meson-private/cmd_line.txt" 2>/dev/null || echo '?'))"
	echo "libraries (copied from):"
	for l in $libs; do echo "  $l"; done
} >"$OUT/BUNDLE"
echo "bundle.sh: $OUT/poolbench ($(echo "$libs" | wc -w) libraries, $(du -sh "$OUT" | cut -f1))"
