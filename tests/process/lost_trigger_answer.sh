#!/usr/bin/env bash
# A trigger whose answer is lost says that the run may exist, and how to find it. hatchet-run
# reaches the dev engine through hatchet-fault-proxy --lose-answer 1, which lets the trigger
# through and cuts the connection as the engine starts its answer: the run exists, the caller
# never hears of it. hatchet-run must exit 3 (not 1, "failed", which invites a retry) saying the
# engine may have created the run, that triggering again may run it twice, and the REST query
# that lists it; and the run must indeed have been created and run, once.
#
#   hatchet-run ──► hatchet-fault-proxy (--lose-answer 1) ──► hatchet-dev-engine ◄── hatchet-worker
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0 --log-level debug
start_worker "$work/worker.log" --name lost-answer
start_proxy "$engine_port" --lose-answer 1

rc=0
HATCHET_CLIENT_HOST_PORT=127.0.0.1:$proxy_port \
  "$bin/hatchet-run" EchoWorkflow --input '{"lost":"answer"}' --timeout 10 \
  >"$work/run.out" 2>"$work/run.err" || rc=$?
echo "hatchet-run: exit $rc: $(cat "$work/run.err")"
[ "$rc" -eq 3 ] || die "hatchet-run exited $rc, expected 3 (the run may exist)"
for words in "the answer was lost" "the engine may have created the run, or not" \
  "Triggering again may run it twice" "/workflow-runs?only_tasks=false&since=" "echoworkflow"; do
  grep -qF -- "$words" "$work/run.err" || die "hatchet-run does not say '$words'"
done
grep -q 'lost answer 1' "$work/proxy.log" || die "the proxy lost no answer: $(cat "$work/proxy.log")"

# The engine did create the run, and the worker ran it: the run finishes on the engine.
wait_for_line "$work/engine.log" 'workflow run [0-9a-f-]+ finished' 10 ||
  die "the run whose answer was lost never finished on the engine"
stop_pid "$worker_pid" 20
stop_pid "$engine_pid" 20
stats=$(grep -o 'final stats: .*' "$work/engine.log" | tail -1)
grep -q '"completed":1[,}]' <<<"$stats" || die "the engine did not complete exactly 1 run: $stats"
echo "lost answer: exit 3, the run existed and completed once ($stats)"
echo "PASS"
