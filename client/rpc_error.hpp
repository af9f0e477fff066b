#pragma once
// What a failed call to the engine is reported as: one rule for every client call.

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "hatchet/config.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

/// The error for the call `what` that ended with `st`: errc::invalid_config when the
/// configuration is at fault (TLS that does not match the engine: the diagnosis says what to
/// set; this may repeat the handshake, so it blocks), errc::invalid_token for a refused token,
/// errc::unknown_workflow for the engine's "workflow names not found", errc::rpc_failed
/// otherwise. The text keeps the call's name and the engine's status and message.
caf::error to_error(const char* what, wire::rpc_status st, const config& cfg);

/// Whether a call that ended with `st` may have reached the engine and taken effect although no
/// answer came back: its deadline passed, or the connection broke once the call was out. A call
/// that never left (no connection could be made: refused, no address) did not.
bool answer_may_be_lost(const wire::rpc_status& st);

/// What a trigger that creates a run is about, for the words of a lost answer.
struct trigger_about {
  std::string workflow;                    ///< as sent (namespaced)
  std::string since_utc;                   ///< RFC 3339, a moment before the call went out
  std::string parent_task_run_external_id; ///< a child run's parent task; empty otherwise
  size_t runs = 1;                         ///< more than 1: a bulk trigger
};

/// As to_error, except that an answer that may have been lost gives errc::outcome_unknown: the
/// run may exist, triggering again may run it twice, and where to look for it first.
caf::error trigger_error(const char* what, wire::rpc_status st, const config& cfg,
                         const trigger_about& about);

} // namespace hatchet::rpc
