#pragma once
// One-off runs at a given time (the REST API's ScheduledWorkflows, as the TypeScript SDK calls
// it): the engine starts the run at that time, once, unless the schedule is deleted first.

#include <chrono>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hatchet/run_options.hpp"

namespace hatchet {

namespace detail {
class client_core;
} // namespace detail

/// A scheduled run the engine keeps until it fires.
struct schedule_ref {
  std::string id; ///< for schedules().remove(id)
  std::chrono::system_clock::time_point trigger_at;
};

/// `client.schedules()`. Cheap to copy; usable from any thread; each call is one blocking REST
/// call to the engine's API (config::server_url), bounded by 30 s.
class schedules_client {
public:
  explicit schedules_client(std::shared_ptr<detail::client_core> core) : core_(std::move(core)) {}

  /// Starts a run of `workflow` with `input` (a JSON object) at `at`, to the millisecond. A time
  /// in the past is accepted: the run starts at once. Of `options`, additional_metadata and
  /// priority are used. Errors: errc::invalid_config, errc::invalid_input, errc::unknown_workflow,
  /// errc::invalid_token, errc::rpc_failed.
  template <class In = nlohmann::json>
  caf::expected<schedule_ref> create(const std::string& workflow,
                                     std::chrono::system_clock::time_point at,
                                     const In& input = In{},
                                     const run_options& options = {}) const {
    return create_json(workflow, at, nlohmann::json(input), options);
  }

  /// Deletes a schedule that has not fired: its run never starts. Errors: errc::not_found (no
  /// such schedule, or it fired already), errc::invalid_config, errc::rpc_failed.
  caf::error remove(const std::string& id) const;

private:
  caf::expected<schedule_ref> create_json(const std::string& workflow,
                                          std::chrono::system_clock::time_point at,
                                          nlohmann::json input, const run_options& options) const;

  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
