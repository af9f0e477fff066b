#!/usr/bin/env bash
# hatchet-worker's configuration, as a user meets it:
# - --help names every HATCHET_CLIENT_* variable the library reads (client_variables() in
#   core/config.cpp), and docs/configuration.md has a row for each;
# - precedence: a flag wins over its variable, a variable over the token's claim;
# - a bad variable stops the start (exit 1) naming it; an unread HATCHET_CLIENT_* is warned about;
# - the health server of the binary answers on the port given by the variable;
# - the token never reaches the log, even at debug level with runs going through.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

# --help and the docs against the library's own list.
"$bin/hatchet-worker" --help >"$work/help.txt"
variables=$(sed -n '/client_variables() {/,/};/p' "$root/core/config.cpp" | grep -oE 'HATCHET_CLIENT_[A-Z0-9_]+')
[ "$(echo "$variables" | wc -l)" -ge 15 ] || die "could not read the variable list from core/config.cpp"
for v in $variables; do
  grep -q "$v" "$work/help.txt" || die "hatchet-worker --help does not mention $v"
  grep -q "| \`$v\`" "$root/docs/configuration.md" || die "docs/configuration.md has no row for $v"
done
for v in HATCHET_WORKER_SLOTS HATCHET_WORKER_DRAIN_TIMEOUT HATCHET_WORKER_CANCEL_GRACE \
         HATCHET_WORKER_CLEANUP_TIMEOUT HATCHET_WORKER_FLUSH_TIMEOUT; do
  grep -q "$v" "$work/help.txt" || die "hatchet-worker --help does not mention $v"
  grep -q "| \`$v\`" "$root/docs/configuration.md" || die "docs/configuration.md has no row for $v"
done

start_engine "$work/engine.log" 0
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A bad value: exit 1 at once, naming the variable and quoting the value.
rc=0
HATCHET_CLIENT_LOG_LEVEL=loud timeout 20 "$bin/hatchet-worker" >"$work/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || die "a bad HATCHET_CLIENT_LOG_LEVEL exited $rc, expected 1"
grep -q "HATCHET_CLIENT_LOG_LEVEL must be one of debug, info, warn, error, off, not 'loud'" "$work/bad.log" \
  || die "the error does not name the variable: $(cat "$work/bad.log")"
rc=0
HATCHET_WORKER_DRAIN_TIMEOUT=30s timeout 20 "$bin/hatchet-worker" >"$work/bad2.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || die "a bad HATCHET_WORKER_DRAIN_TIMEOUT exited $rc, expected 2"
grep -q "HATCHET_WORKER_DRAIN_TIMEOUT" "$work/bad2.log" || die "the error does not name the variable"

# A bad value given as a flag is a bad command line: exit 2, naming the flag and the variable.
rc=0
timeout 20 "$bin/hatchet-worker" --tls-strategy bogus >"$work/badflag.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || die "a bad --tls-strategy exited $rc, expected 2"
grep -q -- "--tls-strategy: HATCHET_CLIENT_TLS_STRATEGY must be tls, mtls or none, not 'bogus'" "$work/badflag.log" \
  || die "the error does not name the flag: $(cat "$work/badflag.log")"

# A flag given as "" clears its variable: no namespace, although the environment sets one.
HATCHET_CLIENT_NAMESPACE=team start_worker "$work/ns.log" --name flag-clears --namespace "" --drain-timeout 1
grep -q "worker flag-clears: starting" "$work/ns.log" || die "the empty --namespace did not clear HATCHET_CLIENT_NAMESPACE: $(head -3 "$work/ns.log")"
kill -TERM "$worker_pid"; wait_pid "$worker_pid" 20 || die "flag-clears did not stop"

# Precedence: the variable points nowhere, the flag at the engine; the flag wins.
HATCHET_CLIENT_HOST_PORT=127.0.0.1:1 start_worker "$work/flag.log" --name flag-wins \
  --host-port "127.0.0.1:$engine_port" --drain-timeout 1
kill -TERM "$worker_pid"; wait_pid "$worker_pid" 20 || die "flag-wins did not stop"

# The token names the engine; the variable points elsewhere and wins: the first attempt goes
# there (and fails; the start's retries are the actor tests' business, so it is stopped then).
HATCHET_CLIENT_HOST_PORT=127.0.0.1:1 "$bin/hatchet-worker" --name env-wins >"$work/env.log" 2>&1 &
env_pid=$!
track "$env_pid"
wait_for_line "$work/env.log" "to the engine at 127\.0\.0\.1:1 failed" 15 \
  || die "HATCHET_CLIENT_HOST_PORT did not override the token's address: $(cat "$work/env.log")"
kill -TERM "$env_pid"; wait_pid "$env_pid" 20 || die "env-wins did not stop"

# Health server of the binary, debug logging, a typo'd variable; then runs, then the log.
health_port=$(free_port)
HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED=true HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT=$health_port \
  HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS=127.0.0.1 HATCHET_CLIENT_LOG_LEVEL=debug \
  HATCHET_CLIENT_TLS_STRATEGYY=none \
  start_worker "$work/worker.log" --name configured --drain-timeout 5
grep -q "HATCHET_CLIENT_TLS_STRATEGYY is set but this SDK does not read it" "$work/worker.log" \
  || die "no warning about the unread variable"
healthy=""
for _ in $(seq 100); do
  body=$(curl -s "http://127.0.0.1:$health_port/health" || true)
  if echo "$body" | grep -q '"status":"HEALTHY"'; then healthy=yes; break; fi
  sleep 0.05
done
[ -n "$healthy" ] || die "/health never said HEALTHY: $body"
echo "$body" | grep -q '"name":"configured"' || die "/health does not name the worker: $body"
"$bin/hatchet-run" EchoWorkflow --count 5 --input '{"message":"hi"}' --timeout 30 >"$work/runs.jsonl" \
  || die "runs failed: $(cat "$work/runs.jsonl")"
curl -s "http://127.0.0.1:$health_port/metrics" >"$work/metrics.txt"
grep -q '^hatchet_worker_runs_completed_total 5$' "$work/metrics.txt" \
  || die "/metrics does not count 5 completed runs: $(grep runs_ "$work/metrics.txt")"
kill -TERM "$worker_pid"; wait_pid "$worker_pid" 30 || die "the worker did not stop"
[ "$waited_rc" -eq 0 ] || die "the worker exited $waited_rc"
grep -q "run .* completed" "$work/worker.log" || die "debug logging was not on (no per-run lines)"
# The token and its signature (the secret part) appear nowhere in what the worker wrote.
signature=${HATCHET_CLIENT_TOKEN##*.}
for f in "$work/worker.log" "$work/flag.log" "$work/env.log" "$work/bad.log" "$work/metrics.txt"; do
  if grep -qF "$signature" "$f"; then die "the token's signature appears in $(basename "$f")"; fi
done

echo "configuration: help_lists=$(echo "$variables" | wc -l)_variables bad_value_exit=1 flag_wins=yes env_wins=yes health=HEALTHY metrics_completed=5 token_in_logs=0"
echo "PASS"
