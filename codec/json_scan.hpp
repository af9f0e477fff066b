#pragma once
// A JSON checker that builds nothing: it walks the text once, says whether it is one JSON value,
// and hands back where each top-level member of an object starts and ends. The action payload
// carries half a dozen members of which a task uses two; building a tree for all of them cost
// more than the rest of a run's own work.

#include <cstdint>
#include <string>
#include <string_view>

namespace hatchet::detail {

enum class json_kind { object, array, string, number, boolean, null };

/// "object", "array", ... as nlohmann::json::type_name() spells them.
const char* json_kind_name(json_kind k) noexcept;

/// Receives the top-level members of an object, in text order.
class json_member_sink {
public:
  virtual ~json_member_sink() = default;
  /// `key` is the text between the quotes, escapes left in (`escaped` says whether it has any);
  /// `value` is the member's value exactly as written, without the whitespace around it.
  virtual void member(std::string_view key, bool escaped, std::string_view value) = 0;
};

struct json_scan_result {
  bool ok = false;
  json_kind kind = json_kind::null; ///< of the whole text, when ok
  std::string error;                ///< why not, with the byte offset, when !ok
};

/// The value of the four hex digits at the start of `s` (a \u escape's), or false when `s` does
/// not start with four hex digits.
bool hex4_value(std::string_view s, uint32_t& out) noexcept;

/// The length (1 to 4) of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t utf8_sequence(std::string_view s) noexcept;

/// Checks that `text` is exactly one JSON value (RFC 8259), as strictly as nlohmann's parser:
/// strings must be valid UTF-8 with no raw control characters and matched surrogate pairs, and a
/// UTF-8 byte order mark is allowed in front, and a NUL byte after the value ends the text. Nesting depth is bounded only by memory (no
/// recursion). When the value is an object and `sink` is given, every top-level member goes to it.
json_scan_result scan_json(std::string_view text, json_member_sink* sink = nullptr);

} // namespace hatchet::detail
