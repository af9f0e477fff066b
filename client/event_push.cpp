#include "client/event_push.hpp"

#include <google/protobuf/util/time_util.h>

#include "client/channel_impl.hpp"
#include "client/client_core.hpp"
#include "client/rpc_error.hpp"
#include "events/events.grpc.pb.h"

namespace hatchet::rpc {

namespace {

constexpr std::chrono::milliseconds call_deadline{30000};
constexpr size_t max_events_per_call = 1000; // the engine refuses more

void fill(PushEventRequest& out, const push_request& in) {
  out.set_key(in.key);
  out.set_payload(in.payload);
  *out.mutable_event_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  if (!in.metadata.empty())
    out.set_additional_metadata(in.metadata);
  if (in.priority != 0)
    out.set_priority(in.priority);
}

} // namespace

caf::expected<std::string> push_event(detail::client_core& core, const push_request& req) {
  if (auto err = core.ready())
    return err;
  auto stub = EventsService::NewStub(core.channel()->grpc);
  grpc::ClientContext ctx;
  core.channel()->prepare(ctx, call_deadline);
  PushEventRequest wire_req;
  fill(wire_req, req);
  Event resp;
  auto st = stub->Push(&ctx, wire_req, &resp);
  if (!st.ok())
    return to_error("Push", to_wire(st), core.cfg());
  return resp.event_id();
}

caf::expected<std::vector<std::string>> bulk_push_events(detail::client_core& core,
                                                         const std::vector<push_request>& reqs) {
  if (auto err = core.ready())
    return err;
  auto stub = EventsService::NewStub(core.channel()->grpc);
  std::vector<std::string> ids;
  ids.reserve(reqs.size());
  for (size_t next = 0; next < reqs.size();) {
    BulkPushEventRequest wire_req;
    for (; next < reqs.size() && static_cast<size_t>(wire_req.events_size()) < max_events_per_call;
         ++next)
      fill(*wire_req.add_events(), reqs[next]);
    grpc::ClientContext ctx;
    core.channel()->prepare(ctx, call_deadline);
    Events resp;
    auto st = stub->BulkPush(&ctx, wire_req, &resp);
    if (!st.ok())
      return to_error("BulkPush", to_wire(st), core.cfg());
    for (const auto& ev : resp.events())
      ids.push_back(ev.event_id());
  }
  return ids;
}

} // namespace hatchet::rpc
