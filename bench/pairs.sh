#!/usr/bin/env bash
# Ours against the raw protocol client, in alternating pairs, each measurement on a fresh dev
# engine with one worker: a closer look at the ours/raw ratio than the full run's 3 repeats.
#
#   bash bench/pairs.sh [--pairs N] [--runs R] [--slots LIST] [--payload LIST]
#
# Defaults: 4 pairs, 20000 runs, slots 1,100,1000, payload 0. LIST is comma-separated; every
# combination is measured. Payload 0 is the no-op task (input {} and output {}); a payload of B
# bytes is the echo task with an input {"data": "..."} of B bytes, returned as its output (ours
# decodes and encodes it through a typed struct; the raw client copies the bytes). Payloads of
# 64 KiB and more use a fifth of the runs.
#
# Uses the binaries of bench/run.sh (HATCHET_BUILD_DIR, default build-bench/; build them with
# `bash bench/run.sh --smoke` or scripts/build.sh). Prints each measurement, each pair's ratios,
# and a table of medians: throughput ours/raw, and worker CPU per task ours/raw (each pair's own
# ratio, so that the machine's drift between pairs cancels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pairs=4 runs=20000 slots_list=1,100,1000 payload_list=0
while [ $# -gt 0 ]; do
  case $1 in
    --pairs) pairs=$2; shift ;;
    --runs) runs=$2; shift ;;
    --slots) slots_list=$2; shift ;;
    --payload) payload_list=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "pairs.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=${HATCHET_BUILD_DIR:-$root/build-bench}/bin
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init pairs.sh

# measure ours|raw SLOTS PAYLOAD RUNS: prints "throughput cpu_us_per_task p50_ms"
measure() {
  local kind=$1 slots=$2 payload=$3 n=$4
  fresh_engine "$n"
  local worker wf input='{}'
  if [ "$kind" = ours ]; then
    "$bin/bench-worker" --slots "$slots" >"$work/worker.log" 2>&1 &
    worker=$!; wf=BenchNoop; [ "$payload" -gt 0 ] && wf=BenchEcho
    wait_for "$work/worker.log" 'registered as'
  else
    "$bin/bench-raw-worker" --slots "$slots" >"$work/worker.log" 2>&1 &
    worker=$!; wf=benchnoopraw; [ "$payload" -gt 0 ] && wf=benchechoraw
    wait_for "$work/worker.log" '^READY'
  fi
  pids+=("$worker")
  [ "$payload" -gt 0 ] && input=$(python3 -c "import json; print(json.dumps({'data': 'x' * ($payload - 11)}))")
  local window=$((slots * 4)); [ $window -lt 200 ] && window=200
  local line
  line=$("$bin/bench-driver" --pid "$worker" --workflow "$wf" --input "$input" --runs "$n" \
    --window "$window" --warmup 100 | grep '^RESULT')
  kill "$worker" "$engine" 2>/dev/null || true
  wait "$worker" "$engine" 2>/dev/null || true
  echo "  $kind: $line" >&2
  sed -nE 's/.* throughput=([^ ]+) p50_ms=([^ ]+) .*cpu_us_per_task=([^ ]+).*/\1 \3 \2/p' <<<"$line"
}

summary=$work/summary.txt
: >"$summary"
IFS=, read -r -a slots_all <<<"$slots_list"
IFS=, read -r -a payload_all <<<"$payload_list"
for payload in "${payload_all[@]}"; do
  for slots in "${slots_all[@]}"; do
    n=$runs; [ "$payload" -ge 65536 ] && n=$((runs / 5))
    echo "== slots $slots, payload $payload bytes, $n runs per measurement"
    for i in $(seq "$pairs"); do
      read -r o_tp o_cpu o_p50 < <(measure ours "$slots" "$payload" "$n")
      read -r r_tp r_cpu r_p50 < <(measure raw "$slots" "$payload" "$n")
      echo "$slots $payload $o_tp $r_tp $o_cpu $r_cpu $o_p50 $r_p50" >>"$summary"
      python3 -c "import sys; o,r,oc,rc=map(float,sys.argv[1:5]); print(f'pair {sys.argv[5]}: ours {o:.0f} runs/s {oc} us/task, raw {r:.0f} runs/s {rc} us/task: throughput ours/raw {o/r:.3f}, cpu ours/raw {oc/rc:.3f}')" \
        "$o_tp" "$r_tp" "$o_cpu" "$r_cpu" "$i"
    done
  done
done
python3 - "$summary" <<'EOF'
import collections, statistics, sys
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    s, p, otp, rtp, ocpu, rcpu, op50, rp50 = line.split()
    rows.setdefault((int(s), int(p)), []).append(tuple(map(float, (otp, rtp, ocpu, rcpu, op50, rp50))))
print()
print("slots | payload B | pairs | ours runs/s | raw runs/s | throughput ours/raw (min-max) | cpu us/task ours | raw | cpu ours/raw | p50 ms ours | raw")
for (s, p), v in rows.items():
    med = lambda i: statistics.median(x[i] for x in v)
    tr = [x[0] / x[1] for x in v]
    cr = [x[2] / x[3] for x in v]
    print(f"{s:<5d} | {p:9d} | {len(v):5d} | {med(0):11.0f} | {med(1):10.0f} | "
          f"{statistics.median(tr):.3f} ({min(tr):.3f}-{max(tr):.3f})   | {med(2):16.1f} | {med(3):5.1f} | "
          f"{statistics.median(cr):12.3f} | {med(4):11.1f} | {med(5):.1f}")
EOF
