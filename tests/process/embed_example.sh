#!/usr/bin/env bash
# examples/embed_in_actor_system end to end: three runs, each answered by the host's actor
# through the lifespan state; the host stops the worker with an exit message after the third
# quote; the worker drains (all three complete), cleans up, and the host exits 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0
"$bin/embed_in_actor_system" 3 >"$work/example.log" 2>&1 &
example_pid=$!
track "$example_pid"
wait_for_line "$work/example.log" 'guest: ready as worker' 30 || die "the guest worker did not become ready: $(cat "$work/example.log")"
"$bin/hatchet-run" QuoteWorkflow --count 3 --input '{"symbol":"ACME"}' --timeout 30 >"$work/runs.jsonl" \
  || die "runs failed: $(cat "$work/runs.jsonl")"
[ "$(grep -c '"cents":12345' "$work/runs.jsonl")" -eq 3 ] || die "not every run got the host's price: $(cat "$work/runs.jsonl")"
wait_pid "$example_pid" 30 || die "the host did not end after stopping its worker"
[ "$waited_rc" -eq 0 ] || die "the example exited $waited_rc: $(cat "$work/example.log")"
stop_line=$(grep -n 'host: 3 quotes given; stopping the worker' "$work/example.log" | cut -d: -f1)
cleanup_line=$(grep -n 'guest: lifespan cleaned up' "$work/example.log" | cut -d: -f1)
end_line=$(grep -n 'host: the worker stopped cleanly' "$work/example.log" | cut -d: -f1)
[ -n "$stop_line" ] && [ -n "$cleanup_line" ] && [ -n "$end_line" ] || die "missing lines: $(cat "$work/example.log")"
[ "$stop_line" -lt "$cleanup_line" ] && [ "$cleanup_line" -lt "$end_line" ] || die "wrong order: $(cat "$work/example.log")"
echo "embed example: runs=3 with the host's price, stop by exit message, cleanup before the host's end, exit 0"
echo "PASS"
