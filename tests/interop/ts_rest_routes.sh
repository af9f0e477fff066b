#!/usr/bin/env bash
# The REST routes the official TypeScript SDK calls: a task's ctx.cancel() ends its run
# CANCELLED, the tenant is V1, hatchet.workers lists/pauses/unpauses, an unserved route is 501
# naming itself (js/ts_rest_routes.js).
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
node "$INTEROP_DIR/js/ts_rest_routes.js" || die "the REST route checks failed"
say "passed"
