// Which exit code each way of ending has (include/hatchet/exit_code.hpp).

#include "hatchet/exit_code.hpp"

#include <ostream>

#include <caf/exit_reason.hpp>

#include "hatchet/errors.hpp"

namespace hatchet {

exit_code exit_code_for(const caf::error& reason) {
  // Note: caf::error::category() must not be called on an empty error in CAF 0.17.
  if (!reason || reason == caf::exit_reason::normal)
    return exit_code::ok;
  if (reason == caf::exit_reason::kill)
    return exit_code::forced_stop;
  if (reason.category() == errc_category::value) {
    switch (static_cast<errc>(reason.code())) {
      case errc::lifespan_cleanup_failed:
      case errc::cleanup_timed_out:
        return exit_code::cleanup_failed;
      case errc::cleanup_skipped:
        return exit_code::cleanup_skipped;
      case errc::drain_timed_out:
        return exit_code::drain_timed_out;
      case errc::forced_stop:
        return exit_code::forced_stop;
      case errc::lifespan_setup_failed:
      case errc::invalid_config:
      case errc::invalid_token:
      case errc::invalid_workflow:
      case errc::rpc_failed:
        return exit_code::startup_failed;
      default:
        break;
    }
  }
  return exit_code::worker_failed;
}

const char* to_string(exit_code c) noexcept {
  switch (c) {
    case exit_code::ok: return "ok";
    case exit_code::startup_failed: return "startup_failed";
    case exit_code::cleanup_failed: return "cleanup_failed";
    case exit_code::worker_failed: return "worker_failed";
    case exit_code::drain_timed_out: return "drain_timed_out";
    case exit_code::forced_stop: return "forced_stop";
    case exit_code::cold_stop: return "cold_stop";
    case exit_code::cleanup_skipped: return "cleanup_skipped";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, exit_code c) {
  return out << to_string(c) << " (" << to_int(c) << ")";
}

} // namespace hatchet
