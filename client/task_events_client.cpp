#include "client/task_events_client.hpp"

#include "client/channel_impl.hpp"
#include "events/events.grpc.pb.h"

namespace hatchet::rpc {

struct task_events_client::impl {
  std::shared_ptr<channel> ch;
  std::unique_ptr<EventsService::Stub> stub;
};

task_events_client::task_events_client(std::shared_ptr<channel> ch)
  : impl_(std::make_shared<impl>()) {
  impl_->stub = EventsService::NewStub(ch->grpc);
  impl_->ch = std::move(ch);
}

task_events_client::~task_events_client() = default;

void task_events_client::put_log(const wire::log_line& line,
                                 std::function<void(wire::rpc_status)> done) {
  auto c = std::make_shared<unary_call<PutLogRequest, PutLogResponse>>(*impl_->ch);
  impl_->ch->prepare(c->ctx, deadline);
  c->req.set_task_run_external_id(line.task_run_external_id);
  set_timestamp(c->req.mutable_created_at(), line.timestamp_ns);
  c->req.set_message(line.message);
  if (!line.level.empty())
    c->req.set_level(line.level);
  c->req.set_task_retry_count(line.retry_count);
  impl_->stub->async()->PutLog(&c->ctx, &c->req, &c->resp,
                               [c, done = std::move(done)](grpc::Status st) { done(to_wire(st)); });
}

void task_events_client::put_stream_event(const wire::stream_chunk& chunk,
                                          std::function<void(wire::rpc_status)> done) {
  auto c = std::make_shared<unary_call<PutStreamEventRequest, PutStreamEventResponse>>(*impl_->ch);
  impl_->ch->prepare(c->ctx, deadline);
  c->req.set_task_run_external_id(chunk.task_run_external_id);
  set_timestamp(c->req.mutable_created_at(), chunk.timestamp_ns);
  c->req.set_message(chunk.bytes);
  c->req.set_event_index(chunk.index);
  impl_->stub->async()->PutStreamEvent(
    &c->ctx, &c->req, &c->resp, [c, done = std::move(done)](grpc::Status st) { done(to_wire(st)); });
}

} // namespace hatchet::rpc
