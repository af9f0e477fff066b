#include "util/go_duration.hpp"

#include <cmath>
#include <cstdint>

namespace hatchet::util {

std::optional<std::chrono::milliseconds> parse_go_duration(std::string_view text) {
  if (text == "0")
    return std::chrono::milliseconds{0};
  if (text.empty())
    return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    // number: digits, optionally '.', optionally digits; at least one digit overall
    double whole = 0;
    double frac = 0;
    double scale = 1;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      whole = whole * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        scale /= 10;
        frac += (text[i] - '0') * scale;
        ++i;
        ++digits;
      }
    }
    if (digits == 0)
      return std::nullopt;
    double unit_ms = 0;
    auto rest = text.substr(i);
    if (rest.starts_with("ms")) {
      unit_ms = 1;
      i += 2;
    } else if (rest.starts_with("ns")) {
      unit_ms = 1e-6;
      i += 2;
    } else if (rest.starts_with("us")) {
      unit_ms = 1e-3;
      i += 2;
    } else if (rest.starts_with("\xc2\xb5s")) { // µs in UTF-8
      unit_ms = 1e-3;
      i += 3;
    } else if (rest.starts_with("s")) {
      unit_ms = 1000;
      i += 1;
    } else if (rest.starts_with("m")) {
      unit_ms = 60'000;
      i += 1;
    } else if (rest.starts_with("h")) {
      unit_ms = 3'600'000;
      i += 1;
    } else {
      return std::nullopt;
    }
    total_ms += (whole + frac) * unit_ms;
  }
  // ~292 years in milliseconds fits easily; refuse anything absurd instead of overflowing.
  if (!std::isfinite(total_ms) || total_ms > 9.0e15)
    return std::nullopt;
  return std::chrono::milliseconds{static_cast<int64_t>(std::ceil(total_ms))};
}

std::string format_go_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  std::string sign;
  if (ms < 0) {
    sign = "-";
    ms = -ms;
  }
  if (ms == 0)
    return "0s";
  if (ms < 1000)
    return sign + std::to_string(ms) + "ms";
  int64_t h = ms / 3'600'000;
  int64_t m = (ms / 60'000) % 60;
  int64_t s = (ms / 1000) % 60;
  int64_t rem = ms % 1000;
  std::string secs = std::to_string(s);
  if (rem != 0) {
    std::string frac = std::to_string(rem);
    frac.insert(0, 3 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0')
      frac.pop_back();
    secs += "." + frac;
  }
  std::string out = sign;
  if (h > 0)
    out += std::to_string(h) + "h" + std::to_string(m) + "m";
  else if (m > 0)
    out += std::to_string(m) + "m";
  return out + secs + "s";
}

} // namespace hatchet::util
