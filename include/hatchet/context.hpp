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

#include <chrono>
#include <condition_variable>
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
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <variant>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <caf/error.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/depends.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/lifespan.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_ids.hpp"
#include "hatchet/run_result.hpp"

namespace hatchet {

class run_ref; // run_ref.hpp, included at the end of this file

namespace detail {

class client_core; // client/client_core.hpp: the connection child runs are started on

/// The per-run facts the worker hands to a context. Internal: built by the task actor. Nothing
/// here is a copy made for the context: the ids are the run's shared ones, the names are borrowed
/// from what the run holds for as long as its context lives (its task's definition, the worker's
/// services), and a JSON member left null stands for an empty object (none given), so that a run
/// without metadata or parents allocates nothing for them.
struct run_info {
  run_ids_ptr ids;                          ///< null only without a run (unit tests)
  const std::string* task_name = nullptr;   ///< borrowed; null: ""
  int priority = 1;
  nlohmann::json additional_metadata;       ///< an object, or null for {}
  nlohmann::json parents;                   ///< an object, or null for {}
  /// The worker's id as the engine registered it (borrowed; null: "").
  const std::string* worker_id = nullptr;
  /// The payload's `step_run_errors` (an on-failure task's input): error text by task name; an
  /// object, or null for {}.
  nlohmann::json step_run_errors;
};

/// `j`, or an empty object when `j` is null (see run_info).
inline const nlohmann::json& object_or_empty(const nlohmann::json& j) noexcept {
  static const nlohmann::json empty = nlohmann::json::object();
  return j.is_null() ? empty : j;
}

/// `*s`, or "" when `s` is null (see run_info).
inline const std::string& string_or_empty(const std::string* s) noexcept {
  static const std::string empty;
  return s != nullptr ? *s : empty;
}

/// `text` cut to at most `max_chars` characters (UTF-8 code points, as the engine counts them),
/// never inside a character.
inline std::string cut_to_characters(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars)
      return std::string{text.substr(0, i)};
  }
  return std::string{text};
}

/// How a context reaches the engine for its run. Internal: implemented by the worker
/// (actors/run_link); each run has its own, made for its attempt.
struct engine_calls {
  virtual ~engine_calls() = default;
  /// Queued behind the run's earlier log lines and chunks; never blocks; failures are logged.
  virtual void put_log(std::string text, std::string level) = 0;
  /// As put_log; the chunk gets the run's next event_index (0, 1, 2, ...).
  virtual void put_stream(std::string bytes) = 0;
  /// Sends the call; `done` runs once, on another thread, with its outcome (no error: success).
  virtual void refresh_timeout(std::chrono::milliseconds by,
                               std::function<void(caf::error)> done) = 0;
  virtual void release_slot(std::function<void(caf::error)> done) = 0;
  /// Runs `fn` once every log line and chunk queued so far has been answered: at once, here,
  /// when none is in flight; else on the thread of the last answer.
  virtual void when_drained(std::function<void()> fn) = 0;
};

/// Makes a run's engine_calls on its first use, so that a run that never calls the engine costs
/// nothing. Internal: implemented by the worker; outlives every context it is attached to.
struct engine_calls_source {
  virtual ~engine_calls_source() = default;
  virtual std::shared_ptr<engine_calls> calls_for(const run_info& run) const = 0;
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
    if (it == all.end()) {
      std::string known;
      for (const auto& [name, value] : all.items())
        known += (known.empty() ? "'" : ", '") + name + "'";
      throw parent_output_error("task '" + task_name() + "': no output of parent task '" + task
                                + "' in this run (parents with outputs: "
                                + (known.empty() ? std::string{"none"} : known) + ")");
    }
    try {
      return it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw parent_output_error("task '" + task_name() + "': the output of parent task '"
                                + task + "' does not convert to " + detail::demangle(typeid(T).name())
                                + ": " + e.what());
    }
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
  void log(std::string_view text, log_level level = log_level::info) {
    auto* calls = engine();
    if (text.empty() || calls == nullptr)
      return;
    static constexpr const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    calls->put_log(detail::cut_to_characters(text, 10000), names[static_cast<int>(level)]);
  }

  /// Sends a chunk of this run's stream (PutStreamEvent), which a client subscribed to the run
  /// receives in order (hatchet::client::subscribe_stream). Never blocks. Each chunk carries the
  /// next event_index of this attempt, from 0. A chunk sent while nobody is subscribed is lost,
  /// as on a real engine.
  void put_stream(std::string_view bytes) {
    if (auto* calls = engine())
      calls->put_stream(std::string{bytes});
  }

  /// Moves this run's execution deadline `by` later (RefreshTimeout; the engine adds it to the
  /// current deadline, not to now). A synchronous task waits for the answer and throws
  /// engine_call_error on a refusal; a co_task returns at once (see the file comment).
  template <class Rep, class Period>
  void refresh_timeout(std::chrono::duration<Rep, Period> by) {
    call_engine("refresh_timeout", [&](std::function<void(caf::error)> done) {
      require_calls("refresh_timeout")->refresh_timeout(
        std::chrono::ceil<std::chrono::milliseconds>(by), std::move(done));
    });
  }

  /// Gives this run's slot back while the run goes on (ReleaseSlot): the engine may assign
  /// another run to this worker at once, and the worker starts it although this one still runs.
  /// For the long tail of a task that no longer needs the worker's capacity (waiting on an
  /// external system). Blocking and errors as refresh_timeout.
  void release_slot() {
    call_engine("release_slot", [&](std::function<void(caf::error)> done) {
      require_calls("release_slot")->release_slot(std::move(done));
    });
  }

  /// Internal: how this run reaches the engine (set by the worker before the task starts).
  void attach_engine_calls(const detail::engine_calls_source* source) noexcept {
    calls_source_ = source;
  }
  /// Internal: the run's engine calls if the task made any (read once the task has ended).
  const std::shared_ptr<detail::engine_calls>& engine_calls() const noexcept { return calls_; }
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

  /// Internal: the connection child runs are started on (set by the worker before the task).
  void attach_client(std::shared_ptr<detail::client_core> core) { client_ = std::move(core); }

  /// The resource the dependency `d` built for this run (see hatchet/depends.hpp). Throws
  /// dependency_error when the task did not declare `d` in task_options::depends (nor needs it
  /// through a declared one). The resource lives until the task has ended.
  template <class T>
  T& use(const dependency<T>& d) {
    void* built = deps_ ? deps_->find(d.provider().get()) : nullptr;
    if (built == nullptr)
      throw dependency_error("task '" + task_name() + "' uses the dependency '" + d.name()
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
  /// The run's engine calls, made on first use; null when not connected to an engine.
  detail::engine_calls* engine() {
    std::call_once(calls_made_, [this] {
      if (calls_source_ != nullptr)
        calls_ = calls_source_->calls_for(info_);
    });
    return calls_.get();
  }

  detail::engine_calls* require_calls(const char* what) {
    auto* calls = engine();
    if (calls == nullptr)
      throw std::logic_error(std::string{"ctx."} + what
                             + "(): this context is not connected to an engine");
    return calls;
  }

  /// A call with an answer: waited for in a synchronous task, sent and left in a co_task.
  void call_engine(const char* what,
                   const std::function<void(std::function<void(caf::error)>)>& start) {
    if (hooks_ != nullptr) // a co_task: never block CAF's scheduler; the worker logs a refusal
      return start([](caf::error) {});
    struct answer {
      std::mutex mtx;
      std::condition_variable cv;
      bool done = false;
      caf::error err;
    };
    auto a = std::make_shared<answer>();
    start([a](caf::error err) {
      std::lock_guard lock{a->mtx};
      a->err = std::move(err);
      a->done = true;
      a->cv.notify_all();
    });
    std::unique_lock lock{a->mtx};
    a->cv.wait(lock, [&] { return a->done; });
    if (a->err)
      throw engine_call_error(std::string{"ctx."} + what + "() failed: "
                              + describe(a->err));
  }
  using child_done = std::function<void(caf::expected<run_result>)>;
  /// Takes the next child index now and returns what starts that child (asynchronously) and
  /// reports its result once. Defined in api/child_runs.cpp.
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

// ctx.spawn returns a run_ref, whose header needs context complete: it comes after the class.
#include "hatchet/run_ref.hpp"
