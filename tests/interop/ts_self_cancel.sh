#!/usr/bin/env bash
# A TS task's ctx.cancel() (a REST call) ends its run CANCELLED; the tenant route answers V1; an
# unserved route answers 501 naming itself (js/ts_self_cancel.js).
source "$(dirname "$0")/lib.sh"
need_sdk
start_engine
node "$INTEROP_DIR/js/ts_self_cancel.js" || die "the self-cancel checks failed"
say "passed"
