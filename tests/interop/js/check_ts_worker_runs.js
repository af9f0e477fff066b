// Case b, the checks: hatchet-run's JSON lines for the ts_count runs, and the TypeScript worker's
// report of what it saw on the wire.
//
//   node check_ts_worker_runs.js <expected runs> <slots> <report.json> <lines.jsonl>...

'use strict';

const fs = require('fs');
const { log, check, finish } = require('./common');

const [expectedText, slotsText, reportFile, ...lineFiles] = process.argv.slice(2);
const expected = Number(expectedText);
const slots = Number(slotsText);

const lines = lineFiles.flatMap((f) =>
  fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)));
const ids = new Set(lines.map((l) => l.workflow_run_id));
const completed = lines.filter((l) => l.status === 'COMPLETED' && l.output && l.output.ts_count);
check(lines.length === expected && ids.size === expected,
      `hatchet-run printed ${lines.length} results for ${ids.size} distinct runs (expected ${expected})`);
check(completed.length === expected, `${completed.length} of ${expected} runs COMPLETED with an output`);
const seqs = new Set(completed.map((l) => l.output.ts_count.seq));
check(seqs.size === completed.length, `every output comes from a different execution (${seqs.size})`);

// The SDK starts every action it receives at once, so concurrent executions = what the engine
// assigned at once.
const peak = Math.max(0, ...completed.map((l) => l.output.ts_count.running_at_start));
check(peak <= slots, `at most ${slots} runs executed at once on the slots=${slots} TS worker (peak ${peak})`);
check(peak > 1, `runs did execute concurrently (peak ${peak} > 1), so the bound above was tested`);

const r = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
log(`TS worker report: ${JSON.stringify({ tasks: r.tasks, events: r.events, gzipCalls: r.gzipCalls })}`);
check(r.tasks.peak <= slots, `the TS worker's own peak count is ${r.tasks.peak} <= ${slots}`);
check(r.events.ok[2] === expected && r.events.sent[2] === expected,
      `the engine answered OK to all ${expected} COMPLETED events (${r.events.ok[2]})`);
check(r.events.ok[1] === expected && r.events.sent[1] === expected,
      `the engine answered OK to all ${expected} STARTED events (${r.events.ok[1]})`);
check(r.events.errors.length === 0, `no event was refused (${r.events.errors.slice(0, 3).join('; ')})`);
check(r.events.workerIds.length === 1 && r.events.workerIds[0] === r.name && r.name !== r.workerId,
      `StepActionEvent.worker_id held the worker name '${r.events.workerIds.join(',')}', ` +
      `not its id ${r.workerId}, and the engine took it`);
check(r.events.held > 0 && r.events.heldAnsweredOk === r.events.held,
      `${r.events.held} STARTED events were sent only after their COMPLETED was answered, ` +
      `and the engine answered OK to each (${r.events.heldAnsweredOk})`);
check(r.events.terminalFirst >= r.events.held,
      `${r.events.terminalFirst} runs had COMPLETED answered before STARTED ` +
      `(${r.events.terminalFirst - r.events.held} of them without help)`);
const events = r.events.sent[1] + r.events.sent[2] + r.events.sent[3];
if (process.env.INTEROP_GZIP_ALL === '1')
  check(r.gzipCalls >= events, `the TS worker gzip-compressed ${r.gzipCalls} request messages, ` +
        `at least one per step event (${events}), and the engine took every one`);
else
  check(r.gzipCalls > 0, `the TS worker gzip-compressed ${r.gzipCalls} request message(s)`);
finish();
