#pragma once
// The order of a graceful stop, as explicit phases.
//
// A real engine reassigns the runs of a worker whose stream closed once its heartbeats have been
// refused for 30 s, so the stream must stay open while runs finish; and it keeps assigning to a
// worker with an open stream unless the worker is paused. Hence: pause over REST, wait for the
// running runs (the stream and the heartbeats alive), cancel the stragglers at drain_timeout and
// give up on them after cancel_grace, then close the stream, flush the outbox, unsubscribe, stop
// the task actors. Plain C++: the dispatcher actor asks next_step() whenever something changed and
// performs the step; the unit tests walk the phases without actors or gRPC.

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "actors/worker_log.hpp"
#include "hatchet/errors.hpp"

namespace hatchet::detail {

class drain {
public:
  enum class phase {
    serving,        ///< no stop requested
    pausing,        ///< the pause call to the engine's REST API is under way; runs go on
    running_down,   ///< waiting for the running runs, stream and heartbeats alive
    cancelling,     ///< drain_timeout passed: the stragglers are cancelled, cancel_grace runs
    flushing,       ///< the stream is closed; waiting for the outbox to empty (flush_timeout)
    unsubscribing,  ///< Unsubscribe sent
    stopping_tasks, ///< the task actors are told to exit
  };

  /// What the dispatcher must do now.
  enum class step {
    wait,               ///< nothing until the next event
    close_stream,       ///< cancel the listen stream (no reconnect any more)
    arm_flush_deadline, ///< start the flush_timeout timer
    unsubscribe,        ///< send Unsubscribe
    stop_tasks,         ///< exit the task actors; the dispatcher quits when they are gone
  };

  enum class pause_state { none, pending, paused, failed };

  /// From now on each step is also written to `log` (the unit tests leave it off).
  void explain_with(const worker_log* log, std::chrono::milliseconds drain_timeout,
                    std::chrono::milliseconds cancel_grace) {
    log_ = log;
    drain_timeout_ = drain_timeout;
    cancel_grace_ = cancel_grace;
  }

  phase current() const noexcept { return phase_; }
  bool stopping() const noexcept { return phase_ != phase::serving; }
  bool forced() const noexcept { return forced_; }
  bool timed_out() const noexcept { return timed_out_; }
  size_t abandoned() const noexcept { return abandoned_; }
  pause_state pause() const noexcept { return pause_; }
  /// Past the point where a new run may still start: drain_timeout passed (nothing started now
  /// would get its cancellation), or the stream is closed for the stop.
  bool refuses_new_runs() const noexcept { return deadline_passed_ || stream_closed_; }

  /// The stop begins. `can_pause`: registered, so the worker can be paused on the engine;
  /// `runs`: running or waiting.
  void begin(bool can_pause, size_t runs = 0) {
    if (phase_ != phase::serving)
      return;
    if (log_ != nullptr)
      log_->info("stopping: {}; waiting up to {} ms for {} run(s)",
                 can_pause ? "pausing on the engine so that no new run comes"
                           : "not registered, nothing to pause",
                 drain_timeout_.count(), runs);
    pause_ = can_pause ? pause_state::pending : pause_state::none;
    phase_ = can_pause ? phase::pausing : phase::running_down;
  }

  /// The pause call answered: `error` empty when it took effect (`http_status`).
  void pause_answered(bool ok, int http_status = 0, const std::string& error = {}) {
    if (log_ != nullptr && ok)
      log_->info("paused on the engine (HTTP {}): no new runs will be assigned", http_status);
    else if (log_ != nullptr)
      log_->warn("could not pause on the engine ({}); runs it still assigns until the stream "
                 "closes are run within drain_timeout",
                 error);
    pause_ = ok ? pause_state::paused : pause_state::failed;
    if (phase_ == phase::pausing)
      phase_ = phase::running_down;
  }

  /// drain_timeout passed. From now on no new run starts and the pause answer is not awaited
  /// any more (the stop must stay bounded). True if runs are left, so the caller cancels them
  /// and arms the grace.
  bool on_drain_deadline(bool runs_left, size_t runs = 0) {
    if (deadline_passed_)
      return false;
    deadline_passed_ = true;
    if (phase_ >= phase::cancelling)
      return false;
    phase_ = phase::cancelling;
    if (log_ != nullptr && runs_left)
      log_->warn("{} run(s) still going after drain_timeout ({} ms); cancelling them, {} ms "
                 "grace; runs that have not started are handed back",
                 runs, drain_timeout_.count(), cancel_grace_.count());
    else if (log_ != nullptr && pause_ == pause_state::pending)
      log_->warn("the pause call has not answered within drain_timeout; closing the stream "
                 "without it");
    return runs_left;
  }

  /// cancel_grace passed: the caller reports the `left` runs still here FAILED and forgets them.
  void on_grace_deadline(size_t left) {
    timed_out_ = timed_out_ || left > 0;
    abandoned_ += left;
  }

  /// A second stop request: the caller cancels the `runs` still here and reports them at once
  /// (on_grace_deadline counts them). False if the stop was already forced.
  bool force(size_t runs) {
    if (forced_)
      return false;
    if (log_ != nullptr)
      log_->warn("forced stop: cancelling {} run(s) now", runs);
    forced_ = true;
    deadline_passed_ = true;
    if (phase_ < phase::cancelling)
      phase_ = phase::cancelling;
    return true;
  }

  /// The next step, given what is left. `registered`: the engine knows this worker (so it must
  /// be told Unsubscribe).
  step next_step(bool runs_left, bool outbox_empty, bool registered) {
    if (phase_ == phase::serving || phase_ == phase::unsubscribing
        || phase_ == phase::stopping_tasks || runs_left)
      return step::wait;
    // The stream closes only once the pause has taken effect (or failed): a START the engine
    // sent before it is still received and run. A forced stop, or one past drain_timeout, does
    // not wait for the answer.
    if (pause_ == pause_state::pending && !forced_ && !deadline_passed_)
      return step::wait;
    if (!stream_closed_) {
      stream_closed_ = true;
      phase_ = phase::flushing;
      return step::close_stream;
    }
    phase_ = phase::flushing;
    if (!outbox_empty) {
      if (flush_armed_)
        return step::wait;
      flush_armed_ = true;
      return step::arm_flush_deadline;
    }
    if (!registered) {
      phase_ = phase::stopping_tasks;
      return step::stop_tasks;
    }
    phase_ = phase::unsubscribing;
    return step::unsubscribe;
  }

  /// Unsubscribe answered (either way): the task actors go next.
  void unsubscribed() { phase_ = phase::stopping_tasks; }

  /// How the stop went, as the dispatcher's exit reason: none for a clean drain, forced_stop
  /// after a second stop request, drain_timed_out when runs had to be given up.
  caf::error outcome(std::chrono::milliseconds drain_timeout) const {
    if (forced_)
      return make_error(errc::forced_stop, std::to_string(abandoned_)
                                             + " run(s) reported FAILED after a second stop "
                                               "request");
    if (timed_out_)
      return make_error(errc::drain_timed_out,
                        std::to_string(abandoned_) + " run(s) did not finish within "
                          + std::to_string(drain_timeout.count())
                          + " ms + cancel_grace and were reported FAILED");
    return {};
  }

  /// The FAILED text of a run given up on at the stop (`why`: which deadline or signal).
  static std::string abandoned_text(const std::string& why) {
    return "hatchet::worker_shutdown: the worker shut down before this run finished (" + why
           + "); the engine may retry it";
  }

private:
  const worker_log* log_ = nullptr;
  std::chrono::milliseconds drain_timeout_{0};
  std::chrono::milliseconds cancel_grace_{0};
  phase phase_ = phase::serving;
  pause_state pause_ = pause_state::none;
  bool stream_closed_ = false;
  bool deadline_passed_ = false;
  bool flush_armed_ = false;
  bool forced_ = false;
  bool timed_out_ = false;
  size_t abandoned_ = 0;
};

} // namespace hatchet::detail
