// Case c, the TypeScript client's side, against our hatchet-worker:
//
// 1. FailWorkflow/fail throws std::runtime_error(message) in hatchet-worker: the TS client's
//    run() must reject with an error that carries the message.
// 2. SleepWorkflow/sleep ({ms: 30000}) is cancelled through v1 AdminService/CancelTasks, sent by
//    the SDK's own gRPC admin client once hatchet-worker has started the task. Then: the SDK's
//    result rejects, GetRunDetails says CANCELLED (run and task, no output), and hatchet-worker's
//    --debug log (OUR_WORKER_LOG) shows the CANCEL_STEP_RUN reaching the task, the task ending
//    early and nothing being reported for it.

'use strict';

const fs = require('fs');
const { sdk, log, watchdog, check, finish, registerWithoutWorker, sleep, errorText } =
  require('./common');
const { RunStatus } = require('@hatchet-dev/typescript-sdk/protoc/v1/workflows');

const workerLog = process.env.OUR_WORKER_LOG;

async function waitForLog(regex, seconds) {
  for (let i = 0; i < seconds * 10; i += 1) {
    const text = fs.readFileSync(workerLog, 'utf8');
    const m = text.match(regex);
    if (m) return m;
    await sleep(100);
  }
  return null;
}

function declare(hatchet, workflowName, taskName) {
  const wf = hatchet.workflow({ name: workflowName });
  wf.task({
    name: taskName,
    fn: () => {
      throw new Error('this task runs in hatchet-worker, never here');
    },
  });
  return wf;
}

async function thrownInOurWorker(hatchet) {
  const failWf = declare(hatchet, 'FailWorkflow', 'fail');
  await registerWithoutWorker(hatchet, failWf);
  const message = `thrown in C++ for the TS client ${process.pid}: "quoted", ünïcode ✓`;
  try {
    const out = await failWf.run({ message });
    check(false, `FailWorkflow should have failed, it returned ${JSON.stringify(out)}`);
  } catch (e) {
    const text = errorText(e);
    log(`the TS client's error: ${JSON.stringify(text)}`);
    check(text.includes(message), 'the error the TS client got carries the message thrown in hatchet-worker');
    check(text.includes('runtime_error'), 'and names the C++ exception type');
  }
}

async function cancelledInOurWorker(hatchet) {
  const admin = hatchet.admin.adminGrpc; // the SDK's gRPC v1.AdminService client
  const sleepWf = declare(hatchet, 'SleepWorkflow', 'sleep');
  await registerWithoutWorker(hatchet, sleepWf);
  const ref = await sleepWf.runNoWait({ ms: 30000 });
  const runId = await ref.getWorkflowRunId();
  const output = ref.output.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );

  const before = await admin.getRunDetails({ externalId: runId });
  const task = before.taskRuns.sleep;
  check(task !== undefined, `GetRunDetails lists the task 'sleep' of run ${runId}`);
  const key = `${task.externalId}/0`;
  const startedLine = await waitForLog(new RegExp(`run ${key} \\(sleepworkflow:sleep\\) starting`), 20);
  check(startedLine !== null, `hatchet-worker started the task (run ${key})`);

  const cancelAt = Date.now();
  const response = await admin.cancelTasks({ externalIds: [task.externalId] });
  log(`CancelTasks answered ${JSON.stringify(response)}`);
  check(response.cancelledTasks.includes(task.externalId), 'CancelTasks reports the task cancelled');

  const result = await output;
  check(result.error !== undefined, `the SDK's result for the run rejects (${errorText(result.error)})`);
  check(/cancel/i.test(errorText(result.error)), 'with the cancellation as the reason');

  const cancelledLine = await waitForLog(new RegExp(`run ${key} cancelled by the engine`), 10);
  check(cancelledLine !== null, 'hatchet-worker got CANCEL_STEP_RUN for the running task');
  const endedLine = await waitForLog(new RegExp(`cancelled run ${key} ended; nothing reported`), 10);
  const tookMs = Date.now() - cancelAt;
  check(endedLine !== null && tookMs < 10000,
        `the task saw ctx.cancelled(), stopped ${tookMs} ms after the cancel (not after 30 s), ` +
        'and hatchet-worker reported nothing for it');
  await sleep(1500); // room for a stray COMPLETED/FAILED to show up
  const text = fs.readFileSync(workerLog, 'utf8');
  check(!new RegExp(`run ${key} completed`).test(text) && !new RegExp(`run ${key} \\(.*\\) failed`).test(text),
        'hatchet-worker never reported the cancelled run COMPLETED or FAILED');

  const after = await admin.getRunDetails({ externalId: runId });
  const t = after.taskRuns.sleep;
  log(`GetRunDetails after the cancel: status ${RunStatus[after.status]}, done ${after.done}, ` +
      `task ${RunStatus[t.status]} error ${JSON.stringify(t.error)} output ${JSON.stringify(t.output)}`);
  check(after.status === RunStatus.CANCELLED && after.done, 'the engine ended the run CANCELLED');
  check(t.status === RunStatus.CANCELLED && !t.output, 'its task is CANCELLED, with no output');
}

async function main() {
  watchdog(Number(process.env.INTEROP_SCRIPT_TIMEOUT || 90), 'the failure checks');
  const hatchet = sdk.HatchetClient.init();
  await thrownInOurWorker(hatchet);
  await cancelledInOurWorker(hatchet);
  finish();
}

main().catch((e) => {
  log(`FAIL: ${e && e.stack ? e.stack : errorText(e)}`);
  process.exit(1);
});
