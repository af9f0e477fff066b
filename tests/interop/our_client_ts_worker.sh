#!/usr/bin/env bash
# Case b: our client (hatchet-run) -> the official TypeScript worker with slots=5.
# 200 runs of ts_count (100 triggered one by one, 100 in bulk, from two concurrent hatchet-run
# processes); the TS task counts its own concurrent executions (the SDK does not limit itself),
# so the peak shows the engine never gave the worker more than 5 at once. The same runs show that
# the engine takes what the SDK really sends: gzip-compressed requests (every one, with
# INTEROP_GZIP_ALL=1: see js/common.js), COMPLETED answered before STARTED (forced for every 10th
# run), StepActionEvent.worker_id holding the worker's name, and a worker on several TCP
# connections (its heartbeat has its own).
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
slots=5
start_ts_worker TS_WORKER_SLOTS=$slots TS_HOLD_STARTED_EVERY=10 INTEROP_GZIP_ALL=1

"${DEATHSIG[@]}" "$BIN_DIR/hatchet-run" ts_count --count 100 --input '{"ms":25}' --timeout 90 \
  >"$WORK/runs-single.jsonl" 2>"$WORK/hatchet-run-single.log" &
single=$!
PIDS+=("$single")
"${DEATHSIG[@]}" "$BIN_DIR/hatchet-run" ts_count --count 100 --bulk --input '{"ms":25}' --timeout 90 \
  >"$WORK/runs-bulk.jsonl" 2>"$WORK/hatchet-run-bulk.log" &
bulk=$!
PIDS+=("$bulk")
rc_single=0
rc_bulk=0
wait "$single" || rc_single=$?
wait "$bulk" || rc_bulk=$?
[ "$rc_single" -eq 0 ] || die "hatchet-run (one by one) exited $rc_single"
[ "$rc_bulk" -eq 0 ] || die "hatchet-run --bulk exited $rc_bulk"
ok "both hatchet-run processes finished (one by one, bulk)"

# The late STARTED events go out after the runs finished: wait until the report has them all.
for ((i = 0; i < 100; i++)); do
  [ -f "$TS_REPORT" ] && [ "$(report_value 'r.events.sent[1]')" -ge 200 ] && break
  sleep 0.1
done
sleep 0.5

conns=$(tcp_connections_of "$TS_WORKER_PID")
[ "$conns" -ge 2 ] || die "the TS worker holds $conns TCP connection(s) to the engine, expected >= 2"
ok "the TS worker served its runs over $conns TCP connections to the engine"

INTEROP_GZIP_ALL=1 node "$INTEROP_DIR/js/check_ts_worker_runs.js" 200 "$slots" "$TS_REPORT" \
  "$WORK/runs-single.jsonl" "$WORK/runs-bulk.jsonl" || die "checks on the runs failed"
say "passed"
