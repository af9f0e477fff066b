#pragma once
// Input quoted in an error message, at most a bounded prefix of it. An error that echoes what it
// refuses helps; one that echoes all of it can break its own reply: a gRPC status message travels
// as a header, and a client drops headers past its metadata limit (8 KiB by default), so a
// 16,000-character name would turn "invalid name" into an unreadable transport error.

#include <cstddef>
#include <string>
#include <string_view>

namespace hatchet::util {

/// The bytes of a quoted prefix at most (the default fits any message several times over).
inline constexpr size_t quoted_prefix_bytes = 120;

/// `text`, or its first `limit` bytes followed by "... (N bytes)" when longer; a cut never splits
/// a UTF-8 character, and control characters show as '?' so that one line stays one line.
inline std::string bounded_prefix(std::string_view text, size_t limit = quoted_prefix_bytes) {
  size_t keep = text.size();
  if (keep > limit) {
    keep = limit;
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80)
      --keep; // text[keep] continues a character: cut before that character starts
  }
  std::string out;
  out.reserve(keep + 32);
  for (size_t i = 0; i < keep; ++i)
    out += static_cast<unsigned char>(text[i]) < 0x20 ? '?' : text[i];
  if (keep < text.size())
    out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

/// 'text', or 'its first `limit` bytes...' (N bytes) when longer (as bounded_prefix).
inline std::string quoted(std::string_view text, size_t limit = quoted_prefix_bytes) {
  auto inner = bounded_prefix(text, limit);
  if (text.size() <= limit)
    return "'" + inner + "'";
  auto dots = inner.rfind("... (");
  return "'" + inner.substr(0, dots + 3) + "'" + inner.substr(dots + 3);
}

} // namespace hatchet::util
