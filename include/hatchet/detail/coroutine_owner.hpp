#pragma once
// What the single-yield coroutines of the public API share (a lifespan, a dependency's resource):
// the promise's common part, running the two halves, owning the frame, and the guard against a
// GCC 12 miscompilation of aggregates yielded across a suspension.

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace hatchet::detail {

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
template <class T>
inline constexpr bool aggregate_yield_is_broken =
  std::is_aggregate_v<T> && !std::is_trivially_destructible_v<T>;
#else
template <class T>
inline constexpr bool aggregate_yield_is_broken = false;
#endif

/// What the single-yield coroutines here share (a lifespan, a dependency's resource): suspended
/// at the start and at the end, so a driver resumes each part itself; the exception kept for it.
struct single_yield_promise {
  int yields = 0;
  std::exception_ptr error;

  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

/// Runs a single-yield coroutine to its co_yield; rethrows what it threw. False when it ended
/// without yielding a value.
template <class Promise>
bool resume_to_yield(std::coroutine_handle<Promise> h) {
  h.resume();
  auto& p = h.promise();
  if (p.error)
    std::rethrow_exception(std::exchange(p.error, nullptr));
  return !h.done() && static_cast<bool>(p.value);
}

/// Runs a single-yield coroutine from its co_yield to its end; rethrows what it threw. False when
/// it yielded again instead of ending.
template <class Promise>
bool resume_to_end(std::coroutine_handle<Promise> h) {
  h.resume();
  auto& p = h.promise();
  if (p.error)
    std::rethrow_exception(std::exchange(p.error, nullptr));
  return h.done();
}

/// Owns a coroutine frame: move-only, destroyed with its owner.
template <class Promise>
class coroutine_owner {
public:
  coroutine_owner(coroutine_owner&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  coroutine_owner& operator=(coroutine_owner&&) = delete;
  coroutine_owner(const coroutine_owner&) = delete;
  ~coroutine_owner() {
    if (handle_)
      handle_.destroy();
  }

protected:
  explicit coroutine_owner(std::coroutine_handle<Promise> h) : handle_(h) {}
  std::coroutine_handle<Promise> handle_;
};

} // namespace hatchet::detail
