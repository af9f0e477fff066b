// The official TypeScript SDK worker under benchmark: workflow "benchnoopts" with task "noop"
// (returns {} at once) and workflow "benchsleepts" with task "sleep" (awaits input.ms ms; an
// awaiting task holds no thread). Slots from BENCH_SLOTS. Prints "READY <worker id>" once
// registered. Needs NODE_PATH pointing at the SDK cache (tests/interop/install_sdk.sh) and the
// HATCHET_CLIENT_* environment.
'use strict';

const sdk = require('@hatchet-dev/typescript-sdk');

const slots = Number(process.env.BENCH_SLOTS || 100);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const hatchet = sdk.HatchetClient.init();
  const noop = hatchet.workflow({ name: 'benchnoopts' });
  noop.task({ name: 'noop', fn: async () => ({}) });
  const sleeper = hatchet.workflow({ name: 'benchsleepts' });
  sleeper.task({ name: 'sleep', executionTimeout: '300s', fn: async (input) => { await sleep(Number(input.ms || 1000)); return {}; } });
  const worker = await hatchet.worker('bench-ts-worker', { workflows: [noop, sleeper], slots });
  const started = worker.start();
  for (let i = 0; i < 300 && !worker._internal.workerId; i += 1) await sleep(50);
  console.log(`READY ${worker._internal.workerId}`);
  await started;
}

main().catch((e) => {
  console.error(`ts_bench_worker: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
