#pragma once
// Go duration strings ("10s", "1m30s", "500ms", "1.5h"), the format Hatchet uses for task timeouts
// and RefreshTimeout increments.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace hatchet::util {

/// Parses a non-negative Go duration: one or more `<number><unit>` groups with units ns, us (or µs),
/// ms, s, m, h; the number may have a fraction. "0" alone is zero. Rounds to whole milliseconds
/// (sub-millisecond parts round up so a positive duration never becomes zero). nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_go_duration(std::string_view text);

/// Go's spelling of a duration at millisecond precision: "0s", "500ms", "1s", "1m30s", "2h0m0s",
/// "1.5s".
std::string format_go_duration(std::chrono::milliseconds d);

} // namespace hatchet::util
