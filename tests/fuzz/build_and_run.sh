#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (the main build uses g++, and libFuzzer needs clang)
# and runs each for a bounded time on a copy of its seed corpus.
#
#   tests/fuzz/build_and_run.sh OUT_DIR [TARGET...]     TARGET: payload, token (default: both)
#
# Environment: FUZZ_SECONDS (default 15) per target; CXX_FUZZ (default clang++).
# Objects are rebuilt only when a source or a header they include changed (clang -MMD), so a
# second run costs only the fuzzing time. A finding stops the run: the reproducer is saved under
# OUT_DIR/artifacts/ and the script exits 1 with the sanitizer's report above it.
# Exit codes: 0 clean; 1 build failure or finding; 2 usage; 3 no clang with libFuzzer (the
# message names the Debian packages to install).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
out=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(payload token)
seconds=${FUZZ_SECONDS:-15}
cxx=${CXX_FUZZ:-clang++}

missing_clang() {
  echo "FAIL: $1" >&2
  echo "The fuzz targets need clang with libFuzzer: on Debian bookworm install the packages" >&2
  echo "  clang libclang-rt-14-dev" >&2
  echo "(scripts/setup.sh installs with --no-install-recommends, so libclang-rt-14-dev, which" >&2
  echo "holds libFuzzer and the sanitizer runtimes, must be listed explicitly)." >&2
  exit 3
}

command -v "$cxx" >/dev/null 2>&1 || missing_clang "$cxx not found"
mkdir -p "$out"
# A one-line program proves the compiler can link libFuzzer and the sanitizers.
probe=$(mktemp -d "$out/probe.XXXXXX") # per run: two targets may build at the same time
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" \
  2>"$probe/log"; then
  why=$(head -3 "$probe/log")
  rm -rf "$probe"
  missing_clang "$cxx cannot link -fsanitize=fuzzer,address,undefined: $why"
fi
rm -rf "$probe"

# shellcheck disable=SC2054  # the commas belong to -fsanitize's value
# -fno-sanitize=vptr: UBSan's dynamic-type checks need the type info of every polymorphic class
# a source touches, and task_run.cpp hands its context the worker's engine link (actors/run_link),
# whose type info lives with the gRPC client the fuzz targets do not link. The decoders fuzzed
# here have no virtual calls of their own.
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer
       -DSPDLOG_COMPILED_LIB -DSPDLOG_SHARED_LIB -DSPDLOG_FMT_EXTERNAL
       -I "$root/include" -I "$root")
libs=(-lcaf_core -lspdlog -lfmt -lcrypto -lpthread) # crypto: config's PEM file checks

# Sources per target: the fuzz entry point and the library code it reaches.
sources_of() {
  case $1 in
    payload) echo tests/fuzz/fuzz_payload.cpp actors/task_run.cpp codec/json_scan.cpp codec/json_tree.cpp codec/json_dump.cpp core/errors.cpp core/lifespan.cpp core/context.cpp core/dependency_scope.cpp ;;
    token) echo tests/fuzz/fuzz_token.cpp core/config.cpp util/base64url.cpp util/pem_files.cpp core/errors.cpp ;;
    *) echo "unknown fuzz target '$1' (payload, token)" >&2; exit 2 ;;
  esac
}

# up_to_date OBJ DEPFILE: the object exists and is newer than every file it depends on, and
# than this script (which holds the flags).
up_to_date() {
  local obj=$1 dep=$2 f
  [ -f "$obj" ] && [ -f "$dep" ] || return 1
  [ "$0" -nt "$obj" ] && return 1
  # The .d file is "obj: src hdr hdr \ ..." — one path per word after the colon.
  for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
    [ "$f" -nt "$obj" ] && return 1
  done
  return 0
}

status=0
for t in "${targets[@]}"; do
  objdir=$out/obj/$t # one per target, so two targets can build at the same time
  mkdir -p "$objdir" "$out/corpus/$t" "$out/artifacts/$t"
  objs=()
  t_build=$(date +%s)
  for src in $(sources_of "$t"); do
    name=$(basename "${src%.cpp}")
    obj=$objdir/$name.o
    if ! up_to_date "$obj" "$objdir/$name.d"; then
      echo "fuzz[$t]: compiling $src"
      (cd "$root" && nice "$cxx" "${flags[@]}" -MMD -MF "$objdir/$name.d" -c "$src" -o "$obj")
    fi
    objs+=("$obj")
  done
  bin=$out/fuzz_$t
  "$cxx" "${flags[@]}" "${objs[@]}" "${libs[@]}" -o "$bin"
  echo "fuzz[$t]: built in $(($(date +%s) - t_build)) s; fuzzing for $seconds s"
  # The first corpus directory is where libFuzzer keeps what it finds; the seeds stay read-only.
  rc=0
  "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$root/tests/fuzz/json.dict" \
    -artifact_prefix="$out/artifacts/$t/" "$out/corpus/$t" "$root/tests/fuzz/corpus/$t" \
    >"$out/fuzz_$t.log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)|^Done [0-9]+ runs' \
    "$out/fuzz_$t.log" || true
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: fuzz[$t] found a problem (exit $rc); reproducer(s):"
    ls -1 "$out/artifacts/$t/" || true
    echo "--- report (from $out/fuzz_$t.log):"
    grep -vE '^#[0-9]+' "$out/fuzz_$t.log" | tail -n 60
    echo "Reproduce: $bin <reproducer>"
    status=1
  else
    echo "fuzz[$t]: clean; corpus now $(find "$out/corpus/$t" -type f | wc -l) new input(s)" \
      "+ $(find "$root/tests/fuzz/corpus/$t" -type f | wc -l) seed(s)"
  fi
done
exit "$status"
