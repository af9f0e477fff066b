// Pins the Hatchet gRPC wire contract transcribed in proto/: method paths, request/response types,
// streaming kinds, field numbers/types/cardinality and enum values. A real Hatchet engine only
// understands these exact numbers, so any change here is a wire break, not a refactoring.
//
// If this test fails after a proto edit: the edit is wrong (revert it), unless the upstream Hatchet
// contract itself changed, in which case update the proto and this table together.
#define BOOST_TEST_MODULE proto_contract
#include <boost/test/unit_test.hpp>

#include "dispatcher/dispatcher.grpc.pb.h"
#include "dispatcher/dispatcher.pb.h"
#include "events/events.pb.h"
#include "v1/shared/trigger.pb.h"
#include "v1/workflows.grpc.pb.h"
#include "v1/workflows.pb.h"
#include "workflows/workflows.grpc.pb.h"
#include "workflows/workflows.pb.h"

#include <google/protobuf/descriptor.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// Touch one generated symbol of every file so the descriptors are linked in and registered in the
// generated pool, whatever the linker does with otherwise unreferenced objects.
const DescriptorPool& pool() {
  static const bool linked = [] {
    (void)::AssignedAction::descriptor();
    (void)::PutLogRequest::descriptor();
    (void)::TriggerWorkflowResponse::descriptor();
    (void)::v1::TriggerWorkflowRequest::descriptor();
    (void)::v1::CreateWorkflowVersionRequest::descriptor();
    return true;
  }();
  (void)linked;
  return *DescriptorPool::generated_pool();
}

// --------------------------------------------------------------------------------------------------
// RPCs

enum class Kind { unary, server_stream, client_stream, bidi };

struct RpcSpec {
  const char* path;    // HTTP/2 path as sent on the wire
  const char* input;   // full name of the request message
  const char* output;  // full name of the response message
  Kind kind;
};

constexpr RpcSpec kRpcs[] = {
    {"/Dispatcher/GetVersion", "GetVersionRequest", "GetVersionResponse", Kind::unary},
    {"/Dispatcher/Register", "WorkerRegisterRequest", "WorkerRegisterResponse", Kind::unary},
    {"/Dispatcher/ListenV2", "WorkerListenRequest", "AssignedAction", Kind::server_stream},
    {"/Dispatcher/Heartbeat", "HeartbeatRequest", "HeartbeatResponse", Kind::unary},
    {"/Dispatcher/SendStepActionEvent", "StepActionEvent", "ActionEventResponse", Kind::unary},
    {"/Dispatcher/Unsubscribe", "WorkerUnsubscribeRequest", "WorkerUnsubscribeResponse", Kind::unary},
    {"/Dispatcher/SubscribeToWorkflowRuns", "SubscribeToWorkflowRunsRequest", "WorkflowRunEvent", Kind::bidi},
    {"/Dispatcher/RefreshTimeout", "RefreshTimeoutRequest", "RefreshTimeoutResponse", Kind::unary},
    {"/Dispatcher/ReleaseSlot", "ReleaseSlotRequest", "ReleaseSlotResponse", Kind::unary},
    {"/WorkflowService/TriggerWorkflow", "v1.TriggerWorkflowRequest", "TriggerWorkflowResponse", Kind::unary},
    {"/WorkflowService/BulkTriggerWorkflow", "BulkTriggerWorkflowRequest", "BulkTriggerWorkflowResponse",
     Kind::unary},
    {"/v1.AdminService/PutWorkflow", "v1.CreateWorkflowVersionRequest", "v1.CreateWorkflowVersionResponse",
     Kind::unary},
    {"/v1.AdminService/CancelTasks", "v1.CancelTasksRequest", "v1.CancelTasksResponse", Kind::unary},
    {"/v1.AdminService/GetRunDetails", "v1.GetRunDetailsRequest", "v1.GetRunDetailsResponse", Kind::unary},
    {"/EventsService/PutLog", "PutLogRequest", "PutLogResponse", Kind::unary},
    {"/EventsService/PutStreamEvent", "PutStreamEventRequest", "PutStreamEventResponse", Kind::unary},
};

// "/svc.full.Name/Method" -> {"svc.full.Name", "Method"}
std::pair<std::string, std::string> split_path(std::string_view path) {
  const auto slash = path.rfind('/');
  return {std::string(path.substr(1, slash - 1)), std::string(path.substr(slash + 1))};
}

// --------------------------------------------------------------------------------------------------
// Fields

// Cardinality as written in the .proto.
enum class Card { plain, optional, repeated };

struct FieldSpec {
  const char* message;  // full name
  const char* field;
  int number;
  Card card;
  // Scalar type name ("string", "int32", ...), "enum <Full.Name>", a message full name, or
  // "map<key,value>" (a map field is also Card::repeated on the wire).
  const char* type;
};

constexpr Card P = Card::plain;
constexpr Card O = Card::optional;
constexpr Card R = Card::repeated;
constexpr const char* kTs = "google.protobuf.Timestamp";

// clang-format off
constexpr FieldSpec kFields[] = {
    // ---- dispatcher/dispatcher.proto
    {"WorkerLabels", "str_value", 1, O, "string"},
    {"WorkerLabels", "int_value", 2, O, "int32"},

    {"RuntimeInfo", "sdk_version", 1, O, "string"},
    {"RuntimeInfo", "language", 2, O, "enum SDKS"},
    {"RuntimeInfo", "language_version", 3, O, "string"},
    {"RuntimeInfo", "os", 4, O, "string"},
    {"RuntimeInfo", "extra", 5, O, "string"},

    {"WorkerRegisterRequest", "worker_name", 1, P, "string"},
    {"WorkerRegisterRequest", "actions", 2, R, "string"},
    {"WorkerRegisterRequest", "services", 3, R, "string"},
    {"WorkerRegisterRequest", "slots", 4, O, "int32"},
    {"WorkerRegisterRequest", "labels", 5, R, "map<string,WorkerLabels>"},
    {"WorkerRegisterRequest", "webhook_id", 6, O, "string"},
    {"WorkerRegisterRequest", "runtime_info", 7, O, "RuntimeInfo"},
    {"WorkerRegisterRequest", "slot_config", 9, R, "map<string,int32>"},

    {"WorkerRegisterResponse", "tenant_id", 1, P, "string"},
    {"WorkerRegisterResponse", "worker_id", 2, P, "string"},
    {"WorkerRegisterResponse", "worker_name", 3, P, "string"},

    {"AssignedAction", "tenant_id", 1, P, "string"},
    {"AssignedAction", "workflow_run_id", 2, P, "string"},
    {"AssignedAction", "get_group_key_run_id", 3, P, "string"},
    {"AssignedAction", "job_id", 4, P, "string"},
    {"AssignedAction", "job_name", 5, P, "string"},
    {"AssignedAction", "job_run_id", 6, P, "string"},
    {"AssignedAction", "task_id", 7, P, "string"},
    {"AssignedAction", "task_run_external_id", 8, P, "string"},
    {"AssignedAction", "action_id", 9, P, "string"},
    {"AssignedAction", "action_type", 10, P, "enum ActionType"},
    {"AssignedAction", "action_payload", 11, P, "string"},
    {"AssignedAction", "task_name", 12, P, "string"},
    {"AssignedAction", "retry_count", 13, P, "int32"},
    {"AssignedAction", "additional_metadata", 14, O, "string"},
    {"AssignedAction", "child_workflow_index", 15, O, "int32"},
    {"AssignedAction", "child_workflow_key", 16, O, "string"},
    {"AssignedAction", "parent_workflow_run_id", 17, O, "string"},
    {"AssignedAction", "priority", 18, P, "int32"},
    {"AssignedAction", "workflow_id", 19, O, "string"},
    {"AssignedAction", "workflow_version_id", 20, O, "string"},
    {"AssignedAction", "durable_task_invocation_count", 21, O, "int32"},
    {"AssignedAction", "triggering_event_external_id", 22, O, "string"},
    {"AssignedAction", "triggering_event_key", 23, O, "string"},
    {"AssignedAction", "batchId", 24, O, "string"},
    {"AssignedAction", "batchSize", 25, O, "int32"},
    {"AssignedAction", "batchIndex", 26, O, "int32"},
    {"AssignedAction", "batchStartPayload", 27, O, "BatchStartPayload"},
    {"AssignedAction", "batchKey", 28, O, "string"},
    {"AssignedAction", "task_inserted_at", 29, O, kTs},

    {"BatchStartPayload", "triggerReason", 1, P, "string"},
    {"BatchStartPayload", "triggerTime", 2, P, kTs},
    {"BatchStartPayload", "expectedSize", 3, P, "int32"},

    {"WorkerListenRequest", "worker_id", 1, P, "string"},

    {"HeartbeatRequest", "worker_id", 1, P, "string"},
    {"HeartbeatRequest", "heartbeat_at", 2, P, kTs},

    {"StepActionEvent", "worker_id", 1, P, "string"},
    {"StepActionEvent", "job_id", 2, P, "string"},
    {"StepActionEvent", "job_run_id", 3, P, "string"},
    {"StepActionEvent", "task_id", 4, P, "string"},
    {"StepActionEvent", "task_run_external_id", 5, P, "string"},
    {"StepActionEvent", "action_id", 6, P, "string"},
    {"StepActionEvent", "event_timestamp", 7, P, kTs},
    {"StepActionEvent", "event_type", 8, P, "enum StepActionEventType"},
    {"StepActionEvent", "event_payload", 9, P, "string"},
    {"StepActionEvent", "retry_count", 10, O, "int32"},
    {"StepActionEvent", "should_not_retry", 11, O, "bool"},

    {"ActionEventResponse", "tenant_id", 1, P, "string"},
    {"ActionEventResponse", "worker_id", 2, P, "string"},

    {"WorkerUnsubscribeRequest", "worker_id", 1, P, "string"},

    {"WorkerUnsubscribeResponse", "tenant_id", 1, P, "string"},
    {"WorkerUnsubscribeResponse", "worker_id", 2, P, "string"},

    {"SubscribeToWorkflowRunsRequest", "workflow_run_id", 1, P, "string"},

    {"WorkflowRunEvent", "workflow_run_id", 1, P, "string"},
    {"WorkflowRunEvent", "event_type", 2, P, "enum WorkflowRunEventType"},
    {"WorkflowRunEvent", "event_timestamp", 3, P, kTs},
    {"WorkflowRunEvent", "results", 4, R, "StepRunResult"},

    {"StepRunResult", "task_run_external_id", 1, P, "string"},
    {"StepRunResult", "task_name", 2, P, "string"},
    {"StepRunResult", "job_run_id", 3, P, "string"},
    {"StepRunResult", "error", 4, O, "string"},
    {"StepRunResult", "output", 5, O, "string"},

    {"RefreshTimeoutRequest", "task_run_external_id", 1, P, "string"},
    {"RefreshTimeoutRequest", "increment_timeout_by", 2, P, "string"},

    {"RefreshTimeoutResponse", "timeout_at", 1, P, kTs},

    {"ReleaseSlotRequest", "task_run_external_id", 1, P, "string"},

    {"GetVersionResponse", "version", 1, P, "string"},

    // ---- events/events.proto
    {"PutLogRequest", "task_run_external_id", 1, P, "string"},
    {"PutLogRequest", "created_at", 2, P, kTs},
    {"PutLogRequest", "message", 3, P, "string"},
    {"PutLogRequest", "level", 4, O, "string"},
    {"PutLogRequest", "metadata", 5, P, "string"},
    {"PutLogRequest", "task_retry_count", 6, O, "int32"},

    {"PutStreamEventRequest", "task_run_external_id", 1, P, "string"},
    {"PutStreamEventRequest", "created_at", 2, P, kTs},
    {"PutStreamEventRequest", "message", 3, P, "bytes"},
    {"PutStreamEventRequest", "metadata", 5, P, "string"},
    {"PutStreamEventRequest", "event_index", 6, O, "int64"},

    // ---- v1/shared/trigger.proto
    {"v1.DesiredWorkerLabels", "str_value", 1, O, "string"},
    {"v1.DesiredWorkerLabels", "int_value", 2, O, "int32"},
    {"v1.DesiredWorkerLabels", "required", 3, O, "bool"},
    {"v1.DesiredWorkerLabels", "comparator", 4, O, "enum v1.WorkerLabelComparator"},
    {"v1.DesiredWorkerLabels", "weight", 5, O, "int32"},

    {"v1.TriggerWorkflowRequest", "name", 1, P, "string"},
    {"v1.TriggerWorkflowRequest", "input", 2, P, "string"},
    {"v1.TriggerWorkflowRequest", "parent_id", 3, O, "string"},
    {"v1.TriggerWorkflowRequest", "parent_task_run_external_id", 4, O, "string"},
    {"v1.TriggerWorkflowRequest", "child_index", 5, O, "int32"},
    {"v1.TriggerWorkflowRequest", "child_key", 6, O, "string"},
    {"v1.TriggerWorkflowRequest", "additional_metadata", 7, O, "string"},
    {"v1.TriggerWorkflowRequest", "desired_worker_id", 8, O, "string"},
    {"v1.TriggerWorkflowRequest", "priority", 9, O, "int32"},
    {"v1.TriggerWorkflowRequest", "desired_worker_labels", 10, R, "map<string,v1.DesiredWorkerLabels>"},

    // ---- workflows/workflows.proto
    {"TriggerWorkflowResponse", "workflow_run_id", 1, P, "string"},

    {"BulkTriggerWorkflowRequest", "workflows", 1, R, "v1.TriggerWorkflowRequest"},

    {"BulkTriggerWorkflowResponse", "workflow_run_ids", 1, R, "string"},

    // ---- v1/workflows.proto
    {"v1.CreateWorkflowVersionRequest", "name", 1, P, "string"},
    {"v1.CreateWorkflowVersionRequest", "description", 2, P, "string"},
    {"v1.CreateWorkflowVersionRequest", "version", 3, P, "string"},
    {"v1.CreateWorkflowVersionRequest", "event_triggers", 4, R, "string"},
    {"v1.CreateWorkflowVersionRequest", "cron_triggers", 5, R, "string"},
    {"v1.CreateWorkflowVersionRequest", "tasks", 6, R, "v1.CreateTaskOpts"},
    {"v1.CreateWorkflowVersionRequest", "concurrency", 7, P, "v1.Concurrency"},
    {"v1.CreateWorkflowVersionRequest", "cron_input", 8, O, "string"},
    {"v1.CreateWorkflowVersionRequest", "on_failure_task", 9, O, "v1.CreateTaskOpts"},
    {"v1.CreateWorkflowVersionRequest", "sticky", 10, O, "enum v1.StickyStrategy"},
    {"v1.CreateWorkflowVersionRequest", "default_priority", 11, O, "int32"},
    {"v1.CreateWorkflowVersionRequest", "concurrency_arr", 12, R, "v1.Concurrency"},
    {"v1.CreateWorkflowVersionRequest", "default_filters", 13, R, "v1.DefaultFilter"},
    {"v1.CreateWorkflowVersionRequest", "input_json_schema", 14, O, "bytes"},
    {"v1.CreateWorkflowVersionRequest", "idempotency", 15, O, "v1.IdempotencyConfig"},

    {"v1.CreateTaskOpts", "readable_id", 1, P, "string"},
    {"v1.CreateTaskOpts", "action", 2, P, "string"},
    {"v1.CreateTaskOpts", "timeout", 3, P, "string"},
    {"v1.CreateTaskOpts", "inputs", 4, P, "string"},
    {"v1.CreateTaskOpts", "parents", 5, R, "string"},
    {"v1.CreateTaskOpts", "retries", 6, P, "int32"},
    {"v1.CreateTaskOpts", "rate_limits", 7, R, "v1.CreateTaskRateLimit"},
    {"v1.CreateTaskOpts", "worker_labels", 8, R, "map<string,v1.DesiredWorkerLabels>"},
    {"v1.CreateTaskOpts", "backoff_factor", 9, O, "float"},
    {"v1.CreateTaskOpts", "backoff_max_seconds", 10, O, "int32"},
    {"v1.CreateTaskOpts", "concurrency", 11, R, "v1.Concurrency"},
    {"v1.CreateTaskOpts", "conditions", 12, O, "v1.TaskConditions"},
    {"v1.CreateTaskOpts", "schedule_timeout", 13, O, "string"},
    {"v1.CreateTaskOpts", "is_durable", 14, P, "bool"},
    {"v1.CreateTaskOpts", "slot_requests", 15, R, "map<string,int32>"},
    {"v1.CreateTaskOpts", "batch", 16, O, "v1.TaskBatchConfig"},

    {"v1.CreateWorkflowVersionResponse", "id", 1, P, "string"},
    {"v1.CreateWorkflowVersionResponse", "workflow_id", 2, P, "string"},

    {"v1.CancelTasksRequest", "external_ids", 1, R, "string"},
    {"v1.CancelTasksRequest", "filter", 2, O, "v1.TasksFilter"},

    {"v1.TasksFilter", "statuses", 1, R, "string"},
    {"v1.TasksFilter", "since", 2, P, kTs},
    {"v1.TasksFilter", "until", 3, O, kTs},
    {"v1.TasksFilter", "workflow_ids", 4, R, "string"},
    {"v1.TasksFilter", "additional_metadata", 5, R, "string"},

    {"v1.CancelTasksResponse", "cancelled_tasks", 1, R, "string"},

    {"v1.GetRunDetailsRequest", "external_id", 1, P, "string"},

    {"v1.TaskRunDetail", "external_id", 1, P, "string"},
    {"v1.TaskRunDetail", "status", 2, P, "enum v1.RunStatus"},
    {"v1.TaskRunDetail", "error", 3, O, "string"},
    {"v1.TaskRunDetail", "output", 4, O, "bytes"},
    {"v1.TaskRunDetail", "readable_id", 5, P, "string"},
    {"v1.TaskRunDetail", "is_evicted", 6, P, "bool"},

    {"v1.GetRunDetailsResponse", "input", 1, P, "bytes"},
    {"v1.GetRunDetailsResponse", "status", 2, P, "enum v1.RunStatus"},
    {"v1.GetRunDetailsResponse", "task_runs", 3, R, "map<string,v1.TaskRunDetail>"},
    {"v1.GetRunDetailsResponse", "done", 4, P, "bool"},
    {"v1.GetRunDetailsResponse", "additional_metadata", 5, P, "bytes"},
    {"v1.GetRunDetailsResponse", "is_evicted", 6, P, "bool"},
};
// clang-format on

// Every message whose fields are pinned, including the empty ones (they must stay empty).
constexpr const char* kPinnedMessages[] = {
    "WorkerLabels",
    "RuntimeInfo",
    "WorkerRegisterRequest",
    "WorkerRegisterResponse",
    "AssignedAction",
    "BatchStartPayload",
    "WorkerListenRequest",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "StepActionEvent",
    "ActionEventResponse",
    "WorkerUnsubscribeRequest",
    "WorkerUnsubscribeResponse",
    "SubscribeToWorkflowRunsRequest",
    "WorkflowRunEvent",
    "StepRunResult",
    "RefreshTimeoutRequest",
    "RefreshTimeoutResponse",
    "ReleaseSlotRequest",
    "ReleaseSlotResponse",
    "GetVersionRequest",
    "GetVersionResponse",
    "PutLogRequest",
    "PutLogResponse",
    "PutStreamEventRequest",
    "PutStreamEventResponse",
    "v1.DesiredWorkerLabels",
    "v1.TriggerWorkflowRequest",
    "TriggerWorkflowResponse",
    "BulkTriggerWorkflowRequest",
    "BulkTriggerWorkflowResponse",
    "v1.CreateWorkflowVersionRequest",
    "v1.CreateTaskOpts",
    "v1.CreateWorkflowVersionResponse",
    "v1.CancelTasksRequest",
    "v1.TasksFilter",
    "v1.CancelTasksResponse",
    "v1.GetRunDetailsRequest",
    "v1.TaskRunDetail",
    "v1.GetRunDetailsResponse",
};

std::string describe_type(const FieldDescriptor& f) {
  if (f.is_map()) {
    const Descriptor* entry = f.message_type();
    return "map<" + describe_type(*entry->map_key()) + "," + describe_type(*entry->map_value()) + ">";
  }
  switch (f.type()) {
    case FieldDescriptor::TYPE_ENUM:
      return "enum " + f.enum_type()->full_name();
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return f.message_type()->full_name();
    default:
      return f.type_name();
  }
}

Card describe_card(const FieldDescriptor& f) {
  if (f.is_repeated()) return Card::repeated;
  if (f.has_optional_keyword()) return Card::optional;
  return Card::plain;
}

const char* card_name(Card c) {
  switch (c) {
    case Card::plain: return "plain";
    case Card::optional: return "optional";
    case Card::repeated: return "repeated";
  }
  return "?";
}

// --------------------------------------------------------------------------------------------------
// Enums

struct EnumValueSpec {
  const char* enum_name;  // full name
  const char* value;
  int number;
};

// clang-format off
constexpr EnumValueSpec kEnumValues[] = {
    {"SDKS", "UNKNOWN", 0},
    {"SDKS", "GO", 1},
    {"SDKS", "PYTHON", 2},
    {"SDKS", "TYPESCRIPT", 3},
    {"SDKS", "RUBY", 4},

    {"ActionType", "START_STEP_RUN", 0},
    {"ActionType", "CANCEL_STEP_RUN", 1},
    {"ActionType", "START_GET_GROUP_KEY", 2},
    {"ActionType", "START_BATCH", 3},

    {"StepActionEventType", "STEP_EVENT_TYPE_UNKNOWN", 0},
    {"StepActionEventType", "STEP_EVENT_TYPE_STARTED", 1},
    {"StepActionEventType", "STEP_EVENT_TYPE_COMPLETED", 2},
    {"StepActionEventType", "STEP_EVENT_TYPE_FAILED", 3},
    {"StepActionEventType", "STEP_EVENT_TYPE_ACKNOWLEDGED", 4},
    {"StepActionEventType", "STEP_EVENT_TYPE_CANCELLED", 5},

    {"WorkflowRunEventType", "WORKFLOW_RUN_EVENT_TYPE_FINISHED", 0},

    {"v1.RunStatus", "QUEUED", 0},
    {"v1.RunStatus", "RUNNING", 1},
    {"v1.RunStatus", "COMPLETED", 2},
    {"v1.RunStatus", "FAILED", 3},
    {"v1.RunStatus", "CANCELLED", 4},
    {"v1.RunStatus", "EVICTED", 5},

    {"v1.WorkerLabelComparator", "EQUAL", 0},
    {"v1.WorkerLabelComparator", "NOT_EQUAL", 1},
    {"v1.WorkerLabelComparator", "GREATER_THAN", 2},
    {"v1.WorkerLabelComparator", "GREATER_THAN_OR_EQUAL", 3},
    {"v1.WorkerLabelComparator", "LESS_THAN", 4},
    {"v1.WorkerLabelComparator", "LESS_THAN_OR_EQUAL", 5},
};
// clang-format on

constexpr const char* kPinnedEnums[] = {
    "SDKS", "ActionType", "StepActionEventType", "WorkflowRunEventType", "v1.RunStatus", "v1.WorkerLabelComparator",
};

}  // namespace

// ==================================================================================================

BOOST_AUTO_TEST_CASE(generated_service_names) {
  // grpc_cpp_plugin builds the method paths from these names.
  BOOST_TEST(std::string(::Dispatcher::service_full_name()) == "Dispatcher");
  BOOST_TEST(std::string(::WorkflowService::service_full_name()) == "WorkflowService");
  BOOST_TEST(std::string(::v1::AdminService::service_full_name()) == "v1.AdminService");
  BOOST_TEST(::AssignedAction::descriptor()->file()->package().empty());
  BOOST_TEST(::PutLogRequest::descriptor()->file()->package().empty());
  BOOST_TEST(::TriggerWorkflowResponse::descriptor()->file()->package().empty());
  BOOST_TEST(::v1::TriggerWorkflowRequest::descriptor()->file()->package() == "v1");
}

BOOST_AUTO_TEST_CASE(rpc_paths_types_and_streaming) {
  for (const RpcSpec& rpc : kRpcs) {
    BOOST_TEST_CONTEXT("rpc " << rpc.path) {
      const auto [service_name, method_name] = split_path(rpc.path);
      const ServiceDescriptor* service = pool().FindServiceByName(service_name);
      BOOST_TEST_REQUIRE(service != nullptr);
      const MethodDescriptor* method = service->FindMethodByName(method_name);
      BOOST_TEST_REQUIRE(method != nullptr);

      BOOST_TEST("/" + method->service()->full_name() + "/" + method->name() == std::string(rpc.path));
      BOOST_TEST(method->input_type()->full_name() == std::string(rpc.input));
      BOOST_TEST(method->output_type()->full_name() == std::string(rpc.output));
      const bool client_stream = rpc.kind == Kind::client_stream || rpc.kind == Kind::bidi;
      const bool server_stream = rpc.kind == Kind::server_stream || rpc.kind == Kind::bidi;
      BOOST_TEST(method->client_streaming() == client_stream);
      BOOST_TEST(method->server_streaming() == server_stream);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_method_of_the_services_is_present) {
  // The complete method lists (order irrelevant on the wire, names are not).
  const std::pair<const char*, std::set<std::string>> services[] = {
      {"Dispatcher",
       {"Register", "Listen", "ListenV2", "Heartbeat", "SubscribeToWorkflowEvents", "SubscribeToWorkflowRuns",
        "SendStepActionEvent", "SendBatchActionEvent", "SendGroupKeyActionEvent", "PutOverridesData", "Unsubscribe",
        "RefreshTimeout", "ReleaseSlot", "RestoreEvictedTask", "UpsertWorkerLabels", "GetVersion"}},
      {"EventsService", {"Push", "BulkPush", "ReplaySingleEvent", "PutLog", "PutStreamEvent"}},
      {"WorkflowService", {"PutWorkflow", "ScheduleWorkflow", "TriggerWorkflow", "BulkTriggerWorkflow", "PutRateLimit"}},
      {"v1.AdminService",
       {"PutWorkflow", "CancelTasks", "ReplayTasks", "TriggerWorkflowRun", "GetRunDetails", "BranchDurableTask"}},
  };
  for (const auto& [name, expected] : services) {
    BOOST_TEST_CONTEXT("service " << name) {
      const ServiceDescriptor* service = pool().FindServiceByName(name);
      BOOST_TEST_REQUIRE(service != nullptr);
      std::set<std::string> actual;
      for (int i = 0; i < service->method_count(); ++i) actual.insert(service->method(i)->name());
      BOOST_TEST(actual == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(field_numbers_types_and_cardinality) {
  for (const FieldSpec& spec : kFields) {
    BOOST_TEST_CONTEXT("field " << spec.message << "." << spec.field) {
      const Descriptor* message = pool().FindMessageTypeByName(spec.message);
      BOOST_TEST_REQUIRE(message != nullptr);
      const FieldDescriptor* field = message->FindFieldByName(spec.field);
      BOOST_TEST_REQUIRE(field != nullptr);

      BOOST_TEST(field->number() == spec.number);
      BOOST_TEST(describe_type(*field) == std::string(spec.type));
      BOOST_TEST(std::string(card_name(describe_card(*field))) == card_name(spec.card));
      BOOST_TEST(field->real_containing_oneof() == nullptr);
      if (spec.card == Card::optional) {
        BOOST_TEST(field->has_presence());
      } else if (spec.card == Card::plain && field->type() != FieldDescriptor::TYPE_MESSAGE) {
        // proto3 implicit presence: default values are not sent on the wire.
        BOOST_TEST(!field->has_presence());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_descriptor_field_is_pinned) {
  std::set<std::pair<std::string, std::string>> pinned;
  for (const FieldSpec& spec : kFields) {
    BOOST_TEST_CONTEXT("table row " << spec.message << "." << spec.field) {
      // A duplicate row would hide a missing one.
      BOOST_TEST(pinned.emplace(spec.message, spec.field).second);
      bool listed = false;
      for (const char* m : kPinnedMessages) listed = listed || std::string_view(m) == spec.message;
      BOOST_TEST(listed);
    }
  }
  for (const char* name : kPinnedMessages) {
    BOOST_TEST_CONTEXT("message " << name) {
      const Descriptor* message = pool().FindMessageTypeByName(name);
      BOOST_TEST_REQUIRE(message != nullptr);
      BOOST_TEST(message->real_oneof_decl_count() == 0);  // proto3 `optional` oneofs are synthetic
      for (int i = 0; i < message->field_count(); ++i) {
        const FieldDescriptor* field = message->field(i);
        BOOST_TEST_CONTEXT("field " << field->name() << " = " << field->number()) {
          BOOST_TEST(pinned.count({name, field->name()}) == 1u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(enum_values) {
  for (const EnumValueSpec& spec : kEnumValues) {
    BOOST_TEST_CONTEXT("enum value " << spec.enum_name << "." << spec.value) {
      const EnumDescriptor* e = pool().FindEnumTypeByName(spec.enum_name);
      BOOST_TEST_REQUIRE(e != nullptr);
      const auto* v = e->FindValueByName(spec.value);
      BOOST_TEST_REQUIRE(v != nullptr);
      BOOST_TEST(v->number() == spec.number);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_enum_value_is_pinned) {
  std::set<std::pair<std::string, std::string>> pinned;
  for (const EnumValueSpec& spec : kEnumValues) pinned.emplace(spec.enum_name, spec.value);
  for (const char* name : kPinnedEnums) {
    BOOST_TEST_CONTEXT("enum " << name) {
      const EnumDescriptor* e = pool().FindEnumTypeByName(name);
      BOOST_TEST_REQUIRE(e != nullptr);
      for (int i = 0; i < e->value_count(); ++i) {
        BOOST_TEST_CONTEXT("value " << e->value(i)->name() << " = " << e->value(i)->number()) {
          BOOST_TEST(pinned.count({name, e->value(i)->name()}) == 1u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(golden_bytes) {
  // Explicit presence puts zero values on the wire: tag(10, varint)=0x50, tag(11, varint)=0x58.
  ::StepActionEvent event;
  event.set_retry_count(0);
  event.set_should_not_retry(false);
  BOOST_TEST(event.SerializeAsString() == std::string("\x50\x00\x58\x00", 4));

  // Implicit presence: a zero retry_count on AssignedAction is not sent; field 8 is a length-delimited string.
  ::AssignedAction action;
  action.set_retry_count(0);
  action.set_task_run_external_id("t");
  BOOST_TEST(action.SerializeAsString() == std::string("\x42\x01t", 3));

  // The engine's encoding of a task id + START_STEP_RUN parses into the expected fields.
  ::AssignedAction parsed;
  BOOST_TEST_REQUIRE(parsed.ParseFromString(std::string("\x42\x01x\x50\x01\x68\x02", 7)));
  BOOST_TEST(parsed.task_run_external_id() == "x");
  BOOST_TEST(parsed.action_type() == ::CANCEL_STEP_RUN);
  BOOST_TEST(parsed.retry_count() == 2);
}
