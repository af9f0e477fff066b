#!/usr/bin/env bash
# Golden test: every message, field number and type, enum value and method in our proto/ must be
# the same as in the official TypeScript SDK's generated protocol code (read from the installed
# package by js/golden_proto.js). One-sided fields are listed as information. The check then runs
# once more against a deliberately broken copy of proto/ and must fail there, so it cannot pass
# by comparing nothing.
source "$(dirname "$0")/lib.sh"
need_sdk
proto_dir=$(cd "${HATCHET_PROTO_DIR:-$INTEROP_DIR/../../proto}" && pwd)
protoc=${PROTOC:-$(command -v protoc || true)}
[ -x "$protoc" ] || die "protoc not found (set PROTOC)"

descriptor_set() { # proto folder -> descriptor set file
  local dir=$1 out=$2
  local files
  mapfile -t files < <(cd "$dir" && find . -name '*.proto' | sed 's|^\./||' | sort)
  [ "${#files[@]}" -gt 0 ] || die "no .proto files under $dir"
  "$protoc" --proto_path="$dir" --include_imports --descriptor_set_out="$out" "${files[@]}"
}

descriptor_set "$proto_dir" "$WORK/ours.pb"
node "$INTEROP_DIR/js/golden_proto.js" "$SDK_DIR" "$WORK/ours.pb" ||
  die "our proto/ differs from the SDK's generated code (MISMATCH lines above)"
ok "our proto/ matches the SDK's generated code"

# The same check must catch a renumbered field and a changed type.
cp -r "$proto_dir" "$WORK/broken"
sed -i -E 's/^(  string action_payload = )11;/\1111;/; s/^(  )int32( retry_count = 13;)/\1int64\2/' \
  "$WORK/broken/dispatcher/dispatcher.proto"
descriptor_set "$WORK/broken" "$WORK/broken.pb"
rc=0
node "$INTEROP_DIR/js/golden_proto.js" "$SDK_DIR" "$WORK/broken.pb" >"$WORK/broken.out" || rc=$?
grep -q 'MISMATCH: AssignedAction.action_payload: ours is field 111, the SDK.s is field 11' "$WORK/broken.out" &&
  grep -q 'MISMATCH: AssignedAction.retry_count = 13: ours is singular int64, the SDK.s is singular int32' \
    "$WORK/broken.out" && [ "$rc" -eq 1 ] || {
  cat "$WORK/broken.out"
  die "the check did not catch a renumbered field and a changed type (exit $rc)"
}
ok "the check catches a renumbered field and a changed type in a broken copy"
say "passed"
