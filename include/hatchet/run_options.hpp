#pragma once
// How a run is started from a client: metadata, priority, key, and how long to wait for it.

#include <chrono>
#include <string>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

namespace hatchet {

/// Options of client::run, run_no_wait, run_many and run_no_wait_many.
struct run_options {
  /// Additional metadata: a JSON object the engine keeps with the run and hands to every task
  /// (`ctx.additional_metadata()`); the dashboard filters runs by it. Default: none (an empty
  /// object is not sent).
  nlohmann::json additional_metadata = nlohmann::json::object();
  /// The run's priority in the engine's queues, 1 (low) to 3 (high); tasks read it as
  /// `ctx.priority()`. Default 0: none is sent, and the engine uses the workflow's default
  /// priority, else 1.
  int priority = 0;
  /// The child key (TriggerWorkflowRequest.child_key). A real engine reads it only for a run
  /// started from inside a task (a child run, which names its parent task): a second spawn from
  /// the same parent task with the same key then gives back the first run instead of starting
  /// another. For a run started by a plain client, as here, the engine ignores it (it keeps the
  /// child fields of child runs only; internal/services/admin/server_v1.go, newTriggerOpt), so it
  /// does not deduplicate such runs. Default: empty, none sent.
  std::string key;
  /// How long run() and run_many() wait for the result; the run itself goes on on the engine
  /// after that (errc::timed_out). Not sent. Default 5 minutes; must be positive.
  std::chrono::milliseconds timeout = std::chrono::minutes{5};

  /// errc::invalid_config naming the field: metadata that is not an object, a priority outside
  /// 0..3, a timeout that is not positive.
  caf::error validate() const;
};

} // namespace hatchet
