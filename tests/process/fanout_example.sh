#!/usr/bin/env bash
# examples/fanout end to end against the dev engine binary: one parent run spawns 100 child runs
# (through ctx.spawn, awaited in a co_task) and sums their outputs; the example checks the sum
# and exits 0. The engine's log must show the 101 runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0
timeout 90 "$bin/fanout" 100 >"$work/example.log" 2>&1 || die "the example failed: $(cat "$work/example.log")"
grep -q 'fan-out: 100 children, sum of squares 1..100 = 338350' "$work/example.log" \
  || die "wrong sum: $(cat "$work/example.log")"
echo "fanout example: 100 children summed to 338350"
echo "PASS"
