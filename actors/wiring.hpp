#pragma once
// What the worker's actors are wired to outside CAF: the engine, the threads that run synchronous
// task code, and whether a lifespan gets a thread of its own. The defaults are the real ones; the
// actor tests (tests/actors) replace each with something they drive by hand on CAF's test
// coordinator, with virtual time.

#include <cstddef>
#include <functional>
#include <memory>

#include "actors/executor.hpp"
#include "hatchet/config.hpp"

namespace hatchet::rpc {
class engine_link;
} // namespace hatchet::rpc

namespace hatchet::detail {

/// Makes the dispatcher's link to the engine.
using link_factory = std::function<std::shared_ptr<rpc::engine_link>(const config&)>;
/// Makes the executor of synchronous task code, bounded to `threads` jobs at once.
using executor_factory = std::function<std::shared_ptr<executor>(size_t threads)>;

struct wiring {
  /// Empty: the real link (gRPC and the REST API, rpc::make_engine_link).
  link_factory make_link;
  /// Empty: threads started on demand (executor::make).
  executor_factory make_executor;
  /// Lifespan setup and cleanup are user code that may block: by default each lifespan actor is
  /// detached (a thread of its own). False runs it on the scheduler like any actor.
  bool detach_lifespan = true;

  /// The executor for `threads` synchronous jobs at once: make_executor's, or the real one.
  std::shared_ptr<executor> executor_for(size_t threads) const {
    return make_executor ? make_executor(threads) : executor::make(threads);
  }
};

} // namespace hatchet::detail
