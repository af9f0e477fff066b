#!/usr/bin/env bash
# A graceful stop must not run a long task twice. A real engine reassigns the tasks of a worker
# whose stream closed once its heartbeats have been refused for 30 s; so worker A, stopped while
# its task runs SLEEP_MS (default 10000) ms, pauses itself over REST and keeps its stream and
# heartbeats until the task ends. Worker B serves the same workflow meanwhile. The engine's window
# is REASSIGN_AFTER (default 8) seconds instead of 30, so that a task longer than the window
# proves the rule in seconds; the worker's heartbeats (every 4 s) keep well inside it.
#
#   hatchet-run ──► hatchet-dev-engine ◄── worker A (SIGTERM, --drain-timeout 60)
#                                      ◄── worker B
#
# Passes when the long run completed exactly once, on A (the engine counts one assignment for it,
# no retry, no stale or duplicate outcome); runs triggered after A's pause all went to B; and A
# exited 0 with its cleanup after the task. Prints the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

sleep_ms=${SLEEP_MS:-10000}
reassign_after=${REASSIGN_AFTER:-8}
short_runs=${SHORT_RUNS:-10}
[ "$sleep_ms" -gt $((reassign_after * 1000)) ] || die "SLEEP_MS must be longer than REASSIGN_AFTER"

start_engine "$work/engine.log" 0 --reassign-after "$reassign_after"
start_worker "$work/worker_a.log" --debug --name worker-a --slots 2 --drain-timeout 60
a_pid=$worker_pid

"$bin/hatchet-run" SleepWorkflow --input "{\"ms\":$sleep_ms}" --timeout $((sleep_ms / 1000 + 60)) \
  >"$work/long.jsonl" 2>"$work/long_run.log" &
long_pid=$!
track "$long_pid"
wait_for_line "$work/worker_a.log" ') starting$' 15 || die "the long run did not start on worker A"

start_worker "$work/worker_b.log" --debug --name worker-b --slots 4
b_pid=$worker_pid

t0=$(date +%s%N)
kill -TERM "$a_pid"
wait_for_line "$work/worker_a.log" 'paused on the engine' 10 || die "worker A did not pause on the engine"
a_starts_at_pause=$(grep -c ') starting$' "$work/worker_a.log" || true)

short_rc=0
"$bin/hatchet-run" EchoWorkflow --count "$short_runs" --input '{"after":"pause"}' --timeout 30 \
  >"$work/short.jsonl" 2>"$work/short_run.log" || short_rc=$?

wait_pid "$long_pid" $((sleep_ms / 1000 + 70)) || die "the long run's hatchet-run did not end"
long_rc=$waited_rc
wait_pid "$a_pid" 90 || die "worker A did not exit"
a_rc=$waited_rc
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
stop_pid "$b_pid" 30
b_rc=$waited_rc
stop_pid "$engine_pid" 10

stats=$(grep 'final stats' "$work/engine.log" | tail -1 || true)
assigned=$(json_field assigned "$stats")
retried=$(json_field retried "$stats")
stale=$(json_field stale_outcomes "$stats")
duplicate=$(json_field duplicate_outcomes "$stats")
a_starts=$(grep -c ') starting$' "$work/worker_a.log" || true)
b_starts=$(grep -c ') starting$' "$work/worker_b.log" || true)
long_completed=$(grep -c '"status":"COMPLETED"' "$work/long.jsonl" || true)
short_completed=$(grep -c '"status":"COMPLETED"' "$work/short.jsonl" || true)
last_task=$(awk '/completed$/ {n = NR} END {print n + 0}' "$work/worker_a.log")
cleanup=$(awk '/demo lifespan: cleaning up/ {print NR; exit}' "$work/worker_a.log")
echo "pause: sleep_ms=$sleep_ms reassign_after=${reassign_after}s long_completed=$long_completed long_exit=$long_rc" \
  "short_completed=$short_completed/$short_runs short_exit=$short_rc a_starts=$a_starts" \
  "(at pause $a_starts_at_pause) b_starts=$b_starts assigned=$assigned retried=$retried" \
  "stale=$stale duplicate=$duplicate a_exit=$a_rc b_exit=$b_rc a_stop_ms=$stop_ms" \
  "a_last_task_line=$last_task a_cleanup_line=${cleanup:-none}"

[ "$long_rc" -eq 0 ] && [ "$long_completed" -eq 1 ] || die "the long run did not complete: $(cat "$work/long.jsonl" "$work/long_run.log")"
[ "$short_rc" -eq 0 ] && [ "$short_completed" -eq "$short_runs" ] || die "runs after the pause did not all complete"
[ "$a_starts" -eq 1 ] || die "worker A started $a_starts runs; only the long one may run there (none after the pause)"
[ "$b_starts" -eq "$short_runs" ] || die "worker B started $b_starts runs, expected $short_runs (the long run must not move)"
[ "$assigned" = "$((short_runs + 1))" ] || die "the engine assigned $assigned times for $((short_runs + 1)) runs: something ran twice"
[ "$retried" = "0" ] && [ "$stale" = "0" ] && [ "$duplicate" = "0" ] || die "retried=$retried stale=$stale duplicate=$duplicate"
[ "$a_rc" -eq 0 ] || die "worker A exited $a_rc, expected 0"
[ -n "$cleanup" ] && [ "$last_task" -gt 0 ] && [ "$last_task" -lt "$cleanup" ] || die "A's cleanup (line ${cleanup:-none}) not after its task (line $last_task)"
echo "PASS"
