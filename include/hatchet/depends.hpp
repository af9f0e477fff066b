#pragma once
// Per-run dependencies: resources a task declares, built from the lifespan state and the run's
// context before the task, and torn down after it, whatever the outcome.
//
//   // A provider: setup, co_yield the resource, teardown (after the task, in any case).
//   auto connection = hatchet::provide("connection", [](hatchet::context& ctx)
//                                         -> hatchet::resource<pqxx::connection*> {
//     auto lease = ctx.lifespan<State>().pool->acquire();
//     co_yield lease.get();
//   }); // the lease goes back to the pool when the coroutine ends
//
//   // A provider may need others; they are built first and torn down after it.
//   auto transaction = hatchet::provide("transaction", [connection](hatchet::context& ctx)
//                                          -> hatchet::resource<pqxx::work*> { ... }, connection);
//
//   wf.task("query", [&](const In& in, hatchet::context& ctx) {
//     auto* conn = ctx.use(connection);
//     ...
//   }, {.depends = {connection}});
//
// A provider may also return its value directly (no teardown). Each declared dependency, and each
// one it needs, is built once per run, in order, before the task's first line; they are torn
// down in the reverse order after the task has returned, thrown or been cancelled, and at a
// worker stop for a run given up on. A provider that throws (or ends without co_yield) fails that
// run only, with a message naming it; what was built before it is torn down. Setup and teardown
// run on a task thread, also for a co_task, so they may block.

#include <coroutine>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "hatchet/detail/coroutine_owner.hpp"
#include "hatchet/detail/provider.hpp"

namespace hatchet {

class context;

/// A provider failed: its setup threw or ended without co_yield, or a task used a dependency it
/// did not declare. The run ends FAILED with this message (retryable).
class dependency_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

template <class T>
class resource;

namespace detail {

template <class T>
class built_resource_of;

template <class R>
struct is_resource : std::false_type {};
template <class T>
struct is_resource<resource<T>> : std::true_type {};

/// The resource type a provider returning R gives: T for resource<T>, else R itself.
template <class R>
struct provided {
  using type = std::decay_t<R>;
};
template <class T>
struct provided<resource<T>> {
  using type = T;
};

} // namespace detail

namespace detail {
template <class T>
struct resource_promise;
} // namespace detail

/// The coroutine a provider returns: setup, `co_yield` the resource once, teardown.
template <class T>
class resource : public detail::coroutine_owner<detail::resource_promise<T>> {
public:
  static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                "resource<T>: T must be a plain object type (a pointer or handle is typical)");

  using promise_type = detail::resource_promise<T>;

private:
  template <class>
  friend class detail::built_resource_of;
  friend struct detail::resource_promise<T>;

  explicit resource(std::coroutine_handle<promise_type> h)
    : detail::coroutine_owner<promise_type>(h) {
  }
};

namespace detail {

template <class T>
struct resource_promise : single_yield_promise {
  std::optional<T> value;

  resource<T> get_return_object() {
    return resource<T>{std::coroutine_handle<resource_promise>::from_promise(*this)};
  }

  std::suspend_always yield_value(T x)
    requires(!aggregate_yield_is_broken<T>)
  {
    if (++yields == 1)
      value.emplace(std::move(x));
    return {};
  }

  template <class U = T>
    requires aggregate_yield_is_broken<U>
  std::suspend_always yield_value(U&&) {
    static_assert(!aggregate_yield_is_broken<U>,
                  "co_yield of an aggregate is miscompiled by GCC 12 (double destruction of its "
                  "members); yield a pointer or a handle to it instead");
    return {};
  }

  template <class Awaitable>
  Awaitable&& await_transform(Awaitable&& a) {
    static_assert(sizeof(Awaitable) == 0,
                  "a provider cannot co_await: its setup and teardown run as plain code on a "
                  "task thread; call blocking code directly");
    return std::forward<Awaitable>(a);
  }
};

} // namespace detail

namespace detail {

template <class T>
class built_resource_of final : public built_resource {
public:
  /// Runs the setup to its co_yield; throws what it threw, or if it ended without co_yield.
  explicit built_resource_of(resource<T> coro) : coro_(std::move(coro)) {
    if (!resume_to_yield(coro_.handle_))
      throw dependency_error("it returned without co_yield; a provider must co_yield its "
                             "resource exactly once");
  }

  void* get() noexcept override { return &*coro_.handle_.promise().value; }

  void teardown() override {
    auto& h = coro_.handle_;
    if (!h || h.done())
      return;
    if (!resume_to_end(h))
      throw dependency_error("it yielded a second time during its teardown");
  }

private:
  resource<T> coro_;
};

/// A provider that returns its value directly: nothing to tear down.
template <class T>
class built_value final : public built_resource {
public:
  explicit built_value(T value) : value_(std::move(value)) {}
  void* get() noexcept override { return &value_; }
  void teardown() override {}

private:
  T value_;
};

template <class T, class F>
class provider_of final : public provider_base {
public:
  explicit provider_of(F fn) : fn_(std::move(fn)) {}

  std::unique_ptr<built_resource> build(context& ctx) const override {
    using result = std::invoke_result_t<const F&, context&>;
    if constexpr (is_resource<result>::value)
      return std::make_unique<built_resource_of<T>>(fn_(ctx));
    else
      return std::make_unique<built_value<T>>(fn_(ctx));
  }

private:
  F fn_;
};

} // namespace detail

/// A provider, as a task declares it (`task_options::depends`) and uses it (`ctx.use(d)`).
template <class T>
class dependency {
public:
  const std::string& name() const noexcept { return provider_->name; }
  const detail::provider_ptr& provider() const noexcept { return provider_; }
  /// So that `{.depends = {a, b}}` reads naturally.
  operator detail::provider_ptr() const { return provider_; } // NOLINT: implicit on purpose

private:
  template <class F, class... Needs>
  friend auto provide(std::string name, F fn, const Needs&... needs);

  explicit dependency(detail::provider_ptr p) : provider_(std::move(p)) {}
  detail::provider_ptr provider_;
};

/// Declares a provider named `name`: `fn(context&)` returns `resource<T>` (a coroutine with a
/// setup and a teardown) or a `T` directly. `needs` are dependencies `fn` itself uses (through
/// ctx.use); they are built before it and torn down after it.
template <class F, class... Needs>
auto provide(std::string name, F fn, const Needs&... needs) {
  using result = std::invoke_result_t<const F&, context&>;
  using actual = typename detail::provided<result>::type;
  auto p = std::make_shared<detail::provider_of<actual, F>>(std::move(fn));
  p->name = std::move(name);
  p->needs = {needs.provider()...};
  return dependency<actual>{std::move(p)};
}

} // namespace hatchet
