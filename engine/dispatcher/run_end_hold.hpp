#pragma once
// When a finished run's end reaches its SubscribeToWorkflowEvents streams: `settle` after the
// finish, pushed back by as much by each stream chunk of the run that arrives meanwhile, and never
// later than 2 s after the finish (or `settle`, if longer). The official TypeScript SDK does not
// wait for its PutStreamEvent calls, so its last chunks can reach the engine after the task's
// result; the real engine's run end comes later than the task's own events (through its OLAP
// status updates). A plain class, time passed in, unit-tested
// (tests/unit/stream_event_buffer_test.cpp).

#include <algorithm>
#include <chrono>

namespace hatchet::engine {

class run_end_hold {
public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds max_hold{2000};

  run_end_hold() = default;
  run_end_hold(clock::time_point finished, std::chrono::milliseconds settle)
    : settle_(settle), due_(finished + settle), cap_(finished + std::max(settle, max_hold)) {}

  /// A chunk of the run arrived at `now`: the end waits `settle` more, within the cap.
  void chunk_arrived(clock::time_point now) {
    due_ = std::min(cap_, std::max(due_, now + settle_));
  }

  bool due(clock::time_point now) const { return now >= due_; }
  clock::time_point due_at() const { return due_; }

private:
  std::chrono::milliseconds settle_{0};
  clock::time_point due_{};
  clock::time_point cap_{};
};

} // namespace hatchet::engine
