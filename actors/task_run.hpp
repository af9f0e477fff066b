#pragma once
// Running one task: decoding the action payload, calling the user's function, and turning what
// it returned or threw into the event the engine expects. No actors here, so it is unit-testable.

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <variant>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "core/context_access.hpp"
#include "hatchet/context.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

/// The parts of a START_STEP_RUN payload a task uses. `parents` and `step_run_errors` are objects,
/// or null for none (what run_info expects: an empty object is not built for every run).
struct decoded_payload {
  nlohmann::json input; ///< never null once decoded
  nlohmann::json parents;
  /// `step_run_errors`: what an on-failure task receives (absent for other tasks).
  nlohmann::json step_run_errors;
};

/// Decodes AssignedAction.action_payload. Missing or null `input` becomes `{}`, `parents` that is
/// missing, null or not an object is none, and unknown keys are ignored (as the official SDKs);
/// double-encoded JSON is unwrapped once. Text that is not JSON, or not an object, is an
/// `errc::invalid_input` error that says why.
caf::expected<decoded_payload> decode_payload(const std::string& text);

/// The FAILED payload in the layout the Python SDK writes and parses back:
/// "<type>: <message>\n<trace>\n\n{"__hatchet_error_metadata__": {...}}", with ": " in the type
/// escaped as ":::" and newlines in the message as backslash-newline.
std::string format_error(const std::string& type, const std::string& message,
                         const std::string& task_run_external_id);

/// A run ready to call its task with: the decoded input and the run's context.
struct prepared_run {
  nlohmann::json input;
  std::unique_ptr<context> ctx;
};

/// Decodes the payload and builds the context (with `hooks` for a co_task); an undecodable
/// payload is returned as its FAILED outcome.
std::variant<msg::task_outcome, prepared_run> prepare(const msg::assignment& a,
                                                      std::stop_token stop,
                                                      async_hooks* hooks = nullptr);

/// Turns what `produce` returns or throws into the run's outcome; never throws. An output that
/// is not a JSON object fails the run.
msg::task_outcome settle(const msg::assignment& a, const std::function<nlohmann::json()>& produce);

/// Logs what the teardowns of a run's dependencies threw (the run's outcome stands).
void log_teardown_errors(const msg::assignment& a, const std::string& errors);

/// Runs a synchronous task on the calling thread and never throws: a thrown exception, an
/// undecodable payload or input, and an output that is not a JSON object become a FAILED outcome.
/// `calls`, when given, receives the run's engine calls (to send the outcome after them).
msg::task_outcome execute(const msg::assignment& a, std::stop_token stop,
                          std::shared_ptr<engine_calls>* calls = nullptr);

} // namespace hatchet::detail
