#pragma once
// Which connections the health server keeps, and which it closes: a plain class, time passed in,
// unit-tested (tests/unit/probe_server_test.cpp).
//
// Rules, so that no client can starve a probe or the process's descriptors:
// - At most `capacity` connections are open. A new one beyond that evicts the connection whose
//   deadline comes first (the one that has waited longest): a probe is always a new connection,
//   so it always gets in, and idle or slow clients are what goes.
// - Each connection has until its deadline (`head_timeout` after it was accepted, or after its
//   last answer went out) to deliver a whole request head. Bytes trickling in do not extend it:
//   a client sending one byte a second (slowloris) is closed like one sending nothing.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace hatchet::detail {

class connection_book {
public:
  using clock = std::chrono::steady_clock;

  connection_book(size_t capacity, std::chrono::milliseconds head_timeout)
    : capacity_(capacity), head_timeout_(head_timeout) {}

  /// A connection accepted at `now`: the connections to close to make room for it (oldest
  /// deadline first), usually none.
  std::vector<int> admit(int fd, clock::time_point now) {
    std::vector<int> evicted;
    while (!by_deadline_.empty() && deadlines_.size() >= capacity_) {
      auto oldest = *by_deadline_.begin();
      evicted.push_back(oldest.second);
      forget(oldest.second);
    }
    set_deadline(fd, now + head_timeout_);
    return evicted;
  }

  /// Connection `fd` was answered at `now` and stays open for another request.
  void answered(int fd, clock::time_point now) {
    if (deadlines_.count(fd) != 0)
      set_deadline(fd, now + head_timeout_);
  }

  /// Connection `fd` is closed.
  void forget(int fd) {
    if (auto it = deadlines_.find(fd); it != deadlines_.end()) {
      by_deadline_.erase({it->second, fd});
      deadlines_.erase(it);
    }
  }

  /// The connections whose deadline has passed at `now`, taken out.
  std::vector<int> expired(clock::time_point now) {
    std::vector<int> out;
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
      int fd = by_deadline_.begin()->second;
      out.push_back(fd);
      forget(fd);
    }
    return out;
  }

  /// The earliest deadline, if any connection is open.
  std::optional<clock::time_point> next_deadline() const {
    if (by_deadline_.empty())
      return std::nullopt;
    return by_deadline_.begin()->first;
  }

  size_t open() const noexcept { return deadlines_.size(); }

private:
  void set_deadline(int fd, clock::time_point at) {
    forget(fd);
    deadlines_[fd] = at;
    by_deadline_.insert({at, fd});
  }

  size_t capacity_;
  std::chrono::milliseconds head_timeout_;
  std::map<int, clock::time_point> deadlines_;
  std::set<std::pair<clock::time_point, int>> by_deadline_;
};

} // namespace hatchet::detail
