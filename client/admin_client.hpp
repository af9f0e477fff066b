#pragma once
// Registering workflows, triggering runs and waiting for their results: the calls hatchet-run,
// the worker (PutWorkflow) and the tests make. Blocking unless a callback is taken.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <caf/expected.hpp>

#include "client/channel.hpp"
#include "hatchet/config.hpp"
#include "hatchet/workflow.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

struct trigger_request {
  trigger_request(std::string name = {}, std::string input = "{}", std::string metadata = {})
    : workflow_name(std::move(name)), input_json(std::move(input)),
      additional_metadata_json(std::move(metadata)) {
  }

  std::string workflow_name; ///< as defined; the namespace is applied by the client
  std::string input_json = "{}";
  std::string additional_metadata_json; ///< empty: none
  int priority = 0;                     ///< 1..3; 0: none sent
  std::string child_key;                ///< empty: none sent
  /// A child run's links to the task that spawns it; empty/none: not a child.
  std::string parent_id;                   ///< the parent's workflow run id
  std::string parent_task_run_external_id; ///< the parent task run
  std::optional<int> child_index;
};

/// One task's outcome inside a finished run (StepRunResult).
struct task_result {
  std::string task_run_external_id;
  std::string task_name;
  std::optional<std::string> output; ///< JSON text
  std::optional<std::string> error;
};

/// A finished run (WorkflowRunEvent FINISHED).
struct run_result {
  std::string workflow_run_id;
  std::vector<task_result> tasks;

  bool failed() const;
};

/// Whether a run subscription (SubscribeToWorkflowRuns) that ended with this status may be
/// opened again: the connection broke, or the engine restarted or closed it; not a refusal.
bool resubscribable(const wire::rpc_status& st);

class admin_client {
public:
  admin_client(std::shared_ptr<channel> ch, const config& cfg);
  ~admin_client();

  /// v1.AdminService/PutWorkflow for `wf` (namespaced, lowercased action ids).
  void put_workflow(const workflow& wf, std::function<void(wire::rpc_status)> done);
  wire::rpc_status put_workflow(const workflow& wf);

  /// WorkflowService/TriggerWorkflow; returns the workflow run id.
  caf::expected<std::string> trigger(const trigger_request& req);
  /// The same call without blocking: `done` runs once, on a gRPC thread, with the run id or the
  /// error (whose diagnosis may repeat a TLS handshake there).
  void trigger(const trigger_request& req, std::function<void(caf::expected<std::string>)> done);
  /// WorkflowService/BulkTriggerWorkflow in calls of at most 500 runs and at most what one
  /// message may carry (the send limit, and the engine's 4 MiB); ids in request order.
  caf::expected<std::vector<std::string>> bulk_trigger(const std::vector<trigger_request>& reqs);

  /// Waits, over SubscribeToWorkflowRuns, for every run in `run_ids` to finish, calling on_result
  /// once per run as each one does. A stream that breaks (connection cut, engine restart) is
  /// opened again for the runs still unfinished, with a backoff. Returns an error if the engine
  /// refuses the subscription or the deadline passes first.
  caf::error wait_for_runs(const std::vector<std::string>& run_ids,
                           std::function<void(const run_result&)> on_result,
                           std::chrono::milliseconds deadline);

  /// v1.AdminService/CancelTasks for these task or run ids; returns the ids cancelled.
  caf::expected<std::vector<std::string>> cancel(const std::vector<std::string>& external_ids);
  /// v1.AdminService/ReplayTasks for these task or run ids; returns the task ids re-queued.
  caf::expected<std::vector<std::string>> replay(const std::vector<std::string>& external_ids);

private:
  /// One stream: subscribes to `run_ids`, reports and erases each finished one from `pending`.
  wire::rpc_status subscribe_once(const std::vector<std::string>& run_ids,
                                  std::unordered_set<std::string>& pending,
                                  const std::function<void(const run_result&)>& on_result,
                                  std::chrono::milliseconds deadline);

  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace hatchet::rpc
