#!/usr/bin/env bash
# hatchet-run through a connection that hatchet-fault-proxy cuts every CUT_MS (default 1000) ms,
# while the worker talks to the engine directly. RUNS (default 20) SleepWorkflow runs of SLEEP_MS
# (default 3000) ms each outlive several cuts of hatchet-run's SubscribeToWorkflowRuns stream.
#
#   hatchet-run ──► hatchet-fault-proxy (cuts) ──► hatchet-dev-engine ◄── hatchet-worker
#
# Passes when hatchet-run subscribes again after the cuts and still prints every run's result
# exactly once, all COMPLETED, and exits 0. Prints the figures: runs, lines, distinct ids,
# resubscriptions, cuts, exit code, time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

runs=${RUNS:-20}
cut_ms=${CUT_MS:-1000}
sleep_ms=${SLEEP_MS:-3000}

start_engine "$work/engine.log" 0
start_proxy "$engine_port" --cut-every "$cut_ms" --max-seconds 120

start_worker "$work/worker.log" --slots "$runs" --name resubscribe-worker

t0=$(date +%s%N)
run_rc=0
HATCHET_CLIENT_HOST_PORT="127.0.0.1:$proxy_port" \
  "$bin/hatchet-run" SleepWorkflow --count "$runs" --bulk --input "{\"ms\":$sleep_ms}" --timeout 90 \
  >"$work/results.jsonl" 2>"$work/run.log" || run_rc=$?
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))

lines=$(wc -l <"$work/results.jsonl")
completed=$(grep -c '"status":"COMPLETED"' "$work/results.jsonl" || true)
distinct=$(grep -oE '"workflow_run_id":"[^"]+"' "$work/results.jsonl" | sort -u | wc -l)
resubscribed=$(grep -c 'subscribing again' "$work/run.log" || true)
cuts=$(grep -c -i 'cut' "$work/proxy.log" || true)
echo "resubscribe: runs=$runs lines=$lines completed=$completed distinct_ids=$distinct" \
  "resubscriptions=$resubscribed proxy_cut_lines=$cuts run_exit=$run_rc took_ms=$took_ms"

[ "$run_rc" -eq 0 ] || die "hatchet-run exited $run_rc: $(tail -3 "$work/run.log")"
[ "$lines" -eq "$runs" ] || die "$lines result lines for $runs runs"
[ "$distinct" -eq "$runs" ] || die "$distinct distinct run ids for $runs runs"
[ "$completed" -eq "$runs" ] || die "only $completed of $runs runs COMPLETED"
[ "$resubscribed" -ge 1 ] || die "no resubscription logged: the cuts did not hit the stream"
stop_pid "$worker_pid" 30
[ "$waited_rc" -eq 0 ] || die "the worker exited $waited_rc"
echo "PASS"
