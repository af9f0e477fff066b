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

#include <atomic>
#include <functional>
#include <memory>

#include "hatchet/detail/lifespan_state.hpp"

namespace hatchet::detail {

/// The gated pointer, and whether its last copy is gone.
struct gate {
  lifespan_state_ptr state; ///< hand this out; every copy is a holder
  /// Set once the last copy is destroyed and what it held is released (not merely when the use
  /// count reaches zero, which happens before the deleter has run).
  std::shared_ptr<const std::atomic<bool>> closed;
};

/// Gates `state`: the returned pointer reads the same object. When its last copy is destroyed,
/// the original `state` is released, `closed` is set, and `on_closed` runs, on that thread. A null
/// `state` gives a null pointer and a gate that is closed already: without a lifespan there is
/// nothing to protect.
inline gate open_gate(lifespan_state_ptr state, std::function<void()> on_closed) {
  auto closed = std::make_shared<std::atomic<bool>>(state == nullptr);
  if (!state)
    return {nullptr, closed};
  const auto* raw = state.get();
  lifespan_state_ptr gated{raw, [state = std::move(state), closed,
                                 on_closed = std::move(on_closed)](const lifespan_state*) mutable noexcept {
                             state.reset();
                             closed->store(true);
                             if (on_closed)
                               on_closed();
                           }};
  return {std::move(gated), std::move(closed)};
}

} // namespace hatchet::detail
