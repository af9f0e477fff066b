#!/usr/bin/env bash
# Installs the Debian packages hatchet-caf needs to build, test and run its demo.
# Safe to run any number of times: it only calls apt-get when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libcaf-dev libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libpqxx-dev libspdlog-dev libboost-test-dev nlohmann-json3-dev libcpp-httplib-dev prometheus-cpp-dev libcli11-dev
  postgresql postgresql-client iproute2 curl gnuplot-nox clang libclang-rt-14-dev python3
  openssl libssl-dev uuid-dev systemd python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
