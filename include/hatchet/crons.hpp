#pragma once
// Crons made from a client: a workflow run on a cron expression, with an input and metadata,
// until the cron is deleted (the REST API's CronWorkflows, as the official SDKs call it).
// Crons declared with the workflow itself are workflow::on_crons.

#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace hatchet {

namespace detail {
class client_core;
} // namespace detail

/// What a cron's runs get.
struct cron_options {
  /// The input of every run: a JSON object. Default {}.
  nlohmann::json input = nlohmann::json::object();
  /// A JSON object kept with every run; the engine adds `hatchet__cron_name` and
  /// `hatchet__cron_expression`. Default: none.
  nlohmann::json additional_metadata = nlohmann::json::object();
  /// 1 (low) to 3 (high); 0 (default) sends none and the engine uses 1.
  int priority = 0;

  /// errc::invalid_config naming the field.
  caf::error validate() const;
};

/// A cron the engine keeps.
struct cron_ref {
  std::string id; ///< for crons().remove(id)
  std::string name;
  std::string expression;
  std::string workflow; ///< as the engine names it (namespaced, lowercased)
};

/// `client.crons()`. Cheap to copy; usable from any thread; each call is one blocking REST call
/// to the engine's API (config::server_url), bounded by 30 s.
class crons_client {
public:
  explicit crons_client(std::shared_ptr<detail::client_core> core) : core_(std::move(core)) {}

  /// Runs `workflow` on `expression` (UTC; 5 fields, or 6 with a leading seconds field; or
  /// @hourly, @daily, @every 10m, ...) until removed. `name` is required; a workflow keeps one
  /// cron per name and expression. Errors: errc::invalid_config (an empty name or expression,
  /// bad options), errc::unknown_workflow, errc::invalid_input (the engine refused the cron,
  /// e.g. an expression that does not parse on the dev engine: a real engine accepts it and
  /// drops it at its next poll), errc::invalid_token, errc::rpc_failed.
  caf::expected<cron_ref> create(const std::string& workflow, const std::string& name,
                                 const std::string& expression,
                                 const cron_options& options = {}) const;

  /// Deletes the cron: it starts no more runs (runs it started go on). Errors:
  /// errc::not_found, errc::invalid_config (an id that is not a uuid), errc::rpc_failed.
  caf::error remove(const std::string& id) const;

private:
  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
