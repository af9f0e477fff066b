#pragma once
// Strict parsing of the numbers in command-line flags and environment variables.
//
// The forgiving parsers turn a typo into a different setting: std::stoi("1e9") is 1,
// std::stoi("3x") is 3, std::stod("inf") is a number. These functions take the whole text or
// nothing, and their errors name the flag or variable and quote the text, so that the user sees
// what to fix: "--slots: '1e9' is not a whole number". Nothing is trimmed: " 5" is rejected, so a
// quoting mistake in a script shows instead of being papered over.
//
// Errors are `errc::invalid_config` values whose context is that message; `error_text` returns it
// alone, for a usage message. Header-only, so that every program and tool can use it whatever it
// links.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "hatchet/errors.hpp"

namespace hatchet::detail {

/// The largest duration `parse_seconds` accepts: 10,000,000 s (about 116 days). Far above any
/// useful timeout, and low enough that sums of a few of them in nanoseconds cannot overflow.
inline constexpr int64_t max_parsed_seconds = 10'000'000;

namespace parse_internal {

inline caf::error bad(std::string_view what, std::string_view text, std::string_view why) {
  return make_error(errc::invalid_config,
                    std::string{what} + ": '" + std::string{text} + "' " + std::string{why});
}

inline bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace parse_internal

/// `text` as a whole decimal number in [min, max]: ASCII digits, with a leading '-' allowed;
/// no '+', spaces, fraction or exponent. `what` names the flag or variable in the error.
template <class Int>
caf::expected<Int> parse_whole(std::string_view what, std::string_view text,
                               Int min = std::numeric_limits<Int>::min(),
                               Int max = std::numeric_limits<Int>::max()) {
  static_assert(std::is_integral_v<Int> && !std::is_same_v<Int, bool>);
  using parse_internal::bad;
  bool negative = text.starts_with('-');
  if (!parse_internal::all_digits(negative ? text.substr(1) : text))
    return bad(what, text, "is not a whole number");
  auto too_small = [&] { return bad(what, text, "is too small (at least " + std::to_string(min) + ")"); };
  auto too_large = [&] { return bad(what, text, "is too large (at most " + std::to_string(max) + ")"); };
  // from_chars takes no '-' for an unsigned type: "-0" is 0, any other negative is too small.
  auto digits = negative && std::is_unsigned_v<Int> ? text.substr(1) : text;
  if (digits.size() < text.size() && digits.find_first_not_of('0') != std::string_view::npos)
    return too_small();
  Int value{};
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range)
    return negative ? too_small() : too_large();
  if (ec != std::errc{} || end != digits.data() + digits.size())
    return bad(what, text, "is not a whole number");
  if (value < min)
    return too_small();
  if (value > max)
    return too_large();
  return value;
}

/// `text` as a duration in seconds: a non-negative decimal ("30", "0.5", ".25", "2."), at most
/// `max_seconds`; no sign, spaces, exponent, inf or nan. Digits past the millisecond are dropped.
inline caf::expected<std::chrono::milliseconds>
parse_seconds(std::string_view what, std::string_view text,
              int64_t max_seconds = max_parsed_seconds) {
  using parse_internal::all_digits;
  using parse_internal::bad;
  auto is_decimal = [](std::string_view s) {
    auto dot = s.find('.');
    if (dot == std::string_view::npos)
      return all_digits(s);
    auto whole = s.substr(0, dot);
    auto fraction = s.substr(dot + 1);
    return (whole.empty() || all_digits(whole)) && (fraction.empty() || all_digits(fraction))
           && !(whole.empty() && fraction.empty());
  };
  if (!is_decimal(text)) {
    if (text.starts_with('-') && is_decimal(text.substr(1)))
      return bad(what, text, "must not be negative");
    return bad(what, text, "is not a number of seconds (write a decimal such as 30 or 0.5)");
  }
  auto dot = text.find('.');
  auto whole = text.substr(0, dot);
  auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  int64_t seconds = 0;
  if (!whole.empty()) {
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
    if (ec != std::errc{} || seconds > max_seconds)
      return bad(what, text, "is too large (at most " + std::to_string(max_seconds) + " seconds)");
  }
  int64_t millis = 0;
  for (size_t i = 0; i < 3; ++i)
    millis = millis * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  if (seconds == max_seconds && millis > 0)
    return bad(what, text, "is too large (at most " + std::to_string(max_seconds) + " seconds)");
  return std::chrono::milliseconds{seconds * 1000 + millis};
}

/// The message of an error made by the functions above (its context), without the code's name.
inline std::string error_text(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

} // namespace hatchet::detail
