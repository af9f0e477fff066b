#include "hatchet/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace hatchet {

const char* to_string(errc x) noexcept {
  switch (x) {
    case errc::none: return "none";
    case errc::invalid_config: return "invalid_config";
    case errc::invalid_token: return "invalid_token";
    case errc::rpc_failed: return "rpc_failed";
    case errc::lifespan_setup_failed: return "lifespan_setup_failed";
    case errc::lifespan_cleanup_failed: return "lifespan_cleanup_failed";
    case errc::invalid_workflow: return "invalid_workflow";
    case errc::invalid_input: return "invalid_input";
    case errc::run_failed: return "run_failed";
    case errc::shutting_down: return "shutting_down";
    case errc::engine_lost: return "engine_lost";
    case errc::drain_timed_out: return "drain_timed_out";
    case errc::forced_stop: return "forced_stop";
    case errc::cleanup_timed_out: return "cleanup_timed_out";
    case errc::cleanup_skipped: return "cleanup_skipped";
    case errc::reload_failed: return "reload_failed";
    case errc::unknown_workflow: return "unknown_workflow";
    case errc::timed_out: return "timed_out";
    case errc::invalid_output: return "invalid_output";
    case errc::cancelled: return "cancelled";
    case errc::not_found: return "not_found";
    case errc::result_too_large: return "result_too_large";
    case errc::outcome_unknown: return "outcome_unknown";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), errc_category::value,
                    caf::make_message(std::move(context))};
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  std::string text;
  if (err.category() == errc_category::value)
    text = to_string(static_cast<errc>(err.code()));
  else if (err.category() == caf::atom("system"))
    text = caf::to_string(static_cast<caf::sec>(err.code()));
  else
    text = caf::to_string(err);
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    text += ": " + ctx.get_as<std::string>(0);
  return text;
}

} // namespace hatchet
