#include "engine/event_triggers.hpp"

#include <vector>

#include <nlohmann/json.hpp>

namespace hatchet::engine {

bool event_key_matches(std::string_view key, std::string_view pattern) {
  // Iterative wildcard matching with one backtrack point: the last `*`/`%` seen and where in the
  // key it started matching. Linear in practice, never exponential.
  size_t k = 0, p = 0;
  size_t star = std::string_view::npos, star_k = 0;
  while (k < key.size()) {
    if (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%')) {
      star = p++;
      star_k = k;
    } else if (p < pattern.size() && (pattern[p] == '_' || pattern[p] == key[k])) {
      ++p;
      ++k;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      k = ++star_k;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '%'))
    ++p;
  return p == pattern.size();
}

std::string event_run_metadata(const std::string& event_metadata, const std::string& event_id,
                               const std::string& event_key) {
  auto meta = nlohmann::json::parse(event_metadata, nullptr, false);
  if (!meta.is_object())
    meta = nlohmann::json::object();
  std::vector<std::string> reserved;
  for (const auto& [k, v] : meta.items())
    if (k.rfind("hatchet__", 0) == 0)
      reserved.push_back(k);
  for (const auto& k : reserved)
    meta.erase(k);
  meta["hatchet__event_id"] = event_id;
  meta["hatchet__event_key"] = event_key;
  return meta.dump();
}

} // namespace hatchet::engine
