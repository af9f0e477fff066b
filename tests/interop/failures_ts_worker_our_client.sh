#!/usr/bin/env bash
# Case c (2 of 2): a task that throws in the official TypeScript worker reaches our client:
# hatchet-run prints the run FAILED with the thrown message in its "errors" and exits 1.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
start_ts_worker
message="thrown in TypeScript for hatchet-run $$"
rc=0
"$BIN_DIR/hatchet-run" ts_fail --input "{\"message\":\"$message\"}" --timeout 30 \
  >"$WORK/runs.jsonl" 2>"$WORK/hatchet-run.log" || rc=$?
cat "$WORK/runs.jsonl"
[ "$rc" -eq 1 ] || die "hatchet-run exited $rc for a failing run, expected 1"
ok "hatchet-run exited 1"
node - "$WORK/runs.jsonl" "$message" <<'JS' || die "hatchet-run's output does not carry the failure"
const fs = require('fs');
const [file, message] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ok = lines.length === 1 && lines[0].status === 'FAILED' && lines[0].errors &&
  typeof lines[0].errors.ts_fail === 'string' && lines[0].errors.ts_fail.includes(message);
console.log(ok ? `ok: errors.ts_fail carries the message: ${JSON.stringify(lines[0].errors.ts_fail).slice(0, 160)}...`
               : `FAIL: unexpected output ${JSON.stringify(lines)}`);
process.exit(ok ? 0 : 1);
JS
[ "$(count_lines "$ENGINE_LOG" 'task [0-9a-f-]{36} failed: ')" -eq 1 ] ||
  die "the engine did not fail exactly one task"
ok "the engine failed the task once (retries: 0)"
say "passed"
