#pragma once
// Pushing events to the engine (EventsService Push and BulkPush). A pushed event starts a run of
// every workflow whose on_events keys match its key (see workflow::on_events).

#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace hatchet {

namespace detail {
class client_core;
} // namespace detail

/// One event for events_client::bulk_push.
struct event {
  /// The key workflows subscribe to ("user:created"); the namespace, if any, is prefixed.
  /// Must not be empty.
  std::string key;
  /// The input of the runs it starts: a JSON object, as tasks expect (a real engine gives a
  /// run of a single task null for anything else). Default {}.
  nlohmann::json payload = nlohmann::json::object();
  /// A JSON object: the runs' additional metadata, without keys starting `hatchet__` (the
  /// engine's own), plus `hatchet__event_id` and `hatchet__event_key`. Default: none.
  nlohmann::json additional_metadata = nlohmann::json::object();
  /// 1 (low) to 3 (high), the priority of the runs it starts; 0 (default) sends none.
  int priority = 0;

  /// errc::invalid_config naming the field.
  caf::error validate() const;
};

/// `client.events()`. Cheap to copy; shares the client's connection. Usable from any thread.
class events_client {
public:
  explicit events_client(std::shared_ptr<detail::client_core> core) : core_(std::move(core)) {}

  /// Pushes one event; returns the id the engine gave it. The engine answers before the runs
  /// the event starts exist (a real engine creates them afterwards, asynchronously). Errors:
  /// errc::invalid_config (a field, or the configuration), errc::invalid_token,
  /// errc::rpc_failed (the engine refused it or could not be reached).
  caf::expected<std::string> push(const std::string& key,
                                  const nlohmann::json& payload = nlohmann::json::object(),
                                  const nlohmann::json& additional_metadata
                                  = nlohmann::json::object(),
                                  int priority = 0) const;

  /// Pushes many events, in calls of at most 1000 (the engine's limit); returns their ids in
  /// order. Every event is checked before any is sent; a call the engine refuses stops the
  /// push there (the events of earlier calls are already in).
  caf::expected<std::vector<std::string>> bulk_push(const std::vector<event>& events) const;

private:
  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
