#include "client/rpc_error.hpp"

#include <string>

#include "client/hints.hpp"
#include "hatchet/errors.hpp"

namespace hatchet::rpc {

caf::error to_error(const char* what, wire::rpc_status st, const config& cfg) {
  add_tls_diagnosis(cfg, st);
  auto text = std::string{what} + ": " + st.describe();
  // Not the run's fault but the configuration's: say so, and what to set.
  if (auto hint = fatal_hint(cfg, st); !hint.empty())
    return make_error(errc::invalid_config, hint + " (" + text + ")");
  if (st.code == wire::status::unauthenticated || st.code == wire::status::permission_denied)
    return make_error(errc::invalid_token, "the engine refused the token (" + text + ")");
  // The real engine's answer to a trigger naming no registered workflow (PreflightVerify...).
  constexpr std::string_view not_found = "workflow names not found: ";
  if (st.code == wire::status::invalid_argument && st.message.starts_with(not_found))
    return make_error(errc::unknown_workflow,
                      "the engine has no workflow named "
                        + st.message.substr(not_found.size())
                        + " (is a worker serving it registered, and is the name spelled as "
                          "defined?) ("
                        + text + ")");
  return make_error(errc::rpc_failed, text);
}

} // namespace hatchet::rpc
