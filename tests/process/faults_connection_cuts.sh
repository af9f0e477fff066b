#!/usr/bin/env bash
# Issue 4, test 4a: RUNS (default 5000) EchoWorkflow runs, each with its own input {"i":k}, while
# hatchet-fault-proxy cuts every connection between the worker and the engine every CUT_MS
# (default 2000) ms.
#
#   hatchet-fault-load ──────────────────────────► hatchet-dev-engine
#   hatchet-worker ──► hatchet-fault-proxy (cuts) ──┘
#
# Passes when every run finished COMPLETED with exactly its own input as output within the load's
# timeout (none lost, none wrong), nothing completed twice for the same task run and retry (no
# attempt started twice in the worker's --debug log, and the engine's duplicate_outcomes counter,
# from its final stats line, no higher than the event resends the worker logged), the proxy
# really cut live connections, and the worker still stops cleanly (exit 0) afterwards.
# Prints the figures: runs, completed, unfinished, duplicates, reconnect times, exit codes, time.
#
# ACTIVATION_DELAY_MS=N starts the engine with --activation-delay-ms N: like a real engine whose
# database marks a new stream active N ms late, it refuses the heartbeats sent before that. The
# test then also requires that such refusals happened and that the worker rode them out on the
# open stream (every run still completes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

runs=${RUNS:-5000}
cut_ms=${CUT_MS:-2000}
spread=${SPREAD_SECONDS:-20} # triggers spread over this many seconds, so cuts hit runs in flight
slots=${SLOTS:-20}

# debug: the engine logs each ListenV2 stream it opens, which times the reconnects.
activation_delay_ms=${ACTIVATION_DELAY_MS:-0}
engine_args=(--log-level debug)
[ "$activation_delay_ms" -gt 0 ] && engine_args+=(--activation-delay-ms "$activation_delay_ms")
start_engine "$work/engine.log" 0 "${engine_args[@]}"
start_proxy "$engine_port" --cut-every "$cut_ms" --max-seconds 600

HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" \
  "$bin/hatchet-worker" --slots "$slots" --name faults-cuts --debug >"$work/worker.log" 2>&1 &
worker_pid=$!
track "$worker_pid"
# Registration goes through the proxy too, so it may itself be cut and retried.
wait_for_line "$work/worker.log" 'registered as' 30 || die "the worker did not register within 30 s"

start_s=$(date +%s.%N)
load_rc=0
"$bin/hatchet-fault-load" --count "$runs" --batches "${BATCHES:-20}" --spread "$spread" --timeout "${LOAD_TIMEOUT:-240}" \
  >"$work/load.json" 2>"$work/load.log" || load_rc=$?
wall=$(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
load=$(cat "$work/load.json")

worker_alive=yes
kill -0 "$worker_pid" 2>/dev/null || worker_alive=no
stop_pid "$worker_pid" 60
worker_rc=$waited_rc
stop_pid "$proxy_pid" 10
stop_pid "$engine_pid" 10

stats=$(grep 'final stats' "$work/engine.log" | tail -1 || true)
duplicate_outcomes=$(json_field duplicate_outcomes "$stats")
stale_outcomes=$(json_field stale_outcomes "$stats")
requeued=$(json_field requeued_undelivered "$stats")
unacked=$(json_field requeued_unacknowledged "$stats")
retried=$(json_field retried "$stats")
assigned=$(json_field assigned "$stats")
cuts=$(grep -c 'cut [1-9][0-9]* connection' "$work/proxy.log" || true)
connections_cut=$(grep -oE 'connections cut [0-9]+' "$work/proxy.log" | tail -1 | grep -oE '[0-9]+$' || true)
stream_ends=$(grep -c 'listen stream ended' "$work/worker.log" || true)
reregistrations=$(grep -c 'registering again' "$work/worker.log" || true)
registrations=$(grep -c 'registered as' "$work/worker.log" || true)
event_retries=$(grep -c 'sending event for run' "$work/worker.log" || true)
# An attempt is "<task_run_external_id>/<retry_count>"; started twice = run twice for one retry.
started=$(grep -oE 'run [0-9a-f-]{36}/[0-9]+ \([^)]*\) starting' "$work/worker.log" | sort || true)
attempts_started=$(grep -c . <<<"$started" || true)
attempts_twice=$(uniq -d <<<"$started" | grep -c . || true)
# A task run started under two retry counts: at-least-once after a lost START (see engine/README.md).
tasks_rerun=$(grep -oE '[0-9a-f-]{36}/' <<<"$started" | sort | uniq -d | grep -c . || true)

# Reconnect time: from each cut that hit a connection (proxy log) to the next ListenV2 stream the
# engine saw opened (engine debug log). Both logs carry millisecond local-time stamps.
to_ms='{ split($2, t, ":"); sub(/\].*/, "", t[3]); printf "%d %s\n", ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000, $0 }'
reconnects=$( {
    grep -E 'cut [1-9][0-9]* connection' "$work/proxy.log" | awk "$to_ms" | awk '{ print $1, "cut" }' || true
    grep 'opened a listen stream' "$work/engine.log" | awk "$to_ms" | awk '{ print $1, "open" }' || true
  } | sort -n -k1,1 | awk '$2 == "cut" { if (!pending) { pending = 1; at = $1 } }
                           $2 == "open" && pending { print $1 - at; pending = 0 }
                           END { if (pending) print "never" }' )
reconnect_never=$(grep -c never <<<"$reconnects" || true)
reconnect_ms=$(grep -v never <<<"$reconnects" | grep . | sort -n || true)
reconnect_n=$(grep -c . <<<"$reconnect_ms" || true)
if [ "$reconnect_n" -gt 0 ]; then
  reconnect_min=$(head -1 <<<"$reconnect_ms")
  reconnect_max=$(tail -1 <<<"$reconnect_ms")
  reconnect_median=$(sed -n "$(((reconnect_n + 1) / 2))p" <<<"$reconnect_ms")
else
  reconnect_min=- reconnect_max=- reconnect_median=-
fi
heartbeat_failures=$(grep -c 'heartbeat failed' "$work/worker.log" || true)
heartbeats_refused=$(grep -c 'heartbeat refused' "$work/worker.log" || true)
last_completion=$(grep -E 'run [0-9a-f-]{36}/[0-9]+ completed' "$work/worker.log" | tail -1 | cut -c2-24 || true)

echo "load: $load"
echo "engine: $stats"
echo "figures: runs=$runs completed=$(json_field completed "$load") failed=$(json_field failed "$load")" \
  "unfinished=$(json_field missing "$load") wrong_output=$(json_field wrong_output "$load")" \
  "duplicate_outcomes=$duplicate_outcomes stale_outcomes=$stale_outcomes" \
  "attempts_started=$attempts_started attempts_started_twice=$attempts_twice" \
  "tasks_started_under_two_retries=$tasks_rerun engine_assigned=$assigned engine_retried=$retried" \
  "requeued_undelivered=$requeued requeued_unacknowledged=$unacked"
echo "faults: cut_every=${cut_ms}ms cuts_hitting_a_connection=$cuts connections_cut=$connections_cut" \
  "worker_stream_ends=$stream_ends worker_registrations=$registrations" \
  "worker_reregistrations=$reregistrations worker_heartbeat_failures=$heartbeat_failures" \
  "worker_heartbeats_refused_on_open_stream=$heartbeats_refused activation_delay_ms=$activation_delay_ms" \
  "worker_event_send_retries=$event_retries" \
  "reconnect_ms(cut->engine sees new stream; n/min/median/max)=$reconnect_n/$reconnect_min/$reconnect_median/$reconnect_max" \
  "cuts_never_followed_by_a_stream=$reconnect_never"
echo "process: load_exit=$load_rc worker_alive_after_load=$worker_alive worker_exit=$worker_rc" \
  "wall_seconds=$wall last_run_completed_at=${last_completion:-none}"

fail=0
[ "$load_rc" -eq 0 ] || { echo "FAIL: not every run completed with its own input"; fail=1; }
# "Completed twice for the same retry": an attempt run twice by the worker, or an outcome the
# engine got twice that the worker never had to resend (a resend after a lost answer is
# at-least-once delivery; the engine keeps the first outcome and counts the repeat).
[ "$attempts_twice" -eq 0 ] || { echo "FAIL: $attempts_twice attempt(s) started twice on the worker"; fail=1; }
[ -n "$duplicate_outcomes" ] || { echo "FAIL: no final stats line from the engine"; fail=1; }
if [ -n "$duplicate_outcomes" ] && [ "$duplicate_outcomes" -gt "$event_retries" ]; then
  echo "FAIL: the engine got $duplicate_outcomes outcome(s) twice for one task run/retry, more than" \
    "the $event_retries event resend(s) the worker logged"
  fail=1
fi
[ "$cuts" -ge 3 ] || { echo "FAIL: only $cuts cut(s) hit a live connection: the test proved nothing"; fail=1; }
[ "$worker_alive" = yes ] || { echo "FAIL: the worker died during the run"; fail=1; }
[ "$worker_rc" -eq 0 ] || { echo "FAIL: the worker exited $worker_rc after SIGTERM (expected 0)"; fail=1; }
if [ "$activation_delay_ms" -gt 0 ] && [ "$heartbeats_refused" -lt 1 ]; then
  echo "FAIL: no heartbeat was refused on an open stream: the activation delay proved nothing"
  fail=1
fi
exit "$fail"
