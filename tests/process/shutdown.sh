#!/usr/bin/env bash
# Process-level shutdown tests of hatchet-worker under real signals (issue "Shutdown,
# cancellation and faults", cases c, d, e):
#   shutdown.sh BIN drain       SIGTERM with 20 running 2 s tasks: all 20 complete, the cleanup's
#                               log line comes after the last task's, exit 0
#   shutdown.sh BIN stuck       SIGTERM with tasks that never finish, --drain-timeout 1: they are
#                               reported FAILED within the bounds, cleanup once, exit 5
#   shutdown.sh BIN slow_setup  a 3 s lifespan setup: no Register before it ends; a second worker
#                               gets SIGTERM during its setup: no registration, cleanup, exit 0
#   shutdown.sh BIN cold        SIGQUIT with a task running forever: exit 7 at once, no drain, no
#                               cleanup (worker::run() returns; the binary ends the process)
# Prints its figures; exits non-zero with the reason on the first broken expectation.
set -euo pipefail
bin=$1
case_name=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($case_name): $*" >&2; echo "--- worker log" >&2; cat "$work"/worker*.log >&2 || true; exit 1; }
now_ms() { date +%s%3N; }
line_of() { awk -v re="$2" '$0 ~ re {print NR; exit}' "$1"; }
last_line_of() { awk -v re="$2" '$0 ~ re {n = NR} END {if (n) print n}' "$1"; }
wait_for_count() { # FILE REGEX N SECONDS
  for _ in $(seq $(($4 * 20))); do
    [ "$(grep -c -E "$2" "$1" || true)" -ge "$3" ] && return 0
    sleep 0.05
  done
  return 1
}

port=""
for p in $(seq 48077 48277); do
  # the engine serves gRPC on P and its REST API on P + 1 (named in the token): both free
  if ! ss -Hltn "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$((p + 1))" | grep -q .; then port=$p; break; fi
done
"$bin/hatchet-dev-engine" serve --port "$port" >"$work/engine.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
export HATCHET_CLIENT_TOKEN
HATCHET_CLIENT_TOKEN=$("$bin/hatchet-dev-engine" token --port "$port")
export HATCHET_CLIENT_TLS_STRATEGY=none

start_worker() { # LOG ARGS...
  local log=$1; shift
  "$bin/hatchet-worker" --debug "$@" >"$log" 2>&1 &
  worker_pid=$!
  pids+=("$worker_pid")
}

case "$case_name" in
  drain)
    start_worker "$work/worker.log" --name drain-worker --slots 20
    wait_for_count "$work/worker.log" "running as" 1 20 || fail "worker did not register"
    "$bin/hatchet-run" SleepWorkflow --count 20 --bulk --input '{"ms":2000}' --timeout 60 >"$work/results.jsonl" &
    run_pid=$!
    pids+=("$run_pid")
    wait_for_count "$work/worker.log" "starting$" 20 20 || fail "20 tasks did not start"
    t0=$(now_ms)
    kill -TERM "$worker_pid"
    rc=0; wait "$worker_pid" || rc=$?
    t1=$(now_ms)
    wait "$run_pid" || fail "hatchet-run reported failures: $(cat "$work/results.jsonl")"
    completed=$(grep -c '"status":"COMPLETED"' "$work/results.jsonl" || true)
    last_task=$(last_line_of "$work/worker.log" "completed$")
    cleanup_line=$(line_of "$work/worker.log" "demo lifespan: cleaning up")
    echo "drain: completed=$completed/20 exit=$rc stop_took_ms=$((t1 - t0)) last_task_line=$last_task cleanup_line=$cleanup_line"
    [ "$completed" -eq 20 ] || fail "only $completed of 20 runs completed"
    [ "$rc" -eq 0 ] || fail "exit code $rc, expected 0"
    [ -n "$cleanup_line" ] && [ -n "$last_task" ] && [ "$last_task" -lt "$cleanup_line" ] \
      || fail "cleanup line ($cleanup_line) not after the last task ($last_task)"
    ;;
  stuck)
    # The tasks ignore their cancellation and sleep 10 min: after the drain, the cleanup waits
    # --cleanup-timeout for them, then is skipped (exit 8), never run under them.
    start_worker "$work/worker.log" --name stuck-worker --slots 4 --drain-timeout 1 --cancel-grace 0.5 \
      --cleanup-timeout 1
    wait_for_count "$work/worker.log" "running as" 1 20 || fail "worker did not register"
    "$bin/hatchet-run" StubbornWorkflow --count 4 --bulk --input '{"ms":600000}' --timeout 60 >"$work/results.jsonl" &
    run_pid=$!
    pids+=("$run_pid")
    wait_for_count "$work/worker.log" "starting$" 4 20 || fail "4 tasks did not start"
    t0=$(now_ms)
    kill -TERM "$worker_pid"
    rc=0; wait "$worker_pid" || rc=$?
    t1=$(now_ms)
    run_rc=0; wait "$run_pid" || run_rc=$?
    failed=$(grep -c '"status":"FAILED"' "$work/results.jsonl" || true)
    shut=$(grep -c 'worker shut down' "$work/results.jsonl" || true)
    cleanups=$(grep -c "demo lifespan: cleaning up" "$work/worker.log" || true)
    inside=$(grep -c "4 task(s) still inside user code after cleanup_timeout" "$work/worker.log" || true)
    echo "stuck: reported_failed=$failed/4 with_shutdown_message=$shut exit=$rc stop_took_ms=$((t1 - t0)) cleanups=$cleanups skipped_notice=$inside"
    [ "$failed" -eq 4 ] && [ "$shut" -eq 4 ] || fail "expected 4 runs FAILED with the shutdown message"
    [ "$rc" -eq 8 ] || fail "exit code $rc, expected 8 (cleanup skipped: tasks still inside user code)"
    [ "$cleanups" -eq 0 ] || fail "cleanup ran $cleanups times under live tasks"
    [ "$inside" -ge 1 ] || fail "no log line saying 4 tasks are still inside user code"
    [ $((t1 - t0)) -lt 7000 ] || fail "stopping took $((t1 - t0)) ms; bound is 1 s + 0.5 s + flush + 1 s"
    ;;
  slow_setup)
    start_worker "$work/worker1.log" --name slow-setup --slots 1 --setup-delay-ms 3000
    t0=$(now_ms)
    wait_for_count "$work/worker1.log" "running as" 1 20 || fail "worker did not register"
    t1=$(now_ms)
    set_up=$(line_of "$work/worker1.log" "demo lifespan: set up")
    registered=$(line_of "$work/worker1.log" "registered as")
    eng_reg=$(grep -c "slow-setup" "$work/engine.log" || true)
    echo "slow_setup: registered_after_ms=$((t1 - t0)) set_up_line=$set_up registered_line=$registered"
    [ -n "$set_up" ] && [ -n "$registered" ] && [ "$set_up" -lt "$registered" ] || fail "registered before the setup ended"
    [ $((t1 - t0)) -ge 2900 ] || fail "registered after $((t1 - t0)) ms, before the 3 s setup could end"
    kill -TERM "$worker_pid"; wait "$worker_pid" || true
    # Second worker: SIGTERM while its setup is still sleeping.
    start_worker "$work/worker2.log" --name interrupted-setup --slots 1 --setup-delay-ms 3000
    wait_for_count "$work/worker2.log" "demo lifespan: setting up" 1 10 || fail "setup did not start"
    kill -TERM "$worker_pid"
    rc=0; wait "$worker_pid" || rc=$?
    reg2=$(grep -c "registered as" "$work/worker2.log" || true)
    cleaned=$(grep -c "demo lifespan: cleaning up" "$work/worker2.log" || true)
    in_engine=$(grep -c "interrupted-setup" "$work/engine.log" || true)
    echo "slow_setup: interrupted exit=$rc registrations=$reg2 engine_mentions=$in_engine cleanups=$cleaned"
    [ "$reg2" -eq 0 ] && [ "$in_engine" -eq 0 ] || fail "the interrupted worker registered"
    [ "$cleaned" -eq 1 ] || fail "what the setup built was not cleaned up"
    [ "$rc" -eq 0 ] || fail "exit code $rc, expected 0"
    ;;
  cold)
    start_worker "$work/worker.log" --name cold-worker --slots 2 --drain-timeout 30
    wait_for_count "$work/worker.log" "running as" 1 20 || fail "worker did not register"
    "$bin/hatchet-run" StubbornWorkflow --input '{"ms":600000}' --timeout 60 >/dev/null 2>&1 &
    pids+=($!)
    wait_for_count "$work/worker.log" "starting$" 1 20 || fail "the task did not start"
    t0=$(now_ms)
    kill -QUIT "$worker_pid"
    rc=0; wait "$worker_pid" || rc=$?
    t1=$(now_ms)
    cleanups=$(grep -c "demo lifespan: cleaning up" "$work/worker.log" || true)
    notice=$(grep -c "SIGQUIT: cold stop" "$work/worker.log" || true)
    echo "cold: exit=$rc stop_took_ms=$((t1 - t0)) cleanups=$cleanups notice=$notice"
    [ "$rc" -eq 7 ] || fail "exit code $rc, expected 7 (cold stop)"
    [ "$cleanups" -eq 0 ] || fail "a cold stop ran the cleanup"
    [ "$notice" -eq 1 ] || fail "no log line announcing the cold stop"
    [ $((t1 - t0)) -lt 2000 ] || fail "the cold stop took $((t1 - t0)) ms; it should not wait for anything"
    ;;
  *)
    echo "usage: $0 BIN drain|stuck|slow_setup|cold" >&2; exit 2 ;;
esac
echo "PASS ($case_name)"
