#!/usr/bin/env bash
# Installs the pinned official Hatchet TypeScript SDK into a cache folder outside the source tree
# and prints that folder. Exit 0: installed (or already there). Exit 77: npm cannot reach its
# registry (the interop tests then report themselves skipped). Anything else: a real failure.
# Concurrent callers (ctest -j) wait for each other on a lock next to the cache folder.
set -euo pipefail
version=${HATCHET_TS_SDK_VERSION:-1.33.2}
cache=${HATCHET_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hatchet-caf/ts-sdk-$version}
installed() {
  [ -f "$cache/node_modules/@hatchet-dev/typescript-sdk/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$cache/node_modules/@hatchet-dev/typescript-sdk/package.json"
}
if installed; then
  echo "$cache"
  exit 0
fi
command -v npm >/dev/null || { echo "install_sdk: npm is not installed" >&2; exit 77; }
command -v node >/dev/null || { echo "install_sdk: node is not installed" >&2; exit 77; }
mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9
if installed; then # another caller installed it while this one waited
  echo "$cache"
  exit 0
fi
cd "$cache"
[ -f package.json ] || echo '{"name":"hatchet-caf-interop","private":true}' >package.json
npm_net=(--fetch-retries=1 --fetch-timeout=20000 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000)
if ! npm view "${npm_net[@]}" "@hatchet-dev/typescript-sdk@$version" version >/dev/null 2>"$cache/npm-view.log"; then
  if grep -qE 'FetchError|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|proxy' \
    "$cache/npm-view.log"; then
    echo "install_sdk: npm cannot reach its registry:" \
      "$(grep -m 1 -E 'FetchError|code E' "$cache/npm-view.log" || tail -n 1 "$cache/npm-view.log")" >&2
    exit 77
  fi
  echo "install_sdk: npm view @hatchet-dev/typescript-sdk@$version failed:" >&2
  cat "$cache/npm-view.log" >&2
  exit 1
fi
npm install "${npm_net[@]}" --save-exact --no-audit --no-fund --loglevel=error \
  "@hatchet-dev/typescript-sdk@$version" >&2
installed || { echo "install_sdk: npm did not install @hatchet-dev/typescript-sdk@$version" >&2; exit 1; }
echo "$cache"
