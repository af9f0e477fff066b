// The official TypeScript SDK streaming a burst: its task sends 20 chunks with ctx.putStream()
// without waiting for any (as the SDK itself never waits for the PutStreamEvent call) and
// returns at once, so the chunks reach the engine in any order, some after the task's result.
// RUNS runs (50), TOGETHER (5) at a time, each followed by SUBSCRIBERS (3)
// hatchet.runs.subscribeToStream() iterators: every subscriber must get all 20 chunks, in order,
// and then its iterator must end.
//
// The task waits WAIT_MS (1000) before its burst so that the subscriptions, made right after
// each trigger, are in place: chunks are published to whoever follows the run at that moment
// (the real engine keeps none), as the SDK's own streaming example waits before streaming.

'use strict';

const { sdk, sdkVersion, log, watchdog, check, finish, sleep } = require('./common');

const runs = Number(process.env.RUNS || 50);
const subscribers = Number(process.env.SUBSCRIBERS || 3);
const waitMs = Number(process.env.WAIT_MS || 1000);
const together = Number(process.env.TOGETHER || 5);
const chunks = 20;

async function main() {
  watchdog(120, 'the stream burst case');
  const hatchet = sdk.HatchetClient.init();
  const burst = hatchet.task({
    name: 'ts_stream_burst',
    fn: async (input, ctx) => {
      await sleep(input.waitMs);
      for (let i = 0; i < chunks; i += 1) ctx.putStream(`chunk ${i}`); // not awaited, as the SDK
      return { sent: chunks };
    },
  });
  const worker = await hatchet.worker('ts-stream-burst', { workflows: [burst], slots: runs });
  const stopped = worker.start();
  for (let i = 0; i < 100 && !worker._internal.workerId; i += 1) await sleep(100);
  check(Boolean(worker._internal.workerId), `the worker registered (SDK ${sdkVersion})`);

  const want = Array.from({ length: chunks }, (_, i) => `chunk ${i}`);
  const follow = async (runId) => {
    const got = [];
    for await (const content of hatchet.runs.subscribeToStream(runId)) got.push(content);
    return got;
  };
  const started = Date.now();
  const results = [];
  for (let first = 0; first < runs; first += together) { // `together` runs at a time
    const all = [];
    for (let r = first; r < Math.min(runs, first + together); r += 1) {
      const ref = await burst.runNoWait({ waitMs });
      const id = await ref.getWorkflowRunId();
      for (let s = 0; s < subscribers; s += 1)
        all.push(follow(id).then((got) => ({ id: `${r}:${id}`, s, got })));
    }
    results.push(...(await Promise.all(all)));
  }
  let complete = 0;
  for (const { id, s, got } of results) {
    if (JSON.stringify(got) === JSON.stringify(want)) complete += 1;
    else log(`run ${id} subscriber ${s} got ${got.length} chunk(s): ${JSON.stringify(got)}`);
  }
  check(complete === runs * subscribers,
        `${complete} of ${runs * subscribers} subscribers (${runs} runs x ${subscribers}) got all ` +
        `${chunks} chunks in order (${together} runs at a time), in ${Date.now() - started} ms`);
  await worker.stop();
  await Promise.race([stopped, sleep(5000)]);
  finish();
}

main().catch((e) => {
  log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
