#pragma once
// A Hatchet worker: registers workflows, takes task runs from the engine and runs them in a
// bounded pool of slots, sharing the lifespan state with every task.
//
// Three ways to run it:
// - `run()`: owns an actor system, handles SIGINT/SIGTERM, returns a process exit code.
// - `start()`: runs it in the background, in an actor system of its own, and returns once it is
//   registered; the program goes on (triggering runs, serving requests) and calls stop() when it
//   is done. No CAF in sight.
// - `spawn(sys)`: starts the worker's supervisor inside a host's actor system; stop it with
//   `send_exit(handle, caf::exit_reason::user_shutdown)`; it ends with reason `normal` after a
//   clean stop, or with an error describing what failed.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "hatchet/config.hpp"
#include "hatchet/exit_code.hpp"
#include "hatchet/worker_options.hpp"

namespace hatchet {

namespace detail {
struct worker_spec;
}

/// A worker that worker::start() runs in the background. stop() (or the destructor, if stop()
/// was not called) stops it as SIGTERM stops run(): pause, wait for the running tasks, flush,
/// unsubscribe, lifespan cleanup. Move-only.
class started_worker {
public:
  started_worker(started_worker&&) noexcept;
  started_worker& operator=(started_worker&&) noexcept;
  ~started_worker();

  /// The id the engine gave the worker when it registered.
  const std::string& id() const noexcept;

  /// Stops the worker and waits until it has stopped; returns its exit code (as run()). A second
  /// call returns the same code at once.
  int stop();

  /// After stop(): as worker::must_exit_at_once() (task or cleanup code may still be running:
  /// end the process with std::_Exit).
  bool must_exit_at_once() const noexcept;

  struct impl;

private:
  friend class worker;
  explicit started_worker(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

class worker {
public:
  worker(config cfg, std::string name, worker_options options);
  ~worker();
  worker(worker&&) noexcept;
  worker& operator=(worker&&) noexcept;

  /// Runs until SIGINT/SIGTERM (or until the worker fails), then shuts down in order: stop taking
  /// work, wait for running tasks, flush events, unsubscribe, lifespan cleanup. Returns an
  /// exit code (hatchet::exit_code as an int: to_int). Must be called from the main thread (it blocks SIGINT/SIGTERM in this thread).
  /// SIGQUIT returns cold_stop at once. run() never ends the process itself: see
  /// must_exit_at_once().
  int run();

  /// After run() returned: true when threads of the worker may still be inside code that must
  /// not see the process torn down: task or cleanup code (cold_stop, cleanup_skipped, a cleanup
  /// that timed out) or a call to the engine's REST API. Returning from main would then run
  /// static destructors under them; end the process with `std::_Exit(code)` instead:
  ///
  ///     int code = w.run();
  ///     if (w.must_exit_at_once())
  ///       std::_Exit(code);
  ///     return code;
  bool must_exit_at_once() const;

  /// Starts the worker in the background, in an actor system of its own (2 to 4 scheduler
  /// threads, as run()), and returns once it has registered and opened its stream: a run
  /// triggered after start() returns finds it. Fails, with the worker stopped, when the options
  /// are invalid, the lifespan setup fails, the engine refuses it, or `ready_timeout` passes.
  /// Signals stay the program's business.
  caf::expected<started_worker>
  start(std::chrono::milliseconds ready_timeout = std::chrono::seconds{30}) const;

  /// Spawns the supervisor in `sys` (embedding). Fails on invalid options.
  caf::expected<caf::actor> spawn(caf::actor_system& sys) const;

  /// The namespaced worker name sent to the engine.
  const std::string& name() const;

private:
  std::shared_ptr<const detail::worker_spec> spec_;
  std::shared_ptr<const caf::error> init_error_; ///< why spec_ is empty
  bool must_exit_at_once_ = false;
};

/// Waits until a spawned worker has registered and opened its stream; returns its worker id, or
/// an error if it failed or stopped first, or `timeout` passed (caf::sec::request_timeout).
caf::expected<std::string> await_ready(caf::actor_system& sys, const caf::actor& worker,
                                       std::chrono::milliseconds timeout);

/// The worker's state as its supervisor sees it: "starting" (lifespan setup or registration),
/// "ready" (registered, stream open, the engine
/// answering heartbeats), "detached" (registered but not yet or no longer attached:
/// reconnecting), "stopping".
caf::expected<std::string> worker_status(caf::actor_system& sys, const caf::actor& worker,
                                         std::chrono::milliseconds timeout);

/// Reloads a spawned worker's lifespan without a restart: a new setup runs while the worker
/// serves with the current state. On success every new assignment gets the new state, runs
/// already going keep theirs to their end, and the old state is cleaned up once its last run has
/// ended; the answer is the new state's generation (ctx.lifespan_generation()). On failure (the
/// setup threw or ended without co_yield) the worker serves on with the state it had, logs the
/// cause and answers errc::reload_failed with it. Nothing is registered again. Reloads may
/// overlap; a reload that finishes after a later one is not put in service (reload_failed). A
/// stop cleans up every state still alive, newest first, after the drain. `timeout` bounds the
/// wait for the answer, not the setup.
caf::expected<uint64_t> reload(caf::actor_system& sys, const caf::actor& worker,
                               std::chrono::milliseconds timeout);

/// Where a spawned worker's health server listens ("address:port", the port as bound: useful
/// with HATCHET_CLIENT_WORKER_HEALTHCHECK_PORT=0), or an error when the server is not enabled.
caf::expected<std::string> health_address(caf::actor_system& sys, const caf::actor& worker,
                                          std::chrono::milliseconds timeout);

/// Waits, at most `timeout`, until no call a worker made on a thread of its own is still going (the
/// REST pause of a forced stop, a TLS diagnosis after a failed start); false if one still is.
/// Such a call posts its answer to the worker's actors: an embedding host calls this after its
/// workers have stopped and before it destroys its actor system or leaves main. worker::run()
/// does so itself.
bool await_background_calls(std::chrono::milliseconds timeout);

/// Applies the one actor-system setting the worker relies on (low-latency polling for blocking
/// callers, `work-stealing.moderate-poll-attempts = 0`). Call before constructing a host actor
/// system that embeds a worker. It leaves everything else, the thread count and the logger
/// included, as the host set it.
void configure(caf::actor_system_config& cfg);

} // namespace hatchet
