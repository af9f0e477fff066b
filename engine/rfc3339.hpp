#pragma once
// RFC 3339 times as the REST API reads and writes them, and protobuf Timestamps as the gRPC API
// reads them, into the engine's clock (std::chrono::system_clock: nanoseconds in 64 bits, so the
// years 1677 to 2262). A time outside that range, an offset beyond ±23:59, or a malformed text is
// refused with the reason, never wrapped around: 9999-12-31, a common "never", would otherwise
// become a time in 1816 and fire at once.
//
// A real engine (Go's time.Time, PostgreSQL's timestamptz) holds years up to 9999; the dev engine
// refuses the years past 2262 instead (engine/README.md, "Behaviour worth knowing").

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hatchet::engine {

/// A parsed time, or why the text is not one (`at` empty, `why` a sentence fragment such as
/// "is not an RFC 3339 time", for the caller to put after the field's name and value).
struct parsed_time {
  std::optional<std::chrono::system_clock::time_point> at;
  std::string why;
};

/// "2024-05-01T12:00:00.123Z", "2024-05-01T14:00:00+02:00", as JavaScript's toISOString() and Go
/// write them.
parsed_time parse_rfc3339(std::string_view text);

/// A protobuf Timestamp (seconds since the epoch, nanos 0..999,999,999).
parsed_time from_timestamp(int64_t seconds, int32_t nanos);

/// UTC with milliseconds, "2024-05-01T12:00:00.123Z" (Go's time JSON form); times before 1970
/// are written as such (never with negative milliseconds).
std::string format_rfc3339(std::chrono::system_clock::time_point tp);

} // namespace hatchet::engine
