#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Link checker for the repository's Markdown: every relative link and image
# must name a file or directory that exists inside the repository, and a
# #fragment on a Markdown target must match one of its headings (GitHub's
# slugs).  With --tree, every tracked text file is also searched for paths
# that leave the repository (/work/..., ../shared/...) and for notes that
# only exist outside it (STYLE.md, DEPS.md, DESIGN.md).  External http(s)
# links are listed with --external, not fetched.
#
# usage: scripts/check-links.py [--tree] [--external] [PATH...]
#        (default PATH: README.md docs/ results/ under the repository root)
# Exit 1 and one line per problem ("FILE:LINE: ...") if anything is broken.
"""Check that README and docs/ links stay inside the repository and resolve."""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
OUTSIDE = re.compile(r"(/work/[\w.-]+|\.\./shared/[\w./-]*|(?<![\w/.-])(?:STYLE|DEPS|DESIGN)\.md)")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces
    to dashes."""
    h = re.sub(r"`([^`]*)`", r"\1", heading.strip()).lower()
    h = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", h)
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, out, fence = {}, set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("```"):
                    fence = not fence
                    continue
                m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    out.add(s if n == 0 else "%s-%d" % (s, n))
        cache[path] = out
    return cache[path]


def markdown_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                for fn in sorted(files):
                    if fn.endswith(".md"):
                        yield os.path.join(d, fn)
        elif p.endswith(".md"):
            yield p


def strip_code(line):
    return re.sub(r"`[^`]*`", "", line)


def check_markdown(path, problems, external):
    n = 0
    fence = False
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            if fence:
                continue
            text = strip_code(line)
            targets = LINK.findall(text) + AUTOLINK.findall(text)
            for t in targets:
                n += 1
                where = "%s:%d" % (os.path.relpath(path, ROOT), lineno)
                if re.match(r"(https?|mailto|ftp):", t):
                    if external:
                        print("%s: external (not checked): %s" % (where, t))
                    continue
                if re.match(r"[a-z][a-z0-9+.-]*:", t) or t.startswith("/"):
                    problems.append("%s: link '%s' is an absolute path or another scheme: it "
                                    "breaks in every other clone" % (where, t))
                    continue
                target, _, frag = t.partition("#")
                dest = os.path.realpath(os.path.join(os.path.dirname(path), target)) if target \
                    else os.path.realpath(path)
                if os.path.commonpath([dest, ROOT]) != ROOT:
                    problems.append("%s: link '%s' leaves the repository" % (where, t))
                elif not os.path.exists(dest):
                    problems.append("%s: link '%s': no such file in the repository" % (where, t))
                elif frag and dest.endswith(".md") and frag not in anchors(dest):
                    problems.append("%s: link '%s': %s has no heading with anchor '#%s'"
                                    % (where, t, os.path.relpath(dest, ROOT), frag))
    return n


def check_tree(problems):
    """Tracked text files that name a path outside the repository."""
    try:
        files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        problems.append("--tree: cannot list the tracked files: %s" % e)
        return 0
    me = os.path.relpath(os.path.abspath(__file__), ROOT)
    n = 0
    for rel in files:
        if rel == me or rel.startswith("tests/test_links"):
            continue  # these name the patterns on purpose
        p = os.path.join(ROOT, rel)
        try:
            with open(p, encoding="utf-8") as f:
                lines = f.readlines()
        except (UnicodeDecodeError, OSError):
            continue
        n += 1
        for lineno, line in enumerate(lines, 1):
            for m in OUTSIDE.finditer(line):
                problems.append("%s:%d: '%s' points outside the repository" % (rel, lineno,
                                                                                m.group(1)))
    return n


def main(argv=None):
    ap = argparse.ArgumentParser(prog="check-links.py", description=__doc__)
    ap.add_argument("paths", nargs="*", help="Markdown files or directories (default: README.md "
                    "docs/ results/)")
    ap.add_argument("--tree", action="store_true", help="also search every tracked text file "
                    "for paths outside the repository")
    ap.add_argument("--external", action="store_true", help="list http(s) links (not fetched)")
    a = ap.parse_args(argv)
    problems = []
    paths = a.paths or [p for p in (os.path.join(ROOT, q) for q in ("README.md", "docs", "results"))
                        if os.path.exists(p)]
    for p in a.paths:
        if not os.path.exists(p):
            problems.append("%s: no such file or directory" % p)
    nlinks = nfiles = 0
    for p in markdown_files(paths):
        nfiles += 1
        nlinks += check_markdown(p, problems, a.external)
    ntree = check_tree(problems) if a.tree else 0
    for pr in problems:
        print(pr)
    print("check-links: %d links in %d Markdown files%s: %d problem%s"
          % (nlinks, nfiles, ", %d tracked files searched" % ntree if a.tree else "",
             len(problems), "" if len(problems) == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
