// Case a: the official TypeScript client drives runs that our hatchet-worker serves.
//
// Declares EchoWorkflow with the task "echo" (action echoworkflow:echo, the one hatchet-worker
// serves), registers it, then triggers ECHO_RUNS runs (default 200) of it: some with run() (trigger
// and wait, one at a time), some with runNoWait() one by one (TriggerWorkflow each), the rest in
// one array (BulkTriggerWorkflow). Every result is awaited through the SDK's run listener
// (SubscribeToWorkflowRuns) and must be {echo: <the input of that run>}.

'use strict';

const { sdk, probe, log, watchdog, check, finish, registerWithoutWorker, deepEqual, errorText } =
  require('./common');

const total = Number(process.env.ECHO_RUNS || 200);
const viaRun = Math.floor(total / 10);
const oneByOne = Math.floor(total / 2) - viaRun;
const bulk = total - viaRun - oneByOne;

function inputFor(i, mode) {
  return {
    i,
    mode,
    text: `echo ${i}: grüße, 你好, ✓ "quoted" \\ backslash`,
    nested: { list: [i, i * 2, { deep: true }], none: null, float: i + 0.5 },
  };
}

async function main() {
  watchdog(Number(process.env.INTEROP_SCRIPT_TIMEOUT || 90), 'the echo runs');
  const hatchet = sdk.HatchetClient.init();
  const echo = hatchet.workflow({ name: 'EchoWorkflow' });
  echo.task({
    name: 'echo',
    fn: () => {
      throw new Error('this task runs in hatchet-worker, never here');
    },
  });
  const request = await registerWithoutWorker(hatchet, echo);
  check(request.name === 'echoworkflow' && request.tasks[0].action === 'echoworkflow:echo',
        `the SDK registers ${request.name} with action ${request.tasks[0].action}`);

  const started = Date.now();
  const runs = []; // { input, promise of output }

  // 1. run(): trigger and wait, one at a time.
  for (let i = 0; i < viaRun; i += 1) {
    const input = inputFor(i, 'run');
    const output = await echo.run(input);
    runs.push({ input, output: Promise.resolve(output) });
  }
  log(`${viaRun} runs with run() finished`);

  // 2. runNoWait() one by one: a TriggerWorkflow call each.
  for (let i = viaRun; i < viaRun + oneByOne; i += 1) {
    const input = inputFor(i, 'single');
    const ref = await echo.runNoWait(input);
    runs.push({ input, ref, output: ref.output });
  }
  log(`${oneByOne} runs triggered one by one`);

  // 3. one array: BulkTriggerWorkflow.
  const bulkInputs = [];
  for (let i = viaRun + oneByOne; i < total; i += 1) bulkInputs.push(inputFor(i, 'bulk'));
  const refs = await echo.runNoWait(bulkInputs);
  check(Array.isArray(refs) && refs.length === bulk,
        `a bulk trigger of ${bulk} inputs gave ${refs.length} run references`);
  refs.forEach((ref, k) => runs.push({ input: bulkInputs[k], ref, output: ref.output }));
  log(`${bulk} runs triggered in bulk`);

  const ids = new Set();
  for (const r of runs) if (r.ref) ids.add(await r.ref.getWorkflowRunId());
  check(ids.size === oneByOne + bulk, `${ids.size} distinct workflow run ids for ${oneByOne + bulk} triggers`);

  const settled = await Promise.allSettled(runs.map((r) => r.output));
  let good = 0;
  const bad = [];
  settled.forEach((s, k) => {
    const expected = { echo: runs[k].input };
    if (s.status === 'fulfilled' && deepEqual(s.value, expected)) good += 1;
    else bad.push({ i: runs[k].input.i, got: s.status === 'fulfilled' ? s.value : errorText(s.reason) });
  });
  for (const b of bad.slice(0, 5)) log(`run ${b.i}: got ${JSON.stringify(b.got)}`);
  check(good === total, `${good} of ${total} results arrived with the input echoed ` +
        `(${viaRun} run(), ${oneByOne} one by one, ${bulk} bulk) in ${Date.now() - started} ms`);
  // PutWorkflow, a TriggerWorkflow per single run, one BulkTriggerWorkflow and a
  // SubscribeToWorkflowRuns message per run: all gzip-compressed when grpc-js keeps compressing.
  const messages = 1 + viaRun + oneByOne + 1 + total;
  if (process.env.INTEROP_GZIP_ALL === '1')
    check(probe.gzipCalls >= messages, `the SDK gzip-compressed ${probe.gzipCalls} request ` +
          `messages (of ${messages}: registration, triggers, bulk trigger, run subscriptions) ` +
          'and the engine took every one');
  else
    check(probe.gzipCalls > 0, `the SDK gzip-compressed ${probe.gzipCalls} request message(s) ` +
          '(those sent before the channel\'s first response) and the engine took them');
  finish();
}

main().catch((e) => {
  log(`FAIL: ${e && e.stack ? e.stack : errorText(e)}`);
  process.exit(1);
});
