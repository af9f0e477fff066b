#!/usr/bin/env bash
# SIGHUP reloads hatchet-worker's lifespan without a restart: a run before says generation 1,
# a run after says generation 2; the first state is cleaned up once (after the reload, before
# the stop), the second at the stop; the worker registered once and exits 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0
start_worker "$work/worker.log" --name reloader --drain-timeout 5
"$bin/hatchet-run" DemoLifespanWorkflow --timeout 20 >"$work/before.jsonl" || die "run before failed"
grep -q '"generation":1' "$work/before.jsonl" || die "the first run did not see generation 1: $(cat "$work/before.jsonl")"
kill -HUP "$worker_pid"
wait_for_line "$work/worker.log" 'lifespan generation 2 in service' 20 || die "no reload after SIGHUP: $(tail -5 "$work/worker.log")"
"$bin/hatchet-run" DemoLifespanWorkflow --timeout 20 >"$work/after.jsonl" || die "run after failed"
grep -q '"generation":2' "$work/after.jsonl" || die "the run after SIGHUP did not see generation 2: $(cat "$work/after.jsonl")"
wait_for_line "$work/worker.log" 'demo lifespan: cleaning up' 10 || die "the first state was not cleaned up after the reload"
kill -TERM "$worker_pid"
wait_pid "$worker_pid" 30 || die "the worker did not stop"
[ "$waited_rc" -eq 0 ] || die "the worker exited $waited_rc"
setups=$(grep -c 'demo lifespan: set up' "$work/worker.log" || true)
cleanups=$(grep -c 'demo lifespan: cleaning up' "$work/worker.log" || true)
registered=$(grep -c 'registered worker reloader' "$work/engine.log" || true)
echo "reload by SIGHUP: setups=$setups cleanups=$cleanups registrations=$registered exit=0"
[ "$setups" -eq 2 ] && [ "$cleanups" -eq 2 ] || die "expected 2 setups and 2 cleanups"
[ "$registered" -eq 1 ] || die "the worker registered $registered times"
echo "PASS"
