#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test through ctest.
# PostgreSQL for the lifespan example's tests is started and stopped by ctest itself (a fixture
# that calls scripts/pg.sh). Extra arguments go to ctest (e.g. -L unit, -R lifespan).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "${HATCHET_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 600 "$@"
