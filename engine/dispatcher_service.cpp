// `/Dispatcher/*`: worker registration, the ListenV2 action stream, heartbeats, task events and
// the SubscribeToWorkflowRuns result stream. Handlers translate protobuf <-> engine_state structs;
// all behaviour lives in state.cpp.

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "dispatcher/dispatcher.grpc.pb.h"
#include "engine/dispatcher/clean_results.hpp"
#include "engine/dispatcher/stream_event_buffer.hpp"
#include "engine/dispatcher/write_pump.hpp"
#include "engine/grpc_support.hpp"
#include "engine/services.hpp"

namespace hatchet::engine {

namespace {

grpc::Status shutting_down() {
  return {grpc::StatusCode::UNAVAILABLE, "engine is stopping"};
}

// ---------------------------------------------------------------------------------------------
// ListenV2

class listen_stream final : public grpc::ServerWriteReactor<AssignedAction>,
                            public action_sink,
                            public write_pump<listen_stream, assigned_action, AssignedAction> {
public:
  using pump_base = write_pump<listen_stream, assigned_action, AssignedAction>;
  friend pump_base;

  /// Starts serving the call; the stream owns itself until OnDone.
  static listen_stream* open(service_env env, grpc::CallbackServerContext* ctx,
                             const WorkerListenRequest& req) {
    auto s = std::shared_ptr<listen_stream>(new listen_stream(env, req.worker_id()));
    s->self_ = s;
    if (auto verdict = check_auth(ctx, env.auth); !verdict) {
      s->abort(unauthenticated(verdict));
      return s.get();
    }
    if (auto refused = refuse_unmodelled(req); !refused.ok()) {
      s->abort(refused);
      return s.get();
    }
    status st = env.state.open_session(s->worker_id_, s);
    if (!st.ok()) {
      // A real engine's ListenV2 returns its worker lookup's error as is, so an unknown worker
      // ends the stream with INTERNAL there, not NOT_FOUND: a worker must not rely on the stream's
      // status to learn that it was forgotten (Heartbeat's NOT_FOUND tells it).
      if (st.code == status_code::not_found)
        st.code = status_code::internal;
      s->abort(to_grpc(st));
      return s.get();
    }
    s->open_ = true;
    return s.get();
  }

  // action_sink
  void enqueue(assigned_action a) override { push(std::move(a)); }
  void flush() override { pump(); }
  void close() override { abort(shutting_down()); }
  std::vector<assigned_action> take_undelivered() override { return take_unsent(); }

  // reactor
  void OnWriteDone(bool ok) override { write_done(ok); }
  void OnCancel() override {
    abort(grpc::Status{grpc::StatusCode::CANCELLED, "cancelled by the client"});
  }
  void OnDone() override {
    if (open_)
      env_.state.close_session(worker_id_, self_);
    auto keep = std::move(self_); // the last reference may go with this scope: touch nothing after
  }

private:
  listen_stream(service_env env, std::string worker_id)
    : env_(env), worker_id_(std::move(worker_id)) {}

  void to_wire(const assigned_action& a, AssignedAction& m) {
    m.Clear();
    m.set_tenant_id(env_.opts.tenant_id);
    m.set_workflow_run_id(a.workflow_run_id);
    m.set_job_id(a.job_id);
    m.set_job_name(a.job_name);
    m.set_job_run_id(a.task_run_external_id);
    m.set_task_id(a.job_id);
    m.set_task_run_external_id(a.task_run_external_id);
    m.set_action_id(a.action_id);
    m.set_action_type(a.kind == action_kind::start ? START_STEP_RUN : CANCEL_STEP_RUN);
    m.set_action_payload(a.payload);
    m.set_task_name(a.job_name);
    m.set_retry_count(a.retry_count);
    m.set_additional_metadata(a.additional_metadata);
    m.set_priority(a.priority);
    m.set_workflow_id(a.workflow_id);
    m.set_workflow_version_id(a.workflow_version_id);
    if (a.parent_task_run_external_id)
      m.set_parent_workflow_run_id(*a.parent_task_run_external_id);
    if (a.child_index)
      m.set_child_workflow_index(*a.child_index);
    if (a.child_key)
      m.set_child_workflow_key(*a.child_key);
  }

  service_env env_;
  std::string worker_id_;
  bool open_ = false;
  std::shared_ptr<listen_stream> self_;
};

// ---------------------------------------------------------------------------------------------
// SubscribeToWorkflowRuns

class runs_stream final
  : public grpc::ServerBidiReactor<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>,
    public run_sink,
    public write_pump<runs_stream, run_finished_ptr, WorkflowRunEvent> {
public:
  using pump_base = write_pump<runs_stream, run_finished_ptr, WorkflowRunEvent>;
  friend pump_base;

  static runs_stream* open(service_env env, grpc::CallbackServerContext* ctx) {
    auto s = std::shared_ptr<runs_stream>(new runs_stream(env));
    s->self_ = s;
    if (auto verdict = check_auth(ctx, env.auth); !verdict) {
      s->abort(unauthenticated(verdict));
      return s.get();
    }
    if (!env.state.attach_run_sink(s)) {
      s->abort(shutting_down());
      return s.get();
    }
    s->attached_ = true;
    s->StartRead(&s->request_);
    return s.get();
  }

  // run_sink
  void enqueue(run_finished_ptr ev) override { push(std::move(ev)); }
  void flush() override { pump(); }
  void close() override { abort(shutting_down()); }

  // reactor
  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or the call broke, in which case OnCancel follows): deliver what
      // is queued, then end.
      finish_when_drained();
      return;
    }
    if (auto refused = refuse_unmodelled(request_); !refused.ok()) {
      abort(refused);
      return;
    }
    if (!request_.workflow_run_id().empty())
      env_.state.watch_run(request_.workflow_run_id(), self_);
    StartRead(&request_);
  }
  void OnWriteDone(bool ok) override { write_done(ok); }
  void OnCancel() override {
    abort(grpc::Status{grpc::StatusCode::CANCELLED, "cancelled by the client"});
  }
  void OnDone() override {
    if (attached_)
      env_.state.detach_run_sink(this);
    auto keep = std::move(self_);
  }

private:
  explicit runs_stream(service_env env) : env_(env) {}

  void to_wire(const run_finished_ptr& ev, WorkflowRunEvent& m) {
    m.Clear();
    m.set_workflow_run_id(ev->workflow_run_id);
    m.set_event_type(WORKFLOW_RUN_EVENT_TYPE_FINISHED);
    set_now(m.mutable_event_timestamp());
    // As the real engine: results that would not fit in one message are cut down, or left out.
    auto results = clean_results(ev->results, env_.opts.max_message_bytes);
    if (!results) {
      spdlog::warn("results size for workflow run {} exceeds {} bytes and cannot be reduced; "
                   "sending the FINISHED event without results",
                   ev->workflow_run_id, env_.opts.max_message_bytes);
      return;
    }
    for (const auto& r : *results) {
      auto* out = m.add_results();
      out->set_task_run_external_id(r.task_run_external_id);
      out->set_task_name(r.task_name);
      out->set_job_run_id(r.task_run_external_id);
      if (r.error)
        out->set_error(*r.error);
      if (r.output)
        out->set_output(*r.output);
    }
  }

  service_env env_;
  SubscribeToWorkflowRunsRequest request_;
  bool attached_ = false;
  std::shared_ptr<runs_stream> self_;
};

// ---------------------------------------------------------------------------------------------
// SubscribeToWorkflowEvents (by run id)

class events_stream final : public grpc::ServerWriteReactor<WorkflowEvent>,
                            public event_sink,
                            public write_pump<events_stream, workflow_event, WorkflowEvent> {
public:
  using pump_base = write_pump<events_stream, workflow_event, WorkflowEvent>;
  friend pump_base;

  static events_stream* open(service_env env, grpc::CallbackServerContext* ctx,
                             const SubscribeToWorkflowEventsRequest& req) {
    auto s = std::shared_ptr<events_stream>(new events_stream(env));
    s->self_ = s;
    if (auto verdict = check_auth(ctx, env.auth); !verdict) {
      s->abort(unauthenticated(verdict));
      return s.get();
    }
    if (auto refused = refuse_unmodelled(req); !refused.ok()) {
      s->abort(refused);
      return s.get();
    }
    // The real engine's request rules: a run id wins; otherwise both metadata fields.
    if (!req.has_workflow_run_id() || req.workflow_run_id().empty()) {
      if (req.has_additional_meta_key() && req.has_additional_meta_value())
        s->abort({grpc::StatusCode::UNIMPLEMENTED,
                  "the dev engine follows runs by workflow_run_id only, not by additional "
                  "metadata"});
      else
        s->abort({grpc::StatusCode::INVALID_ARGUMENT,
                  "either workflow run id or additional meta key-value must be provided"});
      return s.get();
    }
    bool finished = false;
    status st = env.state.subscribe_events(req.workflow_run_id(), s, finished);
    if (!st.ok()) {
      s->abort(to_grpc(st));
      return s.get();
    }
    s->subscribed_ = !finished;
    if (finished)
      s->finish_when_drained(); // a run that has ended: OK at once, no events
    return s.get();
  }

  // event_sink (called under the model's lock, which also guards buffer_)
  void enqueue(workflow_event ev) override {
    std::vector<workflow_event> ready;
    if (ev.what == workflow_event::kind::stream) {
      buffer_.add(std::move(ev), std::chrono::steady_clock::now(), ready);
    } else { // the run's end: every chunk held back goes first, in order
      buffer_.drain(ready);
      ready.push_back(std::move(ev));
    }
    for (auto& r : ready)
      push(std::move(r));
  }
  bool expire(std::chrono::steady_clock::time_point now) override {
    std::vector<workflow_event> ready;
    buffer_.expire(now, ready);
    for (auto& r : ready)
      push(std::move(r));
    return !ready.empty();
  }
  void flush() override { pump(); }
  void end() override { finish_when_drained(); }
  void close() override { abort(shutting_down()); }

  // reactor
  void OnWriteDone(bool ok) override { write_done(ok); }
  void OnCancel() override {
    abort(grpc::Status{grpc::StatusCode::CANCELLED, "cancelled by the client"});
  }
  void OnDone() override {
    if (subscribed_)
      env_.state.unsubscribe_events(this);
    auto keep = std::move(self_);
  }

private:
  explicit events_stream(service_env env)
    : env_(env), buffer_(env.opts.stream_buffer_timeout) {}

  void to_wire(const workflow_event& ev, WorkflowEvent& m) {
    m.Clear();
    m.set_workflow_run_id(ev.workflow_run_id);
    m.set_resource_id(ev.resource_id);
    set_time(m.mutable_event_timestamp(), ev.at);
    if (ev.what == workflow_event::kind::stream) {
      m.set_resource_type(RESOURCE_TYPE_STEP_RUN);
      m.set_event_type(RESOURCE_EVENT_TYPE_STREAM);
      m.set_event_payload(ev.payload); // the bytes as sent, not base64
      if (ev.index)
        m.set_event_index(*ev.index);
    } else {
      m.set_resource_type(RESOURCE_TYPE_WORKFLOW_RUN);
      m.set_event_type(ev.failed      ? RESOURCE_EVENT_TYPE_FAILED
                       : ev.cancelled ? RESOURCE_EVENT_TYPE_CANCELLED
                                      : RESOURCE_EVENT_TYPE_COMPLETED);
      m.set_hangup(true);
    }
  }

  service_env env_;
  stream_event_buffer buffer_; ///< chunks in event_index order, as the real engine's buffer
  bool subscribed_ = false;
  std::shared_ptr<events_stream> self_;
};

// ---------------------------------------------------------------------------------------------
// A server stream the dev engine refuses: finished at once, UNAUTHENTICATED or UNIMPLEMENTED.

template <class Wire>
class refusing_writer final : public grpc::ServerWriteReactor<Wire> {
public:
  static refusing_writer* open(grpc::CallbackServerContext* ctx, const token_verifier& auth,
                               std::string_view method) {
    auto* w = new refusing_writer; // deletes itself in OnDone
    auto verdict = check_auth(ctx, auth);
    w->Finish(verdict ? refuse_method(method) : unauthenticated(verdict));
    return w;
  }
  void OnDone() override { delete this; }
};

// ---------------------------------------------------------------------------------------------
// The service

std::map<std::string, std::string> labels_of(
  const google::protobuf::Map<std::string, WorkerLabels>& labels) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : labels)
    out[key] = value.has_str_value()   ? value.str_value()
               : value.has_int_value() ? std::to_string(value.int_value())
                                       : std::string{};
  return out;
}

step_event_kind kind_of(StepActionEventType t) {
  switch (t) {
    case STEP_EVENT_TYPE_STARTED:
      return step_event_kind::started;
    case STEP_EVENT_TYPE_COMPLETED:
      return step_event_kind::completed;
    case STEP_EVENT_TYPE_FAILED:
      return step_event_kind::failed;
    default:
      return step_event_kind::other;
  }
}

class dispatcher_service final : public Dispatcher::CallbackService {
public:
  explicit dispatcher_service(service_env env) : env_(env) {}

  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* ctx, const GetVersionRequest*,
                                       GetVersionResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      resp->set_version(env_.opts.version);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* ctx,
                                     const WorkerRegisterRequest* req,
                                     WorkerRegisterResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      worker_spec spec;
      spec.name = req->worker_name();
      spec.actions.assign(req->actions().begin(), req->actions().end());
      spec.services.assign(req->services().begin(), req->services().end());
      if (req->has_runtime_info() && req->runtime_info().has_language())
        spec.language = static_cast<int32_t>(req->runtime_info().language());
      if (req->has_slots())
        spec.slots = req->slots();
      for (const auto& [type, units] : req->slot_config())
        spec.slot_config.emplace(type, units);
      spec.labels = labels_of(req->labels());
      worker_registered out;
      status st = env_.state.register_worker(spec, out);
      if (!st.ok())
        return to_grpc(st);
      resp->set_tenant_id(env_.opts.tenant_id);
      resp->set_worker_id(out.worker_id);
      resp->set_worker_name(out.worker_name);
      return grpc::Status::OK;
    });
  }

  grpc::ServerWriteReactor<AssignedAction>* ListenV2(grpc::CallbackServerContext* ctx,
                                                     const WorkerListenRequest* req) override {
    return listen_stream::open(env_, ctx, *req);
  }

  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const HeartbeatRequest* req, HeartbeatResponse*) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      return to_grpc(env_.state.heartbeat(req->worker_id()));
    });
  }

  grpc::ServerBidiReactor<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>*
  SubscribeToWorkflowRuns(grpc::CallbackServerContext* ctx) override {
    return runs_stream::open(env_, ctx);
  }

  grpc::ServerWriteReactor<WorkflowEvent>*
  SubscribeToWorkflowEvents(grpc::CallbackServerContext* ctx,
                            const SubscribeToWorkflowEventsRequest* req) override {
    return events_stream::open(env_, ctx, *req);
  }

  grpc::ServerUnaryReactor* SendStepActionEvent(grpc::CallbackServerContext* ctx,
                                                const StepActionEvent* req,
                                                ActionEventResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      step_event ev;
      ev.task_run_external_id = req->task_run_external_id();
      ev.kind = kind_of(req->event_type());
      ev.payload = req->event_payload();
      if (req->has_retry_count())
        ev.retry_count = req->retry_count();
      ev.should_not_retry = req->has_should_not_retry() && req->should_not_retry();
      status st = env_.state.handle_step_event(ev);
      if (!st.ok())
        return to_grpc(st);
      resp->set_tenant_id(env_.opts.tenant_id);
      resp->set_worker_id(req->worker_id());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* PutOverridesData(grpc::CallbackServerContext* ctx,
                                             const OverridesData* req,
                                             OverridesDataResponse*) override {
    return unary(ctx, env_.auth, [&] { return refuse_unmodelled(*req); }); // else a no-op, as there
  }

  grpc::ServerUnaryReactor* Unsubscribe(grpc::CallbackServerContext* ctx,
                                        const WorkerUnsubscribeRequest* req,
                                        WorkerUnsubscribeResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      status st = env_.state.unsubscribe(req->worker_id());
      if (!st.ok())
        return to_grpc(st);
      resp->set_tenant_id(env_.opts.tenant_id);
      resp->set_worker_id(req->worker_id());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* RefreshTimeout(grpc::CallbackServerContext* ctx,
                                           const RefreshTimeoutRequest* req,
                                           RefreshTimeoutResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      std::chrono::system_clock::time_point at;
      status st = env_.state.refresh_timeout(req->task_run_external_id(),
                                             req->increment_timeout_by(), at);
      if (!st.ok())
        return to_grpc(st);
      set_time(resp->mutable_timeout_at(), at);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* ReleaseSlot(grpc::CallbackServerContext* ctx,
                                        const ReleaseSlotRequest* req,
                                        ReleaseSlotResponse*) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      return to_grpc(env_.state.release_slot(req->task_run_external_id()));
    });
  }

  grpc::ServerUnaryReactor* UpsertWorkerLabels(grpc::CallbackServerContext* ctx,
                                               const UpsertWorkerLabelsRequest* req,
                                               UpsertWorkerLabelsResponse* resp) override {
    // Labels only matter for affinity scheduling, which the dev engine does not do: kept only.
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      status st = env_.state.upsert_labels(req->worker_id(), labels_of(req->labels()));
      if (!st.ok())
        return to_grpc(st);
      resp->set_tenant_id(env_.opts.tenant_id);
      resp->set_worker_id(req->worker_id());
      return grpc::Status::OK;
    });
  }

  // -- methods the dev engine does not serve: refused by name (request_fields.cpp) ---------------

  grpc::ServerWriteReactor<AssignedAction>* Listen(grpc::CallbackServerContext* ctx,
                                                   const WorkerListenRequest*) override {
    return refusing_writer<AssignedAction>::open(ctx, env_.auth, "/Dispatcher/Listen");
  }

  grpc::ServerUnaryReactor* SendBatchActionEvent(grpc::CallbackServerContext* ctx,
                                                 const BatchActionEvent*,
                                                 ActionEventResponse*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/Dispatcher/SendBatchActionEvent"); });
  }

  grpc::ServerUnaryReactor* SendGroupKeyActionEvent(grpc::CallbackServerContext* ctx,
                                                    const GroupKeyActionEvent*,
                                                    ActionEventResponse*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/Dispatcher/SendGroupKeyActionEvent"); });
  }

  grpc::ServerUnaryReactor* RestoreEvictedTask(grpc::CallbackServerContext* ctx,
                                               const RestoreEvictedTaskRequest*,
                                               RestoreEvictedTaskResponse*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/Dispatcher/RestoreEvictedTask"); });
  }

private:
  service_env env_;
};

} // namespace

std::unique_ptr<grpc::Service> make_dispatcher_service(service_env env) {
  return std::make_unique<dispatcher_service>(env);
}

} // namespace hatchet::engine
