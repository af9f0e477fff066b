#pragma once
// Plain C++ mirrors of the few protocol messages that cross from the gRPC side (client/) into the
// actors. The client layer converts to and from protobuf, so no actor code sees gRPC types.

#include <charconv>
#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace hatchet::wire {

/// AssignedAction.action_type values.
enum class action_type : int32_t { start_step_run = 0, cancel_step_run = 1, start_get_group_key = 2,
                                   start_batch = 3 };

/// StepActionEvent.event_type values.
enum class step_event_type : int32_t { unknown = 0, started = 1, completed = 2, failed = 3,
                                       acknowledged = 4, cancelled = 5 };

/// The fields of AssignedAction the worker uses (field numbers in proto/dispatcher).
/// "<task_run_external_id>/<retry_count>", built with one allocation (a run's key is made a few
/// times per run).
inline std::string run_key(const std::string& task_run_external_id, int32_t retry_count) {
  char digits[12];
  auto end = std::to_chars(digits, digits + sizeof digits, retry_count).ptr;
  std::string k;
  k.reserve(task_run_external_id.size() + 1 + static_cast<size_t>(end - digits));
  k += task_run_external_id;
  k += '/';
  k.append(digits, end);
  return k;
}

struct assigned_action {
  std::string tenant_id;
  std::string workflow_run_id;
  std::string job_id;
  std::string job_name;
  std::string job_run_id;
  std::string task_id;
  std::string task_run_external_id;
  std::string action_id;
  action_type type = action_type::start_step_run;
  std::string action_payload;
  std::string task_name;
  int32_t retry_count = 0;
  std::string additional_metadata;
  std::string parent_workflow_run_id;
  int32_t priority = 0;
  std::string workflow_id;
  std::string workflow_version_id;

  /// "<task_run_external_id>/<retry_count>": the run's identity, as the SDKs key it.
  std::string key() const { return run_key(task_run_external_id, retry_count); }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assigned_action& x) {
  return f(caf::meta::type_name("assigned_action"), x.tenant_id, x.workflow_run_id, x.job_id,
           x.job_name, x.job_run_id, x.task_id, x.task_run_external_id, x.action_id, x.type,
           x.action_payload, x.task_name, x.retry_count, x.additional_metadata,
           x.parent_workflow_run_id, x.priority, x.workflow_id, x.workflow_version_id);
}

/// What the events about one run need of its assignment: the ids, not the payload. The worker
/// keeps one of these per run in flight instead of a copy of the whole assignment.
struct run_ref {
  std::string job_id;
  std::string job_run_id;
  std::string task_id;
  std::string task_run_external_id;
  std::string action_id;
  int32_t retry_count = 0;

  run_ref() = default;
  explicit run_ref(const assigned_action& a)
    : job_id(a.job_id), job_run_id(a.job_run_id), task_id(a.task_id),
      task_run_external_id(a.task_run_external_id), action_id(a.action_id),
      retry_count(a.retry_count) {
  }
  std::string key() const { return run_key(task_run_external_id, retry_count); }
};

/// A StepActionEvent as the worker sends it.
struct step_event {
  std::string worker_id;
  std::string job_id;
  std::string job_run_id;
  std::string task_id;
  std::string task_run_external_id;
  std::string action_id;
  int64_t timestamp_ns = 0; ///< event_timestamp, nanoseconds since the epoch
  step_event_type type = step_event_type::unknown;
  std::string payload;
  int32_t retry_count = 0;
  bool should_not_retry = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_event& x) {
  return f(caf::meta::type_name("step_event"), x.worker_id, x.job_id, x.job_run_id, x.task_id,
           x.task_run_external_id, x.action_id, x.timestamp_ns, x.type, x.payload, x.retry_count,
           x.should_not_retry);
}

/// A log line a task sends (EventsService/PutLog). Only handed to callbacks, never a CAF message.
struct log_line {
  std::string task_run_external_id;
  std::string message;  ///< 1..10000 characters (the engine's bounds)
  std::string level;    ///< "INFO", "WARN", "ERROR" or "DEBUG"; empty: unset (the engine's INFO)
  int32_t retry_count = 0;
  int64_t timestamp_ns = 0; ///< created_at, nanoseconds since the epoch
};

/// A chunk of a task's stream (EventsService/PutStreamEvent).
struct stream_chunk {
  std::string task_run_external_id;
  std::string bytes;
  int64_t index = 0; ///< event_index: 0, 1, 2, ... per task run attempt
  int64_t timestamp_ns = 0;
};

/// A gRPC status reduced to what the actors need to decide (code numbers as grpc::StatusCode).
struct rpc_status {
  int code = 0;
  std::string message;
  /// What the caller must change, when the client found out more than gRPC's message says (a
  /// TLS handshake repeated with OpenSSL, see client/tls_probe.hpp); empty otherwise. A status
  /// with a hint is one no retry fixes (rpc::fatal_hint returns it).
  std::string hint;

  bool ok() const noexcept { return code == 0; }
  std::string describe() const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rpc_status& x) {
  return f(caf::meta::type_name("rpc_status"), x.code, x.message, x.hint);
}

/// grpc::StatusCode values we branch on (the numbers are fixed by gRPC).
namespace status {
constexpr int ok = 0;
constexpr int cancelled = 1;
constexpr int unknown = 2;
constexpr int invalid_argument = 3;
constexpr int deadline_exceeded = 4;
constexpr int not_found = 5;
constexpr int already_exists = 6;
constexpr int permission_denied = 7;
constexpr int resource_exhausted = 8;
constexpr int failed_precondition = 9;
constexpr int aborted = 10;
constexpr int unimplemented = 12;
constexpr int internal = 13;
constexpr int unavailable = 14;
constexpr int unauthenticated = 16;
} // namespace status

/// The gRPC name of a status code ("UNAVAILABLE", ...).
const char* status_name(int code) noexcept;

} // namespace hatchet::wire
