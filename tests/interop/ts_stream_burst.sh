#!/usr/bin/env bash
# The official TypeScript SDK's stream chunks, sent without waiting and partly after the task's
# result, reach every subscriber whole and in order: RUNS (50) runs, TOGETHER (5) at a time, x
# SUBSCRIBERS (3), 20 chunks
# each (js/ts_stream_burst.js). The engine orders them by event_index per subscription and holds
# the run's end until the late ones are in (engine/README.md, Streams).
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
node "$INTEROP_DIR/js/ts_stream_burst.js" || die "the stream burst checks failed"
say "passed"
