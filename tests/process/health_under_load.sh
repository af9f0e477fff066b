#!/usr/bin/env bash
# The health endpoint cannot be starved. hatchet-worker runs with a 1,024-descriptor limit and its
# health server on; health_load.py holds IDLE (default 1000) idle and SLOW (default 50) slowloris
# connections against it, re-opening every one the server closes, and meanwhile sends 20 probes.
# Then, under the same load, the engine is killed and started again on its port: the worker must
# register again (its descriptors were not eaten), and 20 more probes go out.
#
#   health_load.py (1000 idle + 50 slowloris + probes) ──► hatchet-worker /health
#                                           hatchet-worker ──► hatchet-dev-engine (restarted)
#
# Passes when every probe is answered 200 (HEALTHY) in under 1 s, the median under 100 ms, and the
# worker registered again after the restart. Prints the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

idle=${IDLE:-1000}
slow=${SLOW:-50}
probes=${PROBES:-20}
health_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start_engine "$work/engine1.log" 0
port=$engine_port
(
  ulimit -n 1024
  HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED=true HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT=$health_port \
    HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS=127.0.0.1 \
    exec "$bin/hatchet-worker" --name loaded
) >"$work/worker.log" 2>&1 &
worker_pid=$!
track "$worker_pid"
wait_for_line "$work/worker.log" 'registered as' 30 || die "the worker did not register"
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$health_port/health" | grep -q '"status":"HEALTHY"' && break
  sleep 0.1
done

python3 "$here/health_load.py" "$health_port" --idle "$idle" --slow "$slow" --probes "$probes" \
  --hold "$work/restarted" >"$work/load.log" 2>&1 &
load_pid=$!
track "$load_pid"
wait_for_line "$work/load.log" '^load: under_load' 60 || die "the first probes did not finish: $(cat "$work/load.log")"

# The engine goes and comes back on its port while the load goes on.
kill -KILL "$engine_pid"
wait "$engine_pid" 2>/dev/null || true
untrack "$engine_pid"
restart_engine "$work/engine2.log"
wait_for_line "$work/worker.log" 'registered as' 60 2 || die "the worker did not register again under the load"
for _ in $(seq 100); do # HEALTHY again once attached (probed by the test itself, also under load)
  curl -s -m 2 "http://127.0.0.1:$health_port/health" | grep -q '"status":"HEALTHY"' && break
  sleep 0.1
done
touch "$work/restarted"
wait_pid "$load_pid" 60 || die "the load generator did not finish"
worker_fds=$(ls "/proc/$worker_pid/fd" 2>/dev/null | wc -l || true)
dropped=$(curl -s -m 2 "http://127.0.0.1:$health_port/metrics" \
  | sed -n 's/^hatchet_worker_health_connections_dropped_total \([0-9.e+]*\)$/\1/p')
stop_pid "$worker_pid" 30

grep '^load:' "$work/load.log"
echo "health: idle=$idle slow=$slow worker_fds_at_end=$worker_fds registered=$(grep -c 'registered as' "$work/worker.log") connections_dropped=${dropped:-none}"
for phase in under_load after; do
  line=$(grep "^load: $phase" "$work/load.log" || true)
  [ -n "$line" ] || die "no $phase summary"
  statuses=$(sed -n 's/.*statuses=\([^ ]*\).*/\1/p' <<<"$line")
  median=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  max=$(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  bad=$(tr ',' '\n' <<<"$statuses" | grep -vc '^200$' || true)
  [ "$bad" -eq 0 ] || die "$phase: $bad of $probes probes were not answered 200 ($statuses)"
  awk -v m="$median" 'BEGIN { exit !(m < 100) }' || die "$phase: median probe took $median ms (want < 100)"
  awk -v m="$max" 'BEGIN { exit !(m < 1000) }' || die "$phase: a probe took $max ms (want < 1000)"
done
[ -n "$dropped" ] || die "/metrics has no hatchet_worker_health_connections_dropped_total"
echo "PASS"
