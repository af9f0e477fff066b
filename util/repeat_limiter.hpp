#pragma once
// One log line per cause per interval. A failure that repeats (an engine that is down makes every
// event send fail, each with its own backoff) would otherwise write a line per attempt: 1,591 in
// 45 s. The first time a cause is seen it is told at once; further ones within `interval` are
// counted and held back; the first one after the interval is told with the count held back
// since the last line. When the trouble ends, take_held() gives what was never told, so that a
// closing line can say it.
//
// Plain C++, time passed in; not thread-safe (its owner serialises calls). At most `max_causes`
// are remembered; a new cause beyond them forgets the one told longest ago.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hatchet::util {

class repeat_limiter {
public:
  using clock = std::chrono::steady_clock;

  explicit repeat_limiter(clock::duration interval, size_t max_causes = 32)
    : interval_(interval), max_causes_(max_causes < 1 ? 1 : max_causes) {}

  /// An occurrence of `cause` at `now`. nullopt: keep quiet (it is counted). Otherwise tell it
  /// now; the value is how many occurrences of this cause were held back since it was last told.
  std::optional<uint64_t> admit(const std::string& cause, clock::time_point now) {
    for (auto& c : causes_) {
      if (c.cause != cause)
        continue;
      if (now - c.told_at < interval_) {
        ++c.held;
        return std::nullopt;
      }
      auto held = c.held;
      c.held = 0;
      c.told_at = now;
      return held;
    }
    if (causes_.size() >= max_causes_) {
      auto oldest = causes_.begin();
      for (auto it = causes_.begin(); it != causes_.end(); ++it)
        if (it->told_at < oldest->told_at)
          oldest = it;
      causes_.erase(oldest);
    }
    causes_.push_back({cause, now, 0});
    return uint64_t{0};
  }

  /// The causes with occurrences held back and not told yet, with their counts; forgets every
  /// cause, so that the next occurrence of any is told at once.
  std::vector<std::pair<std::string, uint64_t>> take_held() {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (auto& c : causes_)
      if (c.held > 0)
        out.emplace_back(std::move(c.cause), c.held);
    causes_.clear();
    return out;
  }

  /// Whether any cause has been seen since the last take_held().
  bool any() const noexcept { return !causes_.empty(); }

  clock::duration interval() const noexcept { return interval_; }

private:
  struct seen {
    std::string cause;
    clock::time_point told_at;
    uint64_t held = 0;
  };
  clock::duration interval_;
  size_t max_causes_;
  std::vector<seen> causes_;
};

} // namespace hatchet::util
