#pragma once
// Which connections the health server keeps, and which it closes: a plain class, time passed in,
// unit-tested (tests/unit/probe_server_test.cpp).
//
// Rules, so that no client can starve a probe or the process's descriptors:
// - At most `capacity` connections are open. A new one beyond that evicts a connection of the
//   peer address that holds the most (counting the new one), the one of that peer whose deadline
//   comes first; between peers holding as many, the one whose oldest deadline comes first. A
//   flood from one address therefore only ever closes its own connections: a probe from another
//   address (the kubelet's) stays open until it has sent its request, however fast the flood
//   reconnects. When everything comes from one address, this is "oldest deadline first": a probe
//   is always a new connection, so it still gets in, if it sends before `capacity` newer ones.
// - Each connection has until its deadline (`head_timeout` after it was accepted, or after its
//   last answer went out) to deliver a whole request head. Bytes trickling in do not extend it:
//   a client sending one byte a second (slowloris) is closed like one sending nothing.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace hatchet::detail {

class connection_book {
public:
  using clock = std::chrono::steady_clock;

  connection_book(size_t capacity, std::chrono::milliseconds head_timeout)
    : capacity_(capacity), head_timeout_(head_timeout) {}

  /// A connection from `peer` (its address, without the port) accepted at `now`: the
  /// connections to close to make room for it, usually none.
  std::vector<int> admit(int fd, const std::string& peer, clock::time_point now) {
    forget(fd); // a reused descriptor starts afresh
    std::vector<int> evicted;
    while (!by_deadline_.empty() && open_.size() >= capacity_) {
      int victim = choose_victim(peer);
      evicted.push_back(victim);
      forget(victim);
    }
    open_[fd].peer = peer;
    set_deadline(fd, now + head_timeout_);
    return evicted;
  }

  /// Connection `fd` was answered at `now` and stays open for another request.
  void answered(int fd, clock::time_point now) {
    if (open_.count(fd) != 0)
      set_deadline(fd, now + head_timeout_);
  }

  /// Connection `fd` is closed.
  void forget(int fd) {
    auto it = open_.find(fd);
    if (it == open_.end())
      return;
    unlist(fd, it->second);
    open_.erase(it);
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

  size_t open() const noexcept { return open_.size(); }

private:
  using entry = std::pair<clock::time_point, int>; // (deadline, fd), ordered by deadline

  struct connection {
    std::string peer;
    clock::time_point deadline{};
    bool listed = false;
  };

  /// The open connection to close for a newcomer from `incoming`: at most `capacity` peers are
  /// open, so this looks at no more than that many.
  int choose_victim(const std::string& incoming) const {
    const std::set<entry>* best = nullptr;
    size_t best_count = 0;
    for (const auto& [peer, entries] : by_peer_) {
      size_t count = entries.size() + (peer == incoming ? 1 : 0);
      if (best == nullptr || count > best_count
          || (count == best_count && *entries.begin() < *best->begin())) {
        best = &entries;
        best_count = count;
      }
    }
    return best->begin()->second;
  }

  void set_deadline(int fd, clock::time_point at) {
    auto& c = open_[fd];
    unlist(fd, c);
    c.deadline = at;
    c.listed = true;
    by_deadline_.insert({at, fd});
    by_peer_[c.peer].insert({at, fd});
  }

  void unlist(int fd, connection& c) {
    if (!c.listed)
      return;
    by_deadline_.erase({c.deadline, fd});
    if (auto p = by_peer_.find(c.peer); p != by_peer_.end()) {
      p->second.erase({c.deadline, fd});
      if (p->second.empty())
        by_peer_.erase(p);
    }
    c.listed = false;
  }

  size_t capacity_;
  std::chrono::milliseconds head_timeout_;
  std::map<int, connection> open_;
  std::set<entry> by_deadline_;
  std::map<std::string, std::set<entry>> by_peer_;
};

} // namespace hatchet::detail
