#pragma once
// The worker lifespan: state set up once before the worker registers, shared read-only by every
// task it runs, and cleaned up once after the last task has finished.
//
// A lifespan is a C++20 coroutine returning `hatchet::lifespan<T>`. The code before its single
// `co_yield` is the setup; the value it yields becomes the shared state; the code after the
// `co_yield` is the cleanup:
//
//     hatchet::lifespan<State> make_state() {
//       auto pool = open_pool();                          // setup
//       co_yield hatchet::make_state<State>("bar", pool); // every task sees it as const State&
//       pool->close();                                    // cleanup, after the last task
//     }
//
// `make_state<T>(args...)` builds the state in place, on the heap, from `args` (aggregates too,
// with C++20 parenthesised initialisation). A non-aggregate state can also be yielded as a value
// (`co_yield Model{path}`), and is then moved, never copied.
//
// Why not `co_yield State{"bar", pool}` for an aggregate State: GCC 12 (Debian bookworm's
// compiler) miscompiles an aggregate temporary that lives across a coroutine suspension: its
// members are destroyed twice (a double free, found by AddressSanitizer). With GCC < 13 that form
// is therefore rejected at compile time with a message pointing here.
//
// Contract, and what happens when it is broken:
// - The setup throws: the worker never registers, the error is logged and run() returns
//   exit_code::startup_failed.
// - The coroutine ends without `co_yield`: detected right after the setup, same outcome as a
//   throwing setup (lifespan_error "returned without co_yield").
// - The coroutine yields a second time: detected when the cleanup runs; the coroutine frame is
//   destroyed at that point (its locals' destructors run), the error is logged and run() returns
//   exit_code::cleanup_failed. Code after the second co_yield never runs.
// - The cleanup throws: logged, shutdown completes, run() returns exit_code::cleanup_failed.

#include <concepts>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "hatchet/detail/coroutine_owner.hpp"
#include "hatchet/detail/lifespan_state.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

template <class T>
class lifespan;

namespace detail {

/// The arguments of make_state, held by reference until the state is built.
template <class T, class... Args>
struct state_args {
  std::tuple<Args&&...> refs;
};

template <class R>
struct is_lifespan : std::false_type {};

template <class T>
struct is_lifespan<lifespan<T>> : std::true_type {};

template <class T>
struct lifespan_promise;

template <class T>
class lifespan_driver_of;

} // namespace detail

template <class T>
class lifespan : public detail::coroutine_owner<detail::lifespan_promise<T>> {
public:
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                "lifespan<T>: T must be a plain object type; tasks receive it as const T&");

  using promise_type = detail::lifespan_promise<T>;

private:
  template <class>
  friend class detail::lifespan_driver_of;
  friend struct detail::lifespan_promise<T>;

  explicit lifespan(std::coroutine_handle<promise_type> h)
    : detail::coroutine_owner<promise_type>(h) {
  }
};

namespace detail {

template <class T>
struct lifespan_promise : single_yield_promise {
  std::shared_ptr<T> value;

  lifespan<T> get_return_object() {
    return lifespan<T>{std::coroutine_handle<lifespan_promise>::from_promise(*this)};
  }

  // The state is built in place on the heap (make_state), or moved from the yielded value;
  // never copied afterwards. A second yield is recorded, not stored; the driver reports it.
  template <class... Args>
  std::suspend_always yield_value(state_args<T, Args...>&& args) {
    if (++yields == 1)
      value = std::apply(
        [](auto&&... xs) { return std::make_shared<T>(std::forward<decltype(xs)>(xs)...); },
        std::move(args.refs));
    return {};
  }

  std::suspend_always yield_value(T&& x)
    requires(!aggregate_yield_is_broken<T>)
  {
    if (++yields == 1)
      value = std::make_shared<T>(std::move(x));
    return {};
  }

  template <class U = T>
    requires aggregate_yield_is_broken<U>
  std::suspend_always yield_value(U&&) {
    static_assert(!aggregate_yield_is_broken<U>,
                  "co_yield of an aggregate is miscompiled by GCC 12 (double destruction of its "
                  "members); write `co_yield hatchet::make_state<T>(args...)` instead (see "
                  "hatchet/lifespan.hpp)");
    return {};
  }

  // A lifespan runs its setup and cleanup straight through on the lifespan actor: nothing would
  // resume it after a co_await, so the runtime would report a wrong broken rule.
  template <class Awaitable>
  Awaitable&& await_transform(Awaitable&& a) {
    static_assert(sizeof(Awaitable) == 0,
                  "a lifespan cannot co_await: its setup (before co_yield) and cleanup (after "
                  "it) run as plain code on the lifespan actor; call blocking code directly");
    return std::forward<Awaitable>(a);
  }
};

template <class T>
class lifespan_driver_of final : public lifespan_driver {
public:
  explicit lifespan_driver_of(lifespan<T> coro) : coro_(std::move(coro)) {}

  lifespan_state_ptr setup() override {
    auto h = coro_.handle_;
    if (!resume_to_yield(h))
      throw lifespan_error("the lifespan returned without co_yield; it must co_yield its state "
                           "exactly once");
    // Aliasing constructor: the type-erased pointer shares ownership of the one yielded object.
    auto& p = h.promise();
    return std::make_shared<const lifespan_state>(
      lifespan_state{typeid(T), std::shared_ptr<const void>(p.value, p.value.get()), 1});
  }

  void cleanup() override {
    auto& h = coro_.handle_;
    if (!h || h.done())
      return;
    if (!resume_to_end(h)) {
      // Yielded again: end the coroutine here so its locals are destroyed, then report it.
      h.destroy();
      h = {};
      throw lifespan_error("the lifespan yielded a second time during cleanup; it must co_yield "
                           "exactly once (code after the second co_yield did not run)");
    }
  }

private:
  lifespan<T> coro_;
};

} // namespace detail

/// Builds the lifespan state in place from `args` when yielded: `co_yield make_state<T>(args...)`.
/// The arguments are taken by reference and used before the coroutine suspends.
template <class T, class... Args>
detail::state_args<T, Args...> make_state(Args&&... args) {
  return detail::state_args<T, Args...>{std::forward_as_tuple(std::forward<Args>(args)...)};
}

/// A type-erased lifespan factory: anything callable with no arguments that returns
/// `lifespan<T>` (usually the coroutine function itself). Empty means "no lifespan".
class lifespan_fn {
public:
  lifespan_fn() = default;

  template <class F>
    requires(!std::same_as<std::decay_t<F>, lifespan_fn>)
            && detail::is_lifespan<std::invoke_result_t<F&>>::value
  lifespan_fn(F f) // NOLINT: implicit on purpose, so `.lifespan = my_lifespan` reads naturally
    : make_([f = std::move(f)]() mutable -> std::unique_ptr<detail::lifespan_driver> {
        return make_driver(f());
      }) {
  }

  explicit operator bool() const noexcept { return static_cast<bool>(make_); }

  /// Creates the coroutine (suspended before its first line) and its driver.
  std::unique_ptr<detail::lifespan_driver> make() const { return make_(); }

private:
  template <class T>
  static std::unique_ptr<detail::lifespan_driver> make_driver(lifespan<T> coro) {
    return std::make_unique<detail::lifespan_driver_of<T>>(std::move(coro));
  }

  std::function<std::unique_ptr<detail::lifespan_driver>()> make_;
};

} // namespace hatchet
