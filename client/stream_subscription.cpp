#include "client/stream_subscription.hpp"

#include <grpcpp/grpcpp.h>

#include "client/channel_impl.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "hatchet/errors.hpp"

namespace hatchet::rpc {

caf::error subscribe_stream(const config& cfg, const std::string& workflow_run_id,
                            const std::function<void(const stream_chunk&)>& on_chunk,
                            std::chrono::milliseconds timeout) {
  auto ch = make_channel(cfg);
  auto stub = Dispatcher::NewStub(ch->grpc);
  grpc::ClientContext ctx;
  ch->prepare(ctx, timeout);
  SubscribeToWorkflowEventsRequest req;
  req.set_workflow_run_id(workflow_run_id);
  auto reader = stub->SubscribeToWorkflowEvents(&ctx, req);
  WorkflowEvent ev;
  bool hung_up = false;
  while (reader->Read(&ev)) {
    if (ev.resource_type() == RESOURCE_TYPE_STEP_RUN
        && ev.event_type() == RESOURCE_EVENT_TYPE_STREAM) {
      stream_chunk chunk;
      chunk.task_run_external_id = ev.resource_id();
      chunk.data = std::move(*ev.mutable_event_payload());
      if (ev.has_event_index())
        chunk.index = ev.event_index();
      on_chunk(chunk);
    }
    // The run's other events (tasks starting and ending) are not chunks; the run's end comes
    // with `hangup`, after which the engine ends the call.
    if (ev.hangup()) {
      hung_up = true;
      ctx.TryCancel();
      break;
    }
  }
  auto st = reader->Finish();
  if (hung_up || st.ok())
    return {};
  return make_error(errc::rpc_failed, "SubscribeToWorkflowEvents for run " + workflow_run_id
                                        + " ended with " + to_wire(st).describe());
}

} // namespace hatchet::rpc
