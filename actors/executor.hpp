#pragma once
// Threads for synchronous task functions, so that user code never blocks CAF's scheduler.
//
// Threads start on demand, up to a bound (the slot count by default), and then stay: an idle
// worker with many slots holds only as many threads as it has ever needed at once.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace hatchet::detail {

class executor : public std::enable_shared_from_this<executor> {
public:
  /// Use make(): the threads share ownership, so a thread stuck in user code can outlive the
  /// worker's handle safely.
  static std::shared_ptr<executor> make(size_t max_threads);
  explicit executor(size_t max_threads);

  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  /// Queues a job; starts a thread if none is idle and the bound allows.
  void post(std::function<void()> job);

  /// Refuses new jobs, drops queued ones that have not started, and waits up to `patience` for
  /// every thread to end.
  /// Returns false when some thread was still inside a job then (a task that ignores
  /// cancellation must not hang the worker's exit; that thread ends when its job does).
  bool shutdown(std::chrono::milliseconds patience = std::chrono::milliseconds{1000});

  size_t threads_started() const;

  /// Raises (delta > 0) or lowers the thread bound. A synchronous run that released its slot
  /// keeps its thread, so the worker raises the bound by one for as long as it runs: the run
  /// that takes the freed slot must not wait for a thread. Threads above a lowered bound stay
  /// (threads never end early) but no new one starts until the count is under it again.
  void adjust_bound(int delta);

private:
  void loop();

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::condition_variable exit_cv_;
  std::deque<std::function<void()>> jobs_;
  size_t max_threads_;
  size_t started_ = 0;
  size_t alive_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
};

} // namespace hatchet::detail
