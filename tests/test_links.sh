#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/check-links.py (meson suite 'scripts'): the repository's README and
# docs/ have no broken link and nothing that points outside the repository;
# and the checker does catch each kind of problem, in a scratch copy: a
# missing file, a link leaving the repository, an absolute path, a heading
# anchor that does not exist, a /work/ path and a STYLE.md note in a tracked
# file.  TAP.
# usage: tests/test_links.sh SOURCE_ROOT
set -u

SRC=${1:?usage: test_links.sh SOURCE_ROOT}
. "$(dirname "$0")/tap.sh"
tap_init links

if out=$("$PY" "$SRC/scripts/check-links.py" --tree 2>&1); then
	ok "README.md, docs/ and results/ links resolve inside the repository ($(tail -1 <<<"$out"))"
else
	fail "README.md, docs/ and results/ links resolve inside the repository" "$out"
fi

# A scratch repository with one problem of each kind.
R=$T/repo
mkdir -p "$R/scripts" "$R/docs"
cp "$SRC/scripts/check-links.py" "$R/scripts/"
cat >"$R/docs/a.md" <<'MD'
# A page

## Real heading

[fine](b.md) [fine too](b.md#other-heading) [self](#real-heading)
[missing](nope.md)
[leaves](../../shared/anchors/wpool.md)
[absolute](/etc/passwd)
[bad anchor](b.md#no-such-heading)
`[in code](ignored.md)` and <https://example.org> are not checked.
MD
printf '# B\n\n## Other heading\n' >"$R/docs/b.md"
printf 'See /work/shared/x for details.\nStyle: STYLE.md.\n' >"$R/notes.txt"
(cd "$R" && git init -q && git add -A) >/dev/null 2>&1
"$PY" "$R/scripts/check-links.py" --tree >"$T/out" 2>&1
rc=$?
want=("docs/a.md:6: link 'nope.md': no such file"
       "docs/a.md:7: link '../../shared/anchors/wpool.md' leaves the repository"
       "docs/a.md:8: link '/etc/passwd' is an absolute path"
       "docs/a.md:9: link 'b.md#no-such-heading': docs/b.md has no heading with anchor '#no-such-heading'"
       "docs/a.md:7: '../shared/anchors/wpool.md' points outside the repository"
       "notes.txt:1: '/work/shared' points outside the repository"
       "notes.txt:2: 'STYLE.md' points outside the repository")
missing=()
for w in "${want[@]}"; do
	grep -qF -- "$w" "$T/out" || missing+=("$w")
done
if [ $rc -eq 1 ] && [ ${#missing[@]} -eq 0 ] && grep -q ": 7 problems$" "$T/out"; then
	ok "each kind of broken or outside link is reported, exit 1"
else
	fail "each kind of broken or outside link is reported, exit 1" "rc=$rc" "missing: ${missing[*]}" "$(cat "$T/out")"
fi
tap_done
