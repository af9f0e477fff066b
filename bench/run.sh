#!/usr/bin/env bash
# The slot-concurrency benchmark (issue 5). One command:
#
#   bash bench/run.sh            # full: scenarios a-d, 3 repeats, about 10-15 minutes
#   bash bench/run.sh --quick    # the same scenarios with small counts, under a minute
#   bash bench/run.sh --smoke    # the ctest smoke case (label bench): tiny counts, 1 repeat
#
# Options: --repeats N, --no-build, --bin-dir DIR (programs, default <build>/bin), --out DIR
# (default bench/out/<date>), --no-ts (skip the TypeScript worker), --no-plot.
# Environment: HATCHET_BUILD_DIR (default build-bench), HATCHET_JOBS (default 1).
#
# It builds what it needs, starts a dev engine on a free loopback port, and for each scenario
# starts one worker (ours = bench-worker, ts = the official TypeScript SDK 1.33.2 worker,
# raw = bench-raw-worker, the protocol ceiling), drives it with bench-driver and stops it.
# Output: a table on stdout, <out>/results.csv (every measurement), <out>/summary.csv (medians),
# <out>/throughput.png (gnuplot). Exits 0 when every run completed; timings are never asserted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=full repeats="" build=1 bin_dir="" out="" use_ts=1 plot=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --full) mode=full ;;
    --repeats) repeats=$2; shift ;;
    --no-build) build=0 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --out) out=$2; shift ;;
    --no-ts) use_ts=0 ;;
    --no-plot) plot=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# --- sizes per mode -------------------------------------------------------------------------
case $mode in
  full)  NOOP_SLOTS="1 10 100 1000"; NOOP_RUNS=20000; SLEEP_SLOTS="100 1000 10000"; SLEEP_RUNS_PER_SLOT=5
         SLEEP_MS=1000; BIG_STATE=$((1 << 30)); STATE_RUNS=20000; IDLE_SLOTS=10000; IDLE_S=10; R=${repeats:-3}; TS_NOOP_RUNS=3000; TS_SLEEP_MAX=1000 ;;
  quick) NOOP_SLOTS="1 100 1000"; NOOP_RUNS=2000; SLEEP_SLOTS="100 1000"; SLEEP_RUNS_PER_SLOT=2
         SLEEP_MS=1000; BIG_STATE=$((256 << 20)); STATE_RUNS=2000; IDLE_SLOTS=10000; IDLE_S=3; R=${repeats:-1}; TS_NOOP_RUNS=500; TS_SLEEP_MAX=1000 ;;
  smoke) NOOP_SLOTS="10 100"; NOOP_RUNS=200; SLEEP_SLOTS="100"; SLEEP_RUNS_PER_SLOT=1
         SLEEP_MS=200; BIG_STATE=$((16 << 20)); STATE_RUNS=200; IDLE_SLOTS=1000; IDLE_S=1; R=${repeats:-1}; TS_NOOP_RUNS=200; TS_SLEEP_MAX=100 ;;
esac

build_dir=${HATCHET_BUILD_DIR:-$root/build-bench}
if [ "$build" = 1 ]; then
  echo "== building into $build_dir" >&2
  HATCHET_BUILD_DIR=$build_dir HATCHET_JOBS=${HATCHET_JOBS:-1} bash "$root/scripts/build.sh" \
    hatchet-dev-engine bench-worker bench-driver bench-raw-worker >&2
fi
bin_dir=${bin_dir:-$build_dir/bin}
for p in hatchet-dev-engine bench-worker bench-driver bench-raw-worker; do
  [ -x "$bin_dir/$p" ] || { echo "run.sh: $bin_dir/$p is missing (build first)" >&2; exit 1; }
done

if [ "$plot" = 1 ] && ! command -v gnuplot >/dev/null; then
  if [ "$mode" != smoke ] && [ "$(id -u)" = 0 ]; then
    echo "== installing gnuplot-nox (apt-get)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox) >&2 ||
      echo "run.sh: could not install gnuplot-nox; no plot" >&2
  fi
fi

out=${out:-$root/bench/out/$(date +%Y%m%d-%H%M%S)-$mode}
mkdir -p "$out/logs"
logs=$out/logs
csv=$out/results.csv
echo "scenario,kind,slots,state_bytes,rep,runs,failed,seconds,throughput,p50_ms,p99_ms,cpu_us_per_task,rss_kib,hwm_kib,threads,idle_cpu_percent" >"$csv"

# --- processes: every one started here is killed by PID on exit --------------------------------
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spawn() { # spawn LOG CMD...: starts CMD in the background (dies with this shell); sets LAST_PID
  local log=$1; shift
  setpriv --pdeathsig KILL -- "$@" >"$log" 2>&1 &
  LAST_PID=$!
  pids+=("$LAST_PID")
}
stop_pid() { # graceful, then SIGKILL after 10 s
  local p=$1
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
wait_for() { # wait_for FILE REGEX SECONDS PID
  for _ in $(seq $(($3 * 10))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# --- engine -------------------------------------------------------------------------------------
spawn "$logs/engine.log" "$bin_dir/hatchet-dev-engine" serve --host 127.0.0.1 --port 0 \
  --max-finished-runs 100000
engine_pid=$LAST_PID
wait_for "$logs/engine.log" 'token: ' 15 "$engine_pid" || { cat "$logs/engine.log" >&2; exit 1; }
engine_addr=$(sed -nE 's/.* listening on ([^ ]+) .*/\1/p' "$logs/engine.log" | head -n 1)
HATCHET_CLIENT_TOKEN=$(sed -nE 's/.*token: ([^ ]+)$/\1/p' "$logs/engine.log" | head -n 1)
export HATCHET_CLIENT_TOKEN HATCHET_CLIENT_TLS_STRATEGY=none HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED=false
unset HATCHET_CLIENT_NAMESPACE HATCHET_CLIENT_HOST_PORT HATCHET_CLIENT_API_URL
echo "== dev engine pid $engine_pid on $engine_addr; mode $mode, $R repeat(s); output in $out" >&2

# --- the TypeScript SDK (skipped, and said so, when it cannot be installed) ---------------------
if [ "$use_ts" = 1 ]; then
  if sdk_cache=$(bash "$root/tests/interop/install_sdk.sh" 2>"$logs/ts-install.log"); then
    export NODE_PATH=$sdk_cache/node_modules
  else
    echo "== TypeScript SDK unavailable ($(tail -n 1 "$logs/ts-install.log")): ts columns are n/a" >&2
    use_ts=0
  fi
fi

# --- one worker, R measurements -----------------------------------------------------------------
start_worker() { # start_worker KIND SLOTS STATE_BYTES: sets WORKER_PID, WF_NOOP, WF_SLEEP
  local kind=$1 slots=$2 state=$3 log=$logs/$1-$2-$3.log
  case $kind in
    ours) spawn "$log" "$bin_dir/bench-worker" --slots "$slots" --state-bytes "$state"
          WF_NOOP=BenchNoop WF_SLEEP=BenchSleep; local ready='registered as' ;;
    ts)   BENCH_SLOTS=$slots spawn "$log" node "$root/bench/js/ts_bench_worker.js"
          WF_NOOP=benchnoopts WF_SLEEP=benchsleepts; local ready='^READY' ;;
    raw)  spawn "$log" "$bin_dir/bench-raw-worker" --slots "$slots"
          WF_NOOP=benchnoopraw WF_SLEEP=; local ready='^READY' ;;
  esac
  WORKER_PID=$LAST_PID
  WORKER_LOG=$log
  wait_for "$log" "$ready" 60 "$WORKER_PID" || { echo "run.sh: $kind worker did not start:" >&2; tail -n 20 "$log" >&2; exit 1; }
}

failures=0
measure() { # measure SCENARIO KIND SLOTS STATE REP DRIVER-ARGS...
  local sc=$1 kind=$2 slots=$3 state=$4 rep=$5; shift 5
  echo "-- $sc $kind slots=$slots state=$state rep $rep" >&2
  local line
  if ! line=$("$bin_dir/bench-driver" --pid "$WORKER_PID" "$@" 2>>"$logs/driver.log" | grep '^RESULT'); then
    echo "run.sh: driver failed for $sc $kind slots=$slots (see $logs/driver.log)" >&2
    failures=$((failures + 1))
    return 0
  fi
  echo "   $line" >&2
  get() { sed -nE "s/.* $1=([^ ]+).*/\1/p" <<<"$line"; }
  echo "$sc,$kind,$slots,$state,$rep,$(get runs),$(get failed),$(get seconds),$(get throughput),$(get p50_ms),$(get p99_ms),$(get cpu_us_per_task),$(get rss_kib),$(get hwm_kib),$(get threads),$(get cpu_percent)" >>"$csv"
}
progress=()
[ -t 2 ] && progress=(--progress)
[ "$mode" = full ] && progress=(--progress)

kinds="ours raw"
[ "$use_ts" = 1 ] && kinds="ours ts raw"

# a. no-op tasks, side by side: the three workers run at once (each on its own workflow; an idle
# one costs under 2 % of a core) and their measurements alternate, ours, ts, raw, ours, ..., so
# that the machine's drift over a minute weighs on all of them alike.
declare -A a_pid a_wf
for slots in $NOOP_SLOTS; do
  for kind in $kinds; do
    start_worker "$kind" "$slots" 1024
    a_pid[$kind]=$WORKER_PID
    a_wf[$kind]=$WF_NOOP
  done
  window=$((slots * 4)); [ $window -lt 200 ] && window=200
  for rep in $(seq "$R"); do
    for kind in $kinds; do
      WORKER_PID=${a_pid[$kind]}
      runs=$NOOP_RUNS; [ "$kind" = ts ] && runs=$TS_NOOP_RUNS # the TS worker is ~20x slower
      measure a_noop "$kind" "$slots" 1024 "$rep" --workflow "${a_wf[$kind]}" --runs "$runs" \
        --window "$window" --warmup 100 "${progress[@]}"
    done
  done
  for kind in $kinds; do stop_pid "${a_pid[$kind]}"; done
done

# b. sleeping tasks: efficiency = throughput / (slots / duration)
for slots in $SLEEP_SLOTS; do
  for kind in $kinds; do
    [ "$kind" = raw ] && continue
    [ "$kind" = ts ] && [ "$slots" -gt "$TS_SLEEP_MAX" ] && continue
    start_worker "$kind" "$slots" 1024
    for rep in $(seq "$R"); do
      measure b_sleep "$kind" "$slots" 1024 "$rep" --workflow "$WF_SLEEP" \
        --input "{\"ms\":$SLEEP_MS}" --runs $((slots * SLEEP_RUNS_PER_SLOT)) \
        --window $((slots * 2)) --warmup 0 --timeout 900 "${progress[@]}"
    done
    stop_pid "$WORKER_PID"
  done
done

# c. lifespan state 1 KiB against BIG_STATE, our worker, 100 slots
for state in 1024 "$BIG_STATE"; do
  start_worker ours 100 "$state"
  for rep in $(seq "$R"); do
    measure c_state ours 100 "$state" "$rep" --workflow BenchNoop --runs "$STATE_RUNS" --window 400 \
      --warmup 100 "${progress[@]}"
  done
  stop_pid "$WORKER_PID"
done

# d. idle worker
for kind in ours $([ "$use_ts" = 1 ] && echo ts); do
  start_worker "$kind" "$IDLE_SLOTS" 1024
  measure d_idle "$kind" "$IDLE_SLOTS" 1024 1 --workflow "$WF_NOOP" --warmup 1 --idle-seconds "$IDLE_S"
  stop_pid "$WORKER_PID"
done

stop_pid "$engine_pid"
python3 "$root/bench/summarize.py" "$csv" "$out" --sleep-ms "$SLEEP_MS" --big-state "$BIG_STATE" \
  --plot "$plot" --machine "$(nproc) x $(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
if [ "$failures" -gt 0 ]; then
  echo "run.sh: $failures measurement(s) failed" >&2
  exit 1
fi
