// The REST routes the official TypeScript SDK calls, against the dev engine:
// - a task cancels itself with ctx.cancel(), which the SDK sends only as POST
//   /api/v1/stable/tenants/{tenant}/tasks/cancel with the task's id: the run must end CANCELLED,
//   not FAILED (the engine cancels it and sends the worker CANCEL_STEP_RUN; the SDK's result
//   rejects; the task function's later return changes nothing);
// - the tenant answers V1 (else the client warns of a V0 engine when it is made);
// - hatchet.workers lists, pauses and unpauses this worker; hatchet.workflows lists and finds
//   its workflow by name;
// - a route the dev engine does not serve answers 501 naming itself.

'use strict';

const { sdk, log, watchdog, check, finish, sleep } = require('./common');
const { RunStatus } = require('@hatchet-dev/typescript-sdk/protoc/v1/workflows');

async function main() {
  watchdog(60, 'the REST routes case');
  const hatchet = sdk.HatchetClient.init();
  const selfCancel = hatchet.task({
    name: 'ts_self_cancel',
    fn: async (_input, ctx) => {
      await ctx.cancel();
      await sleep(2000); // cancellation is cooperative: a plain sleep runs to its end
      return { finished: true };
    },
  });
  const worker = await hatchet.worker('ts-self-cancel', { workflows: [selfCancel], slots: 2 });
  const stopped = worker.start();
  for (let i = 0; i < 100 && !worker._internal.workerId; i += 1) await sleep(100);

  const ref = await selfCancel.runNoWait({});
  const runId = await ref.getWorkflowRunId();
  let rejected = null;
  try {
    await ref.output;
  } catch (e) {
    rejected = e;
  }
  check(rejected !== null, `the run's result rejected (${String(rejected).slice(0, 120)})`);
  const details = await hatchet.admin.adminGrpc.getRunDetails({ externalId: runId });
  const task = Object.values(details.taskRuns)[0];
  check(details.status === RunStatus.CANCELLED && details.done,
        `GetRunDetails says the run is CANCELLED (status ${details.status})`);
  check(task && task.status === RunStatus.CANCELLED, 'and its task too');

  const tenant = await hatchet.tenant.get();
  check(tenant.version === 'V1' && tenant.metadata.id === hatchet.tenantId,
        `GET /api/v1/tenants/{tenant} answers the engine's tenant, version ${tenant.version}`);
  const workerId = worker._internal.workerId;
  // Listed once its first heartbeat is in (a worker is created without one): poll, bounded.
  let list = null;
  let mine = null;
  for (let i = 0; i < 150 && !mine; i += 1) {
    if (i > 0) await sleep(100);
    list = await hatchet.workers.list();
    mine = (list.rows || []).find((w) => w.metadata.id === workerId);
  }
  check(mine && mine.name === 'ts-self-cancel' && mine.status === 'ACTIVE',
        `workers.list() has this worker, ACTIVE (${(list.rows || []).length} listed)`);
  await hatchet.workers.pause(workerId);
  check(await hatchet.workers.isPaused(workerId), 'workers.pause() then isPaused() is true');
  await hatchet.workers.unpause(workerId);
  check((await hatchet.workers.get(workerId)).status === 'ACTIVE',
        'workers.unpause() then get() says ACTIVE');

  const workflows = await hatchet.workflows.list();
  const names = (workflows.rows || []).map((w) => w.name);
  check(names.includes('ts_self_cancel'), `workflows.list() has ts_self_cancel (${names})`);
  const found = await hatchet.workflows.get('ts_self_cancel');
  check(found && found.name === 'ts_self_cancel' && found.metadata.id,
        `workflows.get('ts_self_cancel') finds it by name, id ${found && found.metadata.id}`);

  let unserved = null;
  try {
    await hatchet.api.v1EventList(hatchet.tenantId, {});
  } catch (e) {
    unserved = e.response;
  }
  const said = unserved && JSON.stringify(unserved.data);
  check(unserved && unserved.status === 501 && said.includes('GET /api/v1/stable/tenants/'),
        `an unserved route answers 501 naming itself: ${said}`);

  await sleep(2500); // past the task's own end: whatever it sent then changed nothing
  const later = await hatchet.admin.adminGrpc.getRunDetails({ externalId: runId });
  check(later.status === RunStatus.CANCELLED && !Object.values(later.taskRuns)[0].output,
        'the run is still CANCELLED, without output, after the task function returned');
  await worker.stop();
  await Promise.race([stopped, sleep(5000)]);
  log('done');
  finish();
}

main().catch((e) => {
  log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
