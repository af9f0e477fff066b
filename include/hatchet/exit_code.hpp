#pragma once
// How a worker ended, as a process exit code: what worker::run() returns, what hatchet-worker
// exits with, and what an embedding host can map its worker's exit reason to.

#include <iosfwd>

#include <caf/error.hpp>

namespace hatchet {

/// Exit codes of `worker::run()` (and of the hatchet-worker binary).
enum class exit_code : int {
  /// Clean stop: every task finished, the lifespan cleaned up.
  ok = 0,
  /// Could not start: bad options, the lifespan setup failed, or registration failed.
  startup_failed = 1,
  /// The lifespan cleanup threw or broke the lifespan contract; the rest of the shutdown ran.
  cleanup_failed = 3,
  /// Lost the engine for good, or another unexpected error stopped the worker.
  worker_failed = 4,
  /// Some runs did not finish within drain_timeout + cancel_grace; they were reported FAILED
  /// ("the worker shut down"), so the engine can retry them, and the cleanup ran.
  drain_timed_out = 5,
  /// A second SIGINT/SIGTERM (or a second exit message) cut the wait short: running runs were
  /// cancelled and reported FAILED at once, then the cleanup ran, bounded by cleanup_timeout.
  forced_stop = 6,
  /// SIGQUIT: immediate exit, no drain, no cleanup; the engine reassigns the runs after it stops
  /// hearing heartbeats.
  cold_stop = 7,
  /// Task code was still running (a task that ignores its cancellation) when cleanup_timeout
  /// passed after the drain: the lifespan cleanup was skipped, never run under a live task.
  cleanup_skipped = 8,
};

/// The exit code of a worker whose supervisor ended with `reason` (its down message's reason):
/// ok for none or `normal`, forced_stop for a kill, the code of a hatchet::errc that has one,
/// worker_failed for anything else.
exit_code exit_code_for(const caf::error& reason);

/// The code as a process exit status (`return hatchet::to_int(code);` from main).
constexpr int to_int(exit_code c) noexcept {
  return static_cast<int>(c);
}

/// "ok", "startup_failed", ...
const char* to_string(exit_code c) noexcept;

/// Prints to_string(c) and the number: "drain_timed_out (5)".
std::ostream& operator<<(std::ostream& out, exit_code c);

} // namespace hatchet
