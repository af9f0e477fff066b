#pragma once
// What the worker gives a run's context: the run's facts, borrowed or shared, never copied for
// it; and how the context reaches the engine for that run. Implemented by the worker
// (actors/task_run, actors/run_link).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/run_ids.hpp"

namespace hatchet::detail {

/// The per-run facts the worker hands to a context. Internal: built by the task actor. Nothing
/// here is a copy made for the context: the ids are the run's shared ones, the names are borrowed
/// from what the run holds for as long as its context lives (its task's definition, the worker's
/// services), and a JSON member left null stands for an empty object (none given), so that a run
/// without metadata or parents allocates nothing for them.
struct run_info {
  run_ids_ptr ids;                          ///< null only without a run (unit tests)
  const std::string* task_name = nullptr;   ///< borrowed; null: ""
  int priority = 1;
  nlohmann::json additional_metadata;       ///< an object, or null for {}
  nlohmann::json parents;                   ///< an object, or null for {}
  /// The worker's id as the engine registered it (borrowed; null: "").
  const std::string* worker_id = nullptr;
  /// The payload's `step_run_errors` (an on-failure task's input): error text by task name; an
  /// object, or null for {}.
  nlohmann::json step_run_errors;
};

/// `j`, or an empty object when `j` is null (see run_info).
inline const nlohmann::json& object_or_empty(const nlohmann::json& j) noexcept {
  static const nlohmann::json empty = nlohmann::json::object();
  return j.is_null() ? empty : j;
}

/// `*s`, or "" when `s` is null (see run_info).
inline const std::string& string_or_empty(const std::string* s) noexcept {
  static const std::string empty;
  return s != nullptr ? *s : empty;
}

/// `text` cut to at most `max_chars` characters (UTF-8 code points, as the engine counts them),
/// never inside a character.
inline std::string cut_to_characters(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars)
      return std::string{text.substr(0, i)};
  }
  return std::string{text};
}

/// How a context reaches the engine for its run. Internal: implemented by the worker
/// (actors/run_link); each run has its own, made for its attempt.
struct engine_calls {
  virtual ~engine_calls() = default;
  /// Queued behind the run's earlier log lines and chunks; never blocks; failures are logged.
  virtual void put_log(std::string text, std::string level) = 0;
  /// As put_log; the chunk gets the run's next event_index (0, 1, 2, ...).
  virtual void put_stream(std::string bytes) = 0;
  /// Sends the call; `done` runs once, on another thread, with its outcome (no error: success).
  virtual void refresh_timeout(std::chrono::milliseconds by,
                               std::function<void(caf::error)> done) = 0;
  virtual void release_slot(std::function<void(caf::error)> done) = 0;
  /// Runs `fn` once every log line and chunk queued so far has been answered: at once, here,
  /// when none is in flight; else on the thread of the last answer.
  virtual void when_drained(std::function<void()> fn) = 0;
};

/// Makes a run's engine_calls on its first use, so that a run that never calls the engine costs
/// nothing. Internal: implemented by the worker; outlives every context it is attached to.
struct engine_calls_source {
  virtual ~engine_calls_source() = default;
  virtual std::shared_ptr<engine_calls> calls_for(const run_info& run) const = 0;
};

} // namespace hatchet::detail
