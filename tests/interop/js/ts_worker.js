// An official TypeScript SDK worker for the interop cases (b, c and d).
//
// Serves two standalone tasks, registered by the SDK itself (PutWorkflow inside hatchet.worker):
//   ts_count  input {ms}: waits ms, returns {seq, running_at_start, peak}; it counts its own
//             concurrent executions, since the SDK starts every action it receives at once and
//             only the engine enforces the worker's slots;
//   ts_fail   input {message}: throws new Error(message).
//
// Environment: TS_WORKER_NAME (ts-interop-worker), TS_WORKER_SLOTS (5), TS_REPORT (a JSON file
// rewritten every 200 ms and at exit), TS_HOLD_STARTED_EVERY (N > 0: for every Nth run, hold its
// STARTED event until the run's COMPLETED/FAILED has been answered, to make "COMPLETED before
// STARTED" certain instead of occasional; 0 = send as the SDK does).
//
// The report also carries what this process saw on the wire: each SendStepActionEvent (observed
// on the SDK's own gRPC dispatcher client, just above grpc-js) with its answer, the worker_id
// values the SDK put in them, and the gzip probe of common.js.

'use strict';

const fs = require('fs');
const { sdk, sdkVersion, probe, log, sleep } = require('./common');

const name = process.env.TS_WORKER_NAME || 'ts-interop-worker';
const slots = Number(process.env.TS_WORKER_SLOTS || 5);
const reportFile = process.env.TS_REPORT;
const holdEvery = Number(process.env.TS_HOLD_STARTED_EVERY || 0);

const STARTED = 1;
const COMPLETED = 2;
const FAILED = 3;

const report = {
  sdkVersion,
  pid: process.pid,
  name,
  slots,
  workerId: null,
  tasks: { started: 0, finished: 0, running: 0, peak: 0 },
  events: {
    sent: { [STARTED]: 0, [COMPLETED]: 0, [FAILED]: 0 },
    ok: { [STARTED]: 0, [COMPLETED]: 0, [FAILED]: 0 },
    errors: [],
    workerIds: [],
    held: 0,            // STARTED events held until the terminal event was answered
    heldAnsweredOk: 0,  // ... and answered OK when they finally went out
    terminalFirst: 0,   // runs whose COMPLETED/FAILED was answered before their STARTED was
  },
  gzipCalls: 0,
};

function writeReport() {
  if (!reportFile) return;
  report.gzipCalls = probe.gzipCalls;
  fs.writeFileSync(`${reportFile}.tmp`, JSON.stringify(report, null, 1));
  fs.renameSync(`${reportFile}.tmp`, reportFile);
}

/// Wraps the SDK's gRPC dispatcher client so every SendStepActionEvent is recorded.
function observeEvents(dispatcher) {
  const grpcClient = dispatcher.client;
  const send = grpcClient.sendStepActionEvent.bind(grpcClient);
  const runs = new Map(); // task_run_external_id -> { startedOk, terminalOk, release }
  let startedSeen = 0;
  grpcClient.sendStepActionEvent = async (request, options) => {
    const key = request.taskRunExternalId;
    const type = request.eventType;
    if (!runs.has(key)) runs.set(key, {});
    const run = runs.get(key);
    if (!report.events.workerIds.includes(request.workerId))
      report.events.workerIds.push(request.workerId);
    let held = false;
    if (type === STARTED) {
      startedSeen += 1;
      if (holdEvery > 0 && startedSeen % holdEvery === 0 && !run.terminalOk) {
        held = true;
        report.events.held += 1;
        await new Promise((resolve) => { run.release = resolve; });
      }
    }
    report.events.sent[type] = (report.events.sent[type] || 0) + 1;
    try {
      const response = await send(request, options);
      report.events.ok[type] = (report.events.ok[type] || 0) + 1;
      if (type === STARTED) {
        run.startedOk = true;
        if (held) report.events.heldAnsweredOk += 1;
      } else {
        if (!run.startedOk) report.events.terminalFirst += 1;
        run.terminalOk = true;
      }
      return response;
    } catch (e) {
      report.events.errors.push(`${type}: ${e.message}`);
      throw e;
    } finally {
      if (type !== STARTED && run.release) {
        run.release();
        run.release = undefined;
      }
    }
  };
}

async function main() {
  const hatchet = sdk.HatchetClient.init();

  const count = hatchet.task({
    name: 'ts_count',
    fn: async (input) => {
      report.tasks.started += 1;
      const seq = report.tasks.started;
      report.tasks.running += 1;
      const runningAtStart = report.tasks.running;
      report.tasks.peak = Math.max(report.tasks.peak, runningAtStart);
      try {
        await sleep(Number(input.ms || 0));
      } finally {
        report.tasks.running -= 1;
        report.tasks.finished += 1;
      }
      return { seq, running_at_start: runningAtStart, peak: report.tasks.peak };
    },
  });
  const failing = hatchet.task({
    name: 'ts_fail',
    retries: 0,
    fn: async (input) => {
      throw new Error(input.message || 'ts_fail failed on purpose');
    },
  });

  const worker = await hatchet.worker(name, { workflows: [count, failing], slots });
  // The worker reports through the client it was made from; observe that client's dispatcher.
  observeEvents(worker._internal.client.dispatcher);
  setInterval(writeReport, 200);
  process.on('exit', writeReport);
  const started = worker.start();
  for (let i = 0; i < 100 && !worker._internal.workerId; i += 1) await sleep(100);
  report.workerId = worker._internal.workerId || null;
  log(`ts worker ${name} registered as ${report.workerId} with ${slots} slots (SDK ${sdkVersion})`);
  writeReport();
  await started;
  log('ts worker stopped');
}

main().catch((e) => {
  log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
