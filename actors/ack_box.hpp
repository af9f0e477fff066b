#pragma once
// Where the engine's successful answers to step events wait for the dispatcher. Each run sends
// two events, and waking the dispatcher for each answer only to strike it off the outbox cost
// two actor messages, and at low load two thread wake-ups, per run. gRPC threads put the
// sequence numbers here instead, and the dispatcher takes them whenever it wakes for anything
// else (an assignment, a finished run, the heartbeat). Once the dispatcher asks for it (a stop
// waits for the outbox to empty), every answer put here also says to wake it.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace hatchet::detail {

class ack_box {
public:
  /// From any thread: records a successful answer. True when the caller must wake the
  /// dispatcher as well (it asked to be woken).
  bool put(uint64_t seq) {
    {
      std::lock_guard guard{mu_};
      acked_.push_back(seq);
    }
    // After the push: if the dispatcher asked to be woken after its last take, this sees it,
    // because that request came before the take that missed this push.
    return wake_.load();
  }

  /// From the dispatcher: from now on every put asks to wake it.
  void wake_on_every_put() { wake_.store(true); }

  /// From the dispatcher: the answers recorded so far, in `out` (cleared first; its capacity is
  /// kept for the next puts, so that a steady flow allocates nothing).
  void take(std::vector<uint64_t>& out) {
    out.clear();
    std::lock_guard guard{mu_};
    out.swap(acked_);
  }

private:
  std::mutex mu_;
  std::vector<uint64_t> acked_;
  std::atomic<bool> wake_{false};
};

} // namespace hatchet::detail
