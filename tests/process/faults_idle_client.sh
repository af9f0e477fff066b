#!/usr/bin/env bash
# A client and a worker idle across connection cuts and an engine restart, then waiting again:
# every later result must arrive, once (hatchet-idle-client, which runs both, tells). Both talk to
# the engine through hatchet-fault-proxy, which cuts every connection every CUT_MS (default
# 1000) ms; halfway through the quiet spell the engine is killed and started again on its port.
#
#   hatchet-idle-client (client + worker) ──► hatchet-fault-proxy (cuts) ──► hatchet-dev-engine
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

cut_ms=${CUT_MS:-1000}
idle_s=${IDLE_SECONDS:-8}
runs=${RUNS:-50}

start_engine "$work/engine1.log" 0
port=$engine_port
start_proxy "$engine_port" --cut-every "$cut_ms" --max-seconds 120
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" timeout 120 "$bin/hatchet-idle-client" \
  --idle "$idle_s" --runs "$runs" >"$work/client.log" 2>&1 &
client_pid=$!
track "$client_pid"
# The first round is over once the last parent's result is in; then the quiet spell begins.
wait_for_line "$work/client.log" 'running as' 30 || die "the client's worker did not start"
sleep $((idle_s / 2))
kill -KILL "$engine_pid"
wait "$engine_pid" 2>/dev/null || true
untrack "$engine_pid"
restart_engine "$work/engine2.log"
wait_pid "$client_pid" 110 || die "the client did not finish"
rc=$waited_rc
cuts=$(grep -c 'cut [1-9][0-9]* connection' "$work/proxy.log" || true)
grep 'idle-client:' "$work/client.log" || true
echo "faults: cut_every=${cut_ms}ms cuts_hitting_a_connection=$cuts engine_restarts=1"
[ "$rc" -eq 0 ] || die "the client exited $rc: $(grep -A20 'idle-client:' "$work/client.log")"
[ "$cuts" -ge 5 ] || die "only $cuts cuts hit a connection: the test proved nothing"
echo "PASS"
