#pragma once
// Error values and exceptions of hatchet-caf.
//
// Failures a caller is expected to handle are values: `caf::error` with the `hatchet` category
// (`hatchet::errc`), usually inside `caf::expected<T>`. Exceptions are reserved for two cases:
// user task code (caught at the task boundary and reported as a FAILED run) and programming errors
// such as asking the context for a lifespan type the worker never yielded.

#include <cstdint>
#include <stdexcept>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace hatchet {

/// The codes of the `hatchet` error category.
enum class errc : uint8_t {
  /// No error.
  none = 0,
  /// A configuration value is missing or malformed (token, host:port, TLS strategy, ...).
  invalid_config,
  /// The API token is not a JWT with the claims Hatchet requires (`sub`, and `server_url` with
  /// `grpc_broadcast_address` unless HATCHET_CLIENT_HOST_PORT overrides them).
  invalid_token,
  /// A gRPC call failed; the context names the status code and message.
  rpc_failed,
  /// The lifespan threw, or finished, before its single `co_yield`.
  lifespan_setup_failed,
  /// The lifespan cleanup (the code after `co_yield`) threw or yielded again.
  lifespan_cleanup_failed,
  /// A workflow or task definition is invalid (empty or duplicate names, bad durations).
  invalid_workflow,
  /// A task's input could not be decoded into the task's input type.
  invalid_input,
  /// A run ended FAILED or CANCELLED; the context carries the error text.
  run_failed,
  /// The worker stopped before the operation could finish.
  shutting_down,
  /// A running worker lost the engine and could not get back (e.g. registering again failed).
  engine_lost,
  /// Stopping took longer than drain_timeout + cancel_grace; the late runs were reported FAILED.
  drain_timed_out,
  /// A second stop request cut the drain short.
  forced_stop,
  /// The lifespan cleanup was still running when cleanup_timeout passed.
  cleanup_timed_out,
  /// Task code still held the lifespan state when cleanup_timeout passed (a task that ignores
  /// its cancellation): the cleanup was skipped rather than run under it.
  cleanup_skipped,
  /// A lifespan reload did not put a new state in service (its setup failed, a later reload
  /// finished first, or the worker began stopping); the worker serves on with the state it had.
  reload_failed,
  /// The engine has no workflow of the name a run or trigger gave (the real engine answers
  /// INVALID_ARGUMENT "workflow names not found"); the context names it.
  unknown_workflow,
  /// A wait for a run's result ended at its timeout; the run itself goes on on the engine.
  timed_out,
  /// A run's output did not decode into the type asked for; the context names both.
  invalid_output,
  /// A task waiting in a co_task (e.g. for another run's result) was cancelled first.
  cancelled,
  /// The engine has no cron or scheduled run of the id given (deleted, or already fired).
  not_found,
  /// A run finished, but its results together do not fit in one message of the engine (4 MiB
  /// by default): the engine sent its FINISHED event without them, and GetRunDetails could not
  /// carry them either. The context names the run and the engine's figures.
  result_too_large,
  /// A trigger's answer was lost (its deadline passed, or the connection broke after the call
  /// went out): the engine may have created the run, or not. Triggering again may run it twice;
  /// the context says how to look for it first.
  outcome_unknown,
};

/// Renders an `errc` value as its enumerator name.
const char* to_string(errc x) noexcept;

/// The CAF error category atom of this library.
using errc_category = caf::atom_constant<caf::atom("hatchet")>;

/// Builds a `caf::error` of the `hatchet` category with a human-readable context.
caf::error make_error(errc code, std::string context);

/// True when `err` is of the `hatchet` category with this code (false for no error).
inline bool has_code(const caf::error& err, errc code) noexcept {
  // caf::error::category() must not be called on an empty error in CAF 0.17.
  return err && err.category() == errc_category::value && err.code() == static_cast<uint8_t>(code);
}

/// Renders any error of our category (or CAF's) as "name: context" text for logs and exceptions.
std::string describe(const caf::error& err);

/// Thrown by `context::lifespan<T>()` when T is not the type the lifespan yielded.
class lifespan_type_error : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

/// Thrown by the lifespan machinery for a lifespan that breaks its contract (never yields, yields
/// twice). The worker turns it into a logged error and a non-zero exit code.
class lifespan_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Throw this from a task to fail the run without the engine retrying it.
class non_retryable_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace hatchet
