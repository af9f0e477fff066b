#!/usr/bin/env bash
# The layer checker catches what it is for: a tree where client/ includes an actors/ header (an
# include running up) must fail naming that file and line; the same tree without it must pass;
# and a public header whose code is in core/ must not include one whose code is in api/.
#   layers_selftest.sh CHECKER
set -euo pipefail
checker=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/client" "$work/actors" "$work/include/hatchet"
printf '#pragma once\n#include "hatchet/config.hpp"\n' >"$work/client/channel.hpp"
printf '#pragma once\n#include "client/channel.hpp"\n' >"$work/actors/slot.hpp"
printf '#pragma once\n' >"$work/include/hatchet/config.hpp"
python3 "$checker" "$work" >/dev/null || { echo "FAIL: a clean tree was refused"; exit 1; }
printf '#include "client/channel.hpp"\n#include "actors/slot.hpp"\n' >"$work/client/channel.cpp"
if out=$(python3 "$checker" "$work"); then
  echo "FAIL: an include from client/ up into actors/ passed"; exit 1
fi
grep -q 'client/channel.cpp:2: client/ includes actors/slot.hpp' <<<"$out" \
  || { echo "FAIL: the report does not name the file and line: $out"; exit 1; }
# A public header whose code is in core/ must not include one whose code is in api/.
mkdir -p "$work/core" "$work/api"
rm "$work/client/channel.cpp"
printf '#pragma once\n#include "hatchet/run_ref.hpp"\n' >"$work/include/hatchet/context.hpp"
printf '#pragma once\n' >"$work/include/hatchet/run_ref.hpp"
touch "$work/core/context.cpp" "$work/api/run_ref.cpp"
if out=$(python3 "$checker" "$work"); then
  echo "FAIL: context.hpp (code in core/) including run_ref.hpp (code in api/) passed"; exit 1
fi
grep -q 'include/hatchet/context.hpp:2: .*run_ref.hpp, whose code is in api/' <<<"$out" \
  || { echo "FAIL: the report does not name the header and line: $out"; exit 1; }
echo "layers_selftest: ok"
