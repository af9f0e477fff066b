# shellcheck shell=bash disable=SC2034  # the variables set here are read by the sourcing script
# Helpers for the fault process tests; sourced, not run. Every process a test starts is recorded
# by PID and stopped by PID in the EXIT trap (never by name); every wait is bounded.
#
# Usage: source faults_lib.sh; faults_init <bin dir>; then start_engine, start_proxy, ...

faults_init() {
  bin=$1
  work=$(mktemp -d /tmp/hatchet-faults.XXXXXX)
  started_pids=()
  trap faults_cleanup EXIT
}

faults_cleanup() {
  local rc=$?
  local pid
  for pid in "${started_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Give them 5 s to stop cleanly, then force.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${started_pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${started_pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ -n "${work:-}" ]; then
    echo "--- test failed (exit $rc); last log lines from $work:"
    local f
    for f in "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "--- $f"
      tail -n 25 "$f"
    done
  fi
  if [ -n "${work:-}" ] && [ -z "${KEEP_FAULT_LOGS:-}" ]; then
    rm -rf "$work"
  elif [ -n "${work:-}" ]; then
    echo "logs kept in $work"
  fi
  exit "$rc"
}

# Records a PID for the cleanup.
track() { started_pids+=("$1"); }

# Forgets a PID that has been waited for.
untrack() {
  local keep=() pid
  for pid in "${started_pids[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  started_pids=("${keep[@]}")
}

die() {
  echo "FAIL: $*" >&2
  exit 1
}

# wait_for_line FILE REGEX SECONDS [MIN_COUNT]: until FILE has at least MIN_COUNT (default 1)
# lines matching REGEX. Returns 1 on timeout.
wait_for_line() {
  local file=$1 regex=$2 seconds=$3 min=${4:-1}
  local tries=$((seconds * 20))
  for _ in $(seq "$tries"); do
    if [ -f "$file" ] && [ "$(grep -cE -- "$regex" "$file" 2>/dev/null || true)" -ge "$min" ]; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# wait_pid PID SECONDS: waits for a child to exit; sets waited_rc. Returns 1 (still running) on
# timeout.
wait_pid() {
  local pid=$1 seconds=$2
  for _ in $(seq $((seconds * 20))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      waited_rc=0
      wait "$pid" || waited_rc=$?
      untrack "$pid"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# start_engine LOG [PORT [ARGS...]]: starts hatchet-dev-engine (PORT 0 or absent: a free port)
# with extra serve ARGS; sets engine_pid, engine_port and engine_rest_port once it listens, and
# engine_token to the token it logs (which names its REST address, a free port of its own with
# PORT 0). Clients started afterwards use it: HATCHET_CLIENT_TOKEN and
# HATCHET_CLIENT_TLS_STRATEGY=none are exported.
start_engine() {
  local log=$1 port=${2:-0}
  shift $(($# < 2 ? $# : 2))
  "$bin/hatchet-dev-engine" serve --port "$port" "$@" >>"$log" 2>&1 &
  engine_pid=$!
  track "$engine_pid"
  local before
  before=$(grep -c 'listening on' "$log" 2>/dev/null || true)
  wait_for_line "$log" 'listening on 127\.0\.0\.1:[0-9]+' 10 $((before + 1)) ||
    die "the engine did not start listening within 10 s"
  engine_port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$log" | tail -1 | sed 's/.*://')
  engine_rest_port=$(grep -oE 'REST API https?://127\.0\.0\.1:[0-9]+' "$log" | tail -1 | sed 's/.*://')
  wait_for_line "$log" 'token: ' 10 $((before + 1)) || die "the engine logged no token within 10 s"
  engine_token=$(sed -nE 's/.*token: ([^ ]+)$/\1/p' "$log" | tail -1)
  export HATCHET_CLIENT_TOKEN=$engine_token HATCHET_CLIENT_TLS_STRATEGY=none
}

# restart_engine LOG [ARGS...]: starts the engine again on the gRPC and REST ports the last
# start_engine got, so the token clients already hold still names both. (Without --rest-port the
# engine would take gRPC port + 1, which may be anybody's by then.)
restart_engine() {
  local log=$1
  shift
  start_engine "$log" "$engine_port" --rest-port "$engine_rest_port" "$@"
}

# start_worker LOG ARGS...: starts hatchet-worker with ARGS, logging to LOG; sets worker_pid once
# it has registered (30 s at most).
start_worker() {
  local log=$1
  shift
  "$bin/hatchet-worker" "$@" >"$log" 2>&1 &
  worker_pid=$!
  track "$worker_pid"
  wait_for_line "$log" 'registered as' 30 || die "the worker ($*) did not register within 30 s"
}

# start_proxy UPSTREAM_PORT ARGS...: starts hatchet-fault-proxy on a free port; sets proxy_pid,
# proxy_port. Its cut log goes to $work/proxy.log.
start_proxy() {
  local upstream=$1
  shift
  "$bin/hatchet-fault-proxy" --upstream "$upstream" "$@" >"$work/proxy.port" 2>>"$work/proxy.log" &
  proxy_pid=$!
  track "$proxy_pid"
  for _ in $(seq 100); do
    [ -s "$work/proxy.port" ] && break
    sleep 0.05
  done
  proxy_port=$(head -1 "$work/proxy.port")
  [ -n "$proxy_port" ] || die "the proxy did not print its port within 5 s"
}

# stop_pid PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL; sets waited_rc (137 if killed).
stop_pid() {
  local pid=$1 seconds=$2
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid "$pid" "$seconds"; then
    echo "process $pid did not stop within $seconds s after SIGTERM: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    untrack "$pid"
    waited_rc=137
  fi
}

# log_ms LINE: milliseconds since midnight of the "[YYYY-MM-DD HH:MM:SS.mmm]" stamp that starts
# an spdlog (or proxy) line. Runs within one test never span midnight in practice; the caller
# treats negative differences as "unknown".
log_ms() {
  sed -nE 's/^\[[0-9-]+ ([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})\].*/\1 \2 \3 \4/p' <<<"$1" |
    awk '{ printf "%d\n", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}

# json_field NAME TEXT: the number after "NAME": in TEXT (first occurrence).
json_field() {
  grep -oE "\"$1\":[0-9.]+" <<<"$2" | head -1 | cut -d: -f2 || true
}

# Free ports come from the kernel (port 0) for the engine and the proxy; nothing here picks a
# fixed port.
