#pragma once
// Dispatcher/SubscribeToWorkflowEvents, reduced to a run's stream chunks: what
// hatchet::client::subscribe_stream (api/stream_client.cpp) reads.

#include <chrono>
#include <functional>
#include <string>

#include <caf/error.hpp>

#include "hatchet/config.hpp"
#include "hatchet/stream.hpp"

namespace hatchet::rpc {

/// Reads run `workflow_run_id`'s stream chunks on a channel of its own, calling `on_chunk` for
/// each, until the engine hangs up after the run's end (no error) or `timeout` passes or the
/// call fails (errc::rpc_failed).
caf::error subscribe_stream(const config& cfg, const std::string& workflow_run_id,
                            const std::function<void(const stream_chunk&)>& on_chunk,
                            std::chrono::milliseconds timeout);

} // namespace hatchet::rpc
