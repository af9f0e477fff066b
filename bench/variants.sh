#!/usr/bin/env bash
# Our worker against itself with other flags, in rotation, each measurement on a fresh dev engine:
# what a feature costs per task, measured side by side.
#
#   bash bench/variants.sh [--rounds N] [--runs R] [--slots S] -- "ARGS A" "ARGS B" ...
#
# Each round measures every variant once, in the order given (ARGS are extra bench-worker flags;
# "" is the plain worker). Prints every measurement, then per variant the median throughput and
# its median ratio to the first variant's measurement in the same round. Defaults: 4 rounds,
# 20000 runs, 100 slots. Uses the binaries of bench/run.sh (HATCHET_BUILD_DIR, default
# build-bench/). Example: the cost of a per-task dependency and of a reload every 100 ms:
#
#   bash bench/variants.sh -- "" "--dependency" "--reload-every-ms 100"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=4 runs=20000 slots=100
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    --runs) runs=$2; shift ;;
    --slots) slots=$2; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "variants.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ $# -ge 2 ] || { echo "variants.sh: give at least two variants after --" >&2; exit 2; }
variants=("$@")
bin=${HATCHET_BUILD_DIR:-$root/build-bench}/bin
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init variants.sh

measure() { # measure ARGS: prints throughput
  fresh_engine "$runs"
  # shellcheck disable=SC2086 # the variant's flags are words on purpose
  "$bin/bench-worker" --slots "$slots" $1 >"$work/worker.log" 2>&1 &
  local worker=$!; pids+=("$worker")
  wait_for "$work/worker.log" 'registered as'
  local window=$((slots * 4)); [ $window -lt 200 ] && window=200
  local line
  line=$("$bin/bench-driver" --pid "$worker" --workflow BenchNoop --runs "$runs" --window "$window" \
    --warmup 100 | grep '^RESULT')
  local reloads
  reloads=$(grep -c 'in service' "$work/worker.log" || true)
  kill "$worker" "$engine" 2>/dev/null || true
  wait "$worker" "$engine" 2>/dev/null || true
  echo "  [${1:-plain}] $line reloads=$reloads" >&2
  sed -nE 's/.* throughput=([^ ]+).*/\1/p' <<<"$line"
}

results=$work/results.txt
: >"$results"
for r in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    t=$(measure "${variants[$i]}")
    echo "$r $i $t" >>"$results"
  done
done
python3 - "$results" "${variants[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = [v or "plain" for v in sys.argv[2:]]
by = {}
for r, i, t in rows:
    by.setdefault(int(i), {})[int(r)] = float(t)
for i, name in enumerate(names):
    ts = list(by[i].values())
    ratios = [by[i][r] / by[0][r] for r in by[i]]
    print(f"{name:28s} median {statistics.median(ts):9.0f} runs/s   "
          f"median ratio to '{names[0]}' {statistics.median(ratios):.3f} "
          f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)})")
PY
