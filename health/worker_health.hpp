#pragma once
// A worker's health server and the counters it serves, as its supervisor holds them: started
// when the worker starts (if enabled), told the worker's state as it changes, stopped when the
// worker has stopped, so that a probe then fails to connect.

#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hatchet/config.hpp"
#include "hatchet/errors.hpp"
#include "health/health_server.hpp"
#include "health/worker_metrics.hpp"

namespace hatchet::detail {

class worker_health {
public:
  /// The counters the actors write and the server reads.
  const std::shared_ptr<worker_metrics>& metrics() const noexcept { return metrics_; }

  /// Serves /health and /metrics on cfg's healthcheck address and port. The error names the
  /// address and the variables to change when it cannot listen.
  caf::error start(const config& cfg, health_server::identity who) {
    auto server = health_server::start(cfg.healthcheck_bind_address, cfg.healthcheck_port,
                                       std::move(who), metrics_);
    if (!server)
      return std::move(server.error());
    server_ = std::move(*server);
    bind_address_ = cfg.healthcheck_bind_address;
    return {};
  }

  /// "address:port" as bound, or errc::invalid_config when the server is not enabled.
  caf::expected<std::string> address() const {
    if (!server_)
      return make_error(errc::invalid_config, "the health server is not enabled "
                                              "(HATCHET_CLIENT_WORKER_HEALTHCHECK_ENABLED)");
    return bind_address_ + ":" + std::to_string(server_->port());
  }

  void show(health_state s) noexcept { metrics_->state = s; }

  /// The worker has stopped: probes fail to connect from now on.
  void stop() {
    show(health_state::stopped);
    server_.reset();
  }

private:
  std::shared_ptr<worker_metrics> metrics_ = std::make_shared<worker_metrics>();
  std::unique_ptr<health_server> server_;
  std::string bind_address_;
};

} // namespace hatchet::detail
