#pragma once
// A finished run as a client sees it, and the rule that turns it into a typed result.
//
// The output of a run: for a run of ONE task (a workflow with a single task), that task's
// output; for a run of several tasks (a DAG), a JSON object with each task's output under the
// task's name: {"first": {...}, "second": {...}}. `client::run<Out>` and `run_ref::result<Out>`
// decode Out from that output through nlohmann (`from_json`); ask for `nlohmann::json` to get it
// as it is, or for `run_result` to get every task's output and error by task name.

#include <map>
#include <string>
#include <type_traits>
#include <typeinfo>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/errors.hpp"
#include "hatchet/lifespan.hpp" // detail::demangle

namespace hatchet {

/// A finished run: what `run_ref::wait` and `client::run_workflow` give.
struct run_result {
  /// The engine's id of the run.
  std::string workflow_run_id;
  /// The output of each task that completed, by task name.
  std::map<std::string, nlohmann::json> outputs;
  /// The error text of each task that failed (or was cancelled), by task name.
  std::map<std::string, std::string> errors;

  /// True when some task failed: the run ended FAILED (or CANCELLED).
  bool failed() const noexcept { return !errors.empty(); }

  /// The run's output by the rule above: the single task's output, else {task: output}.
  nlohmann::json output() const;
};

namespace detail {

/// errc::run_failed naming the run and each failed task with its error.
caf::error run_failed_error(const run_result& r);
/// errc::invalid_output: the run's output does not decode into `type`.
caf::error invalid_output_error(const run_result& r, const std::string& type,
                                const std::string& why);

/// The typed result of a finished run: run_failed if it failed, else its output as Out.
template <class Out>
caf::expected<Out> typed_result(const run_result& r) {
  if (r.failed())
    return run_failed_error(r);
  if constexpr (std::is_same_v<Out, run_result>) {
    return r;
  } else if constexpr (std::is_same_v<Out, nlohmann::json>) {
    return r.output();
  } else {
    try {
      return r.output().template get<Out>();
    } catch (const nlohmann::json::exception& e) {
      return invalid_output_error(r, demangle(typeid(Out).name()), e.what());
    }
  }
}

} // namespace detail

} // namespace hatchet
