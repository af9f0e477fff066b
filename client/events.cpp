// Pushing events (include/hatchet/events.hpp): EventsService Push and BulkPush.

#include "hatchet/events.hpp"

#include <google/protobuf/util/time_util.h>

#include "client/channel_impl.hpp"
#include "client/client_core.hpp"
#include "client/rpc_error.hpp"
#include "events/events.grpc.pb.h"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace {

constexpr std::chrono::milliseconds call_deadline{30000};
constexpr size_t max_events_per_call = 1000; // the engine refuses more

void fill(PushEventRequest& out, const event& e, const config& cfg) {
  out.set_key(cfg.apply_namespace(e.key));
  out.set_payload(e.payload.dump());
  *out.mutable_event_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  if (!e.additional_metadata.empty())
    out.set_additional_metadata(e.additional_metadata.dump());
  if (e.priority != 0)
    out.set_priority(e.priority);
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
  if (auto err = core_->ready())
    return err;
  auto stub = EventsService::NewStub(core_->channel()->grpc);
  grpc::ClientContext ctx;
  core_->channel()->prepare(ctx, call_deadline);
  PushEventRequest req;
  fill(req, e, core_->cfg());
  Event resp;
  auto st = stub->Push(&ctx, req, &resp);
  if (!st.ok())
    return rpc::to_error("Push", rpc::to_wire(st), core_->cfg());
  return resp.event_id();
}

caf::expected<std::vector<std::string>>
events_client::bulk_push(const std::vector<event>& events) const {
  for (const auto& e : events)
    if (auto err = e.validate())
      return err;
  if (auto err = core_->ready())
    return err;
  auto stub = EventsService::NewStub(core_->channel()->grpc);
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (size_t next = 0; next < events.size();) {
    BulkPushEventRequest req;
    for (; next < events.size() && static_cast<size_t>(req.events_size()) < max_events_per_call;
         ++next)
      fill(*req.add_events(), events[next], core_->cfg());
    grpc::ClientContext ctx;
    core_->channel()->prepare(ctx, call_deadline);
    Events resp;
    auto st = stub->BulkPush(&ctx, req, &resp);
    if (!st.ok())
      return rpc::to_error("BulkPush", rpc::to_wire(st), core_->cfg());
    for (const auto& ev : resp.events())
      ids.push_back(ev.event_id());
  }
  return ids;
}

} // namespace hatchet
