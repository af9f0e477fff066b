#!/usr/bin/env bash
# hatchet-run's inputs that do not fit a command line: --input-file PATH (a 300 KB input; argv
# takes about 128 KiB per argument) and --input - (standard input). EchoWorkflow returns its
# input, so each output must equal what was sent. A file that is not JSON exits 2 saying so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/process/faults_lib.sh
source "$here/faults_lib.sh"
faults_init "$1"

start_engine "$work/engine.log" 0
start_worker "$work/worker.log" --slots 4 --name inputs-worker

python3 -c 'import json; print(json.dumps({"blob": "b" * 300000, "n": 7}))' >"$work/input.json"
"$bin/hatchet-run" EchoWorkflow --input-file "$work/input.json" --timeout 30 >"$work/file.jsonl"
python3 - "$work/input.json" "$work/file.jsonl" <<'PY'
import json, sys
sent = json.load(open(sys.argv[1]))
line = json.loads(open(sys.argv[2]).readline())
assert line["status"] == "COMPLETED", line
assert line["output"]["echo"] == sent, "the output is not the input"
PY
echo '{"from":"stdin"}' | "$bin/hatchet-run" EchoWorkflow --input - --count 2 --timeout 30 >"$work/stdin.jsonl"
[ "$(grep -c '"from":"stdin"' "$work/stdin.jsonl")" -eq 2 ] || die "stdin input not echoed twice: $(cat "$work/stdin.jsonl")"
echo 'not json' >"$work/bad.json"
rc=0
"$bin/hatchet-run" EchoWorkflow --input-file "$work/bad.json" 2>"$work/bad.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'not valid JSON' "$work/bad.err" || die "a bad input file gave exit $rc: $(cat "$work/bad.err")"
rc=0
"$bin/hatchet-run" EchoWorkflow --input-file "$work/missing.json" 2>"$work/missing.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot open" "$work/missing.err" || die "a missing input file gave exit $rc"
echo "inputs: file_bytes=$(wc -c <"$work/input.json") file=ok stdin=ok bad_json_exit=2 missing_file_exit=2"
stop_pid "$worker_pid" 30
echo "PASS"
