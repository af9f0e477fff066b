#!/usr/bin/env bash
# Case d: an idle official TypeScript worker stays attached for 70 s (IDLE_SECONDS).
# grpc-js pings every 10 s even without calls; grpc++'s default ping policy would answer with
# GOAWAY "too_many_pings" after ~45 s and reset the worker's ListenV2 stream. Checked on both
# sides: the engine saw exactly one ListenV2 stream from the worker and it never closed; the
# worker logged one connection and no listener error, and grpc-js's own trace (keepalive,
# transport) shows its pings answered and no GOAWAY. Finally one run proves it still gets work.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
start_ts_worker GRPC_TRACE=keepalive,transport GRPC_VERBOSITY=DEBUG
idle=${IDLE_SECONDS:-70}
say "leaving the TS worker idle for $idle s"
for ((s = 0; s < idle; s++)); do
  sleep 1
  kill -0 "$TS_WORKER_PID" 2>/dev/null || die "the TS worker exited while idle"
  kill -0 "$ENGINE_PID" 2>/dev/null || die "the engine exited"
done

opened=$(count_lines "$ENGINE_LOG" "worker $TS_WORKER_ID opened a listen stream")
closed=$(count_lines "$ENGINE_LOG" "worker $TS_WORKER_ID closed a listen stream")
[ "$opened" -eq 1 ] && [ "$closed" -eq 0 ] ||
  die "the engine saw $opened ListenV2 stream(s) opened and $closed closed; expected 1 and 0"
ok "engine: one ListenV2 stream from the worker, open for the whole $idle s"

connected=$(count_lines "$TS_WORKER_LOG" 'Connection established using LISTEN_STRATEGY_V2')
[ "$connected" -eq 1 ] || die "the TS worker connected its listener $connected times"
trouble=$(grep -ciE 'Listener error|Listener encountered|GOAWAY|too_many_pings|ENHANCE_YOUR_CALM|RESOURCE_EXHAUSTED|Retrying' \
  "$TS_WORKER_LOG" || true)
[ "$trouble" -eq 0 ] || {
  grep -iE 'Listener error|Listener encountered|GOAWAY|too_many_pings|ENHANCE_YOUR_CALM|RESOURCE_EXHAUSTED|Retrying' \
    "$TS_WORKER_LOG" | head -n 10
  die "the TS worker's log shows $trouble reconnect/GOAWAY line(s)"
}
pings=$(count_lines "$TS_WORKER_LOG" 'Received ping response')
[ "$pings" -ge $((idle / 10 - 1)) ] || die "grpc-js logged only $pings answered keepalive pings in $idle s"
ok "TS worker: one listener connection, no GOAWAY or reconnect, $pings keepalive pings answered"

rc=0
"$BIN_DIR/hatchet-run" ts_count --input '{"ms":1}' --timeout 30 >"$WORK/runs.jsonl" 2>"$WORK/hatchet-run.log" || rc=$?
[ "$rc" -eq 0 ] && grep -q '"status":"COMPLETED"' "$WORK/runs.jsonl" ||
  die "a run after the idle period did not complete on the TS worker (hatchet-run exit $rc)"
ok "after $idle s idle the TS worker still serves runs"
say "passed"
