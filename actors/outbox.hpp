#pragma once
// Step events waiting to be acknowledged by the engine. Every STARTED/COMPLETED/FAILED goes
// through here and stays until the engine answered OK or refused it for good, so a run's outcome
// is not lost to a passing network error.

#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "messages/wire_types.hpp"

namespace hatchet::detail {

class outbox {
public:
  struct entry {
    wire::step_event event;
    int attempts = 0;
    bool in_flight = false;
  };

  /// Stores an event; returns its sequence number.
  uint64_t add(wire::step_event ev);
  /// The event to (re)send, or nullptr when it was acknowledged or dropped meanwhile.
  entry* find(uint64_t seq);
  const entry* find(uint64_t seq) const;
  void ack(uint64_t seq) { pending_.erase(seq); }
  /// Called when a send failed: returns the delay before the next attempt.
  std::chrono::milliseconds backoff(uint64_t seq);

  /// Events not in flight (waiting for their retry), oldest first.
  std::vector<uint64_t> waiting() const;
  /// Every pending event, oldest first.
  std::vector<uint64_t> all() const;

  bool empty() const noexcept { return pending_.empty(); }
  size_t size() const noexcept { return pending_.size(); }

  /// Whether a failed send with this gRPC status is worth repeating.
  static bool retryable(int code) noexcept;

private:
  uint64_t next_ = 1;
  std::map<uint64_t, entry> pending_;
};

/// Jittered exponential backoff: min(cap, base * 2^attempt) scaled by a random factor in
/// [0.5, 1.0]. Shared by the outbox, reconnects and start-up retries.
std::chrono::milliseconds jittered_backoff(int attempt, std::chrono::milliseconds base,
                                           std::chrono::milliseconds cap);

} // namespace hatchet::detail
