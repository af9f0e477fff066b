#!/usr/bin/env bash
# Issue 4, test 4b: the engine is killed (SIGKILL) while runs are in flight and restarted on the
# same port. The restarted engine has lost every worker, workflow and run (it is in-memory) but
# accepts the old token (same default secret). Passes when the worker registers again within
# LIMIT_MS (default 5000) ms of the new engine listening, and then serves new runs (20 EchoWorkflow
# runs, all COMPLETED). Prints the figures.
#
# Measured from the two logs' timestamps: the restarted engine's "listening on" line to the
# worker's next "registered as" line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

limit_ms=${LIMIT_MS:-5000}
down_s=${DOWN_SECONDS:-2} # how long the engine stays dead

start_engine "$work/engine1.log"
port=$engine_port

"$bin/hatchet-worker" --slots 10 --name faults-restart --debug >"$work/worker.log" 2>&1 &
worker_pid=$!
track "$worker_pid"
wait_for_line "$work/worker.log" 'registered as' 30 || die "the worker did not register within 30 s"

# Runs in flight when the engine dies: 10 sleeping tasks hold every slot.
"$bin/hatchet-run" SleepWorkflow --count 10 --input '{"ms":3000}' --bulk --timeout 30 \
  >"$work/inflight.jsonl" 2>"$work/inflight.log" &
inflight_pid=$!
track "$inflight_pid"
started_re='run [0-9a-f-]{36}/[0-9]+ \([^)]*\) starting'
wait_for_line "$work/worker.log" "$started_re" 10 10 || die "the sleeping runs did not start within 10 s"
before_runs=$(grep -cE "$started_re" "$work/worker.log" || true)

kill -KILL "$engine_pid"
wait "$engine_pid" 2>/dev/null || true
untrack "$engine_pid"
registered_before=$(grep -c 'registered as' "$work/worker.log" || true)
sleep "$down_s"

restart_engine "$work/engine2.log"
[ "$engine_port" = "$port" ] || die "the engine came back on port $engine_port, not $port"
listening_line=$(grep 'listening on' "$work/engine2.log" | tail -1 || true)

reregistered=no
if wait_for_line "$work/worker.log" 'registered as' 30 $((registered_before + 1)); then
  reregistered=yes
fi
registered_line=$(grep 'registered as' "$work/worker.log" | sed -n "$((registered_before + 1))p" || true)
reregister_ms=-
if [ "$reregistered" = yes ]; then
  reregister_ms=$(($(log_ms "$registered_line") - $(log_ms "$listening_line")))
fi

# The in-flight runs died with the first engine (the new one never heard of them): their waiter
# could only time out. Its outcome is not what this test is about, so it is not waited for.
kill "$inflight_pid" 2>/dev/null || true
wait "$inflight_pid" 2>/dev/null || true
untrack "$inflight_pid"
inflight_rc=stopped

# New runs on the new engine.
serve_rc=0
"$bin/hatchet-run" EchoWorkflow --count 20 --input '{"after":"restart"}' --bulk --timeout 30 \
  >"$work/after.jsonl" 2>"$work/after.log" || serve_rc=$?
served=$(grep -c '"status":"COMPLETED"' "$work/after.jsonl" || true)

worker_alive=yes
kill -0 "$worker_pid" 2>/dev/null || worker_alive=no
stop_pid "$worker_pid" 60
worker_rc=$waited_rc
stop_pid "$engine_pid" 10

stream_ends=$(grep -c 'listen stream ended' "$work/worker.log" || true)
reregister_msgs=$(grep -c 'registering again' "$work/worker.log" || true)
echo "figures: engine_down_seconds=$down_s runs_in_flight_at_kill=$before_runs" \
  "reregistered=$reregistered reregister_ms=$reregister_ms (limit $limit_ms)" \
  "new_runs_completed=$served/20 new_runs_exit=$serve_rc inflight_runs_exit=$inflight_rc"
echo "process: worker_alive=$worker_alive worker_exit=$worker_rc worker_stream_ends=$stream_ends" \
  "worker_registering_again_lines=$reregister_msgs"
echo "engine restarted: $listening_line"
echo "worker registered: ${registered_line:-<none>}"
if [ "$reregistered" = no ] || [ "$serve_rc" -ne 0 ]; then
  echo "--- worker log after the kill:"
  grep -vE 'run [0-9a-f-]{36}/[0-9]+ \(' "$work/worker.log" | tail -n 40
  [ -s "$work/after.log" ] && { echo "--- hatchet-run after the restart:"; cat "$work/after.log"; }
fi

fail=0
[ "$reregistered" = yes ] || { echo "FAIL: the worker did not register again within 30 s"; fail=1; }
if [ "$reregistered" = yes ] && { [ "$reregister_ms" -lt 0 ] || [ "$reregister_ms" -gt "$limit_ms" ]; }; then
  echo "FAIL: registering again took $reregister_ms ms (limit $limit_ms ms)"
  fail=1
fi
if [ "$served" -ne 20 ] || [ "$serve_rc" -ne 0 ]; then
  echo "FAIL: new runs were not served"
  fail=1
fi
[ "$worker_alive" = yes ] || { echo "FAIL: the worker died"; fail=1; }
[ "$worker_rc" -eq 0 ] || { echo "FAIL: the worker exited $worker_rc after SIGTERM (expected 0)"; fail=1; }
exit "$fail"
