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

/// Where synchronous task code and run_blocking jobs run. An interface so that actor tests can
/// run the jobs themselves, one at a time, on the test's thread (tests/actors).
class executor {
public:
  virtual ~executor() = default;

  /// The threads of make(): started on demand up to `max_threads` (0: 1).
  static std::shared_ptr<executor> make(size_t max_threads);

  /// Queues a job.
  virtual void post(std::function<void()> job) = 0;

  /// Refuses new jobs, drops queued ones that have not started, and waits up to `patience` for
  /// every job that has to end. False when some job was still running then.
  virtual bool shutdown(std::chrono::milliseconds patience = std::chrono::milliseconds{1000}) = 0;

  /// Raises (delta > 0) or lowers the bound on jobs running at once (see thread_executor).
  virtual void adjust_bound(int delta) = 0;
};

/// make()'s executor: threads started on demand, up to a bound, that then stay.
class thread_executor final : public executor,
                              public std::enable_shared_from_this<thread_executor> {
public:
  /// Use executor::make(): the threads share ownership, so a thread stuck in user code can
  /// outlive the worker's handle safely.
  explicit thread_executor(size_t max_threads);

  thread_executor(const thread_executor&) = delete;
  thread_executor& operator=(const thread_executor&) = delete;

  /// Queues a job; starts a thread if none is idle and the bound allows.
  void post(std::function<void()> job) override;

  /// Refuses new jobs, drops queued ones that have not started, and waits up to `patience` for
  /// every thread to end.
  /// Returns false when some thread was still inside a job then (a task that ignores
  /// cancellation must not hang the worker's exit; that thread ends when its job does).
  bool shutdown(std::chrono::milliseconds patience = std::chrono::milliseconds{1000}) override;

  size_t threads_started() const;

  /// Raises (delta > 0) or lowers the thread bound. A synchronous run that released its slot
  /// keeps its thread, so the worker raises the bound by one for as long as it runs: the run
  /// that takes the freed slot must not wait for a thread. Threads above a lowered bound stay
  /// (threads never end early) but no new one starts until the count is under it again.
  void adjust_bound(int delta) override;

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
