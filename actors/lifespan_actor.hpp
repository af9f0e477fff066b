#pragma once
// The lifespan actor holds the worker's lifespan: on `setup_atom` it runs the coroutine to its
// co_yield and answers with the state; in on_exit it runs the cleanup, exactly once. It is
// detached (its own thread) because setup and cleanup are user code that may block.
//
// The supervisor stops it only after the dispatcher, and with it the last task actor, is gone,
// which is what makes "cleanup after the last task" hold.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "hatchet/lifespan.hpp"

namespace hatchet::detail {

/// How the cleanup went; written by the lifespan actor's on_exit, read by the supervisor after
/// the actor's down message (which CAF sends after on_exit has returned).
struct lifespan_report {
  std::mutex mtx;
  bool cleaned_up = false;
  std::string cleanup_error; ///< empty when the cleanup succeeded or never ran
  /// Set by the supervisor: task code still holds the state, so the lifespan actor must end
  /// without its cleanup.
  bool skip_cleanup = false;
};

/// `generation` numbers the state it sets up (1 for the first; each reload has its own actor).
/// `detached`: a thread of its own (see wiring::detach_lifespan).
caf::actor spawn_lifespan_actor(caf::local_actor* parent, lifespan_fn fn,
                                std::string worker_name, uint64_t generation,
                                std::shared_ptr<lifespan_report> report, bool detached = true);

} // namespace hatchet::detail
