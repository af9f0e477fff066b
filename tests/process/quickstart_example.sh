#!/usr/bin/env bash
# examples/quickstart end to end against the dev engine binary: the program starts its worker in
# the background, runs its workflow once, prints the greeting and stops the worker; its exit
# status is 0 only if the run's output came back and the stop was clean. The worker must have
# registered before the run was triggered (no CAF code in the program to make sure of it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0
timeout 60 "$bin/quickstart" caf >"$work/out.log" 2>&1 \
  || die "the example failed: $(cat "$work/out.log")"
line_of() { awk -v re="$1" '$0 ~ re {print NR; exit}' "$work/out.log"; }
registered=$(line_of 'worker greeter: registered as')
greeting=$(line_of '^hello, caf$')
stopped=$(line_of 'worker greeter: stopped$')
[ -n "$registered" ] && [ -n "$greeting" ] && [ -n "$stopped" ] \
  && [ "$registered" -lt "$greeting" ] && [ "$greeting" -lt "$stopped" ] \
  || die "expected registration, then the greeting, then a clean stop: $(cat "$work/out.log")"
echo "quickstart: registered (line $registered), printed 'hello, caf' (line $greeting), stopped (line $stopped)"
echo "PASS"
