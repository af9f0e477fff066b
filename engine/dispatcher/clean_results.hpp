#pragma once
// What a real engine does to a finished run's results before it writes them on a
// SubscribeToWorkflowRuns stream, so that the event fits in one gRPC message:
// `cleanResults` and `calculateResultsSize` in internal/services/dispatcher/server.go
// (hatchet-dev/hatchet), the threshold being the gRPC message limit (`WithPayloadSizeThreshold(
// GRPCMaxMsgSize)` in cmd/hatchet-engine/engine/run.go; 4 MiB by default).
//
// - outputs and errors together under the threshold: sent as they are;
// - outputs alone at or over it: no results at all (the event still says FINISHED);
// - else each error longer than (threshold - outputs) / results is replaced by
//   "Error is too large to send over the Hatchet stream."; still over the threshold: none.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/state.hpp"

namespace hatchet::engine {

/// The text a too-large error is replaced with, as the real engine words it.
inline constexpr const char* error_too_large_text =
  "Error is too large to send over the Hatchet stream.";

/// The results to send; nullopt when none may be (the event then carries no results).
std::optional<std::vector<step_result>> clean_results(std::vector<step_result> results,
                                                      size_t threshold);

} // namespace hatchet::engine
