#pragma once
// What the worker does with a run at its two ends: whether a START it is given runs here, and
// what it tells the engine when the run has ended. Plain functions, so that each rule has a unit
// test (tests/unit/dispatcher_logic_test.cpp); the dispatcher actor performs the answer.

#include <string>

#include "actors/worker_spec.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

/// Whether a START runs here.
struct admission {
  enum kind {
    run,       ///< take a slot now, or wait for one
    duplicate, ///< this attempt is here already: ignore the second START
    refuse,    ///< FAILED at once, not retried: `failure` says why (`why` is the log line)
    hand_back, ///< the stop refuses new runs: FAILED and retryable, for another worker
  } what = run;
  task_def_ptr task;   ///< the task to run (run)
  std::string failure; ///< the FAILED event's text (refuse)
  std::string why;     ///< what the log says (refuse)
};

/// `already_here`: the pool holds this attempt. `refuses_new_runs`: the stop is past the point
/// where a new run may start (drain::refuses_new_runs).
admission admit(const wire::assigned_action& a, bool already_here, const worker_spec& spec,
                bool refuses_new_runs);

/// What the engine hears about a run that ended.
struct run_report {
  enum kind {
    nothing,   ///< the engine cancelled it: a cancelled run reports nothing (as the SDKs)
    completed, ///< COMPLETED with the output
    failed,    ///< FAILED with the error text
  } what = nothing;
  bool should_not_retry = false;
};

/// `cancelled_by_engine`/`cancelled_for_stop`: what the pool recorded for the run. A run the stop
/// interrupted is FAILED and retryable, whatever the task asked for, so another worker runs it.
run_report report_for(bool cancelled_by_engine, bool cancelled_for_stop,
                      const msg::task_outcome& o);

} // namespace hatchet::detail
