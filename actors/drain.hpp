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

#include <cstddef>

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

  phase current() const noexcept { return phase_; }
  bool stopping() const noexcept { return phase_ != phase::serving; }
  bool forced() const noexcept { return forced_; }
  bool timed_out() const noexcept { return timed_out_; }
  size_t abandoned() const noexcept { return abandoned_; }
  pause_state pause() const noexcept { return pause_; }
  /// Past the point where a new run may still start: drain_timeout passed (nothing started now
  /// would get its cancellation), or the stream is closed for the stop.
  bool refuses_new_runs() const noexcept { return deadline_passed_ || stream_closed_; }

  /// The stop begins. `can_pause`: registered, so the worker can be paused on the engine.
  void begin(bool can_pause) {
    if (phase_ != phase::serving)
      return;
    pause_ = can_pause ? pause_state::pending : pause_state::none;
    phase_ = can_pause ? phase::pausing : phase::running_down;
  }

  void pause_answered(bool ok) {
    pause_ = ok ? pause_state::paused : pause_state::failed;
    if (phase_ == phase::pausing)
      phase_ = phase::running_down;
  }

  /// drain_timeout passed. From now on no new run starts and the pause answer is not awaited
  /// any more (the stop must stay bounded). True if runs are left, so the caller cancels them
  /// and arms the grace.
  bool on_drain_deadline(bool runs_left) {
    if (deadline_passed_)
      return false;
    deadline_passed_ = true;
    if (phase_ >= phase::cancelling)
      return false;
    phase_ = phase::cancelling;
    return runs_left;
  }

  /// cancel_grace passed: the caller reports the `left` runs still here FAILED and forgets them.
  void on_grace_deadline(size_t left) {
    timed_out_ = timed_out_ || left > 0;
    abandoned_ += left;
  }

  /// A second stop request: the caller cancels and reports every run at once.
  /// False if the stop was already forced.
  bool force(size_t left) {
    if (forced_)
      return false;
    forced_ = true;
    abandoned_ += left;
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

private:
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
