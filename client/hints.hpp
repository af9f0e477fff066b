#pragma once
// What a failed call most likely means for the user, said in terms of what to change. gRPC's own
// texts (OpenSSL's "wrong version number", ...) are accurate and unhelpful.

#include <string>

#include "hatchet/config.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

/// The cause no retry will fix, if `st` shows one, with what to set: "" otherwise.
/// - TLS to an engine that speaks plaintext on that port ("wrong version number"): set
///   HATCHET_CLIENT_TLS_STRATEGY=none (the dev engine is plaintext);
/// - the engine's certificate not trusted, or not for that name: the TLS variables to set.
std::string fatal_hint(const config& cfg, const wire::rpc_status& st);

} // namespace hatchet::rpc
