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
for p in hatchet-dev-engine bench-worker bench-driver bench-raw-worker; do
  [ -x "$bin/$p" ] || { echo "pairs.sh: $bin/$p is missing (run bash bench/run.sh --smoke first)" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # FILE REGEX
  for _ in $(seq 150); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "pairs.sh: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

measure() { # measure ours|raw: prints throughput
  local kind=$1
  "$bin/hatchet-dev-engine" serve --host 127.0.0.1 --port 0 --max-finished-runs $((runs * 2)) \
    >"$work/engine.log" 2>&1 &
  local engine=$!; pids+=("$engine")
  wait_for "$work/engine.log" 'token: '
  HATCHET_CLIENT_TOKEN=$(sed -nE 's/.*token: ([^ ]+)$/\1/p' "$work/engine.log" | head -n 1)
  export HATCHET_CLIENT_TOKEN HATCHET_CLIENT_TLS_STRATEGY=none
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
