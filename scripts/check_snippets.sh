#!/usr/bin/env bash
# Checks that the C++ shown in the docs is code the build compiles.
#
#   scripts/check_snippets.sh [ROOT]        (ROOT: the source tree, default: this checkout)
#
# A C++ block in README.md or docs/*.md names its source on the line right before its fence:
#
#   <!-- snippet: examples/lifespan_pg/lifespan_pg.cpp#lifespan -->
#   ```cpp
#
# and the source (a path under ROOT) marks the region with comment lines of their own:
#
#   // [snippet:lifespan]
#   ...
#   // [/snippet:lifespan]
#
# The block must equal the region line for line; common leading indentation and trailing spaces
# are ignored, and marker lines of other regions inside the region are left out. Regions may
# nest. In README.md and docs/lifespans.md every ```cpp block must carry a marker, so that no
# unchecked snippet creeps in; `<!-- snippet: none (why) -->` exempts a block that is not code
# from a compiled file, and says why. Other docs/*.md files are checked where they are marked.
#
# Exit status 0 when everything matches; 1 with one line per problem (FILE:LINE: ...) otherwise;
# 2 on a bad command line.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ $# -gt 1 ] || [ ! -d "$root" ]; then
  echo "usage: $0 [ROOT]" >&2
  exit 2
fi
exec python3 - "$root" <<'PY'
import difflib
import glob
import os
import re
import sys

root = os.path.realpath(sys.argv[1])
# Files in which every C++ block must name its source (paths relative to ROOT).
strict = {"README.md", "docs/lifespans.md"}

fence_re = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
marker_re = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
region_re = re.compile(r"^\s*//\s*\[(/?)snippet:([A-Za-z0-9_.-]+)\]\s*$")
cpp_langs = {"cpp", "c++", "cxx", "cc"}

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def normalise(lines):
    """Strips trailing spaces and the indentation all non-blank lines share."""
    lines = [l.rstrip() for l in lines]
    indents = [len(l) - len(l.lstrip()) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else "" for l in lines]


region_cache = {}
reported = set()  # sources whose own errors are reported already


def regions_of(path):
    """{name: (first line number, lines)} of one source file, or an error text."""
    if path in region_cache:
        return region_cache[path]
    result = {}
    open_regions = {}  # name -> (line number, collected lines)
    errors = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = region_re.match(line)
            if m:
                closing, name = m.group(1) == "/", m.group(2)
                if not closing:
                    if name in open_regions or name in result:
                        errors.append((no, f"region '{name}' is opened a second time"))
                    else:
                        open_regions[name] = (no, [])
                elif name not in open_regions:
                    errors.append((no, f"region '{name}' is closed but was never opened"))
                else:
                    start, body = open_regions.pop(name)
                    result[name] = (start, body)
                continue
            for _, body in open_regions.values():
                body.append(line)
    for name, (start, _) in open_regions.items():
        errors.append((start, f"region '{name}' is never closed"))
    region_cache[path] = (result, errors)
    return region_cache[path]


def check_block(doc, fence_line, target, block):
    where = f"{doc}:{fence_line}"
    path, sep, name = target.partition("#")
    if not sep or not path or not name:
        return problem(where, f"snippet marker '{target}' must read PATH#REGION")
    full = os.path.realpath(os.path.join(root, path))
    if os.path.isabs(path) or not full.startswith(root + os.sep):
        return problem(where, f"snippet source '{path}' is not a path inside the source tree")
    if not os.path.isfile(full):
        return problem(where, f"snippet source '{path}' does not exist")
    regions, errors = regions_of(full)
    if path not in reported:
        reported.add(path)
        for no, text in errors:
            problem(f"{path}:{no}", text)
    if name not in regions:
        return problem(where, f"no region '{name}' in {path} (mark it with "
                              f"'// [snippet:{name}]' ... '// [/snippet:{name}]')")
    start, body = regions[name]
    want, have = normalise(body), normalise(block)
    if want != have:
        diff = difflib.unified_diff(want, have, f"{path}#{name} (line {start + 1})",
                                    f"{doc} (line {fence_line + 1})", lineterm="")
        problem(where, f"the snippet differs from {path}#{name}:\n  " + "\n  ".join(diff))


def check_doc(doc):
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    pending = None  # (line number, marker text) of a marker waiting for its fence
    while i < len(lines):
        line = lines[i]
        m = marker_re.match(line)
        if m:
            if pending:
                problem(f"{doc}:{pending[0]}", "snippet marker is not followed by a code fence")
            pending = (i + 1, m.group(1))
            i += 1
            continue
        f = fence_re.match(line)
        if not f:
            if pending:
                problem(f"{doc}:{pending[0]}", "snippet marker is not followed by a code fence")
                pending = None
            i += 1
            continue
        fence, lang = f.group(2), f.group(3).lower()
        start = i + 1  # 1-based line of the opening fence
        body = []
        i += 1
        while i < len(lines):
            c = fence_re.match(lines[i])
            if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) and not c.group(3):
                break
            body.append(lines[i])
            i += 1
        else:
            problem(f"{doc}:{start}", "code fence is never closed")
        i += 1
        marker, pending = (pending[1] if pending else None), None
        if marker is None:
            if lang in cpp_langs and doc in strict:
                problem(f"{doc}:{start}", "C++ block without a snippet marker: put "
                        "'<!-- snippet: PATH#REGION -->' on the line before the fence, or "
                        "'<!-- snippet: none (why) -->'")
            continue
        if marker.startswith("none"):
            if not re.fullmatch(r"none\s*\(\s*\S.*\)", marker):
                problem(f"{doc}:{start - 1}", "'snippet: none' needs a reason: 'none (why)'")
            continue
        check_block(doc, start, marker, body)
    if pending:
        problem(f"{doc}:{pending[0]}", "snippet marker is not followed by a code fence")


docs = [d for d in ["README.md"] if os.path.isfile(os.path.join(root, d))]
docs += sorted(os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "docs", "*.md")))
if not docs:
    print(f"check_snippets: no README.md or docs/*.md under {root}", file=sys.stderr)
    sys.exit(1)
for doc in docs:
    check_doc(doc)
if problems:
    for p in problems:
        print(p, file=sys.stderr)
    print(f"check_snippets: {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1)
print(f"check_snippets: {len(docs)} document(s), every marked snippet matches its source")
PY
