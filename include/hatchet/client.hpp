#pragma once
// Entry point of the SDK: holds the configuration, makes workers, starts and manages runs, and
// pushes events.
//
//   auto client = hatchet::client::from_env();                 // HATCHET_CLIENT_*
//   auto sum = client->run<Sum>("AddWorkflow", Pair{1, 2});     // waits, typed
//   auto ref = client->run_no_wait("AddWorkflow", Pair{3, 4});  // returns at once
//   auto later = ref->result<Sum>();
//   client->events().push("user:created", {{"id", 7}});
//
// One client keeps one connection to the engine, opened on its first call, and shares it with
// every copy of it, every run_ref and its events(): make one and pass it around. Every call may
// be made from any thread, concurrently. The calls that wait (run, run_many, run_ref::result)
// block their thread: from an actor or a co_task use run_no_wait and run_ref::async_result.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/config.hpp"
#include "hatchet/crons.hpp"
#include "hatchet/events.hpp"
#include "hatchet/run_options.hpp"
#include "hatchet/run_ref.hpp"
#include "hatchet/run_result.hpp"
#include "hatchet/stream.hpp"
#include "hatchet/schedules.hpp"
#include "hatchet/worker.hpp"
#include "hatchet/workers.hpp"
#include "hatchet/workflows.hpp"

namespace hatchet {

class client {
public:
  /// Nothing is checked or opened here: the first call that reaches the engine validates `cfg`
  /// (its error then comes back from every such call) and opens the connection.
  explicit client(config cfg);

  /// Reads HATCHET_CLIENT_* from the environment (see config.hpp).
  static caf::expected<client> from_env() {
    auto cfg = config::from_env();
    if (!cfg)
      return std::move(cfg.error());
    return client{std::move(*cfg)};
  }

  /// A worker named `name` (the namespace is prefixed) with these options.
  hatchet::worker worker(std::string name, worker_options options) const {
    return hatchet::worker{cfg_, std::move(name), std::move(options)};
  }

  // -- runs ---------------------------------------------------------------------------------

  /// Starts a run of `workflow` (its name as defined; the namespace is prefixed) with `input`
  /// (anything nlohmann turns into a JSON object) and returns at once. Errors:
  /// errc::unknown_workflow (no workflow of that name on the engine), errc::invalid_config (bad
  /// options or configuration, TLS that does not match the engine), errc::invalid_token,
  /// errc::rpc_failed (the engine refused the trigger or could not be reached).
  template <class In = nlohmann::json>
  caf::expected<run_ref> run_no_wait(const std::string& workflow, const In& input = In{},
                                     const run_options& options = {}) const {
    return trigger(workflow, nlohmann::json(input), options);
  }

  /// Starts a run and waits, up to options.timeout, for its result: the run's output as Out
  /// (for a run of one task that task's output, else {task: output}; see run_result.hpp).
  /// Errors: those of run_no_wait and of run_ref::result (errc::run_failed, errc::timed_out,
  /// errc::invalid_output).
  template <class Out = nlohmann::json, class In = nlohmann::json>
  caf::expected<Out> run(const std::string& workflow, const In& input = In{},
                         const run_options& options = {}) const {
    auto ref = run_no_wait(workflow, input, options);
    if (!ref)
      return std::move(ref.error());
    return ref->template result<Out>(options.timeout);
  }

  /// Starts one run per input with BulkTriggerWorkflow (in calls of at most 500 runs and 4 MiB),
  /// all with the same options; refs in input order. Nothing is started if the engine refuses a
  /// first call (an unknown workflow); a later call refused leaves the earlier runs going.
  template <class In = nlohmann::json>
  caf::expected<std::vector<run_ref>> run_no_wait_many(const std::string& workflow,
                                                       const std::vector<In>& inputs,
                                                       const run_options& options = {}) const {
    std::vector<nlohmann::json> json_inputs;
    json_inputs.reserve(inputs.size());
    for (const auto& in : inputs)
      json_inputs.emplace_back(in);
    return bulk_trigger(workflow, json_inputs, options);
  }

  /// run_no_wait_many, then waits for every result, all within options.timeout: one typed
  /// result (or error) per input, in input order. The outer error is a failed trigger.
  template <class Out = nlohmann::json, class In = nlohmann::json>
  caf::expected<std::vector<caf::expected<Out>>> run_many(const std::string& workflow,
                                                          const std::vector<In>& inputs,
                                                          const run_options& options = {}) const {
    auto refs = run_no_wait_many(workflow, inputs, options);
    if (!refs)
      return std::move(refs.error());
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    std::vector<caf::expected<Out>> results;
    results.reserve(refs->size());
    for (const auto& ref : *refs) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      results.push_back(ref.template result<Out>(std::max(left, std::chrono::milliseconds{1})));
    }
    return results;
  }

  /// A handle on a run started elsewhere (by id), to wait for it.
  run_ref run_of(std::string workflow_run_id) const { return run_ref{core_, std::move(workflow_run_id)}; }

  /// Cancels the runs (or tasks) with these ids (v1.AdminService/CancelTasks); the engine
  /// cancels their unfinished tasks, and running ones get a cancellation on their worker.
  /// Unknown ids and finished runs are ignored.
  caf::error cancel(const std::vector<std::string>& ids) const;
  caf::error cancel(const std::string& id) const { return cancel(std::vector<std::string>{id}); }

  /// Runs finished runs (or tasks, with what depends on them) again, in place: the same run and
  /// task ids, with the same input, each task's retry count one up (ReplayTasks). Waiting on the
  /// run afterwards gives the new result. Runs still going are skipped by the engine.
  caf::error replay(const std::vector<std::string>& ids) const;
  caf::error replay(const std::string& id) const { return replay(std::vector<std::string>{id}); }

  /// Starts one run and blocks until it finishes or `timeout` passes, as before run<Out>
  /// existed: a run that ends FAILED is a result (`run_result::failed()`), not an error.
  caf::expected<run_result> run_workflow(const std::string& workflow,
                                         const nlohmann::json& input = nlohmann::json::object(),
                                         std::chrono::milliseconds timeout
                                         = std::chrono::seconds{60}) const;

  // -- events -------------------------------------------------------------------------------

  /// Pushing events (see events.hpp); shares this client's connection.
  events_client events() const { return events_client{core_}; }

  // -- crons and schedules -------------------------------------------------------------------

  /// Crons made and deleted from here (see crons.hpp); over the engine's REST API.
  crons_client crons() const { return crons_client{core_}; }
  /// One-off runs at a given time (see schedules.hpp); over the engine's REST API.
  schedules_client schedules() const { return schedules_client{core_}; }

  // -- workers and workflows ------------------------------------------------------------------

  /// The engine's workers: list, get, pause, unpause (see workers.hpp); over its REST API.
  workers_client workers() const { return workers_client{core_}; }
  /// The engine's workflows: list, get by name (see workflows.hpp); over its REST API.
  workflows_client workflows() const { return workflows_client{core_}; }

  const config& cfg() const noexcept { return cfg_; }

  /// Reads the stream of the run `workflow_run_id` (Dispatcher/SubscribeToWorkflowEvents): calls
  /// `on_chunk`, on this thread, for each chunk a task of the run sends with ctx.put_stream(), in
  /// the order each task sent them, and returns once the run has finished (no error) or
  /// `timeout` passed (errc::rpc_failed). Only chunks sent after the engine registered the
  /// subscription arrive: the engine keeps none, so subscribe before the run streams (a run that
  /// has finished already returns at once). An unknown run is errc::rpc_failed (NOT_FOUND).
  /// Blocks: call it from a thread of its own, not from an actor.
  caf::error subscribe_stream(const std::string& workflow_run_id,
                              const std::function<void(const stream_chunk&)>& on_chunk,
                              std::chrono::milliseconds timeout = std::chrono::minutes{5}) const;

private:
  caf::expected<run_ref> trigger(const std::string& workflow, nlohmann::json input,
                                 const run_options& options) const;
  caf::expected<std::vector<run_ref>> bulk_trigger(const std::string& workflow,
                                                   const std::vector<nlohmann::json>& inputs,
                                                   const run_options& options) const;

  config cfg_;
  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
