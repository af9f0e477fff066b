#pragma once
// What a worker is told before it starts: slots, workflows, lifespan, labels and the bounds of its
// stop. Checked by validate() before anything runs.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "hatchet/lifespan.hpp"
#include "hatchet/workflow.hpp"

namespace hatchet {

/// The most slots one worker may declare. Each run in flight holds its assignment and a task
/// actor (a few KiB with a small payload); a million of them is past what one process should
/// take on, and past what the engine's scheduler is built for.
inline constexpr int max_slots = 1'000'000;

struct worker_options {
  /// Concurrent task runs this worker accepts (the engine's slot_config "default"). Default 100,
  /// as the official SDKs. From 1 to max_slots. A slot costs nothing until a run uses it: its
  /// task actor is spawned on first use, so start-up time does not depend on this number.
  int slots = 100;
  /// The workflows whose tasks this worker serves. At least one.
  std::vector<workflow> workflows = {};
  /// Optional lifespan (see lifespan.hpp). Default: none.
  lifespan_fn lifespan = {};
  /// Worker labels sent at registration (string values). Default: none.
  std::map<std::string, std::string> labels = {};
  /// Heartbeat period. Default 4 s, as every official SDK; the engine treats a worker whose last
  /// heartbeat is older than 5 s as unavailable.
  std::chrono::milliseconds heartbeat_interval{4000};
  /// Fencing: when no heartbeat sent in this long has been accepted, the worker gives up every
  /// run it holds (cancels them; they report nothing) and registers again as a new worker once
  /// the engine answers. A real engine hands a silent worker's runs to another worker after 30 s,
  /// so without this a worker cut off by a partition would run them beside their new attempts.
  /// Default 25 s: under the engine's 30 s by more than a heartbeat. Must exceed
  /// heartbeat_interval by at least 5 s (a heartbeat's own deadline). See docs/faults.md.
  std::chrono::milliseconds fence_after{25000};
  /// On stop, how long running runs may take to finish before they are cancelled. Default 30 s.
  std::chrono::milliseconds drain_timeout{30000};
  /// After cancelling the runs still going at drain_timeout, how long they get to end before they
  /// are reported FAILED and abandoned. Default 5 s.
  std::chrono::milliseconds cancel_grace{5000};
  /// Bounds two waits at the end of a stop, each separately: for task code still holding the
  /// lifespan state after the drain (then the cleanup is skipped, exit code 8), and for the
  /// cleanup itself (then run() gives up on it, exit code 3). Default 30 s. An embedding host
  /// whose worker gave up on a cleanup still running should not destroy its actor system until
  /// the cleanup returns (CAF's destructor waits for it).
  std::chrono::milliseconds cleanup_timeout{30000};
  /// On stop, how long to keep retrying events the engine has not acknowledged yet before they
  /// are dropped (logged with their run ids). Default 10 s.
  std::chrono::milliseconds flush_timeout{10000};
  /// Threads for synchronous task functions: 0 means "as many as slots" (as the Python SDK).
  /// Threads start on demand, so an idle worker with many slots holds few threads.
  int max_task_threads = 0;

  caf::error validate() const;
};

} // namespace hatchet
