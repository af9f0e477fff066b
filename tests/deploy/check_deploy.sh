#!/usr/bin/env bash
# deploy/ against the worker's own defaults: the systemd unit (systemd-analyze verify, its stop
# timeout and restart policy), the Kubernetes Deployment (parsed; probe path and port, grace
# period, how long liveness tolerates a drain) and the Dockerfile (port, stop signal, target).
# The defaults come from `hatchet-worker --print-config`, so a changed default that the files do
# not follow fails here.
#   check_deploy.sh BIN_DIR
set -euo pipefail
bin=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# Defaults, offline: a token minted for an engine that need not run.
export HATCHET_CLIENT_TOKEN
HATCHET_CLIENT_TOKEN=$("$bin/hatchet-dev-engine" token --port 7077 --data-dir "$work/engine")
env -u HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT -u HATCHET_WORKER_DRAIN_TIMEOUT \
  -u HATCHET_WORKER_CANCEL_GRACE -u HATCHET_WORKER_FLUSH_TIMEOUT -u HATCHET_WORKER_CLEANUP_TIMEOUT \
  "$bin/hatchet-worker" --print-config >"$work/defaults.json"
# Debian's python3, which has python3-yaml (a pyenv python first on PATH may not).
py=/usr/bin/python3
read -r stop_s port path < <($py - "$work/defaults.json" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
# cleanup_timeout bounds two waits: for task code holding the state, then for the cleanup.
stop = d["drain_timeout_s"] + d["cancel_grace_s"] + d["flush_timeout_s"] + 2 * d["cleanup_timeout_s"]
print(math.ceil(stop), d["healthcheck_port"], d["healthcheck_path"])
PY
)
echo "defaults: longest graceful stop ${stop_s} s, health on port $port at $path"

# -- systemd ------------------------------------------------------------------------------------
unit=$root/deploy/hatchet-worker.service
sed "s#^ExecStart=.*#ExecStart=$bin/hatchet-worker#; s#^EnvironmentFile=.*#EnvironmentFile=-$work/env#; s#^User=.*##; s#^Group=.*##" \
  "$unit" >"$work/hatchet-worker.service"
systemd-analyze verify "$work/hatchet-worker.service" >"$work/verify.log" 2>&1 \
  || bad "systemd-analyze verify: $(cat "$work/verify.log")"
value() { sed -nE "s/^$1=(.*)/\1/p" "$unit" | tail -1; }
timeout_stop=$(value TimeoutStopSec)
[ "${timeout_stop:-0}" -gt "$stop_s" ] || bad "TimeoutStopSec=$timeout_stop is not above the ${stop_s} s a stop may take"
[ "$(value KillSignal)" = SIGTERM ] || bad "KillSignal is not SIGTERM"
for code in 1 2; do
  grep -qE "^RestartPreventExitStatus=.*\b$code\b" "$unit" || bad "exit $code (a bad configuration) would restart in a loop"
done

# -- Kubernetes -----------------------------------------------------------------------------------
$py - "$root/deploy/kubernetes/worker.yaml" "$stop_s" "$port" "$path" >"$work/k8s.log" <<'PY' || fail=1
import sys, yaml
doc, stop, port, path = yaml.safe_load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
spec = doc["spec"]["template"]["spec"]
c = spec["containers"][0]
errors = []
if spec["terminationGracePeriodSeconds"] <= stop:
    errors.append(f"terminationGracePeriodSeconds {spec['terminationGracePeriodSeconds']} is not above {stop}")
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
env = {e["name"]: e.get("value") for e in c.get("env", [])}
if env.get("HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED") != "true":
    errors.append("the health server is not enabled")
declared = int(env.get("HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT", port))
if ports.get("health") != declared or declared != port:
    errors.append(f"the health port is {ports.get('health')} / {declared}, the worker's is {port}")
for name in ("readinessProbe", "livenessProbe"):
    probe = c[name]["httpGet"]
    if probe["path"] != path:
        errors.append(f"{name} asks {probe['path']}, the worker serves {path}")
    if probe["port"] not in ("health", port):
        errors.append(f"{name} asks port {probe['port']}")
live = c["livenessProbe"]
if live["periodSeconds"] * live["failureThreshold"] < stop:
    errors.append(f"liveness gives up after {live['periodSeconds'] * live['failureThreshold']} s of 503, "
                  f"shorter than a drain ({stop} s): it would kill a worker while it drains")
print("\n".join("FAIL: " + e for e in errors) or "kubernetes: ok")
sys.exit(1 if errors else 0)
PY
cat "$work/k8s.log"

# -- Dockerfile -----------------------------------------------------------------------------------
docker=$root/deploy/Dockerfile
grep -qx "EXPOSE $port" "$docker" || bad "the Dockerfile does not EXPOSE $port"
grep -qx "STOPSIGNAL SIGTERM" "$docker" || bad "the Dockerfile's stop signal is not SIGTERM"
target=$(sed -nE 's/^ARG WORKER=(.*)/\1/p' "$docker")
grep -q "add_executable($target " "$root/apps/CMakeLists.txt" || bad "the Dockerfile's WORKER=$target is no target of apps/"

# -- the guide quotes the same figures ------------------------------------------------------------
grep -q "${stop_s} s" "$root/docs/production.md" || bad "docs/production.md does not quote the ${stop_s} s a stop may take"

[ "$fail" -eq 0 ] && echo "deploy: unit, Deployment and Dockerfile agree with the defaults (stop ${stop_s} s, port $port)"
exit "$fail"
