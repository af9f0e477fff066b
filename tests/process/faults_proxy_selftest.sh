#!/usr/bin/env bash
# hatchet-fault-proxy on its own: --help and usage errors, gRPC traffic forwarded both ways (a
# hatchet-run call through the proxy gets the engine's answer), a connection to a dead upstream
# reset instead of hanging, cuts counted, SIGUSR1/SIGUSR2 freezing (a call neither answered nor
# reset) and thawing, SIGTERM and --max-seconds ending it with exit 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

"$bin/hatchet-fault-proxy" --help | grep -q -- '--cut-every' || die "--help does not document --cut-every"
rc=0
"$bin/hatchet-fault-proxy" --cut-every 100 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || die "missing --upstream: exit $rc, expected 2"
rc=0
"$bin/hatchet-fault-proxy" --upstream 1 --cut-every soon 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || die "bad --cut-every: exit $rc, expected 2"

start_engine "$work/engine.log"
export HATCHET_CLIENT_TOKEN
HATCHET_CLIENT_TOKEN=$("$bin/hatchet-dev-engine" token --port "$engine_port")
export HATCHET_CLIENT_TLS_STRATEGY=none

# Forwarding: the engine's INVALID_ARGUMENT for an unknown workflow comes back through the proxy.
start_proxy "$engine_port" --cut-every 300
rc=0
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" "$bin/hatchet-run" NoSuchWorkflow --timeout 5 \
  >/dev/null 2>"$work/run.log" || rc=$?
grep -q 'INVALID_ARGUMENT' "$work/run.log" || die "no engine answer through the proxy: $(cat "$work/run.log")"
sleep 0.7 # at least two cut ticks
stop_pid "$proxy_pid" 5
[ "$waited_rc" -eq 0 ] || die "the proxy exited $waited_rc after SIGTERM, expected 0"
grep -q 'summary: accepted [1-9]' "$work/proxy.log" || die "the proxy accepted nothing: $(cat "$work/proxy.log")"
grep -q 'cut [0-9]* connection' "$work/proxy.log" || die "the proxy never ran its cut timer"

# A freeze: a call through the proxy is neither answered nor reset; after the thaw, answered.
start_proxy "$engine_port"
kill -USR1 "$proxy_pid"
wait_for_line "$work/proxy.log" 'froze' 5 || die "SIGUSR1: no 'froze' line"
# The client's keepalive (a ping every 10 s, 5 s to answer) finds the silent connection dead
# well inside the 30 s after which a real engine gives a silent worker's runs away.
rc=0
t_freeze=$(date +%s%N)
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" timeout 60 "$bin/hatchet-run" NoSuchWorkflow \
  --timeout 2 >/dev/null 2>"$work/frozen.log" || rc=$?
frozen_ms=$(( ($(date +%s%N) - t_freeze) / 1000000 ))
[ "$rc" -ne 0 ] || die "a call through a frozen proxy succeeded"
grep -q 'INVALID_ARGUMENT' "$work/frozen.log" && die "a call through a frozen proxy got the engine's answer"
grep -q 'keepalive watchdog timeout\|DEADLINE_EXCEEDED' "$work/frozen.log" \
  || die "a call through a frozen proxy did not end on keepalive or deadline: $(cat "$work/frozen.log")"
[ "$frozen_ms" -lt 25000 ] || die "the frozen connection was known dead only after $frozen_ms ms"
kill -USR2 "$proxy_pid"
wait_for_line "$work/proxy.log" 'thawed' 5 || die "SIGUSR2: no 'thawed' line"
rc=0
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" "$bin/hatchet-run" NoSuchWorkflow --timeout 5 \
  >/dev/null 2>"$work/thawed.log" || rc=$?
grep -q 'INVALID_ARGUMENT' "$work/thawed.log" || die "no engine answer after the thaw: $(cat "$work/thawed.log")"
stop_pid "$proxy_pid" 5

# A dead upstream: the client's connection is reset, the call fails fast with UNAVAILABLE.
stop_pid "$engine_pid" 10
start_proxy "$engine_port" --max-seconds 2
t0=$(date +%s)
rc=0
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" timeout 30 "$bin/hatchet-run" NoSuchWorkflow \
  --timeout 5 >/dev/null 2>"$work/run2.log" || rc=$?
[ "$rc" -ne 0 ] || die "a call through a proxy with a dead upstream succeeded"
# --max-seconds: it ends by itself.
wait_pid "$proxy_pid" 10 || die "the proxy did not stop after --max-seconds 2"
[ "$waited_rc" -eq 0 ] || die "the proxy exited $waited_rc after --max-seconds, expected 0"
grep -q 'max-seconds reached' "$work/proxy.log" || die "no --max-seconds log line"
echo "figures: frozen connection known dead after $frozen_ms ms;" \
  "dead-upstream call exit $rc after $(($(date +%s) - t0)) s;" \
  "$(grep -c 'upstream-refused [1-9]' "$work/proxy.log" || true) summary line(s) with refused connections"
echo "proxy log:"
cat "$work/proxy.log"
