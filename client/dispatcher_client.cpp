#include "client/dispatcher_client.hpp"

#include <mutex>

#include "client/channel_impl.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "util/wall_clock.hpp"

namespace hatchet::rpc {

namespace {

void set_now(google::protobuf::Timestamp* ts) {
  set_timestamp(ts, util::wall_clock_ns());
}

/// Takes what the worker uses of `a` (the stream's read buffer, parsed afresh by the next read).
/// The ids are copied into one shared object made here, and nothing copies them again; their
/// strings stay in the message, whose next parse reuses their storage. The payload is moved out
/// (it would be allocated once either way, and a large one is not copied).
wire::assigned_action from_proto(AssignedAction& a) {
  auto ids = std::make_shared<detail::run_ids>();
  ids->workflow_run_id = a.workflow_run_id();
  ids->job_id = a.job_id();
  ids->job_run_id = a.job_run_id();
  ids->task_id = a.task_id();
  ids->task_run_external_id = a.task_run_external_id();
  ids->action_id = a.action_id();
  ids->retry_count = a.retry_count();
  ids->make_key();
  wire::assigned_action x;
  x.ids = std::move(ids);
  x.type = static_cast<wire::action_type>(a.action_type());
  x.action_payload = std::move(*a.mutable_action_payload());
  x.additional_metadata = std::move(*a.mutable_additional_metadata());
  x.priority = a.priority();
  return x;
}

/// ListenV2 through a read reactor: the callbacks only convert and forward.
class listen_reactor final : public grpc::ClientReadReactor<AssignedAction>, public listen_stream {
public:
  listen_reactor(const channel& ch, callback<wire::assigned_action> on_action,
                 callback<wire::rpc_status> on_end)
    : ticket_(ch.ticket()), on_action_(std::move(on_action)), on_end_(std::move(on_end)) {
  }

  void start(const std::shared_ptr<channel>& ch, Dispatcher::Stub& stub,
             std::shared_ptr<listen_reactor> self, const std::string& worker_id, bool legacy) {
    self_ = std::move(self);
    ch->prepare(ctx_, std::chrono::milliseconds{0});
    req_.set_worker_id(worker_id);
    if (legacy)
      stub.async()->Listen(&ctx_, &req_, this);
    else
      stub.async()->ListenV2(&ctx_, &req_, this);
    StartRead(&msg_);
    StartCall();
  }

  void cancel() override { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok)
      return; // OnDone follows with the status
    on_action_(from_proto(msg_));
    StartRead(&msg_);
  }

  void OnDone(const grpc::Status& st) override {
    on_end_(to_wire(st));
    auto keep = std::move(self_); // may release the last reference: nothing after this line
  }

private:
  call_ticket ticket_; // released after ctx_: see channel
  grpc::ClientContext ctx_;
  WorkerListenRequest req_;
  AssignedAction msg_;
  callback<wire::assigned_action> on_action_;
  callback<wire::rpc_status> on_end_;
  std::shared_ptr<listen_reactor> self_;
};

/// What Register reports as language_version, e.g. "C++20 (gcc 12.2.0)".
std::string language_version() {
  const std::string std_version = "C++" + std::to_string(__cplusplus / 100 % 100);
#if defined(__clang__)
  return std_version + " (clang " __clang_version__ ")";
#elif defined(__GNUC__)
  return std_version + " (gcc " __VERSION__ ")";
#else
  return std_version;
#endif
}

} // namespace

struct dispatcher_client::impl {
  std::shared_ptr<channel> ch;
  std::unique_ptr<Dispatcher::Stub> stub;
};

dispatcher_client::dispatcher_client(std::shared_ptr<channel> ch, const config&)
  : impl_(std::make_shared<impl>()) {
  impl_->stub = Dispatcher::NewStub(ch->grpc);
  impl_->ch = std::move(ch);
}

dispatcher_client::~dispatcher_client() = default;

void dispatcher_client::get_version(callback<wire::rpc_status, std::string> done) {
  auto call = std::make_shared<unary_call<GetVersionRequest, GetVersionResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, unary_deadline);
  impl_->stub->async()->GetVersion(&call->ctx, &call->req, &call->resp,
                                   [call, done = std::move(done)](grpc::Status st) {
                                     done(to_wire(st), call->resp.version());
                                   });
}

void dispatcher_client::register_worker(const register_request& r,
                                        callback<wire::rpc_status, std::string> done) {
  auto call = std::make_shared<unary_call<WorkerRegisterRequest, WorkerRegisterResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, unary_deadline);
  auto& req = call->req;
  req.set_worker_name(r.worker_name);
  for (const auto& a : r.actions)
    req.add_actions(a);
  req.add_services("default");
  (*req.mutable_slot_config())["default"] = r.slots;
  for (const auto& [k, v] : r.labels)
    (*req.mutable_labels())[k].set_str_value(v);
  auto* info = req.mutable_runtime_info();
  // `language` stays unset: SDKS has no C++ value, and a real engine refuses a present language
  // other than GO, PYTHON, TYPESCRIPT or RUBY ("invalid sdk"). The rest says what we are.
  info->set_sdk_version(HATCHET_CAF_VERSION);
  info->set_language_version(language_version());
  info->set_os("linux");
  info->set_extra("hatchet-caf (C++ Actor Framework 0.17)");
  impl_->stub->async()->Register(&call->ctx, &call->req, &call->resp,
                                 [call, done = std::move(done)](grpc::Status st) {
                                   done(to_wire(st), call->resp.worker_id());
                                 });
}

std::shared_ptr<listen_stream> dispatcher_client::listen(const std::string& worker_id,
                                                         callback<wire::assigned_action> on_action,
                                                         callback<wire::rpc_status> on_end,
                                                         bool legacy) {
  auto r = std::make_shared<listen_reactor>(*impl_->ch, std::move(on_action), std::move(on_end));
  r->start(impl_->ch, *impl_->stub, r, worker_id, legacy);
  return r;
}

void dispatcher_client::heartbeat(const std::string& worker_id, callback<wire::rpc_status> done) {
  auto call = std::make_shared<unary_call<HeartbeatRequest, HeartbeatResponse>>(*impl_->ch);
  // A heartbeat that cannot land within 5 s is a miss, as in the official SDKs.
  impl_->ch->prepare(call->ctx, std::chrono::milliseconds{5000});
  call->req.set_worker_id(worker_id);
  set_now(call->req.mutable_heartbeat_at());
  impl_->stub->async()->Heartbeat(&call->ctx, &call->req, &call->resp,
                                  [call, done = std::move(done)](grpc::Status st) {
                                    done(to_wire(st));
                                  });
}

/// A step event's call: one allocation, and a completion callback small enough for
/// std::function to hold without another (a raw pointer; the callback owns the call).
struct event_call : unary_call<StepActionEvent, ActionEventResponse> {
  event_call(const channel& ch, uint64_t s, const std::shared_ptr<const event_acks>& a)
    : unary_call(ch), seq(s), acks(a) {
  }
  uint64_t seq;
  std::shared_ptr<const event_acks> acks;
};

void dispatcher_client::send_event(const wire::step_event& ev, const std::string& worker_id,
                                   uint64_t seq, const std::shared_ptr<const event_acks>& acks) {
  auto* call = new event_call(*impl_->ch, seq, acks);
  // No deadline, as in the official SDKs: a deadline arms a gRPC timer per call, which cost
  // about a tenth of the worker's CPU per run. A dead connection still fails the call (the
  // keepalive pings find it within 15 s) and the outbox sends it again; at a stop, the flush
  // is bounded by flush_timeout.
  impl_->ch->prepare(call->ctx, std::chrono::milliseconds{0});
  const auto& run = *ev.run;
  auto& req = call->req;
  req.set_worker_id(worker_id);
  req.set_job_id(run.job_id);
  req.set_job_run_id(run.job_run_id);
  req.set_task_id(run.task_id);
  req.set_task_run_external_id(run.task_run_external_id);
  req.set_action_id(run.action_id);
  set_timestamp(req.mutable_event_timestamp(), ev.timestamp_ns);
  req.set_event_type(static_cast<StepActionEventType>(ev.type));
  req.set_event_payload(ev.payload);
  req.set_retry_count(run.retry_count);
  if (ev.type == wire::step_event_type::failed)
    req.set_should_not_retry(ev.should_not_retry);
  impl_->stub->async()->SendStepActionEvent(&call->ctx, &call->req, &call->resp,
                                            [call](grpc::Status st) {
                                              std::unique_ptr<event_call> own{call};
                                              (*own->acks)(own->seq, to_wire(st));
                                            });
}

void dispatcher_client::unsubscribe(const std::string& worker_id, callback<wire::rpc_status> done) {
  auto call = std::make_shared<unary_call<WorkerUnsubscribeRequest, WorkerUnsubscribeResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, std::chrono::milliseconds{5000});
  call->req.set_worker_id(worker_id);
  impl_->stub->async()->Unsubscribe(&call->ctx, &call->req, &call->resp,
                                    [call, done = std::move(done)](grpc::Status st) {
                                      done(to_wire(st));
                                    });
}

void dispatcher_client::refresh_timeout(const std::string& task_run_external_id,
                                        const std::string& increment,
                                        callback<wire::rpc_status, int64_t> done) {
  auto call = std::make_shared<unary_call<RefreshTimeoutRequest, RefreshTimeoutResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, unary_deadline);
  call->req.set_task_run_external_id(task_run_external_id);
  call->req.set_increment_timeout_by(increment);
  impl_->stub->async()->RefreshTimeout(
    &call->ctx, &call->req, &call->resp, [call, done = std::move(done)](grpc::Status st) {
      const auto& at = call->resp.timeout_at();
      done(to_wire(st), at.seconds() * 1'000'000'000 + at.nanos());
    });
}

void dispatcher_client::release_slot(const std::string& task_run_external_id,
                                     callback<wire::rpc_status> done) {
  auto call = std::make_shared<unary_call<ReleaseSlotRequest, ReleaseSlotResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, unary_deadline);
  call->req.set_task_run_external_id(task_run_external_id);
  impl_->stub->async()->ReleaseSlot(&call->ctx, &call->req, &call->resp,
                                    [call, done = std::move(done)](grpc::Status st) {
                                      done(to_wire(st));
                                    });
}

} // namespace hatchet::rpc
