#pragma once
// What a running task can see of its run and of the worker: ids, metadata, cancellation, and the
// lifespan state (read-only); and the child runs it starts (spawn, run_child).

#include <chrono>
#include <coroutine>
#include <exception>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <variant>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/depends.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/lifespan.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_result.hpp"

namespace hatchet {

class run_ref; // run_ref.hpp, included at the end of this file

namespace detail {

class client_core; // client/client_core.hpp: the connection child runs are started on

/// The per-run facts the worker hands to a context. Internal: built by the task actor.
struct run_info {
  std::string workflow_run_id;
  std::string task_run_external_id;
  std::string task_name;
  std::string action_id;
  int retry_count = 0;
  int priority = 1;
  nlohmann::json additional_metadata = nlohmann::json::object();
  nlohmann::json parents = nlohmann::json::object();
};

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
      return make_error(errc::cancelled, "the task was cancelled while it waited");
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

} // namespace detail

class context {
public:
  /// `state` is borrowed: the run that owns this context holds the state for as long as the
  /// context lives, so each run holds exactly one reference (the lifespan gate counts those).
  context(detail::run_info info, const detail::lifespan_state* state, std::stop_token stop,
          detail::async_hooks* hooks = nullptr)
    : info_(std::move(info)), state_(state), stop_(std::move(stop)), hooks_(hooks) {
  }

  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// The state the worker's lifespan yielded, as const: tasks share one object and must not
  /// change it. Throws lifespan_type_error, naming both types, when T is not the yielded type,
  /// and when the worker has no lifespan.
  template <class T>
  const T& lifespan() const {
    static_assert(std::is_object_v<T>, "ctx.lifespan<T>(): T must be an object type");
    using plain = std::remove_cv_t<T>;
    if (!state_)
      throw lifespan_type_error("ctx.lifespan<" + detail::demangle(typeid(plain).name())
                                + ">() called, but this worker has no lifespan");
    if (state_->type != typeid(plain))
      throw lifespan_type_error("ctx.lifespan<" + detail::demangle(typeid(plain).name())
                                + ">() called, but the lifespan yielded "
                                + detail::demangle(state_->type.name()));
    return *static_cast<const plain*>(state_->value.get());
  }

  /// Which lifespan state this run holds: 1 for the worker's first, then the number of the reload
  /// that built it (every reload started takes the next number, so a failed one leaves a gap;
  /// hatchet::reload, SIGHUP for hatchet-worker); 0 when the worker has no lifespan. A run
  /// keeps the state it started with to its end, whatever reloads happen meanwhile.
  uint64_t lifespan_generation() const noexcept { return state_ ? state_->generation : 0; }

  /// True once the engine cancelled this run (or the worker is cancelling it at shutdown). A
  /// cancelled run reports nothing back: whatever the task returns is dropped.
  bool cancelled() const noexcept { return stop_.stop_requested(); }

  /// For loops that poll, or for std::stop_callback / std::condition_variable_any waits.
  std::stop_token stop_token() const noexcept { return stop_; }

  /// Runs `fn` once when the run is cancelled (at once, on this thread, if it already is);
  /// otherwise on the thread that cancels it, so keep it short and non-blocking. The callback is
  /// unregistered when the context ends with the task.
  void on_cancel(std::function<void()> fn) {
    callbacks_.push_back(
      std::make_unique<std::stop_callback<std::function<void()>>>(stop_, std::move(fn)));
  }

  /// In a co_task: waits `d` without holding a thread. Yields true when the time passed, false
  /// when the run was cancelled first (it then wakes at once). Throws std::logic_error in a
  /// synchronous task, which has a thread of its own to wait on (see stop_token()).
  template <class Rep, class Period>
  detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) const {
    return {require_hooks("sleep_for"), std::chrono::duration_cast<std::chrono::nanoseconds>(d),
            stop_};
  }

  /// In a co_task: runs `fn` (blocking I/O, a CPU-heavy step) on one of the worker's task
  /// threads and yields its result, or rethrows its exception. The co_task holds no thread
  /// while it waits; `fn` itself is not interrupted by a cancellation (pass it stop_token()).
  /// Throws std::logic_error in a synchronous task.
  template <class F>
  detail::blocking_awaiter<std::decay_t<F>> run_blocking(F&& fn) const {
    return {require_hooks("run_blocking"), std::forward<F>(fn)};
  }

  /// In a co_task: starts an operation that completes on some other thread (a gRPC callback, a
  /// listener thread) and waits for it without holding a thread. `start` gets the completion
  /// function: call it once, from any thread, with the value or an error; the co_task then
  /// resumes on its own actor, never on the caller's thread. Yields that value, or
  /// errc::cancelled when the run is cancelled first (the operation itself goes on, and its
  /// late completion is dropped). run_ref::async_result is built on it. Throws
  /// std::logic_error in a synchronous task.
  template <class T>
  detail::callback_awaiter<T>
  await_callback(typename detail::callback_awaiter<T>::start_fn start) const {
    return {require_hooks("await_callback"), std::move(start), stop_};
  }

  const std::string& workflow_run_id() const noexcept { return info_.workflow_run_id; }
  const std::string& task_run_external_id() const noexcept { return info_.task_run_external_id; }
  const std::string& task_name() const noexcept { return info_.task_name; }
  const std::string& action_id() const noexcept { return info_.action_id; }
  /// 0 on the first attempt.
  int retry_count() const noexcept { return info_.retry_count; }
  /// The run's priority as the engine assigned it: 1 (low) to 3 (high).
  int priority() const noexcept { return info_.priority; }
  /// The run's additional metadata (a JSON object, empty when none was given).
  const nlohmann::json& additional_metadata() const noexcept { return info_.additional_metadata; }
  /// Outputs of completed parent tasks in a DAG, by parent task name.
  const nlohmann::json& parents() const noexcept { return info_.parents; }

  // -- child runs ---------------------------------------------------------------------------

  /// Starts a run of `workflow` as a child of this task and returns at once (one short blocking
  /// TriggerWorkflow call): the engine links it to this task (parent_task_run_external_id), with
  /// this task's next child index (0, 1, 2, ... per attempt, in call order) and options.key as
  /// its child key. A second spawn with the same key (or, without a key, the same index) from
  /// this task gives back the first run instead of starting another: so a retried task that
  /// spawns the same children in the same order gets its earlier children back. Of `options`,
  /// additional_metadata, priority and key are sent (the child does not inherit this run's
  /// metadata). Errors: those of client::run_no_wait.
  caf::expected<run_ref> spawn(const std::string& workflow,
                               const nlohmann::json& input = nlohmann::json::object(),
                               const run_options& options = {});

  /// In a co_task: spawns a child as spawn() does and waits for its result without holding a
  /// thread (the trigger is asynchronous too), yielding what run_ref::result<Out>() would:
  /// the child's output as Out, or errc::run_failed, errc::invalid_output, errc::unknown_workflow,
  /// ...; errc::cancelled when this task is cancelled first (the child goes on). The child index
  /// is taken when run_child is called. Throws std::logic_error in a synchronous task (use
  /// spawn(...)->result<Out>() there).
  template <class Out = nlohmann::json>
  detail::callback_awaiter<Out> run_child(const std::string& workflow,
                                          const nlohmann::json& input = nlohmann::json::object(),
                                          const run_options& options = {}) {
    require_hooks("run_child");
    auto start = child_starter(workflow, input, options);
    return await_callback<Out>(
      [start = std::move(start)](std::function<void(caf::expected<Out>)> complete) {
        start([complete = std::move(complete)](caf::expected<run_result> r) {
          if (!r)
            complete(std::move(r.error()));
          else
            complete(detail::typed_result<Out>(*r));
        });
      });
  }

  /// The child index the next spawn or run_child of this attempt takes (0 before the first).
  int next_child_index() const noexcept { return next_child_index_.load(); }

  /// Internal: the connection child runs are started on (set by the worker before the task).
  void attach_client(std::shared_ptr<detail::client_core> core) { client_ = std::move(core); }

  /// The resource the dependency `d` built for this run (see hatchet/depends.hpp). Throws
  /// dependency_error when the task did not declare `d` in task_options::depends (nor needs it
  /// through a declared one). The resource lives until the task has ended.
  template <class T>
  T& use(const dependency<T>& d) {
    void* built = deps_ ? deps_->find(d.provider().get()) : nullptr;
    if (built == nullptr)
      throw dependency_error("task '" + info_.task_name + "' uses the dependency '" + d.name()
                             + "', which it does not declare (task_options::depends)");
    return *static_cast<T*>(built);
  }

  /// Internal: unregisters the on_cancel callbacks (waiting for one already running), so that
  /// none runs once the task has ended and its dependencies are torn down.
  void end_callbacks() noexcept { callbacks_.clear(); }

  /// Internal: the run's dependencies, set by the worker before the task when it declares any.
  detail::dependency_scope* dependencies() noexcept { return deps_.get(); }
  void attach_dependencies(std::unique_ptr<detail::dependency_scope> scope) {
    deps_ = std::move(scope);
  }

private:
  using child_done = std::function<void(caf::expected<run_result>)>;
  /// Takes the next child index now and returns what starts that child (asynchronously) and
  /// reports its result once. Defined in client/child_runs.cpp.
  std::function<void(child_done)> child_starter(const std::string& workflow,
                                                const nlohmann::json& input,
                                                const run_options& options);

  detail::async_hooks* require_hooks(const char* what) const {
    if (hooks_ == nullptr)
      throw std::logic_error(std::string{"ctx."} + what
                             + "() is for co_task tasks; a synchronous task has a thread of its "
                               "own and can wait on ctx.stop_token()");
    return hooks_;
  }

  detail::run_info info_;
  const detail::lifespan_state* state_;
  std::stop_token stop_;
  detail::async_hooks* hooks_ = nullptr;
  std::shared_ptr<detail::client_core> client_;
  /// Per attempt, from 0, as the official SDKs count (the TS SDK's nextChildIndex).
  std::atomic<int> next_child_index_{0};
  /// Destroyed after the callbacks (members go in reverse order): no cancel callback can reach a
  /// resource being torn down.
  std::unique_ptr<detail::dependency_scope> deps_;
  std::vector<std::unique_ptr<std::stop_callback<std::function<void()>>>> callbacks_;
};

} // namespace hatchet

// ctx.spawn returns a run_ref, whose header needs context complete: it comes after the class.
#include "hatchet/run_ref.hpp"
