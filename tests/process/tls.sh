#!/usr/bin/env bash
# TLS and mutual TLS end to end: hatchet-dev-engine serving gRPC over TLS and its REST API over
# HTTPS, hatchet-worker and hatchet-run connecting with HATCHET_CLIENT_TLS_*. Certificates are
# made here with the openssl CLI: a CA, a server certificate for localhost/127.0.0.1, one for
# engine.internal, a client certificate (all signed by the CA) and an unrelated second CA
# (tests/make_test_certs.sh).
#
#   A: --tls-cert localhost        B: --tls-cert engine.internal     C: A's certificate + --tls-client-ca
#
# Checks (each fails if its feature breaks):
#  0. the engine's TLS flags: a certificate without its key (and the reverse, and a client CA
#     without a certificate) is a usage error naming the flag (exit 2); an unreadable file stops
#     it (exit 1) naming the file; under TLS the token's server_url is https://.
#  1. A, the right root CA: the worker registers, a run completes.
#  2. A, another CA as root: the worker exits 1 within seconds saying the certificate is not
#     signed by HATCHET_CLIENT_TLS_ROOT_CA_FILE; hatchet-run exits 2 saying the same; a
#     plaintext client is told the engine serves TLS.
#  3. B dialled as 127.0.0.1: the worker exits 1 saying the name does not match and to set
#     HATCHET_CLIENT_TLS_SERVER_NAME; with HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal it
#     registers and a run completes.
#  4. C: strategy mtls with the client certificate works; strategy tls (no client certificate)
#     exits 1 saying the engine requires one; the REST API answers only with a client
#     certificate (openssl s_client).
#  5. The graceful stop's REST pause goes over HTTPS and succeeds under 1, 3 (server name) and 4
#     (client certificate); and the REST client checks the certificate: a REST URL whose
#     certificate is for another name makes the pause fail.
#  6. PEM files that hold no certificate (empty, binary, a key in the certificate's place) or a
#     key of another certificate: the worker exits 1 within 1 s naming the variable and the file,
#     hatchet-run exits 2 saying the same.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

# --- certificates ---------------------------------------------------------------------------
certs=$work/certs
"$here/../make_test_certs.sh" "$certs" || die "cannot make the test certificates: $(tail -3 "$certs/openssl.log" 2>/dev/null)"

# --- helpers ----------------------------------------------------------------------------------
# expect_start_failure NAME TEXT [ENV...]: hatchet-worker with ENV exits 1 within 10 s and its
# log holds TEXT.
expect_start_failure() {
  local name=$1 text=$2
  shift 2
  local log=$work/$name.log rc=0 t0
  t0=$(date +%s%N)
  env "$@" timeout 60 "$bin/hatchet-worker" --name "$name" >"$log" 2>&1 || rc=$?
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" -eq 1 ] || die "$name: the worker exited $rc, expected 1 (could not start)"
  grep -qF -- "$text" "$log" || die "$name: the worker's log does not say '$text': $(grep -m1 'start-up failed' "$log")"
  [ "$ms" -lt 10000 ] || die "$name: the worker took $ms ms to give up"
  echo "$name: exit 1 after $ms ms: $(sed -nE 's/.*start-up failed: [a-z_]+: //p' "$log" | head -1)"
}

# serve_and_stop NAME [ENV...]: starts hatchet-worker with ENV, runs EchoWorkflow once through
# hatchet-run with the same ENV, stops the worker (SIGTERM) and checks the run's output, the
# worker's exit 0 and its pause over REST.
serve_and_stop() {
  local name=$1
  shift
  env "$@" "$bin/hatchet-worker" --name "$name" >"$work/$name.log" 2>&1 &
  local pid=$!
  track "$pid"
  wait_for_line "$work/$name.log" 'registered as' 15 || die "$name: the worker did not register"
  local out rc=0
  out=$(env "$@" "$bin/hatchet-run" EchoWorkflow --input "{\"via\":\"$name\"}" --timeout 10 \
    2>"$work/$name-run.log") || rc=$?
  [ "$rc" -eq 0 ] || die "$name: hatchet-run exited $rc: $(cat "$work/$name-run.log")"
  grep -qF "\"echo\":{\"via\":\"$name\"}" <<<"$out" || die "$name: unexpected run output: $out"
  stop_pid "$pid" 20
  [ "$waited_rc" -eq 0 ] || die "$name: the worker exited $waited_rc after SIGTERM"
  grep -q 'paused on the engine (HTTP 200)' "$work/$name.log" ||
    die "$name: the worker did not pause over REST: $(grep -m1 'could not pause' "$work/$name.log")"
  echo "$name: registered, run completed, paused over HTTPS, exit 0"
}

# server_url TOKEN: the token's server_url claim.
server_url() {
  local payload
  payload=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload+="="; done
  base64 -d <<<"$payload" 2>/dev/null | sed -nE 's/.*"server_url":"([^"]+)".*/\1/p'
}

# --- 0. the engine's flags --------------------------------------------------------------------
flag_check() { # EXPECTED_RC TEXT ARGS...
  local want=$1 text=$2 rc=0
  shift 2
  "$bin/hatchet-dev-engine" serve --port 0 "$@" >"$work/flags.log" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || die "hatchet-dev-engine $* exited $rc, expected $want"
  grep -qF -- "$text" "$work/flags.log" || die "hatchet-dev-engine $*: no '$text' in: $(cat "$work/flags.log")"
}
flag_check 2 '--tls-cert needs --tls-key' --tls-cert "$certs/server.pem"
flag_check 2 '--tls-key needs --tls-cert' --tls-key "$certs/server.key"
flag_check 2 '--tls-client-ca needs --tls-cert' --tls-client-ca "$certs/ca.pem"
flag_check 1 "cannot read the TLS certificate file '$certs/missing.pem'" \
  --tls-cert "$certs/missing.pem" --tls-key "$certs/server.key"
flag_check 1 "does not belong to the certificate" \
  --tls-cert "$certs/server.pem" --tls-key "$certs/client.key"
echo "flags: pairs enforced (exit 2), unreadable or mismatched files refused (exit 1)"

unset HATCHET_CLIENT_TLS_SERVER_NAME HATCHET_CLIENT_TLS_ROOT_CA_FILE HATCHET_CLIENT_TLS_CERT_FILE \
  HATCHET_CLIENT_TLS_KEY_FILE HATCHET_CLIENT_SERVER_URL HATCHET_CLIENT_API_URL HATCHET_CLIENT_HOST_PORT

# --- A: TLS with a certificate for localhost and 127.0.0.1 -------------------------------------
start_engine "$work/engine_a.log" 0 --tls-cert "$certs/server.pem" --tls-key "$certs/server.key"
token_a=$engine_token
url_a=$(server_url "$token_a")
[[ "$url_a" == https://127.0.0.1:* ]] || die "engine A's token names server_url '$url_a', expected https://127.0.0.1:<port>"
export HATCHET_CLIENT_TLS_STRATEGY=tls

serve_and_stop tls_right_ca HATCHET_CLIENT_TOKEN="$token_a" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem"

expect_start_failure tls_wrong_ca \
  "the engine's certificate is not signed by HATCHET_CLIENT_TLS_ROOT_CA_FILE ($certs/other_ca.pem)" \
  HATCHET_CLIENT_TOKEN="$token_a" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/other_ca.pem"
rc=0
HATCHET_CLIENT_TOKEN=$token_a HATCHET_CLIENT_TLS_ROOT_CA_FILE=$certs/other_ca.pem \
  "$bin/hatchet-run" EchoWorkflow --timeout 5 >/dev/null 2>"$work/run_wrong_ca.err" || rc=$?
[ "$rc" -eq 2 ] || die "hatchet-run with the wrong CA exited $rc, expected 2"
grep -qF "is not signed by HATCHET_CLIENT_TLS_ROOT_CA_FILE" "$work/run_wrong_ca.err" ||
  die "hatchet-run does not name the CA problem: $(cat "$work/run_wrong_ca.err")"
expect_start_failure plaintext_client "serves TLS, and HATCHET_CLIENT_TLS_STRATEGY is 'none'" \
  HATCHET_CLIENT_TOKEN="$token_a" HATCHET_CLIENT_TLS_STRATEGY=none

# --- B: TLS with a certificate for engine.internal only ----------------------------------------
start_engine "$work/engine_b.log" 0 --tls-cert "$certs/internal.pem" --tls-key "$certs/internal.key"
token_b=$engine_token
export HATCHET_CLIENT_TLS_STRATEGY=tls
expect_start_failure tls_wrong_name \
  "which does not match the name 127.0.0.1 (the host of 127.0.0.1:$engine_port) that the client checks it against: set HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal" \
  HATCHET_CLIENT_TOKEN="$token_b" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem"
serve_and_stop tls_server_name HATCHET_CLIENT_TOKEN="$token_b" \
  HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem" HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal

# The REST client verifies the REST API's certificate: A's gRPC, B's REST API (a certificate for
# engine.internal, reached as 127.0.0.1 with no server name set) must not be paused through.
HATCHET_CLIENT_TOKEN=$token_a HATCHET_CLIENT_TLS_ROOT_CA_FILE=$certs/ca.pem \
  HATCHET_CLIENT_SERVER_URL=$(server_url "$token_b") \
  "$bin/hatchet-worker" --name rest_wrong_name >"$work/rest_wrong_name.log" 2>&1 &
pid=$!
track "$pid"
wait_for_line "$work/rest_wrong_name.log" 'registered as' 15 || die "rest_wrong_name: no registration"
stop_pid "$pid" 20
grep -q 'could not pause on the engine (.*SSLServerVerification' "$work/rest_wrong_name.log" ||
  die "the REST pause went through to a certificate for another name: $(grep -m1 -E 'paused|pause' "$work/rest_wrong_name.log")"
echo "rest_wrong_name: the pause was refused (the REST API's certificate is not for 127.0.0.1)"

# --- C: mutual TLS ------------------------------------------------------------------------------
start_engine "$work/engine_c.log" 0 --tls-cert "$certs/server.pem" --tls-key "$certs/server.key" \
  --tls-client-ca "$certs/ca.pem"
token_c=$engine_token
export HATCHET_CLIENT_TLS_STRATEGY=tls
serve_and_stop mtls_client_cert HATCHET_CLIENT_TOKEN="$token_c" HATCHET_CLIENT_TLS_STRATEGY=mtls \
  HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem" HATCHET_CLIENT_TLS_CERT_FILE="$certs/client.pem" \
  HATCHET_CLIENT_TLS_KEY_FILE="$certs/client.key"
expect_start_failure mtls_no_client_cert \
  "the engine requires a client certificate: set HATCHET_CLIENT_TLS_STRATEGY=mtls" \
  HATCHET_CLIENT_TOKEN="$token_c" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem"
# The REST API requires the client certificate too: a request without one gets no answer.
rest_c=$(server_url "$token_c")
rest_get() { # extra s_client arguments; prints the HTTP status line, if any
  printf 'GET /api/v1/workers/not-a-uuid HTTP/1.0\r\n\r\n' |
    timeout 10 openssl s_client -quiet -connect "${rest_c#https://}" -servername localhost \
      -CAfile "$certs/ca.pem" "$@" 2>/dev/null | grep -m1 '^HTTP/' || true
}
with_cert=$(rest_get -cert "$certs/client.pem" -key "$certs/client.key")
without_cert=$(rest_get)
[[ "$with_cert" == "HTTP/1.1 400"* ]] || die "the mTLS REST API did not answer a client with a certificate: '$with_cert'"
[ -z "$without_cert" ] || die "the mTLS REST API answered a client without a certificate: '$without_cert'"
echo "mtls_rest: answered with a client certificate ($with_cert), nothing without one"

# --- 6. PEM files that hold nothing usable: named at once, before anything connects -------------
# expect_pem_refusal NAME TEXT ENV...: hatchet-worker with ENV exits 1 in under a second (it used
# to retry for 21-27 s and end with "empty address list"), its log holding TEXT; hatchet-run
# exits 2 saying the same.
expect_pem_refusal() {
  local name=$1 text=$2 rc=0 t0 ms
  shift 2
  t0=$(date +%s%N)
  env "$@" timeout 60 "$bin/hatchet-worker" --name "$name" >"$work/$name.log" 2>&1 || rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" -eq 1 ] || die "$name: the worker exited $rc, expected 1: $(tail -2 "$work/$name.log")"
  grep -qF -- "$text" "$work/$name.log" || die "$name: the worker's log does not say '$text': $(tail -2 "$work/$name.log")"
  [ "$ms" -lt 1000 ] || die "$name: the worker took $ms ms to name the file"
  rc=0
  env "$@" "$bin/hatchet-run" EchoWorkflow --timeout 5 >/dev/null 2>"$work/$name-run.err" || rc=$?
  [ "$rc" -eq 2 ] || die "$name: hatchet-run exited $rc, expected 2"
  grep -qF -- "$text" "$work/$name-run.err" || die "$name: hatchet-run does not say '$text': $(cat "$work/$name-run.err")"
  echo "$name: exit 1 after $ms ms: $text"
}
: >"$certs/empty.pem"
head -c 600 /dev/urandom >"$certs/binary.der"
expect_pem_refusal pem_empty_ca \
  "HATCHET_CLIENT_TLS_ROOT_CA_FILE names '$certs/empty.pem', which holds no PEM certificate (it is empty)" \
  HATCHET_CLIENT_TOKEN="$token_a" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/empty.pem"
expect_pem_refusal pem_binary_ca "which holds no PEM certificate (it is binary, perhaps DER" \
  HATCHET_CLIENT_TOKEN="$token_a" HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/binary.der"
expect_pem_refusal pem_swapped \
  "HATCHET_CLIENT_TLS_CERT_FILE names '$certs/client.key', which holds no PEM certificate (it holds a private key (are the certificate and key files swapped?))" \
  HATCHET_CLIENT_TOKEN="$token_c" HATCHET_CLIENT_TLS_STRATEGY=mtls \
  HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem" HATCHET_CLIENT_TLS_CERT_FILE="$certs/client.key" \
  HATCHET_CLIENT_TLS_KEY_FILE="$certs/client.pem"
expect_pem_refusal pem_other_key \
  "HATCHET_CLIENT_TLS_KEY_FILE '$certs/server.key' does not hold the key of the certificate in HATCHET_CLIENT_TLS_CERT_FILE '$certs/client.pem'" \
  HATCHET_CLIENT_TOKEN="$token_c" HATCHET_CLIENT_TLS_STRATEGY=mtls \
  HATCHET_CLIENT_TLS_ROOT_CA_FILE="$certs/ca.pem" HATCHET_CLIENT_TLS_CERT_FILE="$certs/client.pem" \
  HATCHET_CLIENT_TLS_KEY_FILE="$certs/server.key"

echo "PASS"
