// The client-facing unary services: `/WorkflowService/*` (trigger), `/v1.AdminService/*`
// (register workflows, run details, cancel, replay) and `/EventsService/*` (logs, stream events,
// pushed events, which start the workflows their keys trigger). One translation unit so the
// generated headers are compiled once.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/grpc_support.hpp"
#include "engine/rfc3339.hpp"
#include "util/ids.hpp"
#include "engine/services.hpp"
#include "events/events.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"
#include "workflows/workflows.grpc.pb.h"

namespace hatchet::engine {

namespace {

constexpr int max_bulk_events = 1000;

// ---------------------------------------------------------------------------------------------
// WorkflowService

trigger_spec to_spec(const v1::TriggerWorkflowRequest& r) {
  trigger_spec s;
  s.name = r.name();
  s.input = r.input();
  if (r.has_additional_metadata())
    s.additional_metadata = r.additional_metadata();
  if (r.has_priority())
    s.priority = r.priority();
  if (r.has_parent_id())
    s.parent_id = r.parent_id();
  if (r.has_parent_task_run_external_id())
    s.parent_task_run_external_id = r.parent_task_run_external_id();
  if (r.has_child_index())
    s.child_index = r.child_index();
  if (r.has_child_key())
    s.child_key = r.child_key();
  return s;
}

class workflow_service final : public WorkflowService::CallbackService {
public:
  explicit workflow_service(service_env env) : env_(env) {}

  grpc::ServerUnaryReactor* TriggerWorkflow(grpc::CallbackServerContext* ctx,
                                            const v1::TriggerWorkflowRequest* req,
                                            TriggerWorkflowResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      std::vector<std::string> ids;
      status st = env_.state.trigger({to_spec(*req)}, ids);
      if (!st.ok())
        return to_grpc(st);
      resp->set_workflow_run_id(ids.front());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* BulkTriggerWorkflow(grpc::CallbackServerContext* ctx,
                                                const BulkTriggerWorkflowRequest* req,
                                                BulkTriggerWorkflowResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      std::vector<trigger_spec> specs;
      specs.reserve(static_cast<size_t>(req->workflows_size()));
      for (const auto& w : req->workflows())
        specs.push_back(to_spec(w));
      std::vector<std::string> ids;
      status st = env_.state.trigger(specs, ids);
      if (!st.ok())
        return to_grpc(st);
      for (auto& id : ids)
        resp->add_workflow_run_ids(std::move(id));
      return grpc::Status::OK;
    });
  }

  // One scheduled run per timestamp, fired by the ticker (timed_triggers.cpp); the real
  // engine's checks, in its order (internal/services/admin/server.go, ScheduleWorkflow).
  grpc::ServerUnaryReactor* ScheduleWorkflow(grpc::CallbackServerContext* ctx,
                                             const ScheduleWorkflowRequest* req,
                                             WorkflowVersion* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (req->has_parent_id()
          && (!req->has_parent_task_run_external_id() || !req->has_child_index()))
        return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                            "parent_task_run_external_id and child_index are required when "
                            "parent_id is set"};
      if (!req->input().empty() && !is_valid_json(req->input()))
        return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, "input must be valid JSON"};
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      schedule_spec spec;
      spec.workflow = req->name();
      spec.input = req->input().empty() ? std::string{"{}"} : req->input();
      if (req->has_additional_metadata() && !req->additional_metadata().empty())
        spec.additional_metadata = req->additional_metadata();
      if (req->has_priority())
        spec.priority = req->priority();
      for (int i = 0; i < req->schedules_size(); ++i) {
        const auto& ts = req->schedules(i);
        auto at = from_timestamp(ts.seconds(), ts.nanos());
        if (!at.at)
          return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                              "schedules[" + std::to_string(i) + "] ("
                                + std::to_string(ts.seconds()) + " s since 1970) " + at.why};
        spec.trigger_at.push_back(*at.at);
      }
      std::vector<schedule_view> made;
      status st = env_.state.create_schedules(spec, made);
      if (!st.ok())
        return to_grpc(st);
      if (!made.empty()) {
        resp->set_id(made.front().workflow_version_id);
        resp->set_workflow_id(made.front().workflow_id);
      }
      set_now(resp->mutable_created_at());
      set_now(resp->mutable_updated_at());
      for (const auto& m : made) {
        auto* sw = resp->add_scheduled_workflows();
        sw->set_id(m.id);
        set_time(sw->mutable_trigger_at(), m.trigger_at);
      }
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* PutWorkflow(grpc::CallbackServerContext* ctx,
                                        const PutWorkflowRequest*, WorkflowVersion*) override {
    return unary(ctx, env_.auth, [] { return refuse_method("/WorkflowService/PutWorkflow"); });
  }

  grpc::ServerUnaryReactor* PutRateLimit(grpc::CallbackServerContext* ctx,
                                         const PutRateLimitRequest*,
                                         PutRateLimitResponse*) override {
    return unary(ctx, env_.auth, [] { return refuse_method("/WorkflowService/PutRateLimit"); });
  }

private:
  service_env env_;
};

// ---------------------------------------------------------------------------------------------
// v1.AdminService

v1::RunStatus to_proto(run_status s) {
  switch (s) {
    case run_status::queued:
      return v1::QUEUED;
    case run_status::running:
      return v1::RUNNING;
    case run_status::completed:
      return v1::COMPLETED;
    case run_status::failed:
      return v1::FAILED;
    case run_status::cancelled:
      return v1::CANCELLED;
  }
  return v1::QUEUED;
}

task_spec to_spec(const v1::CreateTaskOpts& t) {
  task_spec ts;
  ts.readable_id = t.readable_id();
  ts.action = t.action();
  ts.timeout = t.timeout();
  ts.retries = t.retries();
  ts.parents.assign(t.parents().begin(), t.parents().end());
  for (const auto& [type, units] : t.slot_requests())
    ts.slot_requests.emplace(type, units);
  if (t.has_backoff_factor())
    ts.backoff_factor = t.backoff_factor();
  if (t.has_backoff_max_seconds())
    ts.backoff_max_seconds = t.backoff_max_seconds();
  if (t.has_schedule_timeout())
    ts.schedule_timeout = t.schedule_timeout();
  return ts;
}

/// CancelTasks and ReplayTasks as the real engine checks them (admin/v1/server.go): each id a
/// uuid, then ids and a filter together refused; a filter, even an empty one, selects the tasks
/// (the field's presence counts, unlike the other message fields), which the dev engine does not
/// model yet.
template <class Request>
grpc::Status check_ids_or_filter(const Request& req) {
  for (const auto& id : req.external_ids())
    if (!util::is_uuid(id))
      return {grpc::StatusCode::INVALID_ARGUMENT, "invalid external id"};
  if (req.external_ids_size() > 0 && req.has_filter())
    return {grpc::StatusCode::INVALID_ARGUMENT, "cannot provide both external ids and filter"};
  if (req.has_filter()) {
    const auto name = Request::descriptor()->full_name() + ".filter";
    const auto* rule = rule_for(name);
    return {grpc::StatusCode::UNIMPLEMENTED,
            "the dev engine does not model " + name + " (filter: "
              + std::string{rule != nullptr ? rule->note : "selecting by filter"}
              + ") yet; a real Hatchet engine acts on it, so the dev engine refuses the request "
                "rather than ignore it"};
  }
  return refuse_unmodelled(req);
}

class admin_service final : public v1::AdminService::CallbackService {
public:
  explicit admin_service(service_env env) : env_(env) {}

  grpc::ServerUnaryReactor* PutWorkflow(grpc::CallbackServerContext* ctx,
                                        const v1::CreateWorkflowVersionRequest* req,
                                        v1::CreateWorkflowVersionResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      workflow_spec spec;
      spec.name = req->name();
      spec.description = req->description();
      if (req->has_default_priority())
        spec.default_priority = req->default_priority();
      for (const auto& t : req->tasks())
        spec.tasks.push_back(to_spec(t));
      if (req->has_on_failure_task())
        spec.on_failure = to_spec(req->on_failure_task());
      spec.event_triggers.assign(req->event_triggers().begin(), req->event_triggers().end());
      spec.cron_triggers.assign(req->cron_triggers().begin(), req->cron_triggers().end());
      if (req->has_cron_input())
        spec.cron_input = req->cron_input();
      workflow_registered out;
      status st = env_.state.put_workflow(spec, out);
      if (!st.ok())
        return to_grpc(st);
      resp->set_id(out.version_id);
      resp->set_workflow_id(out.workflow_id);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* CancelTasks(grpc::CallbackServerContext* ctx,
                                        const v1::CancelTasksRequest* req,
                                        v1::CancelTasksResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = check_ids_or_filter(*req); !refused.ok())
        return refused;
      std::vector<std::string> ids(req->external_ids().begin(), req->external_ids().end());
      std::vector<std::string> cancelled;
      status st = env_.state.cancel(ids, cancelled);
      if (!st.ok())
        return to_grpc(st);
      for (auto& id : cancelled)
        resp->add_cancelled_tasks(std::move(id));
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* ReplayTasks(grpc::CallbackServerContext* ctx,
                                        const v1::ReplayTasksRequest* req,
                                        v1::ReplayTasksResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = check_ids_or_filter(*req); !refused.ok())
        return refused;
      std::vector<std::string> ids(req->external_ids().begin(), req->external_ids().end());
      std::vector<std::string> replayed;
      status st = env_.state.replay(ids, replayed);
      if (!st.ok())
        return to_grpc(st);
      for (auto& id : replayed)
        resp->add_replayed_tasks(std::move(id));
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* GetRunDetails(grpc::CallbackServerContext* ctx,
                                          const v1::GetRunDetailsRequest* req,
                                          v1::GetRunDetailsResponse* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      run_details d;
      status st = env_.state.get_run_details(req->external_id(), d);
      if (!st.ok())
        return to_grpc(st);
      resp->set_input(d.input);
      resp->set_status(to_proto(d.status));
      resp->set_done(d.done);
      resp->set_additional_metadata(d.additional_metadata);
      auto& map = *resp->mutable_task_runs();
      for (const auto& t : d.tasks) {
        v1::TaskRunDetail detail;
        detail.set_external_id(t.external_id);
        detail.set_status(to_proto(t.status));
        if (t.error)
          detail.set_error(*t.error);
        if (t.output)
          detail.set_output(*t.output);
        detail.set_readable_id(t.readable_id);
        map[t.readable_id] = std::move(detail);
      }
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* TriggerWorkflowRun(grpc::CallbackServerContext* ctx,
                                               const v1::TriggerWorkflowRunRequest*,
                                               v1::TriggerWorkflowRunResponse*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/v1.AdminService/TriggerWorkflowRun"); });
  }

  grpc::ServerUnaryReactor* BranchDurableTask(grpc::CallbackServerContext* ctx,
                                              const v1::BranchDurableTaskRequest*,
                                              v1::BranchDurableTaskResponse*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/v1.AdminService/BranchDurableTask"); });
  }

private:
  service_env env_;
};

// ---------------------------------------------------------------------------------------------
// EventsService

/// Checks a pushed event as the real engine's ingestor does (the JSON of payload and metadata,
/// the priority; the key only in a bulk push) and fills the reply `out` (minus the id) and the
/// model's `spec`.
grpc::Status to_event(const PushEventRequest& req, const std::string& tenant_id, Event& out,
                      event_spec& spec) {
  if (!req.payload().empty() && !is_valid_json(req.payload()))
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "Invalid request: invalid json in field `payload`"};
  if (req.has_additional_metadata() && !req.additional_metadata().empty()
      && !is_valid_json(req.additional_metadata()))
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "Invalid request: invalid json in field `additionalMetadata`"};
  if (req.has_priority() && (req.priority() < 1 || req.priority() > 3))
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "priority must be between 1 and 3, got " + std::to_string(req.priority())};
  out.set_tenant_id(tenant_id);
  out.set_key(req.key());
  out.set_payload(req.payload());
  set_now(out.mutable_event_timestamp()); // the engine's time of receipt, as the real one
  if (req.has_additional_metadata())
    out.set_additional_metadata(req.additional_metadata());
  spec.key = req.key();
  spec.payload = req.payload().empty() ? std::string{"{}"} : req.payload();
  spec.additional_metadata = req.additional_metadata();
  if (req.has_priority())
    spec.priority = req.priority();
  return grpc::Status::OK;
}

class events_service final : public EventsService::CallbackService {
public:
  explicit events_service(service_env env) : env_(env) {}

  // Each event starts a run of every workflow whose event trigger matches its key.
  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* ctx, const PushEventRequest* req,
                                 Event* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      std::vector<event_spec> specs(1);
      grpc::Status st = to_event(*req, env_.opts.tenant_id, *resp, specs.front());
      if (!st.ok())
        return st;
      std::vector<std::string> ids;
      env_.state.push_events(specs, ids);
      resp->set_event_id(ids.front());
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* BulkPush(grpc::CallbackServerContext* ctx,
                                     const BulkPushEventRequest* req, Events* resp) override {
    return unary(ctx, env_.auth, [&] {
      if (req->events_size() == 0)
        return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT, "No events to ingest"};
      if (req->events_size() > max_bulk_events)
        return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                            "Invalid request: too many events - "
                              + std::to_string(req->events_size()) + " is over maximum ("
                              + std::to_string(max_bulk_events) + ")"};
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      // All or nothing: every event is checked before any is taken.
      std::vector<event_spec> specs(static_cast<size_t>(req->events_size()));
      for (int i = 0; i < req->events_size(); ++i) {
        const auto& e = req->events(i);
        if (e.key().empty()) {
          resp->Clear();
          return grpc::Status{grpc::StatusCode::INVALID_ARGUMENT,
                              "Invalid request: event " + std::to_string(i) + ": key is required"};
        }
        grpc::Status st = to_event(e, env_.opts.tenant_id, *resp->add_events(),
                                   specs[static_cast<size_t>(i)]);
        if (!st.ok()) {
          resp->Clear();
          return st;
        }
      }
      std::vector<std::string> ids;
      env_.state.push_events(specs, ids);
      for (int i = 0; i < resp->events_size(); ++i)
        resp->mutable_events(i)->set_event_id(ids[static_cast<size_t>(i)]);
      return grpc::Status::OK;
    });
  }

  grpc::ServerUnaryReactor* PutLog(grpc::CallbackServerContext* ctx, const PutLogRequest* req,
                                   PutLogResponse*) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      log_request r;
      r.task_run_external_id = req->task_run_external_id();
      r.message = req->message();
      if (req->has_level())
        r.level = req->level();
      r.metadata = req->metadata();
      if (req->has_task_retry_count())
        r.retry_count = req->task_retry_count();
      if (req->has_created_at()
          && (req->created_at().seconds() != 0 || req->created_at().nanos() != 0)) {
        auto at = from_timestamp(req->created_at().seconds(), req->created_at().nanos());
        if (at.at)
          r.created_at = *at.at;
      }
      return to_grpc(env_.state.put_log(r));
    });
  }

  grpc::ServerUnaryReactor* PutStreamEvent(grpc::CallbackServerContext* ctx,
                                           const PutStreamEventRequest* req,
                                           PutStreamEventResponse*) override {
    return unary(ctx, env_.auth, [&] {
      if (auto refused = refuse_unmodelled(*req); !refused.ok())
        return refused;
      std::optional<int64_t> index;
      if (req->has_event_index())
        index = req->event_index();
      auto at = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds{req->created_at().seconds()}
          + std::chrono::nanoseconds{req->created_at().nanos()})};
      return to_grpc(env_.state.put_stream_event(req->task_run_external_id(), req->message(),
                                                 index, at));
    });
  }

  grpc::ServerUnaryReactor* ReplaySingleEvent(grpc::CallbackServerContext* ctx,
                                              const ReplayEventRequest*, Event*) override {
    return unary(ctx, env_.auth,
                 [] { return refuse_method("/EventsService/ReplaySingleEvent"); });
  }

private:
  service_env env_;
};

} // namespace

std::unique_ptr<grpc::Service> make_workflow_service(service_env env) {
  return std::make_unique<workflow_service>(env);
}

std::unique_ptr<grpc::Service> make_admin_service(service_env env) {
  return std::make_unique<admin_service>(env);
}

std::unique_ptr<grpc::Service> make_events_service(service_env env) {
  return std::make_unique<events_service>(env);
}

} // namespace hatchet::engine
