#pragma once
// Workflows and typed tasks.
//
// A task is any callable `Out f(const In&, hatchet::context&)` where In and Out convert from and
// to JSON through nlohmann (`from_json`/`to_json`, or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE). Out may
// be void (the output is then `{}`). The output must serialise to a JSON object, as the Hatchet
// SDKs require; anything else fails the run with a message that says so.
//
// A synchronous task runs on a task thread of its own. A task that returns
// `hatchet::co_task<Out>` is a coroutine: it runs on its slot's actor and holds no thread while it
// waits in `co_await ctx.sleep_for(...)` or `co_await ctx.run_blocking(...)` (see co_task.hpp).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/context.hpp"
#include "hatchet/detail/task_def.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/task_options.hpp"
#include "hatchet/task_ref.hpp"

namespace hatchet {

/// The input/output type of a task that takes or returns nothing: `{}` on the wire.
struct empty_model {};
inline void to_json(nlohmann::json& j, const empty_model&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, empty_model&) {}

/// Thrown when a task's input does not decode into its input type; the run ends FAILED with the
/// task's name and the decoder's message.
class input_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class In>
In decode_input(const nlohmann::json& j, const std::string& task_name) {
  try {
    return j.get<In>();
  } catch (const nlohmann::json::exception& e) {
    throw input_error("task '" + task_name + "': the input does not match "
                      + demangle(typeid(In).name()) + ": " + e.what());
  }
}

} // namespace detail

class workflow {
public:
  /// `name` as the engine shows it; the namespace, if any, is prefixed at registration.
  explicit workflow(std::string name, std::string description = {})
    : name_(std::move(name)), description_(std::move(description)) {
  }

  /// Adds a task. `fn` is `Out(const In&, context&)` or `co_task<Out>(const In&, context&)`;
  /// see the file comment. Returns the task as a task_ref<Out>: a later task names it in
  /// `.parents` and reads its output with `ctx.parent_output(ref)`.
  template <class F>
  auto task(std::string name, F fn, task_options options = {}) {
    using sig = detail::task_signature<F>;
    using In = typename sig::input;
    using Out = typename sig::output;
    task_ref<typename detail::task_output<Out>::type> ref{name};
    if constexpr (detail::is_co_task<Out>::value) {
      using R = typename Out::value_type;
      // The input lives in this frame for the whole run, so the task may take it by reference.
      auto wrapped = [fn = std::move(fn), name](nlohmann::json j,
                                                context& ctx) mutable -> co_task<nlohmann::json> {
        In in = detail::decode_input<In>(j, name);
        // A named co_task rather than a temporary inside the co_await: GCC 12 mishandles some
        // temporaries that live across a suspension (see lifespan.hpp); a named local is
        // destroyed with the frame like any other, also when a stopping worker destroys the
        // frame mid-run.
        auto inner = fn(in, ctx);
        if constexpr (std::is_void_v<R>) {
          co_await inner;
          co_return nlohmann::json::object();
        } else {
          R out = co_await inner;
          nlohmann::json result = out;
          co_return result;
        }
      };
      tasks_.push_back(std::make_shared<const detail::task_def>(
        detail::task_def{std::move(name), std::move(options), {}, std::move(wrapped)}));
    } else {
      auto wrapped = [fn = std::move(fn), name](const nlohmann::json& j,
                                                context& ctx) mutable -> nlohmann::json {
        auto in = detail::decode_input<In>(j, name);
        if constexpr (std::is_void_v<Out>) {
          fn(in, ctx);
          return nlohmann::json::object();
        } else {
          return nlohmann::json(fn(in, ctx));
        }
      };
      tasks_.push_back(std::make_shared<const detail::task_def>(
        detail::task_def{std::move(name), std::move(options), std::move(wrapped), {}}));
    }
    return ref;
  }

  /// Starts a run of this workflow for every pushed event whose key matches one of `keys`
  /// (client.events().push). `*` matches any run of characters (`"user:*"`); anything else must
  /// match exactly, case-sensitively. The run's input is the event's payload; its additional
  /// metadata is the event's, plus `hatchet__event_id` and `hatchet__event_key`. The namespace,
  /// if any, is prefixed to each key, as the official SDKs do (pushes get the same prefix).
  /// Replaces the keys given before. Default: none.
  workflow& on_events(std::vector<std::string> keys) {
    event_triggers_ = std::move(keys);
    return *this;
  }

  /// Sets the workflow's on-failure task (one per workflow; a second call replaces the first):
  /// the engine runs it once per run, as soon as a task of the run has FAILED for good (its
  /// retries used up), without waiting for the run's other tasks; a run whose tasks all
  /// complete, or are only cancelled, never runs it. It reads the failures with
  /// ctx.task_run_errors() (error text by task name) and gets the run's input. The run stays
  /// FAILED whatever it returns. `fn` and `options` as for task(); `options.parents` is ignored.
  template <class F>
  workflow& on_failure(std::string name, F fn, task_options options = {}) {
    task(std::move(name), std::move(fn), std::move(options));
    on_failure_ = std::move(tasks_.back());
    tasks_.pop_back();
    return *this;
  }

  /// Starts a run of this workflow on each cron expression, in UTC: 5 fields (minute hour
  /// day-of-month month day-of-week), 6 with a leading seconds field, or a descriptor (@hourly,
  /// @daily, @weekly, @monthly, @yearly, @every 90s), as the real engine's scheduler reads them.
  /// The runs get cron_input() as input and `hatchet__cron_expression` (and an empty
  /// `hatchet__cron_name`) as metadata. The engine refuses an expression it cannot read when
  /// the worker registers the workflow, and the worker does not start. Registering a workflow
  /// again replaces the crons declared before. Replaces the expressions given before. Default:
  /// none.
  workflow& on_crons(std::vector<std::string> expressions) {
    cron_triggers_ = std::move(expressions);
    return *this;
  }

  /// The input of the runs on_crons starts (CreateWorkflowVersionRequest.cron_input): a JSON
  /// object. Default: none sent, and the runs get {}. (The official SDKs send none.)
  workflow& cron_input(nlohmann::json input) {
    cron_input_ = std::move(input);
    return *this;
  }

  const std::string& name() const noexcept { return name_; }
  /// The expressions given to on_crons.
  const std::vector<std::string>& cron_triggers() const noexcept { return cron_triggers_; }
  /// The cron input; null when none was given.
  const nlohmann::json& cron_input() const noexcept { return cron_input_; }
  const std::string& description() const noexcept { return description_; }
  /// The keys given to on_events, as given (without the namespace).
  const std::vector<std::string>& event_triggers() const noexcept { return event_triggers_; }
  const std::vector<detail::task_def_ptr>& tasks() const noexcept { return tasks_; }
  /// The on-failure task, or null.
  const detail::task_def_ptr& on_failure_task() const noexcept { return on_failure_; }

  /// Checks names (non-empty, [a-zA-Z0-9._-], unique, the on-failure task's too), parents
  /// (known, no cycles), durations, the backoff's bounds, event keys and cron expressions
  /// (non-empty; the engine reads them) and the cron input (an object).
  caf::error validate() const;

private:
  std::string name_;
  std::string description_;
  std::vector<detail::task_def_ptr> tasks_;
  std::vector<std::string> event_triggers_;
  detail::task_def_ptr on_failure_;
  std::vector<std::string> cron_triggers_;
  nlohmann::json cron_input_;
};

} // namespace hatchet
