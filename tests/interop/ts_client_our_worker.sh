#!/usr/bin/env bash
# Case a: the official TypeScript client -> our hatchet-worker.
# The TS client registers EchoWorkflow (action echoworkflow:echo) and triggers 200 runs of it, one
# by one and in bulk; hatchet-worker serves them; every result must arrive through the SDK's
# SubscribeToWorkflowRuns listener with the input echoed. Every request the SDK sends is
# gzip-compressed (INTEROP_GZIP_ALL=1, see js/common.js) and the engine must take each one.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
start_our_worker --slots 10
runs=${ECHO_RUNS:-200}
ECHO_RUNS=$runs INTEROP_GZIP_ALL=1 node "$INTEROP_DIR/js/ts_client_echo.js" || die "the TypeScript client's checks failed"
done_runs=$(count_lines "$OUR_WORKER_LOG" 'run [0-9a-f-]+/0 completed')
[ "$done_runs" -eq "$runs" ] || die "hatchet-worker completed $done_runs runs, expected $runs"
ok "hatchet-worker completed all $done_runs runs, each once"
say "passed"
