# Shared by bench/pairs.sh and bench/variants.sh (sourced): the binaries, a work directory that
# goes away on exit with every process started, and a fresh dev engine per measurement.

# bench_init NAME: checks the binaries under $bin (set by the caller) and sets up $work.
bench_init() {
  local name=$1 p
  for p in hatchet-dev-engine bench-worker bench-driver bench-raw-worker; do
    [ -x "$bin/$p" ] || { echo "$name: $bin/$p is missing (run bash bench/run.sh --smoke first)" >&2; exit 1; }
  done
  bench_name=$name
  work=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
}

# wait_for FILE REGEX: until FILE has a line matching REGEX (15 s at most).
wait_for() {
  for _ in $(seq 150); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$bench_name: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

# fresh_engine RUNS: starts a dev engine that keeps RUNS * 2 finished runs; sets $engine and
# exports its token for the worker started next.
fresh_engine() {
  "$bin/hatchet-dev-engine" serve --host 127.0.0.1 --port 0 --max-finished-runs $(($1 * 2)) \
    >"$work/engine.log" 2>&1 &
  engine=$!; pids+=("$engine")
  wait_for "$work/engine.log" 'token: '
  HATCHET_CLIENT_TOKEN=$(sed -nE 's/.*token: ([^ ]+)$/\1/p' "$work/engine.log" | head -n 1)
  export HATCHET_CLIENT_TOKEN HATCHET_CLIENT_TLS_STRATEGY=none
}
