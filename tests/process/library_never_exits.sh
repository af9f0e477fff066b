#!/usr/bin/env bash
# The library never ends its host's process: no exit, _Exit, quick_exit, abort or terminate
# call in the library's sources (actors/, client/, messages/, include/). Ending the process is
# for the programs in apps/ (worker::must_exit_at_once() tells them when it must be at once).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
hits=$(grep -rnE '(^|[^_a-zA-Z])(std::)?(exit|_Exit|quick_exit|abort|terminate)[[:space:]]*\(' \
         "$root/actors" "$root/client" "$root/messages" "$root/include" \
       | grep -vE ':[0-9]+:[[:space:]]*//' || true)
if [ -n "$hits" ]; then
  echo "FAIL: the library ends the process here:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "PASS: no call that ends the process in actors/, client/, messages/, include/"
