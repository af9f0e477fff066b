#pragma once
// What every copy of a hatchet::client shares: the configuration, checked once, and one
// connection to the engine with its admin calls and its run listener. Internal (client/ only).

#include <memory>
#include <mutex>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "client/admin_client.hpp"
#include "client/channel.hpp"
#include "client/run_listener.hpp"
#include "hatchet/config.hpp"
#include "hatchet/run_options.hpp"

namespace hatchet::detail {

class client_core {
public:
  explicit client_core(config cfg) : cfg_(std::move(cfg)) {}

  client_core(const client_core&) = delete;
  client_core& operator=(const client_core&) = delete;

  /// Validates the configuration and opens the channel, once; every later call gets the same
  /// answer. The accessors below need a ready core.
  caf::error ready();

  const config& cfg() const noexcept { return cfg_; }
  const std::shared_ptr<rpc::channel>& channel() const noexcept { return ch_; }
  rpc::admin_client& admin() { return *admin_; }
  /// Started on first use: a client that never waits for a run has no listener threads.
  rpc::run_listener& listener();

private:
  config cfg_;
  std::once_flag once_;
  caf::error init_error_;
  std::shared_ptr<rpc::channel> ch_;
  std::unique_ptr<rpc::admin_client> admin_;
  std::mutex listener_mtx_;
  std::unique_ptr<rpc::run_listener> listener_;
};

/// The wire request of one run of `workflow`: options checked, input a JSON object (null becomes
/// {}), metadata, priority and key set. `what` names the run in errors ("a run", "a child run").
caf::expected<rpc::trigger_request> make_trigger_request(const std::string& workflow,
                                                         nlohmann::json input,
                                                         const run_options& options,
                                                         const char* what);

} // namespace hatchet::detail
