#include "actors/executor.hpp"

namespace hatchet::detail {

std::shared_ptr<executor> executor::make(size_t max_threads) {
  return std::make_shared<thread_executor>(max_threads);
}

thread_executor::thread_executor(size_t max_threads) : max_threads_(max_threads == 0 ? 1 : max_threads) {}

void thread_executor::post(std::function<void()> job) {
  std::unique_lock lock{mtx_};
  if (stopping_)
    return;
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && alive_ < max_threads_) {
    ++alive_;
    ++started_;
    std::thread{[self = shared_from_this()] { self->loop(); }}.detach();
  } else {
    cv_.notify_one();
  }
}

void thread_executor::loop() {
  std::unique_lock lock{mtx_};
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty())
      break; // stopping, and nothing left to run
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr; // release what the job captured before taking the lock again
    lock.lock();
  }
  --alive_;
  exit_cv_.notify_all();
}

bool thread_executor::shutdown(std::chrono::milliseconds patience) {
  std::deque<std::function<void()>> dropped;
  std::unique_lock lock{mtx_};
  stopping_ = true;
  // Jobs not started yet never run: their task actors are gone, and what they captured (the
  // task actor, which holds this executor) is released here, not kept alive by the queue.
  dropped.swap(jobs_);
  cv_.notify_all();
  auto ended = exit_cv_.wait_for(lock, patience, [this] { return alive_ == 0; });
  lock.unlock();
  dropped.clear();
  return ended;
}

void thread_executor::adjust_bound(int delta) {
  std::lock_guard lock{mtx_};
  auto bound = static_cast<long>(max_threads_) + delta;
  max_threads_ = bound < 1 ? 1 : static_cast<size_t>(bound);
}

size_t thread_executor::threads_started() const {
  std::lock_guard lock{mtx_};
  return started_;
}

} // namespace hatchet::detail
