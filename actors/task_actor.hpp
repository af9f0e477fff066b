#pragma once
// A slot: one task actor runs at most one task run at a time. It hands the user's function to
// the executor (never a CAF scheduler thread), owns the run's cancellation state, and reports the
// outcome to the dispatcher. A cancelled run's outcome is reported as `cancelled`, whatever the
// function returned, so that nothing is sent to the engine for it.

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/executor.hpp"

namespace hatchet::detail {

caf::actor spawn_task_actor(caf::local_actor* parent, caf::actor dispatcher,
                            std::shared_ptr<executor> exec);

} // namespace hatchet::detail
