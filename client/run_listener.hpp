#pragma once
// One SubscribeToWorkflowRuns stream per client, shared by every wait for a run's result: each
// watched run id is written onto the stream, and each FINISHED event is handed to the callbacks
// waiting for that run. The stream opens on the first watch and is opened again (with a backoff)
// when the connection breaks or the engine restarts, for the runs still unfinished, as the
// official SDKs' pooled listeners do.
//
// Two threads of its own, started on the first watch: one reads the stream and runs the
// callbacks, one writes the run ids (so that a watch never blocks its caller on the network).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "client/channel.hpp"
#include "hatchet/config.hpp"
#include "hatchet/run_result.hpp"

namespace hatchet::rpc {

class run_listener {
public:
  using callback = std::function<void(caf::expected<hatchet::run_result>)>;

  run_listener(std::shared_ptr<channel> ch, config cfg);
  /// Cancels the stream and joins both threads; callbacks still waiting are dropped unanswered.
  ~run_listener();

  run_listener(const run_listener&) = delete;
  run_listener& operator=(const run_listener&) = delete;

  /// Calls `cb` once, on the reader thread, when run `run_id` finishes, or with an error when
  /// the subscription fails for good (the engine refuses it; or 10 subscriptions in a row end
  /// without a result). Returns a token for unwatch.
  uint64_t watch(const std::string& run_id, callback cb);

  /// Drops a watch that has not fired yet (its caller stopped waiting); false if it had fired.
  bool unwatch(const std::string& run_id, uint64_t token);

private:
  struct impl;
  std::shared_ptr<impl> impl_; ///< shared with the threads
};

} // namespace hatchet::rpc
