#!/usr/bin/env bash
# Installs the pinned official Hatchet TypeScript SDK into a cache folder outside the source tree
# and prints that folder. Exit 0: installed (or already there). Exit 77: npm cannot reach its
# registry (the interop tests then report themselves skipped). Anything else: a real failure.
set -euo pipefail
version=${HATCHET_TS_SDK_VERSION:-1.33.2}
cache=${HATCHET_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hatchet-caf/ts-sdk-$version}
if [ -f "$cache/node_modules/@hatchet-dev/typescript-sdk/package.json" ]; then
  echo "$cache"
  exit 0
fi
command -v npm >/dev/null || { echo "install_sdk: npm is not installed" >&2; exit 77; }
mkdir -p "$cache"
cd "$cache"
[ -f package.json ] || echo '{"name":"hatchet-caf-interop","private":true}' >package.json
if ! npm view "@hatchet-dev/typescript-sdk@$version" version >/dev/null 2>"$cache/npm-view.log"; then
  echo "install_sdk: npm cannot reach its registry: $(tail -n 3 "$cache/npm-view.log")" >&2
  exit 77
fi
npm install --no-audit --no-fund --loglevel=error "@hatchet-dev/typescript-sdk@$version" >&2
echo "$cache"
