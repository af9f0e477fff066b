#pragma once
// The awaiters of a co_task's waits (ctx.sleep_for, ctx.run_blocking, ctx.await_callback) and
// the hooks through which they reach the task actor running the co_task.

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <variant>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace hatchet::detail {

/// errc::cancelled: "the task was cancelled while it waited" (core/context.cpp).
caf::error cancelled_while_waiting();

/// How a co_task's waits reach the actor running it. Internal: implemented by the task actor.
struct async_hooks {
  virtual ~async_hooks() = default;
  /// Resumes `h` on the run's actor after `d`, or at once when the run is cancelled first.
  virtual void resume_after(std::chrono::nanoseconds d, std::coroutine_handle<> h) = 0;
  /// Runs `job` on a task thread, then resumes `h` on the run's actor.
  virtual void run_blocking(std::function<void()> job, std::coroutine_handle<> h) = 0;
  /// Suspends `h` until the returned function is called, from any thread (only the first call
  /// counts), or the run is cancelled; either way `h` resumes on the run's actor, never on the
  /// caller's thread. The function holds no strong reference to the actor: calling it after the
  /// run has gone does nothing.
  virtual std::function<void()> resume_on_call(std::coroutine_handle<> h) = 0;
};

/// `co_await ctx.sleep_for(d)`: true when the time passed, false when the run was cancelled.
struct sleep_awaiter {
  async_hooks* hooks;
  std::chrono::nanoseconds duration;
  std::stop_token stop;

  bool await_ready() const noexcept { return stop.stop_requested() || duration.count() <= 0; }
  void await_suspend(std::coroutine_handle<> h) const { hooks->resume_after(duration, h); }
  bool await_resume() const noexcept { return !stop.stop_requested(); }
};

/// `co_await ctx.run_blocking(fn)`: fn's result (or its exception, rethrown).
template <class F>
class blocking_awaiter {
public:
  using result_type = std::invoke_result_t<F&>;

  blocking_awaiter(async_hooks* hooks, F fn)
    : hooks_(hooks), shared_(std::make_shared<shared>(std::move(fn))) {
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    // The job owns what it writes: if the run's actor is gone when it ends (a killed worker),
    // nothing it touches has been freed.
    hooks_->run_blocking(
      [s = shared_] {
        try {
          if constexpr (std::is_void_v<result_type>)
            s->fn();
          else
            s->value.emplace(s->fn());
        } catch (...) {
          s->error = std::current_exception();
        }
      },
      h);
  }
  result_type await_resume() {
    if (shared_->error)
      std::rethrow_exception(shared_->error);
    if constexpr (!std::is_void_v<result_type>)
      return std::move(*shared_->value);
  }

private:
  struct shared {
    explicit shared(F f) : fn(std::move(f)) {}
    F fn;
    std::optional<std::conditional_t<std::is_void_v<result_type>, std::monostate, result_type>>
      value;
    std::exception_ptr error;
  };
  async_hooks* hooks_;
  std::shared_ptr<shared> shared_;
};

/// `co_await ctx.await_callback<T>(start)`: an operation that completes on a thread of its own.
template <class T>
class callback_awaiter {
public:
  using complete_fn = std::function<void(caf::expected<T>)>;
  using start_fn = std::function<void(complete_fn)>;

  callback_awaiter(async_hooks* hooks, start_fn start, std::stop_token stop)
    : hooks_(hooks), start_(std::move(start)), stop_(std::move(stop)),
      shared_(std::make_shared<shared>()) {
  }

  bool await_ready() const noexcept { return stop_.stop_requested(); }
  void await_suspend(std::coroutine_handle<> h) {
    // The completion owns what it writes, so it may come after the run (and this frame) is gone.
    start_([s = shared_, wake = hooks_->resume_on_call(h)](caf::expected<T> v) {
      {
        std::lock_guard lock{s->mtx};
        if (s->value)
          return;
        s->value.emplace(std::move(v));
      }
      wake();
    });
  }
  caf::expected<T> await_resume() {
    std::lock_guard lock{shared_->mtx};
    if (!shared_->value)
      return cancelled_while_waiting();
    return std::move(*shared_->value);
  }

private:
  struct shared {
    std::mutex mtx;
    std::optional<caf::expected<T>> value;
  };
  async_hooks* hooks_;
  start_fn start_;
  std::stop_token stop_;
  std::shared_ptr<shared> shared_;
};

} // namespace hatchet::detail
