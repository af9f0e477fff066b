#!/usr/bin/env bash
# Case e: the official TypeScript SDK over TLS, and over mutual TLS.
# The dev engine serves a certificate for engine.internal only (tests/make_test_certs.sh) and
# its tokens name 127.0.0.1, so every client needs HATCHET_CLIENT_TLS_ROOT_CA_FILE and
# HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal (the SDK passes it to grpc-js as
# grpc.ssl_target_name_override), with HATCHET_CLIENT_TLS_STRATEGY=tls:
#  1. a TS worker serves 20 ts_count runs triggered by our hatchet-run;
#  2. the TS client (js/ts_client_echo.js, 20 runs) drives our hatchet-worker;
#  3. the SDK does check the certificate: a TS worker with the unrelated CA as its root never
#     registers (so 1 and 2 passing means TLS was verified, not merely used).
# Then an engine requiring client certificates (--tls-client-ca): a TS worker with strategy mtls
# and the client certificate serves 5 runs of our hatchet-run (also mtls).
source "$(dirname "$0")/lib.sh"
need_sdk
CERTS=$WORK/certs
"$INTEROP_DIR/../make_test_certs.sh" "$CERTS" >"$WORK/certs.log" 2>&1 ||
  die "cannot make the test certificates: $(tail -n 3 "$WORK/certs.log")"

start_engine --tls-cert "$CERTS/internal.pem" --tls-key "$CERTS/internal.key"
grep -q 'REST API https://' "$ENGINE_LOG" || die "the engine does not serve its REST API over HTTPS"
export HATCHET_CLIENT_TLS_STRATEGY=tls HATCHET_CLIENT_TLS_ROOT_CA_FILE=$CERTS/ca.pem \
  HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal

# 1. TS worker <- our hatchet-run, both over TLS.
start_ts_worker TS_WORKER_SLOTS=5
"${DEATHSIG[@]}" "$BIN_DIR/hatchet-run" ts_count --count 20 --input '{"ms":10}' --timeout 60 \
  >"$WORK/runs-tls.jsonl" 2>"$WORK/hatchet-run-tls.log" || die "hatchet-run over TLS failed"
completed=$(count_lines "$WORK/runs-tls.jsonl" '"status":"COMPLETED"')
[ "$completed" -eq 20 ] || die "$completed of 20 ts_count runs completed over TLS"
ok "the TS worker (tls, root CA, server name engine.internal) served 20 runs of hatchet-run"
stop_pid "$TS_WORKER_PID"

# 2. TS client -> our hatchet-worker, both over TLS.
start_our_worker --slots 10
ECHO_RUNS=20 node "$INTEROP_DIR/js/ts_client_echo.js" >"$WORK/ts-client.log" 2>&1 ||
  die "the TypeScript client's checks over TLS failed: $(tail -n 5 "$WORK/ts-client.log")"
done_runs=$(count_lines "$OUR_WORKER_LOG" 'run [0-9a-f-]+/0 completed')
[ "$done_runs" -eq 20 ] || die "hatchet-worker completed $done_runs runs for the TS client, expected 20"
ok "the TS client (tls, root CA, server name) drove 20 runs on hatchet-worker"
stop_pid "$OUR_WORKER_PID"

# 3. Another CA as the root: the SDK must refuse the engine's certificate.
spawn ts-wrong-ca.log env HATCHET_CLIENT_TLS_ROOT_CA_FILE="$CERTS/other_ca.pem" \
  TS_WORKER_NAME=ts-wrong-ca node "$INTEROP_DIR/js/ts_worker.js"
wrong_ca_pid=$LAST_PID
sleep 4
[ "$(count_lines "$WORK/ts-wrong-ca.log" 'registered as')" -eq 0 ] &&
  [ "$(count_lines "$ENGINE_LOG" 'ts-wrong-ca')" -eq 0 ] ||
  die "a TS worker trusting another CA reached the engine"
ok "a TS worker with another CA as its root did not get through in 4 s"
stop_pid "$wrong_ca_pid"

# mTLS: a new engine that requires client certificates.
stop_pid "$ENGINE_PID"
# New logs for the new processes (the helpers wait for lines in these files).
mv "$ENGINE_LOG" "$WORK/engine-tls.log"
mv "$TS_WORKER_LOG" "$WORK/ts-worker-tls.log"
start_engine --tls-cert "$CERTS/internal.pem" --tls-key "$CERTS/internal.key" \
  --tls-client-ca "$CERTS/ca.pem"
export HATCHET_CLIENT_TLS_STRATEGY=mtls HATCHET_CLIENT_TLS_ROOT_CA_FILE=$CERTS/ca.pem \
  HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal HATCHET_CLIENT_TLS_CERT_FILE=$CERTS/client.pem \
  HATCHET_CLIENT_TLS_KEY_FILE=$CERTS/client.key
start_ts_worker TS_WORKER_SLOTS=5
"${DEATHSIG[@]}" "$BIN_DIR/hatchet-run" ts_count --count 5 --input '{"ms":10}' --timeout 60 \
  >"$WORK/runs-mtls.jsonl" 2>"$WORK/hatchet-run-mtls.log" || die "hatchet-run over mTLS failed"
completed=$(count_lines "$WORK/runs-mtls.jsonl" '"status":"COMPLETED"')
[ "$completed" -eq 5 ] || die "$completed of 5 ts_count runs completed over mTLS"
ok "the TS worker (mtls, client certificate) served 5 runs of hatchet-run (mtls)"
say "passed"
