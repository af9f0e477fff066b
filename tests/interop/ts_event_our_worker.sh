#!/usr/bin/env bash
# Case f: the official TypeScript client pushes an event (EventsService/Push) whose key our
# worker's workflow listens for (workflow::on_events); the dev engine starts the run on our
# worker, which gets the payload as input and the event's metadata without hatchet__ keys plus
# hatchet__event_id and hatchet__event_key.
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
spawn peer.log "$BIN_DIR/hatchet-interop-peer" worker
wait_for_lines "$WORK/peer.log" 'running as ' 1 20 || die "our worker did not start"
node "$INTEROP_DIR/js/ts_push_event.js" >"$WORK/ts-client.log" 2>&1 || die "the TypeScript push failed: $(cat "$WORK/ts-client.log")"
event_id=$(sed -nE 's/^event id: ([0-9a-f-]{36})$/\1/p' "$WORK/ts-client.log")
[ -n "$event_id" ] || die "the TypeScript client printed no event id"
wait_for_lines "$WORK/peer.log" '^event run: ' 1 20 || die "our workflow did not run for the event"
line=$(grep -E '^event run: ' "$WORK/peer.log" | head -n 1)
expected="event run: {\"n\":7,\"who\":\"ts\"} {\"from\":\"ts-client\",\"hatchet__event_id\":\"$event_id\",\"hatchet__event_key\":\"interop:ts-event\"}"
[ "$line" = "$expected" ] || die "the run saw: $line; expected: $expected"
ok "the TypeScript push started our workflow with the payload and the event's metadata"
say "passed"
