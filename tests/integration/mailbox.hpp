#pragma once
// A blocking queue that tasks fill and a test drains, with a timeout instead of sleeps.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace harness {

template <class T>
class mailbox {
public:
  void push(T v) {
    {
      std::lock_guard lk{mu_};
      items_.push_back(std::move(v));
    }
    cv_.notify_all();
  }
  std::optional<T> pop(std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
    std::unique_lock lk{mu_};
    if (!cv_.wait_for(lk, timeout, [&] { return !items_.empty(); }))
      return std::nullopt;
    T v = std::move(items_.front());
    items_.pop_front();
    return v;
  }
  size_t size() {
    std::lock_guard lk{mu_};
    return items_.size();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

} // namespace harness
