#pragma once
// When a worker cut off from its engine must give up the runs it holds.
//
// A real engine hands a worker's running tasks to another worker once it has not heard a
// heartbeat from it for 30 s (ListTasksToReassign in pkg/repository/sqlcv1/tasks.sql). A worker
// that cannot reach the engine, say across a silent partition, does not know whether that has
// happened, and would otherwise run those tasks to the end beside their new attempts. So it
// fences itself first: once no heartbeat it sent after time T has been accepted and T lies
// `window` in the past, it cancels what it holds and registers again as a new worker when the
// engine answers. The window is counted from when the last accepted heartbeat was *sent*, which
// is no later than when the engine recorded it, so the worker's count never runs behind the
// engine's.
//
// Plain C++, time passed in; the dispatcher actor owns the timers (one per accepted beat, at its
// deadline) and performs the fencing.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <deque>
#include <optional>
#include <utility>

namespace hatchet::detail {

class fence {
public:
  using clock = std::chrono::steady_clock;

  /// `window`: how long without an accepted heartbeat before fencing (worker_options::fence_after).
  explicit fence(std::chrono::milliseconds window) : window_(window) {}

  /// A heartbeat goes out at `now`: the number its answer comes back with.
  uint64_t beat_sent(clock::time_point now) {
    sent_.emplace_back(++next_beat_, now);
    while (sent_.size() > max_unanswered) // beats never answered (a dead call) are forgotten
      sent_.pop_front();
    return next_beat_;
  }

  /// Heartbeat `beat` was accepted: when to call due() for it (its fencing deadline), unless an
  /// answer to a later beat came first or the beat is unknown.
  std::optional<clock::time_point> accepted(uint64_t beat) {
    for (const auto& [n, at] : sent_)
      if (n == beat) {
        if (proof_ && proof_->first >= beat)
          return std::nullopt;
        proof_ = {beat, at};
        return at + window_;
      }
    return std::nullopt;
  }

  /// The deadline timer of `beat` fired at `now`: true, once, when the worker must fence itself
  /// (no later heartbeat has been accepted since). False while fenced, before any accepted
  /// heartbeat, or when a later accepted beat moved the deadline.
  bool due(uint64_t beat, clock::time_point now) {
    if (fenced_ || !proof_ || proof_->first != beat || now - proof_->second < window_)
      return false;
    fenced_ = true;
    return true;
  }

  /// Seconds since the last accepted heartbeat was sent.
  double silent_seconds(clock::time_point now) const {
    return proof_ ? std::chrono::duration<double>(now - proof_->second).count() : 0.0;
  }

  /// The one log line of a fencing that gave up `runs` runs.
  std::string explain(size_t runs, clock::time_point now) const {
    char text[320];
    std::snprintf(text, sizeof text,
                  "no heartbeat accepted for %.1f s (fence_after %.1f s; a real engine hands a "
                  "silent worker's runs to another worker after 30 s): gave up %zu run(s), which "
                  "report nothing; registering again as a new worker over a new connection",
                  silent_seconds(now), std::chrono::duration<double>(window_).count(), runs);
    return text;
  }

  bool fenced() const noexcept { return fenced_; }

  /// A new registration: a new identity on the engine, whose clock starts afresh.
  void registered() {
    fenced_ = false;
    proof_.reset();
    sent_.clear();
  }

private:
  static constexpr size_t max_unanswered = 64;
  std::chrono::milliseconds window_;
  uint64_t next_beat_ = 0;
  std::deque<std::pair<uint64_t, clock::time_point>> sent_;
  std::optional<std::pair<uint64_t, clock::time_point>> proof_; ///< last accepted beat, sent at
  bool fenced_ = false;
};

} // namespace hatchet::detail
