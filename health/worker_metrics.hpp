#pragma once
// What one worker counts about itself, for /health and /metrics. The actors write it with relaxed
// atomics (one increment per event, nothing else on the hot path); the health server's thread
// reads it when scraped.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace hatchet::detail {

/// The worker's state as /health reports it.
enum class health_state : uint8_t {
  starting,  ///< lifespan setup, registration, or not yet attached for the first time
  healthy,   ///< lifespan up, registered, stream attached, last heartbeat accepted
  unhealthy, ///< registered but the stream is down or heartbeats are refused (reconnecting)
  draining,  ///< a stop has begun
  stopped,   ///< the stop is over (or start-up failed)
};

const char* to_string(health_state s) noexcept;

struct worker_metrics {
  /// Upper bounds, in seconds, of the run-duration histogram's buckets (+Inf is implicit).
  static constexpr std::array<double, 12> duration_bounds{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,  0.5,   1,    2.5,   10,  60};

  std::atomic<health_state> state{health_state::starting};
  std::atomic<int64_t> slots_in_use{0};
  std::atomic<uint64_t> runs_started{0};
  std::atomic<uint64_t> runs_completed{0};
  std::atomic<uint64_t> runs_failed{0};
  std::atomic<uint64_t> runs_cancelled{0};
  std::atomic<uint64_t> runs_fenced{0}; ///< given up in a partition (actors/fence.hpp)
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> heartbeat_failures{0};
  std::atomic<int64_t> outbox_depth{0};
  std::atomic<double> lifespan_setup_seconds{0};
  std::atomic<uint64_t> lifespan_reloads{0};
  std::atomic<uint64_t> lifespan_reload_failures{0};
  /// Per bucket (not cumulative), the last one for runs over every bound.
  std::array<std::atomic<uint64_t>, duration_bounds.size() + 1> duration_buckets{};
  std::atomic<uint64_t> duration_count{0};
  std::atomic<uint64_t> duration_sum_us{0};

  void observe_run(std::chrono::steady_clock::duration d) noexcept {
    auto seconds = std::chrono::duration<double>(d).count();
    size_t i = 0;
    while (i < duration_bounds.size() && seconds > duration_bounds[i])
      ++i;
    duration_buckets[i].fetch_add(1, std::memory_order_relaxed);
    duration_count.fetch_add(1, std::memory_order_relaxed);
    duration_sum_us.fetch_add(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()),
      std::memory_order_relaxed);
  }

  static void add(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

inline const char* to_string(health_state s) noexcept {
  switch (s) {
    case health_state::starting:
      return "STARTING";
    case health_state::healthy:
      return "HEALTHY";
    case health_state::unhealthy:
      return "UNHEALTHY";
    case health_state::draining:
      return "DRAINING";
    case health_state::stopped:
      return "STOPPED";
  }
  return "UNKNOWN";
}

} // namespace hatchet::detail
