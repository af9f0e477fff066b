#pragma once
// What hatchet::detail::decode_payload must find, computed the slow way: the whole payload as an
// nlohmann tree. Shared by the unit test (tests/unit/task_run_test.cpp) and the fuzz target
// (tests/fuzz/fuzz_payload.cpp), which both check the decoder against it.

#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace payload_reference {

/// {input, parents} as the decoder's contract says (missing or null input and a parents that is
/// not an object become {}; a double-encoded payload is unwrapped once), or nullopt when the
/// decoder must refuse the text.
inline std::optional<std::pair<nlohmann::json, nlohmann::json>> decode(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_string())
    j = nlohmann::json::parse(j.get<std::string>(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return std::nullopt;
  std::pair<nlohmann::json, nlohmann::json> out{nlohmann::json::object(),
                                                nlohmann::json::object()};
  if (auto i = j.find("input"); i != j.end() && !i->is_null())
    out.first = *i;
  if (auto p = j.find("parents"); p != j.end() && p->is_object())
    out.second = *p;
  return out;
}

} // namespace payload_reference
