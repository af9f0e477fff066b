#pragma once
// A co_task run with per-task dependencies (hatchet/depends.hpp). A translation unit of its own:
// clang 14 cannot compile this coroutine with the fuzzers' instrumentation, and the fuzzers
// compile task_run.cpp.

#include <nlohmann/json.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/context.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

/// Builds the run's dependencies on a task thread, runs the co_task, ends its cancel callbacks,
/// tears the dependencies down on a task thread whatever the task did, then returns its output or
/// rethrows its exception.
co_task<nlohmann::json> with_dependencies(const msg::assignment& a, nlohmann::json input,
                                          context& ctx);

} // namespace hatchet::detail
