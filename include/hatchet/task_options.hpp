#pragma once
// How a task runs: its timeout, retries and their backoff, its parents in a DAG, its slot cost,
// its per-run dependencies and how long it may wait for a worker. Given to workflow::task.

#include <optional>
#include <string>
#include <vector>

#include "hatchet/detail/provider.hpp"
#include "hatchet/task_ref.hpp"

namespace hatchet {

struct task_options {
  /// Execution timeout as a duration string ("60s", "5m", "1h"); the engine enforces it by
  /// cancelling the run. Default "60s", as the official SDKs.
  std::string timeout = "60s";
  /// How many times the engine retries a FAILED run. Default 0.
  int retries = 0;
  /// Tasks of the same workflow that must complete first (a DAG), by task_ref or by name; their
  /// outputs are in `ctx.parents()` (and `ctx.parent_output(ref)`). Default: none.
  std::vector<parent_task> parents = {};
  /// Slot units this task takes on the worker. Default 1.
  int slot_cost = 1;
  /// Resources built for each run before the task and torn down after it (hatchet/depends.hpp);
  /// the task reads them with ctx.use(d). Default: none.
  std::vector<detail::provider_ptr> depends = {};
  /// Retry backoff: with a factor, the engine waits min(backoff_max_seconds, factor^n) seconds
  /// before retry n (n = 1, 2, ...; factor 2: 2 s, 4 s, 8 s, ...) of a run that FAILED or timed
  /// out; without one it retries at once. 1 to 1000. Default: none.
  std::optional<double> backoff_factor = std::nullopt;
  /// The cap of that wait, in seconds: 1 to 86400; only with backoff_factor. Default: none (the
  /// engine's 86400).
  std::optional<int> backoff_max_seconds = std::nullopt;
  /// How long a run of this task may wait in the engine's queue for a worker (from each time it
  /// is queued, retries included) before the engine cancels it (SCHEDULING_TIMED_OUT; the
  /// workflow's on-failure task does not run for it). A duration string ("30s", "5m").
  /// Default: empty, the engine's default of 5m.
  std::string schedule_timeout = {};
};

} // namespace hatchet
