# Sourced by every interop case (bash). Gives each case: strict mode, a scratch folder, the
# official SDK (or a skip with exit code 77), a dev engine of its own on a free port, our
# hatchet-worker, the TypeScript worker, log helpers, and a cleanup that stops exactly the
# processes the case started (by PID) and keeps the logs when the case fails.
#
# Needs HATCHET_BIN_DIR (the build's bin folder; ctest sets it).

set -euo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${HATCHET_BIN_DIR:?HATCHET_BIN_DIR must name the folder with hatchet-dev-engine}
CASE=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hatchet-interop-$CASE.XXXXXX")
PIDS=()
CASE_START=$(date +%s%N)

elapsed() { echo "$(( ($(date +%s%N) - CASE_START) / 1000000 )) ms"; }
say() { echo "[$CASE +$(elapsed)] $*"; }
die() {
  say "FAIL: $*"
  exit 1
}
ok() { say "ok: $*"; }

# Children get SIGTERM if this script dies without running its trap (e.g. SIGKILL by a ctest
# timeout), so nothing outlives a case.
if command -v setpriv >/dev/null; then
  DEATHSIG=(setpriv --pdeathsig TERM --)
else
  DEATHSIG=()
fi

# Runs a command in the background, logging to $WORK/<log>; records its PID. Sets LAST_PID.
spawn() {
  local log=$1
  shift
  "${DEATHSIG[@]}" "$@" >"$WORK/$log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# Stops one process started by spawn: SIGTERM, then SIGKILL after $2 seconds (default 5).
stop_pid() {
  local pid=$1 grace=${2:-5} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[i]}"
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    local f
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "----- last lines of $(basename "$f") -----"
      tail -n 40 "$f"
    done
    say "exit $rc; logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until the file has at least $3 (default 1) lines matching the extended regex $2,
# for at most $4 seconds (default 20). Returns 1 on timeout.
wait_for_lines() {
  local file=$1 regex=$2 want=${3:-1} timeout=${4:-20} i
  for ((i = 0; i < timeout * 10; i++)); do
    if [ -f "$file" ] && [ "$(grep -cE -- "$regex" "$file" || true)" -ge "$want" ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

count_lines() { grep -cE -- "$2" "$1" || true; }

# The official SDK: NODE_PATH for the scripts, or exit 77 (ctest: skipped) if npm cannot get it.
need_sdk() {
  local rc=0
  SDK_CACHE=$("$INTEROP_DIR/install_sdk.sh" 2>"$WORK/install.log") || rc=$?
  if [ "$rc" -eq 77 ]; then
    echo "SKIPPED: the official TypeScript SDK is not in the cache and cannot be installed" \
      "(npm cannot reach its registry, or node/npm are missing):"
    sed 's/^/  /' "$WORK/install.log"
    exit 77
  elif [ "$rc" -ne 0 ]; then
    cat "$WORK/install.log"
    die "installing the TypeScript SDK failed (exit $rc)"
  fi
  SDK_DIR=$SDK_CACHE/node_modules/@hatchet-dev/typescript-sdk
  export NODE_PATH=$SDK_CACHE/node_modules
  say "TypeScript SDK $(node -p "require('$SDK_DIR/package.json').version") from $SDK_CACHE," \
    "node $(node --version)"
}

# A dev engine of this case's own on a free port (port 0: the engine picks one and logs it), with
# extra serve arguments if given (e.g. --tls-cert ...). Sets ENGINE_PID, ENGINE_ADDR, ENGINE_PORT,
# ENGINE_LOG and exports the client environment (plaintext: a TLS case sets its own strategy).
start_engine() {
  ENGINE_LOG=$WORK/engine.log
  spawn engine.log "$BIN_DIR/hatchet-dev-engine" serve --host 127.0.0.1 --port 0 --log-level ${INTEROP_ENGINE_LOG_LEVEL:-debug} "$@"
  ENGINE_PID=$LAST_PID
  wait_for_lines "$ENGINE_LOG" 'token: ' 1 15 || die "the dev engine did not start"
  ENGINE_ADDR=$(sed -nE 's/.* listening on ([^ ]+) .*/\1/p' "$ENGINE_LOG" | head -n 1)
  ENGINE_PORT=${ENGINE_ADDR##*:}
  [ -n "$ENGINE_PORT" ] || die "cannot read the engine's port from its log"
  HATCHET_CLIENT_TOKEN=$(sed -nE 's/.*token: ([^ ]+)$/\1/p' "$ENGINE_LOG" | head -n 1)
  export HATCHET_CLIENT_TOKEN
  export HATCHET_CLIENT_TLS_STRATEGY=none
  # No namespace, no config file, no health server: the cases control every name.
  unset HATCHET_CLIENT_NAMESPACE HATCHET_CLIENT_HOST_PORT HATCHET_CLIENT_API_URL \
    HATCHET_CLIENT_TLS_ROOT_CA_FILE HATCHET_CLIENT_TLS_SERVER_NAME HATCHET_CLIENT_TLS_CERT_FILE \
    HATCHET_CLIENT_TLS_KEY_FILE
  export HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED=false
  say "dev engine (pid $ENGINE_PID) on $ENGINE_ADDR"
}

# Our hatchet-worker with --debug (every run logged). Sets OUR_WORKER_PID and OUR_WORKER_LOG.
start_our_worker() {
  OUR_WORKER_LOG=$WORK/our-worker.log
  spawn our-worker.log "$BIN_DIR/hatchet-worker" --name cpp-interop-worker --debug "$@"
  OUR_WORKER_PID=$LAST_PID
  wait_for_lines "$OUR_WORKER_LOG" 'running as ' 1 20 || die "hatchet-worker did not start"
  say "hatchet-worker (pid $OUR_WORKER_PID) running"
}

# The TypeScript worker (js/ts_worker.js). Extra environment as arguments (NAME=value ...).
# Sets TS_WORKER_PID, TS_WORKER_LOG, TS_REPORT; waits until the engine saw its ListenV2 stream.
start_ts_worker() {
  TS_WORKER_LOG=$WORK/ts-worker.log
  TS_REPORT=$WORK/ts-worker-report.json
  spawn ts-worker.log env TS_REPORT="$TS_REPORT" "$@" node "$INTEROP_DIR/js/ts_worker.js"
  TS_WORKER_PID=$LAST_PID
  wait_for_lines "$TS_WORKER_LOG" 'registered as [0-9a-f-]{36}' 1 30 ||
    die "the TypeScript worker did not register"
  TS_WORKER_ID=$(sed -nE 's/.*registered as ([0-9a-f-]{36}).*/\1/p' "$TS_WORKER_LOG" | head -n 1)
  wait_for_lines "$ENGINE_LOG" "worker $TS_WORKER_ID opened a listen stream" 1 20 ||
    die "the TypeScript worker did not open its ListenV2 stream"
  say "TypeScript worker (pid $TS_WORKER_PID) registered as $TS_WORKER_ID"
}

# Reads a value from the TypeScript worker's report: report_value '<js expression on r>'.
report_value() {
  node -e "const r = require(process.argv[1]); console.log(JSON.stringify($1))" "$TS_REPORT"
}

# Established TCP connections from process $1 to the engine's port.
tcp_connections_of() {
  ss -Htnp state established "( dport = :$ENGINE_PORT )" 2>/dev/null | grep -c "pid=$1," || true
}
