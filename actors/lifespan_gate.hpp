#pragma once
// The gate between the tasks and the lifespan cleanup.
//
// The cleanup must never run while task code can still reach the state (the bug of
// hatchet-dev/hatchet #3166). Counting task actors is not enough: a synchronous task that ignores
// its cancellation keeps running on a task thread after its actor has gone, and a co_task's
// run_blocking job outlives its actor too. What every such execution does hold is the state
// pointer from its assignment. So the gate hands out one pointer whose copies are the holders
// (the dispatcher, queued assignments, sync jobs, co_task frames), and calls back when the last
// copy is destroyed, on whichever thread that happens.

#include <functional>
#include <memory>

#include "hatchet/lifespan.hpp"

namespace hatchet::detail {

/// Returns a pointer to the same state as `state`. `on_closed` runs once, when the last copy of
/// the returned pointer is destroyed, after `state` itself was released by it. A null `state`
/// gives a null pointer and never calls back: without a lifespan there is nothing to protect.
inline lifespan_state_ptr open_gate(lifespan_state_ptr state, std::function<void()> on_closed) {
  if (!state)
    return {};
  const auto* raw = state.get();
  return lifespan_state_ptr{raw, [state = std::move(state), on_closed = std::move(on_closed)](
                                   const lifespan_state*) mutable noexcept {
                              state.reset();
                              if (on_closed)
                                on_closed();
                            }};
}

} // namespace hatchet::detail
