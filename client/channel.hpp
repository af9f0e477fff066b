#pragma once
// The gRPC channel to the engine, behind an opaque handle so that no header outside client/*.cpp
// includes gRPC.

#include <memory>
#include <string>

#include "hatchet/config.hpp"

namespace hatchet::rpc {

class channel;

/// A channel to cfg.host_port with the TLS strategy, message limits and keepalive the official
/// SDKs use (ping every 10 s, 60 s timeout, allowed without calls). Cheap: gRPC connects lazily.
std::shared_ptr<channel> make_channel(const config& cfg);

} // namespace hatchet::rpc
