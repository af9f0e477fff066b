#pragma once
// The workflows the engine knows, seen from a client: listed and looked up by name (the REST
// API's Workflow resource, as the official SDKs' `workflows` client calls it). Defining a
// workflow is workflow.hpp; a worker registers it.

#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace hatchet {

namespace detail {
class client_core;
} // namespace detail

/// A workflow as the engine describes it (its latest version).
struct workflow_info {
  std::string id;          ///< stable across versions
  std::string name;        ///< as registered (namespaced, lowercased by the SDKs)
  std::string description;
  std::string created_at;  ///< RFC 3339 UTC, of its first version
  std::string updated_at;  ///< RFC 3339 UTC, of its latest version
};

/// What workflows().list() returns.
struct workflow_list_options {
  std::string name = {}; ///< only workflows whose name contains this, in any case
  int offset = 0;        ///< skip this many (newest first)
  int limit = 0;         ///< at most this many; 0: the engine's default (50)
};

/// `client.workflows()`. Cheap to copy; usable from any thread; each call is one blocking REST
/// call to the engine's API (config::server_url), bounded by 30 s. Errors: errc::invalid_config
/// (bad options), errc::unknown_workflow (get: no such name), errc::invalid_token,
/// errc::rpc_failed.
class workflows_client {
public:
  explicit workflows_client(std::shared_ptr<detail::client_core> core) : core_(std::move(core)) {}

  /// The registered workflows, newest first.
  caf::expected<std::vector<workflow_info>> list(const workflow_list_options& options = {}) const;

  /// The workflow named `name` as defined (the namespace is prefixed and the name lowercased, as
  /// for runs).
  caf::expected<workflow_info> get(const std::string& name) const;

private:
  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
