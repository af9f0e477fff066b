#pragma once
// A worker as its supervisor knows it: the state it reports (worker_status(), /health), and how
// it ended (the supervisor's exit reason, hence the exit code). Plain C++ with a unit test
// (tests/unit/dispatcher_logic_test.cpp); the supervisor feeds it what its actors tell it.

#include <string>
#include <utility>

#include <caf/error.hpp>

#include "hatchet/errors.hpp"
#include "hatchet/exit_code.hpp"
#include "health/worker_metrics.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

class worker_status {
public:
  /// The dispatcher reported whether the worker can take work.
  void dispatcher_says(msg::worker_state s) {
    heard_ = true;
    if (!stopping_)
      state_ = s;
  }

  /// Registered and listening. Not ready until the engine accepts a heartbeat on the open
  /// stream: the dispatcher says "ready" then (its report may also come first).
  void registered(std::string worker_id) {
    running_ = true;
    worker_id_ = std::move(worker_id);
    if (!stopping_ && !heard_)
      state_ = msg::worker_state::detached;
  }

  /// A stop began (asked for, or the worker failed): nothing takes work any more.
  void stop() { stopping_ = true; }

  bool stopping() const noexcept { return stopping_; }
  bool running() const noexcept { return running_; }
  const std::string& worker_id() const noexcept { return worker_id_; }

  /// What worker_status() answers.
  msg::worker_state state() const noexcept {
    return stopping_ ? msg::worker_state::stopping : state_;
  }

  /// What /health reports: healthy only while the dispatcher says the stream is attached and
  /// the engine answers heartbeats; before the first time, starting; after it, unhealthy.
  health_state health() {
    if (stopping_)
      return health_state::draining;
    if (state_ == msg::worker_state::ready) {
      was_ready_ = true;
      return health_state::healthy;
    }
    if (state_ == msg::worker_state::detached && was_ready_)
      return health_state::unhealthy;
    return health_state::starting;
  }

  /// Why a reload is refused now (none: it may go ahead).
  caf::error reload_refusal(bool has_lifespan) const {
    if (stopping_ || failure_)
      return make_error(errc::shutting_down, "the worker is stopping");
    if (!running_)
      return make_error(errc::reload_failed,
                        "the worker is still starting: reload it once it serves (await_ready)");
    if (!has_lifespan)
      return make_error(errc::reload_failed, "this worker has no lifespan to reload");
    return {};
  }

  /// What a second stop request does, in the log's words: `dispatcher_alive` means runs can
  /// still be cut short.
  std::string second_stop(bool dispatcher_alive) const {
    if (!dispatcher_alive && !running_)
      return "second stop request during the lifespan setup: the setup is user code and cannot "
             "be interrupted; the worker stops when it returns (SIGQUIT ends the process at once)";
    if (dispatcher_alive)
      return "second stop request: not waiting for running tasks any more";
    return "stop requested again; the worker is already cleaning up";
  }

  // -- how it ends ------------------------------------------------------------------------------

  /// Something failed: the first failure is the one the worker ends with; a stop begins.
  void fail(caf::error err) {
    if (!failure_)
      failure_ = std::move(err);
    stopping_ = true;
  }
  bool failed() const noexcept { return static_cast<bool>(failure_); }

  /// Task code outlived cleanup_timeout, so a cleanup was skipped: this outranks any failure
  /// before it (the process must not be torn down under that code: exit code 8).
  void cleanup_skipped(caf::error err) {
    failure_ = std::move(err);
    stopping_ = true;
  }

  /// The dispatcher ended with `reason`. Its own verdicts (a drain that timed out, a forced
  /// stop) are kept as they are; anything else after the worker served means the engine was
  /// lost; before it, a failed start.
  void dispatcher_ended(const caf::error& reason) {
    stopping_ = true;
    if (!reason || failure_)
      return;
    bool own_verdict = reason.category() == errc_category::value
                       && (reason.code() == static_cast<uint8_t>(errc::drain_timed_out)
                           || reason.code() == static_cast<uint8_t>(errc::forced_stop));
    failure_ = running_ && !own_verdict ? make_error(errc::engine_lost, describe(reason)) : reason;
  }

  /// A lifespan cleanup failed (of any generation): the first one's error is kept.
  void cleanup_failed(const std::string& error) {
    if (cleanup_error_.empty())
      cleanup_error_ = error;
  }

  /// The supervisor's exit reason once every lifespan actor is gone. A failed cleanup outranks
  /// a drain that timed out or a forced stop, not a skipped cleanup: that one says task code is
  /// still running, and the process must not be torn down under it.
  caf::error final_reason() const {
    auto code = failure_ ? exit_code_for(failure_) : exit_code::ok;
    if (!cleanup_error_.empty()
        && (!failure_
            || (code >= exit_code::drain_timed_out && code != exit_code::cleanup_skipped)))
      return make_error(errc::lifespan_cleanup_failed, cleanup_error_);
    return failure_;
  }

private:
  msg::worker_state state_ = msg::worker_state::starting;
  std::string worker_id_;
  caf::error failure_;
  std::string cleanup_error_; ///< the first failed cleanup's error, of any generation
  bool stopping_ = false;
  bool running_ = false;
  bool heard_ = false;     ///< the dispatcher has reported its state at least once
  bool was_ready_ = false; ///< healthy at least once: a detached worker is unhealthy, not starting
};

} // namespace hatchet::detail
