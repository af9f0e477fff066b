#!/usr/bin/env bash
# The snippet checker catches what it is for: each case builds a small source tree, runs
# scripts/check_snippets.sh on it, and checks the exit status and the FILE:LINE it names.
#   checker_selftest.sh CHECKER
set -euo pipefail
checker=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A tree whose README shows src/a.cpp#greet correctly (indented differently, with a nested
# region's markers inside), a shell block, and a C++ block exempted with a reason.
fresh_tree() {
  rm -rf "$work/t"
  mkdir -p "$work/t/src" "$work/t/docs"
  cat >"$work/t/src/a.cpp" <<'SRC'
namespace demo {
  // [snippet:greet]
  int greet() {
    // [snippet:inner]
    return 42;
    // [/snippet:inner]
  }
  // [/snippet:greet]
}
SRC
  cat >"$work/t/README.md" <<'DOC'
# demo

<!-- snippet: src/a.cpp#greet -->
```cpp
int greet() {
  return 42;
}
```

```bash
echo not C++
```

<!-- snippet: none (a sketch of a type, not code from a file) -->
```cpp
struct sketch;
```
DOC
  printf '# other\n\n```cpp\nunchecked();\n```\n' >"$work/t/docs/other.md"
}

# expect NAME STATUS [TEXT]: the checker exits with STATUS and, if given, prints TEXT.
expect() {
  local name=$1 want=$2 text=${3:-}
  local out rc=0
  out=$(bash "$checker" "$work/t" 2>&1) || rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  elif [ -n "$text" ] && ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL $name: output lacks '$text'"; echo "$out" | sed 's/^/  | /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

fresh_tree
expect matching_snippets_pass 0 "every marked snippet matches"

fresh_tree
sed -i 's/return 42;/return 43;/' "$work/t/README.md"
expect one_changed_character_fails 1 "README.md:4: the snippet differs from src/a.cpp#greet"

fresh_tree
sed -i 's/return 42;/return 41;/' "$work/t/src/a.cpp"
expect a_changed_source_fails 1 "README.md:4: the snippet differs from src/a.cpp#greet"

fresh_tree
sed -i 's/#greet/#farewell/' "$work/t/README.md"
expect a_missing_region_fails 1 "README.md:4: no region 'farewell' in src/a.cpp"

fresh_tree
sed -i 's#src/a.cpp#src/gone.cpp#' "$work/t/README.md"
expect a_missing_file_fails 1 "README.md:4: snippet source 'src/gone.cpp' does not exist"

fresh_tree
sed -i 's#src/a.cpp#../a.cpp#' "$work/t/README.md"
expect a_path_outside_the_tree_fails 1 "is not a path inside the source tree"

fresh_tree
printf '\n```cpp\nint unmarked();\n```\n' >>"$work/t/README.md"
expect an_unmarked_cpp_block_in_the_readme_fails 1 "README.md:19: C++ block without a snippet marker"

fresh_tree
sed -i 's/none (a sketch of a type, not code from a file)/none/' "$work/t/README.md"
expect none_without_a_reason_fails 1 "README.md:14: 'snippet: none' needs a reason"

fresh_tree
sed -i '/\[\/snippet:greet\]/d' "$work/t/src/a.cpp"
expect an_unclosed_region_fails 1 "src/a.cpp:2: region 'greet' is never closed"

fresh_tree
sed -i 's#^<!-- snippet: src/a.cpp\#greet -->$#&\n#' "$work/t/README.md"
expect a_marker_apart_from_its_fence_fails 1 "README.md:3: snippet marker is not followed by a code fence"

fresh_tree
printf '# other\n\n<!-- snippet: src/a.cpp#greet -->\n```cpp\nint greet() {\n  return 0;\n}\n```\n' \
  >"$work/t/docs/other.md"
expect a_marked_block_in_docs_is_checked_too 1 "docs/other.md:4: the snippet differs"

if [ "$failures" -ne 0 ]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "all cases passed"
