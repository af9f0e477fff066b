// Case h: an official TypeScript worker whose task spawns a child run of our OurChildWorkflow
// (ctx.runChild, by name) and returns the child's output, then the TypeScript client runs that
// task and checks the result.
//
// Modes (argv[2]): "worker" serves ts_parent; "client" runs it once and checks the output.
'use strict';

const { sdk, log, watchdog, check, finish } = require('./common');

const hatchet = sdk.HatchetClient.init();

const parent = hatchet.task({
  name: 'ts_parent',
  fn: async (input, ctx) => {
    const first = await ctx.runChild('OurChildWorkflow', { n: input.n });
    const again = await ctx.runChild('OurChildWorkflow', { n: input.n + 1 }, { key: 'second' });
    return { first, again };
  },
});

async function worker() {
  const w = await hatchet.worker('ts-parent-worker', { workflows: [parent], slots: 2 });
  const started = w.start();
  // The SDK logs nothing with the worker's id: say it, for the script to wait on.
  for (let i = 0; i < 100 && !w._internal.workerId; i += 1)
    await new Promise((resolve) => setTimeout(resolve, 100));
  log(`ts-parent-worker registered as ${w._internal.workerId || null}`);
  await started;
}

async function client() {
  watchdog(60, 'the parent run');
  const out = await parent.run({ n: 21 });
  log('output:', JSON.stringify(out));
  check(out.first && out.first.double && out.first.double.doubled === 42,
    `the first child's output reached the TypeScript parent (${JSON.stringify(out.first)})`);
  check(out.again && out.again.double && out.again.double.doubled === 44,
    `the keyed child's output reached it too (${JSON.stringify(out.again)})`);
  finish();
}

(process.argv[2] === 'worker' ? worker() : client()).catch((e) => {
  log('FAIL:', e);
  process.exit(1);
});
