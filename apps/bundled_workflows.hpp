#pragma once
// The workflows hatchet-worker serves besides the lifespan example. The tests and the benchmark
// use them too.
//
// - "EchoWorkflow"/"echo": returns its input object.
// - "SleepWorkflow"/"sleep": input {"ms": N}; waits N ms (ends early, cancelled, when the engine
//   cancels the run); returns {"slept_ms": N}.
// - "FailWorkflow"/"fail": input {"message": "..."}; throws std::runtime_error(message).
// - "StubbornWorkflow"/"stubborn": input {"ms": N}; sleeps N ms and ignores cancellation (for
//   testing shutdown bounds with tasks that do not cooperate).
// - "DemoLifespanWorkflow"/"state": returns what the in-memory demo lifespan holds.

#include <chrono>
#include <string>

#include <hatchet/hatchet.hpp>

namespace hatchet::apps {

struct demo_state {
  std::string greeting;
  std::string started_at;
};

/// The in-memory demo lifespan; `setup_delay` makes its setup take that long (to show that the
/// worker does not register before the setup ends).
hatchet::lifespan<demo_state> demo_lifespan(std::chrono::milliseconds setup_delay = {});

hatchet::workflow echo_workflow();
hatchet::workflow sleep_workflow();
hatchet::workflow fail_workflow();
hatchet::workflow stubborn_workflow();
hatchet::workflow demo_lifespan_workflow();

} // namespace hatchet::apps
