#pragma once
// Entry point of the SDK: holds the configuration, makes workers and runs workflows.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/config.hpp"
#include "hatchet/stream.hpp"
#include "hatchet/worker.hpp"

namespace hatchet {

/// A finished run, as `client::run_workflow` returns it.
struct run_result {
  /// The engine's id of the run.
  std::string workflow_run_id;
  /// The output of each task that completed, by task name.
  std::map<std::string, nlohmann::json> outputs;
  /// The error text of each task that failed (or was cancelled), by task name.
  std::map<std::string, std::string> errors;

  /// True when some task failed: the run ended FAILED.
  bool failed() const noexcept { return !errors.empty(); }
};

class client {
public:
  explicit client(config cfg) : cfg_(std::move(cfg)) {}

  /// Reads HATCHET_CLIENT_* from the environment (see config.hpp).
  static caf::expected<client> from_env() {
    auto cfg = config::from_env();
    if (!cfg)
      return std::move(cfg.error());
    return client{std::move(*cfg)};
  }

  /// A worker named `name` (the namespace is prefixed) with these options.
  hatchet::worker worker(std::string name, worker_options options) const {
    return hatchet::worker{cfg_, std::move(name), std::move(options)};
  }

  /// Triggers one run of `workflow` (its name as defined; the namespace is prefixed) with `input`
  /// and blocks until the run finishes or `timeout` passes. A run that ends FAILED is a result
  /// (`run_result::failed()`), not an error. Errors: `errc::invalid_config` for a configuration
  /// that does not validate or that the engine's answer shows to be wrong (TLS),
  /// `errc::invalid_token` for a token the engine refuses, `errc::rpc_failed` for anything else
  /// (an unknown workflow, an engine out of reach, a run still unfinished at `timeout`).
  /// Opens a connection of its own for the call; do not call it from an actor.
  caf::expected<run_result> run_workflow(const std::string& workflow,
                                         const nlohmann::json& input = nlohmann::json::object(),
                                         std::chrono::milliseconds timeout
                                         = std::chrono::seconds{60}) const;

  const config& cfg() const noexcept { return cfg_; }

  /// Reads the stream of the run `workflow_run_id` (Dispatcher/SubscribeToWorkflowEvents): calls
  /// `on_chunk`, on this thread, for each chunk a task of the run sends with ctx.put_stream(), in
  /// the order each task sent them, and returns once the run has finished (no error) or
  /// `timeout` passed (errc::rpc_failed). Only chunks sent after the engine registered the
  /// subscription arrive: the engine keeps none, so subscribe before the run streams (a run that
  /// has finished already returns at once). An unknown run is errc::rpc_failed (NOT_FOUND).
  /// Blocks: call it from a thread of its own, not from an actor.
  caf::error subscribe_stream(const std::string& workflow_run_id,
                              const std::function<void(const stream_chunk&)>& on_chunk,
                              std::chrono::milliseconds timeout = std::chrono::minutes{5}) const;

private:
  config cfg_;
};

} // namespace hatchet
