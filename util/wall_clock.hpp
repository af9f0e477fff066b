#pragma once
// The wall-clock time the engine's events carry (protobuf Timestamps), as nanoseconds since the
// Unix epoch. Not for measuring durations: that is steady_clock's job.

#include <chrono>
#include <cstdint>

namespace hatchet::util {

inline int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace hatchet::util
