#!/usr/bin/env bash
# A silent partition must not run a task twice. Worker A reaches the engine through
# hatchet-fault-proxy and holds RUNS (default 20) runs of SLEEP_MS (default 40000) ms; worker B
# serves the same workflow directly. The proxy then freezes A's connections for PARTITION_S
# (default 50) seconds: no byte moves, nothing closes. The engine keeps its real 30 s window and
# hands A's runs to B; A must have given them up first (fence_after, 25 s), so that they complete
# once, on B, and nothing stale reaches the engine when the partition heals. A then comes back
# as a new worker.
#
#   hatchet-run ──► hatchet-dev-engine ◄── hatchet-fault-proxy (frozen) ◄── worker A
#                                      ◄── worker B
#
# Passes when every run completed once (on B), the engine counted no stale or duplicate outcome,
# A's fence line (with the count) came before the engine's reassignment, A completed nothing,
# and A registered again after the thaw. Prints the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

runs=${RUNS:-20}
sleep_ms=${SLEEP_MS:-40000}
partition_s=${PARTITION_S:-50}
[ "$partition_s" -gt 30 ] || die "PARTITION_S must outlast the engine's 30 s window"
[ "$sleep_ms" -gt 30000 ] || die "SLEEP_MS must outlast the engine's 30 s window"

start_engine "$work/engine.log" 0
start_proxy "$engine_port" --max-seconds 600

HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" \
  start_worker "$work/worker_a.log" --debug --name worker-a --slots "$runs"
a_pid=$worker_pid

"$bin/hatchet-run" SleepWorkflow --count "$runs" --input "{\"ms\":$sleep_ms}" \
  --timeout $((partition_s + sleep_ms / 1000 + 90)) >"$work/runs.jsonl" 2>"$work/run.log" &
run_pid=$!
track "$run_pid"
wait_for_line "$work/worker_a.log" ') starting$' 30 "$runs" \
  || die "worker A did not start all $runs runs"

start_worker "$work/worker_b.log" --debug --name worker-b --slots "$runs"
b_pid=$worker_pid

kill -USR1 "$proxy_pid"
wait_for_line "$work/proxy.log" 'froze' 5 || die "the proxy did not freeze"
t_freeze=$(date +%s%N)
sleep "$partition_s"
kill -USR2 "$proxy_pid"
wait_for_line "$work/proxy.log" 'thawed' 5 || die "the proxy did not thaw"

wait_pid "$run_pid" $((sleep_ms / 1000 + 90)) || die "hatchet-run did not end"
run_rc=$waited_rc
total_s=$(( ($(date +%s%N) - t_freeze) / 1000000000 ))
# A comes back as a new worker once the engine answers it again.
wait_for_line "$work/worker_a.log" 'registered as' 30 2 || true
a_registrations=$(grep -c 'registered as' "$work/worker_a.log" || true)
stop_pid "$a_pid" 30
a_rc=$waited_rc
stop_pid "$b_pid" 30
stop_pid "$engine_pid" 10

stats=$(grep 'final stats' "$work/engine.log" | tail -1 || true)
assigned=$(json_field assigned "$stats")
completed_engine=$(json_field completed "$stats")
stale=$(json_field stale_outcomes "$stats")
duplicate=$(json_field duplicate_outcomes "$stats")
completed=$(grep -c '"status":"COMPLETED"' "$work/runs.jsonl" || true)
a_completed=$(grep -c 'completed$' "$work/worker_a.log" || true)
b_starts=$(grep -c ') starting$' "$work/worker_b.log" || true)
fence_line=$(grep 'no heartbeat accepted for' "$work/worker_a.log" | head -1 || true)
requeue_line=$(grep 'silent for more than' "$work/engine.log" | head -1 || true)
stamp() { sed -n 's/^\[\([0-9-]* [0-9:.]*\)\].*/\1/p' <<<"$1"; }
fence_at=$(stamp "$fence_line")
requeue_at=$(stamp "$requeue_line")
echo "partition: runs=$runs sleep_ms=$sleep_ms partition_s=$partition_s completed=$completed/$runs" \
  "run_exit=$run_rc engine_completed=$completed_engine assigned=$assigned stale=$stale" \
  "duplicate=$duplicate a_completed=$a_completed b_starts=$b_starts a_exit=$a_rc" \
  "a_registrations=$a_registrations" \
  "fenced_at=${fence_at:-never} engine_reassigned_at=${requeue_at:-never} seconds_from_freeze_to_last_result=$total_s"
echo "worker A: $fence_line"

[ -n "$fence_line" ] || die "worker A never fenced itself"
grep -q "gave up $runs run(s)" <<<"$fence_line" || die "worker A's fence line does not count $runs runs: $fence_line"
[ -n "$requeue_line" ] || die "the engine never reassigned worker A's runs"
[[ "$fence_at" < "$requeue_at" ]] || die "worker A fenced itself at $fence_at, after the engine reassigned at $requeue_at"
[ "$run_rc" -eq 0 ] && [ "$completed" -eq "$runs" ] || die "$completed of $runs runs completed (hatchet-run exit $run_rc)"
[ "$stale" = "0" ] && [ "$duplicate" = "0" ] || die "stale=$stale duplicate=$duplicate: a run ran twice to its end"
[ "$a_completed" -eq 0 ] || die "worker A completed $a_completed runs it had given up"
[ "$b_starts" -eq "$runs" ] || die "worker B started $b_starts runs, expected $runs"
[ "$a_registrations" -ge 2 ] || die "worker A did not register again after the thaw"
[ "$completed_engine" = "$runs" ] || die "the engine counted $completed_engine completions for $runs runs"
echo "PASS"
