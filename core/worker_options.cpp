// A worker's options checked before it starts (include/hatchet/worker_options.hpp).

#include "hatchet/worker_options.hpp"

#include <string>
#include <utility>

#include "hatchet/errors.hpp"

namespace hatchet {

caf::error worker_options::validate() const {
  if (slots < 1 || slots > max_slots)
    return make_error(errc::invalid_config, "slots must be between 1 and "
                                              + std::to_string(max_slots) + ", not "
                                              + std::to_string(slots));
  if (workflows.empty())
    return make_error(errc::invalid_config, "a worker needs at least one workflow");
  if (heartbeat_interval < std::chrono::milliseconds{100})
    return make_error(errc::invalid_config, "heartbeat_interval must be at least 100 ms");
  if (fence_after < heartbeat_interval + std::chrono::seconds{5})
    return make_error(errc::invalid_config,
                      "fence_after (" + std::to_string(fence_after.count())
                        + " ms) must exceed heartbeat_interval ("
                        + std::to_string(heartbeat_interval.count())
                        + " ms) by at least 5 s, or the worker would fence itself between two "
                          "heartbeats");
  for (auto [value, what] : {std::pair{drain_timeout, "drain_timeout"},
                             std::pair{cancel_grace, "cancel_grace"},
                             std::pair{cleanup_timeout, "cleanup_timeout"},
                             std::pair{flush_timeout, "flush_timeout"}})
    if (value.count() < 0)
      return make_error(errc::invalid_config, std::string{what} + " must not be negative");
  if (max_task_threads < 0)
    return make_error(errc::invalid_config, "max_task_threads must be >= 0");
  for (const auto& wf : workflows)
    if (auto err = wf.validate())
      return err;
  return caf::none;
}

} // namespace hatchet
