#pragma once
// What a running task can see of its run and of the worker: ids, metadata, cancellation, and the
// lifespan state (read-only); what it can tell the engine while it runs: log lines, stream
// chunks, a longer timeout, giving its slot back; and the child runs it starts (spawn, run_child).
//
// Talking to the engine from a task. log() and put_stream() never block, in any task: each queues
// its call behind the run's earlier ones (one call in flight per run, so the engine receives them
// in order) and a failure is logged by the worker, not thrown. The run's outcome goes to the
// engine only after its log lines and chunks have been answered, so a client reading the stream
// gets every chunk before the run's end. refresh_timeout() and
// release_slot() depend on where they are called: in a synchronous task (a task thread of its
// own) they wait for the engine's answer and throw engine_call_error if it refuses; in a co_task
// they never block a thread (the co_task runs on CAF's scheduler): they send the call and return
// at once, and the worker logs a refusal. A co_task that must know the outcome can make the call
// inside co_await ctx.run_blocking(...), where it waits on a task thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/depends.hpp"
#include "hatchet/detail/awaiters.hpp"
#include "hatchet/detail/lifespan_state.hpp"
#include "hatchet/detail/run_info.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_result.hpp"
#include "hatchet/task_ref.hpp"

namespace hatchet {

/// A handle on a run (hatchet/run_ref.hpp). ctx.spawn returns one: code that calls it includes
/// <hatchet/run_ref.hpp> (or <hatchet/hatchet.hpp>), as a client's code does.
class run_ref;

namespace detail {
class client_core;        // client/client_core.hpp: the connection child runs are started on
class dependency_scope;   // core/dependency_scope.hpp: the run's built dependencies
struct context_access;    // core/context_access.hpp: what the worker sets and reads
} // namespace detail

/// Thrown by ctx.parent_output<T>(task) when that task has no output in this run's parents, or
/// its output does not convert to T. The run fails (retryable) unless the task catches it.
class parent_output_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Thrown in a synchronous task by ctx.refresh_timeout() and ctx.release_slot() when the engine
/// refused the call or could not be reached; the message says which call and why.
class engine_call_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The level of a log line (PutLog's `level`).
enum class log_level { debug, info, warn, error };

class context {
public:
  /// `state` is borrowed: the run that owns this context holds the state for as long as the
  /// context lives, so each run holds exactly one reference (the lifespan gate counts those).
  context(detail::run_info info, const detail::lifespan_state* state, std::stop_token stop,
          detail::async_hooks* hooks = nullptr);

  ~context();
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

  const std::string& workflow_run_id() const noexcept { return ids().workflow_run_id; }
  const std::string& task_run_external_id() const noexcept { return ids().task_run_external_id; }
  const std::string& task_name() const noexcept { return detail::string_or_empty(info_.task_name); }
  const std::string& action_id() const noexcept { return ids().action_id; }
  /// 0 on the first attempt.
  int retry_count() const noexcept { return ids().retry_count; }
  /// The run's priority as the engine assigned it: 1 (low) to 3 (high).
  int priority() const noexcept { return info_.priority; }
  /// The run's additional metadata (a JSON object, empty when none was given).
  const nlohmann::json& additional_metadata() const noexcept {
    return detail::object_or_empty(info_.additional_metadata);
  }
  /// Outputs of completed parent tasks in a DAG, by parent task name.
  const nlohmann::json& parents() const noexcept { return detail::object_or_empty(info_.parents); }

  /// The output of the parent task `task`, converted to T through nlohmann (from_json). Throws
  /// parent_output_error naming the task when this run has no output of it (not a parent, or
  /// misspelt) or when the output does not convert to T.
  template <class T>
  T parent_output(const std::string& task) const {
    const auto& all = parents();
    auto it = all.find(task);
    if (it == all.end())
      throw_no_parent_output(task);
    try {
      return it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw parent_output_error("task '" + task_name() + "': the output of parent task '"
                                + task + "' does not convert to " + detail::demangle(typeid(T).name())
                                + ": " + e.what());
    }
  }

  /// The output of the parent task `task` (what workflow::task returned for it), as that task's
  /// output type: `ctx.parent_output(first)`. Throws as the form by name does.
  template <class Out>
  Out parent_output(const task_ref<Out>& task) const {
    static_assert(!std::is_void_v<Out>, "ctx.parent_output(task): that task returns nothing");
    return parent_output<Out>(task.name());
  }

  /// In an on-failure task (workflow::on_failure): the error text of each task of the run that
  /// failed for good, by task name (the payload's `step_run_errors`). Empty in other tasks.
  const nlohmann::json& task_run_errors() const noexcept {
    return detail::object_or_empty(info_.step_run_errors);
  }

  /// The id the engine gave this worker when it registered (the one its dashboard shows).
  const std::string& worker_id() const noexcept { return detail::string_or_empty(info_.worker_id); }

  /// Sends a log line to the engine, stored with this task run (PutLog). Never blocks; lines go
  /// out in the order they were logged. Empty text is not sent; text over 10,000 characters (the
  /// engine's limit) is cut to 10,000. A refusal is logged by the worker.
  void log(std::string_view text, log_level level = log_level::info);

  /// Sends a chunk of this run's stream (PutStreamEvent), which a client subscribed to the run
  /// receives in order (hatchet::client::subscribe_stream). Never blocks. Each chunk carries the
  /// next event_index of this attempt, from 0. A chunk sent while nobody is subscribed is lost,
  /// as on a real engine.
  void put_stream(std::string_view bytes);

  /// Moves this run's execution deadline `by` later (RefreshTimeout; the engine adds it to the
  /// current deadline, not to now). A synchronous task waits for the answer and throws
  /// engine_call_error on a refusal; a co_task returns at once (see the file comment).
  template <class Rep, class Period>
  void refresh_timeout(std::chrono::duration<Rep, Period> by) {
    refresh_timeout_ms(std::chrono::ceil<std::chrono::milliseconds>(by));
  }

  /// Gives this run's slot back while the run goes on (ReleaseSlot): the engine may assign
  /// another run to this worker at once, and the worker starts it although this one still runs.
  /// For the long tail of a task that no longer needs the worker's capacity (waiting on an
  /// external system). Blocking and errors as refresh_timeout.
  void release_slot();

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
  /// spawn(...)->result<Out>() there). Give the awaiter a name and co_await that:
  ///   auto child = ctx.run_child<Out>("Child", input);  auto out = co_await child;
  /// GCC 12 destroys the temporaries of a co_await expression wrongly (the arguments converted
  /// here, the default options), which crashes once the co_task resumes.
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

  /// The resource the dependency `d` built for this run (see hatchet/depends.hpp). Throws
  /// dependency_error when the task did not declare `d` in task_options::depends (nor needs it
  /// through a declared one). The resource lives until the task has ended.
  template <class T>
  T& use(const dependency<T>& d) {
    return *static_cast<T*>(find_dependency(*d.provider()));
  }

private:
  friend struct detail::context_access;

  /// The run's engine calls, made on first use; null when not connected to an engine.
  detail::engine_calls* engine();
  /// engine(), or std::logic_error naming `what` when not connected.
  detail::engine_calls* require_calls(const char* what);
  /// A call with an answer: waited for in a synchronous task, sent and left in a co_task.
  void call_engine(const char* what,
                   const std::function<void(std::function<void(caf::error)>)>& start);
  void refresh_timeout_ms(std::chrono::milliseconds by);
  /// The resource `p` built for this run, or dependency_error naming it.
  void* find_dependency(const detail::provider_base& p) const;
  [[noreturn]] void throw_no_parent_output(const std::string& task) const;

  using child_done = std::function<void(caf::expected<run_result>)>;
  /// Takes the next child index now and returns what starts that child (asynchronously) and
  /// reports its result once. Defined in api/child_runs.cpp, with spawn.
  std::function<void(child_done)> child_starter(const std::string& workflow,
                                                const nlohmann::json& input,
                                                const run_options& options);

  /// The co_task hooks, or std::logic_error naming `what` in a synchronous task.
  detail::async_hooks* require_hooks(const char* what) const;

  const detail::run_ids& ids() const noexcept {
    return info_.ids ? *info_.ids : detail::no_run_ids();
  }

  detail::run_info info_;
  const detail::lifespan_state* state_;
  std::stop_token stop_;
  detail::async_hooks* hooks_ = nullptr;
  const detail::engine_calls_source* calls_source_ = nullptr;
  std::once_flag calls_made_;
  std::shared_ptr<detail::engine_calls> calls_;
  std::shared_ptr<detail::client_core> client_;
  /// Per attempt, from 0, as the official SDKs count (the TS SDK's nextChildIndex).
  std::atomic<int> next_child_index_{0};
  /// Destroyed after the callbacks (members go in reverse order): no cancel callback can reach a
  /// resource being torn down.
  std::unique_ptr<detail::dependency_scope> deps_;
  std::vector<std::unique_ptr<std::stop_callback<std::function<void()>>>> callbacks_;
};

} // namespace hatchet
