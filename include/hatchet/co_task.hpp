#pragma once
// Coroutine tasks: a task whose body waits without holding a thread.
//
//   wf.task("sleepy", [](const In& in, hatchet::context& ctx) -> hatchet::co_task<Out> {
//     if (!co_await ctx.sleep_for(std::chrono::seconds{1}))
//       co_return Out{};                        // cancelled while asleep
//     auto rows = co_await ctx.run_blocking([&] { return query(in); }); // on a task thread
//     co_return Out{rows};
//   });
//
// A co_task runs on its slot's actor, between waits, on CAF's scheduler threads; while it waits
// (sleep_for, run_blocking) it holds no thread at all, so 10,000 sleeping runs cost 10,000
// coroutine frames, not 10,000 threads. The rules that come with that:
// * Between co_awaits, do not block (no sleeps, locks held long, blocking I/O): it would stall
//   other actors. Wrap blocking work in `co_await ctx.run_blocking(fn)`.
// * co_await only the context's awaitables and other co_tasks. An awaitable that resumes the
//   coroutine on a thread of its own is not supported (the run's actor would not see it).
// * GCC 12 mishandles some temporaries that live across a suspension (it destroys an aggregate
//   temporary in a co_yield twice; see lifespan.hpp). To stay clear of that, bind a lambda that
//   captures something non-trivial to a named variable before `co_await ctx.run_blocking(f)`,
//   rather than writing the lambda inside the co_await expression.
// * Parameters are alive for the whole run (the worker keeps the input and the context until the
//   co_task ends), so `const In&` parameters are safe; references to a caller's locals taken in a
//   nested co_task follow the usual C++ coroutine rules.

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace hatchet {

template <class T = void>
class co_task;

namespace detail {

/// Resumes the awaiting coroutine when a co_task ends (symmetric transfer: no stack growth).
struct co_final_awaiter {
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
    if (auto next = h.promise().continuation)
      return next;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct co_promise_base {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  co_final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct co_promise : co_promise_base {
  std::optional<T> value;
  co_task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

template <>
struct co_promise<void> : co_promise_base {
  co_task<void> get_return_object() noexcept;
  void return_void() noexcept {}
};

} // namespace detail

/// The return type of a coroutine task (and of coroutines such a task awaits). Lazily started:
/// nothing runs until the worker (or an awaiting co_task) resumes it. Move-only; owns its frame.
template <class T>
class co_task {
public:
  using promise_type = detail::co_promise<T>;
  using value_type = T;

  co_task() noexcept = default;
  explicit co_task(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  co_task(co_task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  co_task& operator=(co_task&& other) noexcept {
    if (this != &other) {
      reset();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  co_task(const co_task&) = delete;
  co_task& operator=(const co_task&) = delete;
  ~co_task() { reset(); }

  /// Awaiting a co_task runs it to its end and gives its value (or rethrows its exception).
  bool await_ready() const noexcept { return !h_ || h_.done(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    h_.promise().continuation = awaiting;
    return h_;
  }
  T await_resume() { return take(); }

  // -- for the worker ---------------------------------------------------------------------------

  std::coroutine_handle<> handle() const noexcept { return h_; }
  bool done() const noexcept { return !h_ || h_.done(); }

  /// The result of an ended co_task: its value, or its exception rethrown.
  T take() {
    if (!h_)
      throw std::logic_error("co_task: awaited an empty co_task (default-constructed or moved from)");
    auto& p = h_.promise();
    if (p.error)
      std::rethrow_exception(p.error);
    if constexpr (!std::is_void_v<T>)
      return std::move(*p.value);
  }

private:
  void reset() noexcept {
    if (h_)
      h_.destroy();
    h_ = {};
  }

  std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class T>
co_task<T> co_promise<T>::get_return_object() noexcept {
  return co_task<T>{std::coroutine_handle<co_promise<T>>::from_promise(*this)};
}

inline co_task<void> co_promise<void>::get_return_object() noexcept {
  return co_task<void>{std::coroutine_handle<co_promise<void>>::from_promise(*this)};
}

template <class T>
struct is_co_task : std::false_type {};
template <class T>
struct is_co_task<co_task<T>> : std::true_type {};

} // namespace detail

} // namespace hatchet
