#!/usr/bin/env bash
# Case g: our public client API (hatchet::client::run, through hatchet-interop-peer) runs a task
# served by the official TypeScript worker and reads its result; an unknown workflow is an error
# naming it.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
start_ts_worker TS_WORKER_SLOTS=2
"$BIN_DIR/hatchet-interop-peer" run ts_count '{"ms":5}' >"$WORK/run.log" 2>&1 || die "the run failed: $(cat "$WORK/run.log")"
result=$(sed -nE 's/^result: (.*)$/\1/p' "$WORK/run.log")
node -e 'const r = JSON.parse(process.argv[1]); if (!(r.seq >= 1 && r.peak >= 1)) process.exit(1)' "$result" \
  || die "unexpected output: $result"
ok "our client got the TypeScript task's output: $result"
if "$BIN_DIR/hatchet-interop-peer" run no_such_ts_task '{}' >"$WORK/unknown.log" 2>&1; then
  die "a run of an unknown workflow succeeded"
fi
grep -q 'unknown_workflow' "$WORK/unknown.log" || die "not an unknown_workflow error: $(cat "$WORK/unknown.log")"
ok "an unknown workflow is errc::unknown_workflow"
say "passed"
