// Pushing events (include/hatchet/events.hpp): checked and namespaced here, sent by
// client/event_push.

#include "hatchet/events.hpp"

#include "client/client_core.hpp"
#include "client/event_push.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace {

rpc::push_request to_request(const event& e, const config& cfg) {
  rpc::push_request r;
  r.key = cfg.apply_namespace(e.key);
  r.payload = e.payload.dump();
  if (!e.additional_metadata.empty())
    r.metadata = e.additional_metadata.dump();
  r.priority = e.priority;
  return r;
}

} // namespace

caf::error event::validate() const {
  if (key.empty())
    return make_error(errc::invalid_config, "an event needs a key");
  if (!additional_metadata.is_object())
    return make_error(errc::invalid_config, "the additional metadata of event '" + key
                                              + "' must be a JSON object, not "
                                              + std::string{additional_metadata.type_name()});
  if (priority < 0 || priority > 3)
    return make_error(errc::invalid_config, "the priority of event '" + key
                                              + "' must be 1, 2 or 3 (0: none), not "
                                              + std::to_string(priority));
  return caf::none;
}

caf::expected<std::string> events_client::push(const std::string& key,
                                                const nlohmann::json& payload,
                                                const nlohmann::json& additional_metadata,
                                                int priority) const {
  event e{key, payload, additional_metadata, priority};
  if (auto err = e.validate())
    return err;
  return rpc::push_event(*core_, to_request(e, core_->cfg()));
}

caf::expected<std::vector<std::string>>
events_client::bulk_push(const std::vector<event>& events) const {
  std::vector<rpc::push_request> reqs;
  reqs.reserve(events.size());
  for (const auto& e : events) {
    if (auto err = e.validate())
      return err;
    reqs.push_back(to_request(e, core_->cfg()));
  }
  return rpc::bulk_push_events(*core_, reqs);
}

} // namespace hatchet
