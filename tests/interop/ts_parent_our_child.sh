#!/usr/bin/env bash
# Case h: a task of the official TypeScript worker spawns child runs (ctx.runChild) of a workflow
# our worker serves; the TypeScript parent gets each child's output. The engine must have linked
# both children to the parent task (parent_task_run_external_id, child index 0 and 1, the key).
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
spawn peer.log "$BIN_DIR/hatchet-interop-peer" worker
wait_for_lines "$WORK/peer.log" 'running as ' 1 20 || die "our worker did not start"
spawn ts-parent.log node "$INTEROP_DIR/js/ts_parent_worker.js" worker
wait_for_lines "$WORK/ts-parent.log" 'registered as [0-9a-f-]{36}' 1 30 || die "the TypeScript worker did not register"
node "$INTEROP_DIR/js/ts_parent_worker.js" client >"$WORK/ts-client.log" 2>&1 || die "the TypeScript parent's checks failed: $(cat "$WORK/ts-client.log")"
[ "$(count_lines "$WORK/peer.log" '^child run: ')" -eq 2 ] || die "our worker did not run exactly two children"
grep -qE 'child spawn [0-9a-f-]{36}\.0\.' "$ENGINE_LOG" && die "a child was spawned twice"
ok "the TypeScript parent got both children's outputs from our worker"
say "passed"
