#pragma once
// Times written as RFC 3339 in UTC, the one way every part of the project writes them: tokens'
// expiry in refusals, the REST API's replies, the client's requests and its messages.

#include <chrono>
#include <cstdint>
#include <string>

namespace hatchet::util {

/// "2025-01-31T12:00:00Z" for Unix seconds; "unix time N" beyond the years 0 to 9999.
std::string utc_seconds_text(int64_t unix_seconds);

/// "2024-05-01T12:00:00.123Z", milliseconds rounded down (before 1970 too, never negative): Go's
/// time JSON form and JavaScript's toISOString().
std::string utc_millis_text(std::chrono::system_clock::time_point tp);

} // namespace hatchet::util
