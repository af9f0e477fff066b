#pragma once
// Which finished runs the dev engine keeps, and which it forgets. Finished runs stay for
// GetRunDetails and for late result subscriptions, oldest first out, within two limits: a count
// and their bytes (inputs, outputs, errors, logs, metadata). Counting alone let 1,000 runs of
// 1 MB each hold a gigabyte. The newest finished run is always kept, whatever its size, so that
// a subscriber that comes a moment late still gets its result. run_bytes() is what a run counts
// as; each limit is warned about once.
//
// Plain C++, no lock of its own (the engine's state holds one); `Key` is cheap to copy.

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

namespace hatchet::engine {

template <class Key>
class finished_runs {
public:
  finished_runs(size_t max_runs, size_t max_bytes) : max_runs_(max_runs), max_bytes_(max_bytes) {}

  /// `key` finished, holding about `bytes`.
  void add(Key key, size_t bytes) {
    order_.emplace_back(std::move(key), bytes);
    bytes_ += bytes;
  }

  /// `key`, finished, holds `bytes` more (a log line that came after its end). Nothing if it
  /// was not kept.
  void grow(const Key& key, size_t bytes) {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) { // the newest are likelier
      if (it->first == key) {
        it->second += bytes;
        bytes_ += bytes;
        return;
      }
    }
  }

  /// `key` runs again (a replay): it is no longer finished. False if it was not kept.
  bool remove(const Key& key) {
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (it->first == key) {
        bytes_ -= it->second;
        order_.erase(it);
        return true;
      }
    }
    return false;
  }

  /// Why the oldest must go now, if it must: the runs are over the count or over the bytes.
  enum class over { nothing, count, bytes };
  over over_limit() const noexcept {
    if (order_.size() > max_runs_)
      return over::count;
    if (bytes_ > max_bytes_ && order_.size() > 1)
      return over::bytes;
    return over::nothing;
  }

  /// True the first time the book is over `why` (count or bytes): a warning is said once a limit.
  bool first_time(over why) noexcept {
    return !std::exchange(why == over::count ? warned_count_ : warned_bytes_, true);
  }

  /// Takes the oldest out, to be forgotten; call while over_limit() says so.
  Key pop_oldest() {
    auto [key, bytes] = std::move(order_.front());
    order_.pop_front();
    bytes_ -= bytes;
    return key;
  }

  size_t size() const noexcept { return order_.size(); }
  size_t bytes() const noexcept { return bytes_; }
  size_t max_runs() const noexcept { return max_runs_; }
  size_t max_bytes() const noexcept { return max_bytes_; }

private:
  size_t max_runs_;
  size_t max_bytes_;
  std::deque<std::pair<Key, size_t>> order_; // oldest first
  size_t bytes_ = 0;
  bool warned_count_ = false;
  bool warned_bytes_ = false;
};

/// About how many bytes a log line holds: its strings, and an allowance for the rest.
template <class LogLine>
size_t log_line_bytes(const LogLine& line) {
  return 64 + line.message.size() + line.level.size() + line.metadata.size();
}

/// About how many bytes a finished run holds: its strings (input, metadata, each task's output,
/// error and log lines, the errors an on-failure task gets), and an allowance for the structures
/// around them. Exact figures do not matter; proportion does: a 1 MB input counts as 1 MB.
template <class Run>
size_t run_bytes(const Run& run) {
  size_t n = 512 + run.id.size() + run.input.size() + run.additional_metadata.size()
             + (run.child_key ? run.child_key->size() : 0);
  for (const auto& t : run.tasks) {
    n += 256 + t->external_id.size() + t->output.size() + t->error.size();
    for (const auto& line : t->logs)
      n += log_line_bytes(line);
  }
  for (const auto& [id, text] : run.step_run_errors)
    n += id.size() + text.size();
  return n;
}

} // namespace hatchet::engine
