#pragma once
// EventsService Push and BulkPush: events on the wire, already checked and namespaced by the
// caller (hatchet::events_client in api/events.cpp does both).

#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace hatchet::detail {
class client_core;
} // namespace hatchet::detail

namespace hatchet::rpc {

/// One PushEventRequest: JSON texts as they go on the wire.
struct push_request {
  std::string key;      ///< namespaced
  std::string payload;  ///< a JSON object's text
  std::string metadata; ///< a JSON object's text; empty: none sent
  int priority = 0;     ///< 0: none sent
};

/// EventsService/Push: the id the engine gave the event.
caf::expected<std::string> push_event(detail::client_core& core, const push_request& req);

/// EventsService/BulkPush in calls of at most 1000 events (the engine's limit): the ids in
/// order. A refused call stops there; the events of earlier calls are in.
caf::expected<std::vector<std::string>> bulk_push_events(detail::client_core& core,
                                                         const std::vector<push_request>& reqs);

} // namespace hatchet::rpc
