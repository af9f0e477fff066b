#!/usr/bin/env bash
# Proves the installed package works for a project outside this repository: `cmake --install`
# into a fresh prefix, check that only include/hatchet/*.hpp is public, configure and build
# tests/install/consumer with nothing but -DCMAKE_PREFIX_PATH=<prefix>, then run it against a dev
# engine: it spawns a worker with a lifespan, triggers one run through the public API, checks the
# output and stops the worker (see consumer/main.cpp).
#
# Usage: install_consumer.sh BUILD_DIR. The prefix and the consumer's build tree live in
# BUILD_DIR/install-test (emptied first; a fixed path lets ccache reuse the consumer's object).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$root/tests/process/faults_lib.sh"
faults_init "$build/bin"

dir=$build/install-test
prefix=$dir/prefix
cbuild=$dir/consumer-build
rm -rf "$dir"
mkdir -p "$dir"

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.txt" 2>&1 ||
  die "cmake --install failed: $(tail -n 20 "$work/install.txt")"

echo "== the installed headers are include/hatchet/**.hpp, all of them and nothing else"
stray=$(find "$prefix" \( -name '*.h' -o -name '*.hh' -o -name '*.hpp' -o -name '*.inc' \) \
  ! -path "$prefix/include/hatchet/*.hpp" | sort)
[ -z "$stray" ] || die "headers outside include/hatchet/ were installed:
$stray"
dirs=$(cd "$prefix/include" && find . -mindepth 1 -type d | sort | tr '\n' ' ')
[ "$dirs" = "./hatchet ./hatchet/detail " ] \
  || die "include/ holds directories other than hatchet/ and hatchet/detail/: $dirs"
others=$(find "$prefix/include" -type f ! -name '*.hpp')
[ -z "$others" ] || die "include/ holds files that are not headers: $others"
diff <(cd "$root/include/hatchet" && find . -name '*.hpp' | sort) \
     <(cd "$prefix/include/hatchet" && find . -name '*.hpp' | sort) ||
  die "the installed headers differ from include/hatchet/ (above)"

# Every #include of an installed header names another installed header, CAF, nlohmann, spdlog or
# the standard library (a name without a slash or a dot). The consumer build below catches the
# same mistake for the headers hatchet.hpp includes; this names the culprit, for all of them.
bad_includes=""
for h in "$prefix"/include/hatchet/*.hpp "$prefix"/include/hatchet/detail/*.hpp; do
  while IFS= read -r target; do
    case $target in
      hatchet/*.hpp)
        [ -f "$prefix/include/$target" ] || bad_includes+="$(basename "$h"): $target"$'\n' ;;
      caf/* | nlohmann/* | spdlog/*) ;;
      */* | *.*) bad_includes+="$(basename "$h"): $target"$'\n' ;;
    esac
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/p' "$h")
done
[ -z "$bad_includes" ] || die "public headers include headers that are not public:
$bad_includes"

echo "== the README shows the consumer's find_package, target_link_libraries and run_workflow lines"
while IFS= read -r line; do
  grep -qxF -- "$line" "$root/README.md" || die "README.md lacks the consumer's line: $line"
done < <(grep -E '^(find_package\(hatchet_caf|target_link_libraries\()' "$here/consumer/CMakeLists.txt"
         grep -E 'client->run_workflow\(' "$here/consumer/main.cpp" | sed -E 's/^[[:space:]]+//')

echo "== configure and build the consumer with -DCMAKE_PREFIX_PATH=$prefix"
cache_value() { sed -nE "s/^$1:[A-Z]+=(.*)$/\1/p" "$build/CMakeCache.txt"; }
args=(-S "$here/consumer" -B "$cbuild" -DCMAKE_PREFIX_PATH="$prefix"
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_CXX_COMPILER="$(cache_value CMAKE_CXX_COMPILER)")
command -v ninja >/dev/null && args+=(-G Ninja)
command -v ccache >/dev/null && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# A sanitizer build's archives need the sanitizer runtimes at the consumer's link too.
if [ "$(cache_value HATCHET_SANITIZE)" = ON ]; then
  args+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined"
         -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined")
fi
cmake "${args[@]}" >"$work/configure.txt" 2>&1 ||
  die "the consumer does not configure: $(tail -n 30 "$work/configure.txt")"
found=$(sed -nE 's/^hatchet_caf_DIR:[A-Z]+=(.*)$/\1/p' "$cbuild/CMakeCache.txt")
case $found in
  "$prefix"/*) ;;
  *) die "find_package found hatchet_caf in '$found', not in the prefix" ;;
esac
nice cmake --build "$cbuild" >"$work/build.txt" 2>&1 ||
  die "the consumer does not build: $(tail -n 40 "$work/build.txt")"

# Its only include directory of ours is <prefix>/include: none in the source or build tree.
python3 - "$cbuild/compile_commands.json" "$prefix/include" "$root" "$build" <<'PY' ||
import json, os, shlex, sys
commands, public, root, build = sys.argv[1:]
entry = next(e for e in json.load(open(commands)) if e["file"].endswith("main.cpp"))
words = shlex.split(entry["command"])
dirs = []
for i, w in enumerate(words):
    for flag in ("-isystem", "-I", "-iquote", "-idirafter"):
        if w == flag:
            dirs.append(words[i + 1])
        elif w.startswith(flag) and len(w) > len(flag):
            dirs.append(w[len(flag):])
dirs = [os.path.realpath(d) for d in dirs]
inside = lambda d, top: d == top or d.startswith(top + os.sep)
bad = [d for d in dirs
       if d != os.path.realpath(public) and (inside(d, root) or inside(d, build))]
if bad or os.path.realpath(public) not in dirs:
    sys.exit(f"include directories {dirs}: want {public} and nothing from {root} or {build}")
PY
  die "the consumer's include path reaches into this repository"

echo "== run the consumer against the dev engine"
start_engine "$work/engine.log" 0
"$cbuild/consumer" >"$work/consumer.log" 2>&1 &
consumer_pid=$!
track "$consumer_pid"
wait_pid "$consumer_pid" 90 || die "the consumer did not finish within 90 s"
[ "$waited_rc" -eq 0 ] || die "the consumer exited $waited_rc: $(cat "$work/consumer.log")"
for want in 'worker ready' 'run output: {"message":"hello, consumer"}' 'lifespan cleaned up'; do
  grep -qxF -- "$want" "$work/consumer.log" ||
    die "the consumer did not print '$want': $(cat "$work/consumer.log")"
done
echo "PASS: installed, built a consumer against the prefix, and its run completed"
