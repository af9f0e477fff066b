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
    for b in bad:
        print(b)
    print(f"check_layers: {checked} includes read, {len(bad)} against the folder order")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
