#pragma once
// The workers the engine knows, seen from a client: listed, read one by one, paused and
// unpaused (the REST API's Worker resource, as the official SDKs' `workers` client calls it).
// A paused worker keeps its stream and its running tasks and gets no new ones.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace hatchet {

namespace detail {
class client_core;
} // namespace detail

/// A worker as the engine describes it.
struct worker_info {
  struct slots {
    int limit = 0;     ///< units the worker registered
    int available = 0; ///< units not taken by running tasks
  };
  std::string id;
  std::string name;
  /// "ACTIVE", "PAUSED", or "INACTIVE" (no heartbeat for 5 s; the engine assigns it nothing).
  std::string status;
  std::vector<std::string> actions;          ///< "workflow:task"
  std::map<std::string, slots> slot_config;  ///< by slot type ("default", "durable", ...)
  std::map<std::string, std::string> labels; ///< its affinity labels, values as text
  std::string last_heartbeat_at;             ///< RFC 3339 UTC; "" if it never sent one

  bool paused() const noexcept { return status == "PAUSED"; }
};

/// What workers().list() returns; every field narrows.
struct worker_list_options {
  /// Only workers in one of these states ("ACTIVE", "PAUSED", "INACTIVE"). Empty: any.
  std::vector<std::string> statuses = {};
  /// Only workers that have every one of these labels with this value. Empty: any.
  std::map<std::string, std::string> labels = {};
  int offset = 0; ///< skip this many (newest first)
  int limit = 0;  ///< at most this many; 0: the engine's default (10,000)
};

/// `client.workers()`. Cheap to copy; usable from any thread; each call is one blocking REST call
/// to the engine's API (config::server_url), bounded by 30 s. Errors: errc::invalid_config (an
/// id that is not a uuid, bad options), errc::not_found (an unknown worker), errc::invalid_token,
/// errc::rpc_failed.
class workers_client {
public:
  explicit workers_client(std::shared_ptr<detail::client_core> core) : core_(std::move(core)) {}

  /// The workers heard from in the last 24 hours, newest first.
  caf::expected<std::vector<worker_info>> list(const worker_list_options& options = {}) const;

  /// One worker by id.
  caf::expected<worker_info> get(const std::string& id) const;

  /// Stops new assignments to the worker; what it runs goes on. Returns the worker as it is now.
  caf::expected<worker_info> pause(const std::string& id) const;
  /// Lets the worker take new runs again.
  caf::expected<worker_info> unpause(const std::string& id) const;

private:
  caf::expected<worker_info> call(const std::string& method, const std::string& id,
                                  const std::string& body) const;
  std::shared_ptr<detail::client_core> core_;
};

} // namespace hatchet
