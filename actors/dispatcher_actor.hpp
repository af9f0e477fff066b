#pragma once
// The bridge between the engine and the slots. It registers the worker, keeps the ListenV2 stream
// and the heartbeats going, hands each START to a free task actor (never more runs in flight than
// slots), relays CANCELs, and sends STARTED/COMPLETED/FAILED through the event delivery.
//
// Protocol with the supervisor:
// - request (start_atom) -> worker id, once registered and listening; an error if start-up failed.
// - send (drain_atom): stop taking work, let every accepted run finish, flush the events,
//   Unsubscribe, stop the task actors; then the dispatcher quits with reason `normal`. The
//   supervisor sees the down message only after the last task actor is gone.
// - send (status_atom, worker_state) to the supervisor whenever the worker becomes able or unable
//   to take work.

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/wiring.hpp"
#include "actors/worker_spec.hpp"
#include "hatchet/detail/lifespan_state.hpp"
#include "health/worker_metrics.hpp"

namespace hatchet::detail {

/// `metrics` is where the dispatcher counts runs, reconnects and heartbeat failures.
caf::actor spawn_dispatcher(caf::local_actor* parent, worker_spec_ptr spec,
                            lifespan_state_ptr state, std::shared_ptr<worker_metrics> metrics,
                            const wiring& wires = {});

} // namespace hatchet::detail
