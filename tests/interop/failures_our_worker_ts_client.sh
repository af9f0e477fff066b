#!/usr/bin/env bash
# Case c (1 of 2): failures between the official TypeScript client and our hatchet-worker.
# A task that throws in hatchet-worker reaches the TS client as an error carrying the message; a
# running task cancelled through v1 AdminService/CancelTasks (the SDK's gRPC admin client) gets
# CANCEL_STEP_RUN in hatchet-worker, stops through its cancelled context, is not reported, and the
# engine ends the run CANCELLED. See js/ts_client_failures.js.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
start_our_worker --slots 2
OUR_WORKER_LOG=$OUR_WORKER_LOG node "$INTEROP_DIR/js/ts_client_failures.js" ||
  die "the TypeScript client's checks failed"

# The engine's side of the cancel: one task cancelled, never completed.
cancelled_task=$(sed -nE 's/.*task ([0-9a-f-]{36}) cancelled: task cancelled.*/\1/p' "$ENGINE_LOG" | head -n 1)
[ -n "$cancelled_task" ] || die "the engine log does not show the task cancelled"
[ "$(count_lines "$ENGINE_LOG" "task $cancelled_task completed")" -eq 0 ] ||
  die "the engine completed the cancelled task $cancelled_task"
ok "the engine cancelled task $cancelled_task and never completed it"
say "passed"
