#pragma once
// An executor whose jobs run only when the test says so, on the test's thread. A job the test
// has taken but not run is "inside user code": it holds what it captured (the lifespan state
// among it) for as long as the test keeps it, as a task that ignores its cancellation would.

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "actors/executor.hpp"

namespace fake {

class manual_executor final : public hatchet::detail::executor {
public:
  void post(std::function<void()> job) override {
    if (!stopped_)
      queued_.push_back(std::move(job));
  }

  /// Drops the jobs nobody took (as the real one drops those not started); taken ones go on.
  bool shutdown(std::chrono::milliseconds) override {
    stopped_ = true;
    queued_.clear();
    return true;
  }

  void adjust_bound(int delta) override { bound_changes += delta; }

  /// The oldest queued job, now "running" in the test's hands; empty when none is queued.
  std::function<void()> take() {
    if (queued_.empty())
      return {};
    auto job = std::move(queued_.front());
    queued_.pop_front();
    return job;
  }

  /// Runs every queued job to its end, here; returns how many.
  size_t run_all() {
    size_t n = 0;
    while (auto job = take()) {
      job();
      ++n;
    }
    return n;
  }

  size_t queued() const noexcept { return queued_.size(); }
  int bound_changes = 0;

private:
  std::deque<std::function<void()>> queued_;
  bool stopped_ = false;
};

} // namespace fake
