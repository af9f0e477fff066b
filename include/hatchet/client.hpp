#pragma once
// Entry point of the SDK: holds the configuration and makes workers.

#include <string>

#include <caf/expected.hpp>

#include "hatchet/config.hpp"
#include "hatchet/worker.hpp"

namespace hatchet {

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

  const config& cfg() const noexcept { return cfg_; }

private:
  config cfg_;
};

} // namespace hatchet
