#!/usr/bin/env bash
# Configuration mistakes fail at once, say what to change, and exit as documented:
# - TLS against the plaintext dev engine: the worker exits 1 within seconds (it used to retry for
#   25 s and end with OpenSSL's "wrong version number"), hatchet-run exits 2; both name
#   HATCHET_CLIENT_TLS_STRATEGY=none.
# - A token the engine refuses: hatchet-run exits 2 (a configuration error), like a malformed one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0

t0=$(date +%s%N)
rc=0
HATCHET_CLIENT_TLS_STRATEGY=tls timeout 60 "$bin/hatchet-worker" --name tls-mismatch >"$work/worker.log" 2>&1 || rc=$?
worker_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 1 ] || die "the worker exited $rc, expected 1 (could not start)"
grep -q 'set HATCHET_CLIENT_TLS_STRATEGY=none' "$work/worker.log" || die "the worker's log does not say what to set"
[ "$worker_ms" -lt 10000 ] || die "the worker took $worker_ms ms to give up on a TLS mismatch"

rc=0
HATCHET_CLIENT_TLS_STRATEGY=tls "$bin/hatchet-run" EchoWorkflow --timeout 5 >/dev/null 2>"$work/run_tls.err" || rc=$?
[ "$rc" -eq 2 ] || die "hatchet-run exited $rc on a TLS mismatch, expected 2"
grep -q 'set HATCHET_CLIENT_TLS_STRATEGY=none' "$work/run_tls.err" || die "hatchet-run does not say what to set"

# A well-formed token the engine did not sign: refused (UNAUTHENTICATED).
forged=$("$bin/hatchet-dev-engine" token --port "$engine_port" --secret "not-this-engines-secret")
rc=0
HATCHET_CLIENT_TLS_STRATEGY=none HATCHET_CLIENT_TOKEN=$forged \
  "$bin/hatchet-run" EchoWorkflow --timeout 5 >/dev/null 2>"$work/run_token.err" || rc=$?
[ "$rc" -eq 2 ] || die "hatchet-run exited $rc on a refused token, expected 2: $(cat "$work/run_token.err")"
grep -q 'refused the token' "$work/run_token.err" || die "no word of the refused token: $(cat "$work/run_token.err")"
rc=0
HATCHET_CLIENT_TLS_STRATEGY=none HATCHET_CLIENT_TOKEN=a.b.c \
  "$bin/hatchet-run" EchoWorkflow --timeout 5 >/dev/null 2>"$work/run_bad.err" || rc=$?
[ "$rc" -eq 2 ] || die "hatchet-run exited $rc on a malformed token, expected 2"

echo "config errors: tls_worker_exit=1 tls_worker_ms=$worker_ms tls_run_exit=2 refused_token_exit=2 malformed_token_exit=2"
echo "--- what the user sees"; cat "$work/run_tls.err" "$work/run_token.err"
echo "PASS"
