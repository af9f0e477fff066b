#pragma once
// Plain C++ mirrors of the few protocol messages that cross from the gRPC side (client/) into the
// actors. The client layer converts to and from protobuf, so no actor code sees gRPC types.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "hatchet/run_ids.hpp"

namespace hatchet::wire {

/// AssignedAction.action_type values.
enum class action_type : int32_t { start_step_run = 0, cancel_step_run = 1, start_get_group_key = 2,
                                   start_batch = 3 };

/// StepActionEvent.event_type values.
enum class step_event_type : int32_t { unknown = 0, started = 1, completed = 2, failed = 3,
                                       acknowledged = 4, cancelled = 5 };

/// A run attempt's ids, shared (see hatchet/run_ids.hpp): what the events about a run need of
/// its assignment. The worker keeps one per run in flight, never a copy of the assignment.
using run_ref = detail::run_ids_ptr;

/// The fields of AssignedAction the worker uses (field numbers in proto/dispatcher). The ids are
/// copied once, into one shared object; the fields nobody reads (tenant, job and task names,
/// workflow and version ids, parent run) are not copied at all.
struct assigned_action {
  run_ref ids;
  action_type type = action_type::start_step_run;
  std::string action_payload;
  std::string additional_metadata;
  int32_t priority = 0;

  const std::string& key() const { return ids->key; }
};

/// A StepActionEvent as the worker sends it (the worker id is added at each send: it is the
/// current registration's).
struct step_event {
  run_ref run;
  int64_t timestamp_ns = 0; ///< event_timestamp, nanoseconds since the epoch
  step_event_type type = step_event_type::unknown;
  std::string payload;
  bool should_not_retry = false;
};

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
  /// A message over a gRPC size limit: RESOURCE_EXHAUSTED with gRPC's words, "Received message
  /// larger than max (N vs. M)" from the receiving side, "Sent message larger than max" from the
  /// sender.
  bool over_size_limit() const;
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
