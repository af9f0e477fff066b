#include "engine/request_fields.hpp"

#include <algorithm>
#include <array>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

namespace hatchet::engine {

namespace {

using fu = field_use;

// In any order: request_field_rules() sorts a copy, so rule_for can search.
// Where "the real engine" is named, the file is in hatchet-dev/hatchet; engine/README.md's
// conformance table lists the refusals with the issue that will model each.
constexpr std::array rules{
  // -- /Dispatcher (internal/services/dispatcher/server.go, server_v1.go) ---------------------
  field_rule{"HeartbeatRequest.heartbeat_at", fu::informational,
             "the real engine stamps its own time and only logs a late one"},
  field_rule{"HeartbeatRequest.worker_id", fu::acts, "the worker whose heartbeat it is"},
  field_rule{"OverridesData.caller_filename", fu::informational, "PutOverridesData is a no-op"},
  field_rule{"OverridesData.path", fu::informational, "PutOverridesData is a no-op"},
  field_rule{"OverridesData.task_run_external_id", fu::informational,
             "PutOverridesData is a no-op"},
  field_rule{"OverridesData.value", fu::informational, "PutOverridesData is a no-op"},
  field_rule{"PutLogRequest.created_at", fu::acts, "the line's time when set"},
  field_rule{"PutLogRequest.level", fu::acts, "kept with the line"},
  field_rule{"PutLogRequest.message", fu::acts, "kept with the line"},
  field_rule{"PutLogRequest.metadata", fu::acts, "JSON object, checked and kept"},
  field_rule{"PutLogRequest.task_retry_count", fu::acts, "kept with the line"},
  field_rule{"PutLogRequest.task_run_external_id", fu::acts, "the task the line belongs to"},
  field_rule{"PutStreamEventRequest.created_at", fu::acts, "the chunk's timestamp"},
  field_rule{"PutStreamEventRequest.event_index", fu::acts, "the chunk's place in the stream"},
  field_rule{"PutStreamEventRequest.message", fu::acts, "the chunk"},
  field_rule{"PutStreamEventRequest.metadata", fu::informational,
             "the real ingestor does not read it"},
  field_rule{"PutStreamEventRequest.task_run_external_id", fu::acts, "the streaming task"},
  field_rule{"BulkPushEventRequest.events", fu::acts, "all or nothing"},
  field_rule{"PushEventRequest.additional_metadata", fu::acts, "passed to the runs it starts"},
  field_rule{"PushEventRequest.event_timestamp", fu::informational,
             "the real engine stamps the time it received the event"},
  field_rule{"PushEventRequest.key", fu::acts, "matched against event triggers"},
  field_rule{"PushEventRequest.payload", fu::acts, "the input of the runs it starts"},
  field_rule{"PushEventRequest.priority", fu::acts, "the priority of the runs it starts"},
  field_rule{"PushEventRequest.scope", fu::acts,
             "selects filters; no workflow can have filters here (default_filters is "
             "refused), and a workflow without filters is triggered whatever the scope "
             "(pkg/repository/trigger.go, makeTriggerDecisions, case 1)"},
  field_rule{"RefreshTimeoutRequest.increment_timeout_by", fu::acts, "Go duration"},
  field_rule{"RefreshTimeoutRequest.task_run_external_id", fu::acts, "the running task"},
  field_rule{"ReleaseSlotRequest.task_run_external_id", fu::acts, "frees the task's slot"},
  field_rule{"RuntimeInfo.extra", fu::informational, "shown with the worker"},
  field_rule{"RuntimeInfo.language", fu::informational, "shown with the worker"},
  field_rule{"RuntimeInfo.language_version", fu::informational, "shown with the worker"},
  field_rule{"RuntimeInfo.os", fu::informational, "shown with the worker"},
  field_rule{"RuntimeInfo.sdk_version", fu::informational, "shown with the worker"},
  field_rule{"ScheduleWorkflowRequest.additional_metadata", fu::acts, "the run's metadata"},
  field_rule{"ScheduleWorkflowRequest.child_index", fu::refused,
             "a scheduled run's link to a parent task (issue 21)"},
  field_rule{"ScheduleWorkflowRequest.child_key", fu::refused,
             "a scheduled run's link to a parent task (issue 21)"},
  field_rule{"ScheduleWorkflowRequest.input", fu::acts, "the run's input"},
  field_rule{"ScheduleWorkflowRequest.name", fu::acts, "the workflow"},
  field_rule{"ScheduleWorkflowRequest.parent_id", fu::refused,
             "a scheduled run's link to a parent task (issue 21)"},
  field_rule{"ScheduleWorkflowRequest.parent_task_run_external_id", fu::refused,
             "a scheduled run's link to a parent task (issue 21)"},
  field_rule{"ScheduleWorkflowRequest.priority", fu::acts, "the run's queue priority"},
  field_rule{"ScheduleWorkflowRequest.schedules", fu::acts, "one run per time"},
  field_rule{"StepActionEvent.action_id", fu::informational,
             "the v1 engine finds the task by task_run_external_id"},
  field_rule{"StepActionEvent.event_payload", fu::acts, "output or error"},
  field_rule{"StepActionEvent.event_timestamp", fu::informational,
             "the time shown in the task's event log"},
  field_rule{"StepActionEvent.event_type", fu::acts, "started, completed, failed"},
  field_rule{"StepActionEvent.job_id", fu::informational,
             "the v1 engine finds the task by task_run_external_id"},
  field_rule{"StepActionEvent.job_run_id", fu::informational,
             "the v1 engine finds the task by task_run_external_id"},
  field_rule{"StepActionEvent.retry_count", fu::acts, "which attempt the event is about"},
  field_rule{"StepActionEvent.should_not_retry", fu::acts, "a failure that is not retried"},
  field_rule{"StepActionEvent.task_id", fu::informational,
             "the v1 engine finds the task by task_run_external_id"},
  field_rule{"StepActionEvent.task_run_external_id", fu::acts, "the task"},
  field_rule{"StepActionEvent.worker_id", fu::informational, "echoed in the answer"},
  field_rule{"SubscribeToWorkflowEventsRequest.additional_meta_key", fu::acts,
             "a run id wins; without one, following runs by metadata is refused by name"},
  field_rule{"SubscribeToWorkflowEventsRequest.additional_meta_value", fu::acts,
             "a run id wins; without one, following runs by metadata is refused by name"},
  field_rule{"SubscribeToWorkflowEventsRequest.workflow_run_id", fu::acts, "the run followed"},
  field_rule{"SubscribeToWorkflowRunsRequest.workflow_run_id", fu::acts, "the run followed"},
  field_rule{"UpsertWorkerLabelsRequest.labels", fu::acts,
             "kept with the worker (desired labels, which would use them, are refused)"},
  field_rule{"UpsertWorkerLabelsRequest.worker_id", fu::acts, "the worker"},
  field_rule{"WorkerLabels.int_value", fu::acts, "the label's value"},
  field_rule{"WorkerLabels.str_value", fu::acts, "the label's value"},
  field_rule{"WorkerListenRequest.worker_id", fu::acts, "the worker listening"},
  field_rule{"WorkerRegisterRequest.actions", fu::acts, "what the worker runs"},
  field_rule{"WorkerRegisterRequest.labels", fu::acts,
             "kept with the worker (desired labels, which would use them, are refused)"},
  field_rule{"WorkerRegisterRequest.runtime_info", fu::informational, "shown with the worker"},
  field_rule{"WorkerRegisterRequest.services", fu::informational, "shown with the worker"},
  field_rule{"WorkerRegisterRequest.slot_config", fu::acts, "slots by type"},
  field_rule{"WorkerRegisterRequest.slots", fu::acts, "default slots (deprecated form)"},
  field_rule{"WorkerRegisterRequest.webhook_id", fu::informational,
             "the real engine's Register does not read it"},
  field_rule{"WorkerRegisterRequest.worker_name", fu::acts, "the worker's name"},
  field_rule{"WorkerUnsubscribeRequest.worker_id", fu::acts, "the worker leaving"},
  // -- /v1.AdminService and /WorkflowService (internal/services/admin/v1/server.go) -----------
  field_rule{"v1.CancelTasksRequest.external_ids", fu::acts, "the tasks or runs to cancel"},
  field_rule{"v1.CancelTasksRequest.filter", fu::refused, "cancelling by filter (issue 24)"},
  field_rule{"v1.CreateTaskOpts.action", fu::acts, "the action workers register"},
  field_rule{"v1.CreateTaskOpts.backoff_factor", fu::acts, "retry backoff"},
  field_rule{"v1.CreateTaskOpts.backoff_max_seconds", fu::acts, "retry backoff"},
  field_rule{"v1.CreateTaskOpts.batch", fu::refused, "batch tasks and START_BATCH (issue 20)"},
  field_rule{"v1.CreateTaskOpts.concurrency", fu::refused,
             "task concurrency keys and strategies (issue 20)"},
  field_rule{"v1.CreateTaskOpts.conditions", fu::refused,
             "wait, sleep and skip conditions on DAG tasks (issue 21)"},
  field_rule{"v1.CreateTaskOpts.inputs", fu::informational,
             "the real engine's v1 registration does not read it"},
  field_rule{"v1.CreateTaskOpts.is_durable", fu::refused, "durable tasks (issue 21)"},
  field_rule{"v1.CreateTaskOpts.parents", fu::acts, "the DAG"},
  field_rule{"v1.CreateTaskOpts.rate_limits", fu::refused, "rate limits (issue 20)"},
  field_rule{"v1.CreateTaskOpts.readable_id", fu::acts, "the task's name in the run"},
  field_rule{"v1.CreateTaskOpts.retries", fu::acts, "retries"},
  field_rule{"v1.CreateTaskOpts.schedule_timeout", fu::acts, "time allowed in the queue"},
  field_rule{"v1.CreateTaskOpts.slot_requests", fu::acts, "slots by type"},
  field_rule{"v1.CreateTaskOpts.timeout", fu::acts, "execution timeout"},
  field_rule{"v1.CreateTaskOpts.worker_labels", fu::refused,
             "worker affinity by desired labels (issue 20)"},
  field_rule{"v1.CreateWorkflowVersionRequest.concurrency", fu::refused,
             "workflow concurrency (issue 20)"},
  field_rule{"v1.CreateWorkflowVersionRequest.concurrency_arr", fu::refused,
             "workflow concurrency (issue 20)"},
  field_rule{"v1.CreateWorkflowVersionRequest.cron_input", fu::acts, "the input of cron runs"},
  field_rule{"v1.CreateWorkflowVersionRequest.cron_triggers", fu::acts, "crons"},
  field_rule{"v1.CreateWorkflowVersionRequest.default_filters", fu::refused,
             "event filters (issue 24)"},
  field_rule{"v1.CreateWorkflowVersionRequest.default_priority", fu::acts,
             "the priority of runs whose trigger names none"},
  field_rule{"v1.CreateWorkflowVersionRequest.description", fu::acts,
             "shown with the workflow in the REST list"},
  field_rule{"v1.CreateWorkflowVersionRequest.event_triggers", fu::acts, "event keys"},
  field_rule{"v1.CreateWorkflowVersionRequest.idempotency", fu::refused,
             "idempotency keys (issue 24)"},
  field_rule{"v1.CreateWorkflowVersionRequest.input_json_schema", fu::informational,
             "stored for the dashboard; the real engine does not check inputs against it"},
  field_rule{"v1.CreateWorkflowVersionRequest.name", fu::acts, "the workflow"},
  field_rule{"v1.CreateWorkflowVersionRequest.on_failure_task", fu::acts,
             "runs when a task fails for good"},
  field_rule{"v1.CreateWorkflowVersionRequest.sticky", fu::refused,
             "sticky assignment (issue 20)"},
  field_rule{"v1.CreateWorkflowVersionRequest.tasks", fu::acts, "the tasks"},
  field_rule{"v1.CreateWorkflowVersionRequest.version", fu::informational,
             "shown with the workflow"},
  field_rule{"v1.GetRunDetailsRequest.external_id", fu::acts, "the run"},
  field_rule{"v1.ReplayTasksRequest.external_ids", fu::acts, "the tasks or runs to replay"},
  field_rule{"v1.ReplayTasksRequest.filter", fu::refused, "replaying by filter (issue 24)"},
  field_rule{"v1.TriggerWorkflowRequest.additional_metadata", fu::acts, "the run's metadata"},
  field_rule{"v1.TriggerWorkflowRequest.child_index", fu::acts, "the child's place"},
  field_rule{"v1.TriggerWorkflowRequest.child_key", fu::acts, "the child's key"},
  field_rule{"v1.TriggerWorkflowRequest.desired_worker_id", fu::refused,
             "sticky assignment of a child to its parent's worker (issue 20)"},
  field_rule{"v1.TriggerWorkflowRequest.desired_worker_labels", fu::refused,
             "worker affinity by desired labels (issue 20)"},
  field_rule{"v1.TriggerWorkflowRequest.input", fu::acts, "the run's input"},
  field_rule{"v1.TriggerWorkflowRequest.name", fu::acts, "the workflow"},
  field_rule{"v1.TriggerWorkflowRequest.parent_id", fu::acts, "the parent run"},
  field_rule{"v1.TriggerWorkflowRequest.parent_task_run_external_id", fu::acts,
             "the parent task"},
  field_rule{"v1.TriggerWorkflowRequest.priority", fu::acts, "the run's queue priority"},
  field_rule{"BulkTriggerWorkflowRequest.workflows", fu::acts, "the runs"},
};

constexpr std::array methods{
  method_rule{"/Dispatcher/Listen",
              "the legacy action stream; the dev engine serves /Dispatcher/ListenV2"},
  method_rule{"/Dispatcher/RestoreEvictedTask", "durable task eviction (issue 21)"},
  method_rule{"/Dispatcher/SendBatchActionEvent", "batch tasks (issue 20)"},
  method_rule{"/Dispatcher/SendGroupKeyActionEvent",
              "group key runs, which the v1 engine does not start either"},
  method_rule{"/EventsService/ReplaySingleEvent",
              "the real engine does not implement it either"},
  method_rule{"/WorkflowService/PutRateLimit", "rate limits (issue 20)"},
  method_rule{"/WorkflowService/PutWorkflow",
              "the v0 registration; the dev engine serves /v1.AdminService/PutWorkflow"},
  method_rule{"/v1.AdminService/BranchDurableTask", "durable tasks (issue 21)"},
  method_rule{"/v1.AdminService/TriggerWorkflowRun",
              "the bytes-input trigger no SDK uses; the dev engine serves "
              "/WorkflowService/TriggerWorkflow"},
};

bool by_field(const field_rule& a, const field_rule& b) {
  return a.field < b.field;
}

/// True when `f` of `m` holds something (see unmodelled_field).
bool is_set(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  if (f->is_repeated())
    return r->FieldSize(m, f) > 0;
  if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE)
    return r->HasField(m, f) && r->GetMessage(m, f).ByteSizeLong() > 0;
  return r->HasField(m, f); // explicit presence: present; implicit: not the default
}

std::optional<std::string> walk(const google::protobuf::Message& m, const std::string& path) {
  const auto* r = m.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (!is_set(m, f))
      continue;
    std::string here = path.empty() ? f->name() : path + "." + f->name();
    const field_rule* rule = rule_for(f->full_name());
    if (rule == nullptr)
      return "the dev engine does not know the field " + f->full_name() + " (" + here
             + "), so it refuses the request rather than ignore it";
    if (rule->use == field_use::refused)
      return "the dev engine does not model " + f->full_name() + " (" + here + ": "
             + std::string{rule->note}
             + ") yet; a real Hatchet engine acts on it, so the dev engine refuses the request "
               "rather than ignore it";
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE
        || f->message_type()->file()->package() == "google.protobuf")
      continue;
    if (f->is_map()) {
      const auto* value = f->message_type()->map_value();
      if (value->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE)
        continue;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const auto& entry = r->GetRepeatedMessage(m, f, i);
        const auto& v = entry.GetReflection()->GetMessage(entry, value);
        if (auto why = walk(v, here + "[" + std::to_string(i) + "]"))
          return why;
      }
    } else if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i)
        if (auto why = walk(r->GetRepeatedMessage(m, f, i), here + "[" + std::to_string(i) + "]"))
          return why;
    } else if (auto why = walk(r->GetMessage(m, f), here)) {
      return why;
    }
  }
  return std::nullopt;
}

} // namespace

std::span<const field_rule> request_field_rules() {
  static const auto sorted = [] {
    auto copy = rules;
    std::sort(copy.begin(), copy.end(), by_field);
    return copy;
  }();
  return sorted;
}

const field_rule* rule_for(std::string_view full_field_name) {
  auto all = request_field_rules();
  auto it = std::lower_bound(all.begin(), all.end(), field_rule{full_field_name, fu::acts, {}},
                             by_field);
  return it != all.end() && it->field == full_field_name ? &*it : nullptr;
}

std::span<const method_rule> refused_methods() {
  return methods;
}

std::string refused_method_message(std::string_view method) {
  for (const auto& m : methods)
    if (m.method == method)
      return "the dev engine does not serve " + std::string{method} + " (" + std::string{m.why}
             + ")";
  return "the dev engine does not serve " + std::string{method};
}

std::optional<std::string> unmodelled_field(const google::protobuf::Message& m) {
  return walk(m, "");
}

} // namespace hatchet::engine
