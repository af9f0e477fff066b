#pragma once
// Everything the actors need to know about one worker, fixed before any actor starts.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "hatchet/config.hpp"
#include "hatchet/worker_options.hpp"
#include "hatchet/workflow.hpp"

namespace hatchet::detail {

class client_core;

struct worker_spec {
  config cfg;
  std::string name; ///< namespaced worker name
  worker_options options;
  /// action id -> task, for every task of every workflow
  std::unordered_map<std::string, task_def_ptr> tasks;
  std::vector<std::string> actions; ///< sorted action ids
  /// The connection tasks start child runs on (ctx.spawn), opened on the first spawn.
  std::shared_ptr<client_core> client;

  /// Threads for synchronous task code: max_task_threads, or as many as slots when it is 0.
  size_t task_threads() const {
    return static_cast<size_t>(options.max_task_threads > 0 ? options.max_task_threads
                                                            : options.slots);
  }

  /// Validates the options and workflows and builds the action table.
  static caf::expected<std::shared_ptr<const worker_spec>>
  make(config cfg, const std::string& name, worker_options options);
};

using worker_spec_ptr = std::shared_ptr<const worker_spec>;

} // namespace hatchet::detail
