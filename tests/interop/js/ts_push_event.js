// Case f: the official TypeScript client pushes an event; our worker's OnTsEvent listens for its
// key (on_events). Pushes once with a payload and metadata (including a hatchet__ key the engine
// must drop) and prints the event id for the script to check against the run's metadata.
'use strict';

const { sdk, log, watchdog, check, finish } = require('./common');

async function main() {
  watchdog(30, 'the event push');
  const hatchet = sdk.HatchetClient.init();
  const event = await hatchet.events.push(
    'interop:ts-event',
    { n: 7, who: 'ts' },
    { additionalMetadata: { from: 'ts-client', hatchet__source: 'forged' } },
  );
  check(typeof event.eventId === 'string' && event.eventId.length === 36,
    `the push answered an event id (${event.eventId})`);
  console.log(`event id: ${event.eventId}`);
  log('pushed interop:ts-event');
  finish();
}

main().catch((e) => {
  log('FAIL:', e);
  process.exit(1);
});
