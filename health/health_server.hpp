#pragma once
// The worker's HTTP health server (HATCHET_CLIENT_WORKER_HEALTHCHECK_*): GET /health answers 200
// with {"status":"HEALTHY",...} only while the worker is healthy, else 503 with its state; GET
// /metrics answers the worker's counters in Prometheus' text format. It serves from one thread of
// its own (probe_server.hpp: bounded connections, a deadline per request) and only reads the
// worker's metrics.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "health/worker_metrics.hpp"

namespace hatchet::detail {

class health_server {
public:
  /// What /health says about the worker besides its state.
  struct identity {
    std::string name;
    int slots = 0;
    std::vector<std::string> actions;
    std::map<std::string, std::string> labels;
  };

  /// Listens on bind_address:port (port 0: any free port) and serves until destroyed. Fails with
  /// errc::invalid_config naming the address when it cannot listen.
  static caf::expected<std::unique_ptr<health_server>>
  start(const std::string& bind_address, int port, identity who,
        std::shared_ptr<const worker_metrics> metrics);

  ~health_server(); ///< stops serving at once

  /// The port it listens on.
  uint16_t port() const noexcept;

  /// The /metrics body (Prometheus text format 0.0.4), also for tests. `dropped`: connections
  /// the health server closed as too slow or too many.
  static std::string metrics_text(const worker_metrics& m, const identity& who,
                                  uint64_t dropped = 0);

  struct impl;

private:
  explicit health_server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

} // namespace hatchet::detail
