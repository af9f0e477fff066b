#pragma once
// The order in which one SubscribeToWorkflowEvents stream delivers a run's stream chunks, as the
// real engine's StreamEventBuffer (internal/services/dispatcher/server.go) orders them for each
// subscription. A plain class, time passed in, unit-tested
// (tests/unit/stream_event_buffer_test.cpp).
//
// Per task run, chunks are expected from event_index 0 up:
// - a chunk without an index goes out at once;
// - the expected chunk goes out at once, and with it every held one that now follows in order;
// - any other chunk is held, sorted by index, until the gap closes, until `timeout` after the
//   first one was held (then all that task's held chunks go out, in order, and the next chunk
//   starts a new sequence at its own index), or until the run's end (drain: all go out, in order,
//   before the end).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/state.hpp"

namespace hatchet::engine {

class stream_event_buffer {
public:
  using clock = std::chrono::steady_clock;

  explicit stream_event_buffer(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  /// A chunk (kind::stream) arriving at `now`: appends to `out` what may go out now, in order.
  void add(workflow_event ev, clock::time_point now, std::vector<workflow_event>& out) {
    if (!ev.index) {
      out.push_back(std::move(ev));
      return;
    }
    auto& t = tasks_[ev.resource_id];
    if (t.expected < 0) // after a timeout: this chunk starts the sequence
      t.expected = *ev.index;
    if (*ev.index == t.expected && t.held.empty()) {
      ++t.expected;
      out.push_back(std::move(ev));
      return;
    }
    auto at = t.held.begin();
    while (at != t.held.end() && *at->index <= *ev.index)
      ++at;
    t.held.insert(at, std::move(ev));
    release_ready(t, out);
    if (!t.held.empty() && !t.deadline)
      t.deadline = now + timeout_;
  }

  /// Held chunks whose timeout has passed at `now`: appended to `out`, in order per task.
  void expire(clock::time_point now, std::vector<workflow_event>& out) {
    for (auto& [task, t] : tasks_) {
      if (!t.deadline || *t.deadline > now)
        continue;
      for (auto& ev : t.held)
        out.push_back(std::move(ev));
      t.held.clear();
      t.deadline.reset();
      t.expected = -1;
    }
  }

  /// Everything held, in order per task: for the run's end, which goes out after it.
  void drain(std::vector<workflow_event>& out) {
    for (auto& [task, t] : tasks_)
      for (auto& ev : t.held)
        out.push_back(std::move(ev));
    tasks_.clear();
  }

  /// When expire() next has something to do.
  std::optional<clock::time_point> next_deadline() const {
    std::optional<clock::time_point> next;
    for (const auto& [task, t] : tasks_)
      if (t.deadline && (!next || *t.deadline < *next))
        next = t.deadline;
    return next;
  }

  size_t held() const {
    size_t n = 0;
    for (const auto& [task, t] : tasks_)
      n += t.held.size();
    return n;
  }

private:
  struct task_chunks {
    int64_t expected = 0;                 ///< -1: the next chunk sets it
    std::vector<workflow_event> held;     ///< sorted by index
    std::optional<clock::time_point> deadline;
  };

  static void release_ready(task_chunks& t, std::vector<workflow_event>& out) {
    size_t n = 0;
    while (n < t.held.size() && *t.held[n].index == t.expected) {
      out.push_back(std::move(t.held[n]));
      ++t.expected;
      ++n;
    }
    t.held.erase(t.held.begin(), t.held.begin() + static_cast<std::ptrdiff_t>(n));
    if (t.held.empty())
      t.deadline.reset();
  }

  std::chrono::milliseconds timeout_;
  std::map<std::string, task_chunks> tasks_;
};

} // namespace hatchet::engine
