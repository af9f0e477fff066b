#pragma once
// The gRPC channel to the engine, behind an opaque handle so that no header outside client/*.cpp
// includes gRPC.

#include <memory>
#include <string>

#include "hatchet/config.hpp"

namespace hatchet::rpc {

class channel;

/// A channel to cfg.host_port with the TLS strategy and message limits the official SDKs use, and
/// the keepalive below (allowed without calls). Cheap: gRPC connects lazily.
std::shared_ptr<channel> make_channel(const config& cfg);

/// The keepalive of every channel (see make_channel): a ping this often, and this long for its
/// answer before the connection counts as dead.
inline constexpr int keepalive_time_ms = 10'000;
inline constexpr int keepalive_timeout_ms = 5'000;

} // namespace hatchet::rpc
