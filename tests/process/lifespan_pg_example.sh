#!/usr/bin/env bash
# Runs examples/lifespan_pg as a user would: the engine binary, the example binary, hatchet-run;
# then SIGTERM. Passes when 5 runs complete, the worker exits 0, and its log has the setup line
# before the first run and the cleanup line after the last.
set -euo pipefail
bin=$1
conninfo_file=$2
work=$(mktemp -d)
engine_pid=""
worker_pid=""
trap '[ -n "$worker_pid" ] && kill -9 $worker_pid 2>/dev/null; [ -n "$engine_pid" ] && kill $engine_pid 2>/dev/null; rm -rf "$work"' EXIT

port=""
for p in $(seq 47077 47177); do
  # the engine serves gRPC on P and its REST API on P + 1 (named in the token): both free
  if ! ss -Hltn "sport = :$p" | grep -q . && ! ss -Hltn "sport = :$((p + 1))" | grep -q .; then port=$p; break; fi
done
"$bin/hatchet-dev-engine" serve --port "$port" >"$work/engine.log" 2>&1 &
engine_pid=$!
for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done

export HATCHET_CLIENT_TOKEN
HATCHET_CLIENT_TOKEN=$("$bin/hatchet-dev-engine" token --port "$port")
export HATCHET_CLIENT_TLS_STRATEGY=none
"$bin/lifespan_pg_example" "$(cat "$conninfo_file")" >"$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 200); do grep -q "running as" "$work/worker.log" && break; sleep 0.1; done

"$bin/hatchet-run" LifespanWorkflow --count 5 --timeout 60 >"$work/results.jsonl"
kill -TERM "$worker_pid"
rc=0
wait "$worker_pid" || rc=$?
worker_pid=""
cat "$work/results.jsonl"
cat "$work/worker.log"
completed=$(grep -c '"num_rows":5' "$work/results.jsonl" || true)
setup=$(grep -n "Running lifespan!" "$work/worker.log" | head -1 | cut -d: -f1)
cleanup=$(grep -n "Cleaning up lifespan!" "$work/worker.log" | tail -1 | cut -d: -f1)
stopped=$(grep -n "unsubscribed" "$work/worker.log" | tail -1 | cut -d: -f1)
echo "completed=$completed exit=$rc setup_line=$setup unsubscribed_line=$stopped cleanup_line=$cleanup"
[ "$completed" -eq 5 ] && [ "$rc" -eq 0 ] && [ -n "$setup" ] && [ -n "$cleanup" ] && [ -n "$stopped" ] \
  && [ "$setup" -lt "$stopped" ] && [ "$stopped" -lt "$cleanup" ]
