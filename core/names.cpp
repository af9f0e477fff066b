#include "core/names.hpp"

#include <algorithm>
#include <cctype>

namespace hatchet::detail {

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

} // namespace hatchet::detail
