#pragma once
// What a failed call to the engine is reported as: one rule for every client call.

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

} // namespace hatchet::rpc
