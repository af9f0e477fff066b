#pragma once
// A run started with client::run_no_wait: its id, and its result when it comes, blocking, by
// callback, or awaited in a co_task without holding a thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/context.hpp"
#include "hatchet/run_result.hpp"

namespace hatchet {

namespace detail {
class client_core; // client/client_core.hpp: the client's channel and run listener
} // namespace detail

/// A handle on one run. Cheap to copy; every copy shares the client's connection, which it
/// keeps open. Waiting for a result subscribes to the run on the client's one listener stream
/// (SubscribeToWorkflowRuns), so a finished run answers at once and many waits share a stream.
class run_ref {
public:
  run_ref() = default;
  run_ref(std::shared_ptr<detail::client_core> core, std::string id)
    : core_(std::move(core)), id_(std::move(id)) {
  }

  /// The engine's id of the run (workflow_run_id).
  const std::string& id() const noexcept { return id_; }

  /// Blocks until the run finishes: its output as Out (see run_result.hpp for what the output
  /// of a run is). Errors: errc::run_failed (a task failed or was cancelled; the context names
  /// each with its error), errc::timed_out (the run goes on; wait again or cancel it),
  /// errc::invalid_output (the output does not decode into Out), errc::rpc_failed (the engine
  /// could not be reached or refused the subscription). Do not call it from an actor or a
  /// co_task: use async_result there.
  template <class Out = nlohmann::json>
  caf::expected<Out> result(std::chrono::milliseconds timeout = std::chrono::minutes{5}) const {
    auto r = wait(timeout);
    if (!r)
      return std::move(r.error());
    return detail::typed_result<Out>(*r);
  }

  /// Blocks until the run finishes and gives every task's output and error: a failed run is a
  /// value here (run_result::failed()). Errors: errc::timed_out, errc::rpc_failed.
  caf::expected<run_result> wait(std::chrono::milliseconds timeout = std::chrono::minutes{5}) const;

  /// Calls `fn` once when the run finishes (or the subscription fails for good), on the client's
  /// listener thread: keep it short, and hand anything long to a thread of your own.
  void on_finished(std::function<void(caf::expected<run_result>)> fn) const;

  /// In a co_task: `co_await ref.async_result<Out>(ctx)` waits for the result without holding a
  /// thread and yields what result<Out>() would; the co_task resumes on its own actor. It yields
  /// errc::cancelled if the task is cancelled first (the awaited run goes on).
  template <class Out = nlohmann::json>
  detail::callback_awaiter<Out> async_result(const context& ctx) const {
    return ctx.await_callback<Out>(
      [self = *this](std::function<void(caf::expected<Out>)> complete) {
        self.on_finished([complete = std::move(complete)](caf::expected<run_result> r) {
          if (!r)
            complete(std::move(r.error()));
          else
            complete(detail::typed_result<Out>(*r));
        });
      });
  }

private:
  std::shared_ptr<detail::client_core> core_;
  std::string id_;
};

} // namespace hatchet
