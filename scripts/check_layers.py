#!/usr/bin/env python3
"""Checks the include rule of docs/architecture.md: each folder includes only from the folders
below it. Reads every `#include "folder/..."` of the stack's .hpp and .cpp files and prints each
one that reaches up or sideways, with its file and line; exits 1 if there is any.

Usage: check_layers.py [ROOT]   (ROOT: the repository, default: this script's parent's parent)
"""
import pathlib
import re
import sys

# What each folder may include from (docs/architecture.md, "Folders"). "proto" stands for the
# generated headers ("dispatcher/dispatcher.grpc.pb.h" and the like).
ALLOWED = {
    "apps": {"api", "engine", "core", "util", "include"},
    "engine": {"util", "proto"},
    "api": {"actors", "client", "messages", "core", "util", "include"},
    "actors": {"health", "client", "messages", "codec", "core", "util", "include"},
    "health": {"core", "include"},
    "client": {"messages", "core", "util", "include", "proto"},
    "messages": {"core", "include"},
    "core": {"util", "include"},
    "codec": set(),
    "util": set(),
    "include": {"include"},
}
PROTO_DIRS = {"dispatcher", "events", "workflows", "v1"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def target_folder(path: str, own: str) -> str | None:
    first = path.split("/", 1)[0]
    if first == "hatchet":
        return "include"
    if first in PROTO_DIRS:
        return "proto"
    if first in ALLOWED:
        return first
    if "/" not in path:
        return own  # a header beside the file
    return None  # not ours (a third-party header written with quotes)


def home(root: pathlib.Path, header: pathlib.Path) -> str:
    """Where a public header's code is: "api" or "core" (the .cpp of its name), else "none"."""
    for folder in ("api", "core"):
        if (root / folder / (header.stem + ".cpp")).exists():
            return folder
    return "none"


def check_public_headers(root: pathlib.Path) -> list[str]:
    """Among include/hatchet's headers: one whose code is in core/ includes none whose code is in
    api/, and one with no code of its own includes only others like it."""
    rank = {"none": 0, "core": 1, "api": 2}
    base = root / "include"
    bad = []
    for f in sorted((base / "hatchet").rglob("*.hpp")):
        own = home(root, f)
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or not m.group(1).startswith("hatchet/"):
                continue
            to = home(root, base / m.group(1))
            if rank[to] > rank[own]:
                bad.append(f"{f.relative_to(root)}:{n}: a header whose code is in "
                           f"{own if own != 'none' else 'no .cpp'} includes {m.group(1)}, "
                           f"whose code is in {to}/")
    return bad


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
    if root.is_file():
        root = root.parent.parent
    bad = []
    checked = 0
    for folder in ALLOWED:
        base = root / ("include/hatchet" if folder == "include" else folder)
        for f in sorted(base.rglob("*")):
            if f.suffix not in (".hpp", ".cpp"):
                continue
            for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                checked += 1
                to = target_folder(m.group(1), folder)
                if to is None or to == folder:
                    continue
                if to not in ALLOWED[folder]:
                    bad.append(f"{f.relative_to(root)}:{n}: {folder}/ includes {m.group(1)} "
                               f"({to}/ is not below {folder}/)")
    bad += check_public_headers(root)
    for b in bad:
        print(b)
    print(f"check_layers: {checked} includes read, {len(bad)} against the folder order")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
