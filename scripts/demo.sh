#!/usr/bin/env bash
# The main job, end to end on one machine: PostgreSQL, the dev engine, the bundled hatchet-worker
# and the PostgreSQL lifespan example (lifespan_pg_example) as two workers, 100 runs of
# LifespanWorkflow and 10 of the bundled DemoLifespanWorkflow triggered by hatchet-run.
#
# It prints every LifespanWorkflow output (one JSON line each), then the example's log lines that
# show the order: lifespan setup before the first task, cleanup after the last. It exits non-zero
# if any run fails, fewer outputs than runs arrive, the order is wrong, or a worker exits
# non-zero.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-100}
build=${HATCHET_BUILD_DIR:-$root/build}
bin=$build/bin

"$root/scripts/setup.sh"
echo "demo: building"
"$root/scripts/build.sh" hatchet-dev-engine hatchet-worker hatchet-run lifespan_pg_example >/dev/null

work=$(mktemp -d /tmp/hatchet-demo.XXXXXX)
chmod 755 "$work"
engine_pid=""
worker_pid=""
bundled_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true
  [ -n "$bundled_pid" ] && kill "$bundled_pid" 2>/dev/null || true
  [ -n "$engine_pid" ] && kill "$engine_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  "$root/scripts/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "demo: timed out after ${secs}s waiting for $what" >&2
  return 1
}

echo "demo: starting PostgreSQL"
conninfo=$("$root/scripts/pg.sh" start "$work/pg")

port=""
for p in $(seq 7077 7177); do
  # the engine serves gRPC on P and its REST API on P + 1 (named in the token): both free
  if ! ss -Hltn "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$((p + 1))" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || { echo "demo: no free port for the engine" >&2; exit 1; }

echo "demo: starting the dev engine on 127.0.0.1:$port"
"$bin/hatchet-dev-engine" serve --port "$port" >"$work/engine.log" 2>&1 &
engine_pid=$!
wait_for 10 "the engine to listen" bash -c "ss -Hltn 'sport = :$port' | grep -q ."

export HATCHET_CLIENT_TOKEN
HATCHET_CLIENT_TOKEN=$("$bin/hatchet-dev-engine" token --port "$port")
export HATCHET_CLIENT_TLS_STRATEGY=none

echo "demo: starting the PostgreSQL lifespan example and the bundled hatchet-worker"
HATCHET_CLIENT_LOG_LEVEL=debug "$bin/lifespan_pg_example" "$conninfo" >"$work/worker.log" 2>&1 &
worker_pid=$!
"$bin/hatchet-worker" --name bundled-demo --slots 10 >"$work/bundled.log" 2>&1 &
bundled_pid=$!
for log in worker bundled; do
  if ! wait_for 30 "the $log to register" grep -q "running as" "$work/$log.log"; then
    cat "$work/$log.log" >&2
    exit 1
  fi
done

echo "demo: triggering $runs runs of LifespanWorkflow"
start=$(date +%s.%N)
set +e
"$bin/hatchet-run" LifespanWorkflow --count "$runs" --bulk --timeout 120 >"$work/results.jsonl"
run_rc=$?
set -e
end=$(date +%s.%N)
cat "$work/results.jsonl"
echo "demo: triggering 10 runs of the bundled DemoLifespanWorkflow"
set +e
"$bin/hatchet-run" DemoLifespanWorkflow --count 10 --timeout 60 >"$work/bundled.jsonl"
bundled_run_rc=$?
set -e
bundled_completed=$(grep -c '"status":"COMPLETED"' "$work/bundled.jsonl" || true)

echo "demo: stopping both workers (SIGTERM)"
kill -TERM "$worker_pid" "$bundled_pid"
set +e
wait "$worker_pid"
worker_rc=$?
wait "$bundled_pid"
bundled_rc=$?
set -e
worker_pid=""
bundled_pid=""

completed=$(grep -c '"status":"COMPLETED"' "$work/results.jsonl" || true)
echo
first_line() { awk -v re="$1" '$0 ~ re {print NR; exit}' "$work/worker.log"; }
last_line() { awk -v re="$1" '$0 ~ re {n = NR} END {if (n) print n}' "$work/worker.log"; }
setup_line=$(first_line "Running lifespan!")
first_run=$(first_line "starting$")
last_run=$(last_line "completed$")
cleanup_line=$(last_line "Cleaning up lifespan!")
echo "demo: worker log, the lines that show the lifespan order (line number: text):"
for n in $setup_line $first_run $last_run $cleanup_line; do
  printf '  %s: %s\n' "$n" "$(sed -n "${n}p" "$work/worker.log")"
done

# The order check: setup line before the first run, cleanup line after the last run's result.
order_ok=no
if [ -n "$setup_line" ] && [ -n "$first_run" ] && [ -n "$last_run" ] && [ -n "$cleanup_line" ] \
   && [ "$setup_line" -lt "$first_run" ] && [ "$last_run" -lt "$cleanup_line" ]; then
  order_ok=yes
fi

echo
printf 'demo: %s of %s runs completed in %.2f s; hatchet-run exit %s; worker exit %s; lifespan order ok: %s\n' \
  "$completed" "$runs" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" "$run_rc" "$worker_rc" "$order_ok"
printf 'demo: bundled worker: %s of 10 runs completed; hatchet-run exit %s; worker exit %s\n' \
  "$bundled_completed" "$bundled_run_rc" "$bundled_rc"
if [ "$completed" -ne "$runs" ] || [ "$run_rc" -ne 0 ] || [ "$worker_rc" -ne 0 ] || [ "$order_ok" != yes ] \
   || [ "$bundled_completed" -ne 10 ] || [ "$bundled_run_rc" -ne 0 ] || [ "$bundled_rc" -ne 0 ]; then
  echo "demo: FAILED; the workers' logs follow" >&2
  tail -n 50 "$work/worker.log" "$work/bundled.log" >&2
  exit 1
fi
echo "demo: OK"
