#pragma once
// The supervisor owns the order of start and stop, and is the handle a host monitors.
//
// Start: lifespan actor -> setup -> (only then) dispatcher -> register and listen.
// Stop (shutdown_atom, or an exit message from the host): dispatcher drains and ends, taking the
// task actors with it -> then the lifespan actor ends, running the cleanup -> the supervisor quits
// with `normal`, or with the first error (setup, registration, cleanup) as its exit reason.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/wiring.hpp"
#include "actors/worker_spec.hpp"

namespace hatchet::detail {

caf::actor spawn_supervisor(caf::actor_system& sys, worker_spec_ptr spec,
                            const wiring& wires = {});

} // namespace hatchet::detail
