#pragma once
// A slot: one task actor runs at most one task run at a time. It hands the user's function to
// the executor (never a CAF scheduler thread), owns the run's cancellation state, and reports the
// outcome to the dispatcher, which alone knows why a run was cancelled (by the engine: report
// nothing; by a shutdown: report what the function did).

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/executor.hpp"

namespace hatchet::detail {

caf::actor spawn_task_actor(caf::local_actor* parent, caf::actor dispatcher,
                            std::shared_ptr<executor> exec);

} // namespace hatchet::detail
