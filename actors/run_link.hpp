#pragma once
// A run's own line to the engine: what hatchet::context's log, put_stream, refresh_timeout and
// release_slot become. Log lines and stream chunks of one run go out one call at a time, in the
// order the task made them, so the engine (and a client reading the stream) sees them in that
// order; the stream's event_index counts from 0 per attempt.

#include <memory>
#include <string>

#include <caf/actor_addr.hpp>

#include "actors/worker_log.hpp"
#include "hatchet/context.hpp"

namespace hatchet::rpc {
class engine_link;
} // namespace hatchet::rpc

namespace hatchet::detail {

/// What every run of one registration shares: the link, the worker's id, and the dispatcher to
/// tell when a run gave its slot back (weakly: a late answer must not keep it alive).
struct worker_services final : engine_calls_source,
                                std::enable_shared_from_this<worker_services> {
  std::shared_ptr<rpc::engine_link> link;
  std::string worker_id;
  worker_log log{""}; ///< the worker's log
  caf::actor_addr dispatcher;

  /// The engine calls of the run (an attempt: its id and retry count).
  std::shared_ptr<engine_calls> calls_for(const run_info& run) const override;
};

} // namespace hatchet::detail
