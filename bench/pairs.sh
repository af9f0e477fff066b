#!/usr/bin/env bash
# Ours against the raw protocol client, in alternating pairs, each measurement on a fresh dev
# engine with one worker: a closer look at the ours/raw ratio than the full run's 3 repeats.
#
#   bash bench/pairs.sh [--pairs N] [--runs R] [--slots S]     (defaults: 6 pairs, 40000 runs, 100)
#
# Uses the binaries of bench/run.sh (HATCHET_BUILD_DIR, default build-bench/; build them with
# `bash bench/run.sh --smoke` or scripts/build.sh). Prints each measurement, each pair's ratio and
# the median ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pairs=6 runs=40000 slots=100
while [ $# -gt 0 ]; do
  case $1 in
    --pairs) pairs=$2; shift ;;
    --runs) runs=$2; shift ;;
    --slots) slots=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "pairs.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=${HATCHET_BUILD_DIR:-$root/build-bench}/bin
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init pairs.sh

measure() { # measure ours|raw: prints throughput
  local kind=$1
  fresh_engine "$runs"
  local worker wf
  if [ "$kind" = ours ]; then
    "$bin/bench-worker" --slots "$slots" >"$work/worker.log" 2>&1 &
    worker=$!; wf=BenchNoop; wait_for "$work/worker.log" 'registered as'
  else
    "$bin/bench-raw-worker" --slots "$slots" >"$work/worker.log" 2>&1 &
    worker=$!; wf=benchnoopraw; wait_for "$work/worker.log" '^READY'
  fi
  pids+=("$worker")
  local window=$((slots * 4)); [ $window -lt 200 ] && window=200
  local line
  line=$("$bin/bench-driver" --pid "$worker" --workflow "$wf" --runs "$runs" --window "$window" \
    --warmup 100 | grep '^RESULT')
  kill "$worker" "$engine" 2>/dev/null || true
  wait "$worker" "$engine" 2>/dev/null || true
  echo "  $kind: $line" >&2
  sed -nE 's/.* throughput=([^ ]+).*/\1/p' <<<"$line"
}

ratios=()
for i in $(seq "$pairs"); do
  ours=$(measure ours)
  raw=$(measure raw)
  ratio=$(python3 -c "print(f'{$ours / $raw:.3f}')")
  ratios+=("$ratio")
  echo "pair $i: ours $ours runs/s, raw $raw runs/s, ours/raw $ratio"
done
python3 -c "import statistics, sys; r = [float(x) for x in sys.argv[1:]]; print(f'median ours/raw over {len(r)} pairs: {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f})')" "${ratios[@]}"
