#include "client/rpc_error.hpp"

#include <string>
#include <string_view>

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

bool answer_may_be_lost(const wire::rpc_status& st) {
  auto says = [&](std::string_view words) { return st.message.find(words) != std::string::npos; };
  switch (st.code) {
    case wire::status::deadline_exceeded:
    case wire::status::cancelled:
      return true;
    case wire::status::unavailable:
      // gRPC's words when no connection could be made: the call never left.
      return !(says("failed to connect") || says("Connection refused") || says("empty address list")
               || says("DNS resolution failed") || says("name resolution")
               || says("No address") || says("Stream refused"));
    case wire::status::internal:
      return says("RST_STREAM") && !says("REFUSED_STREAM");
    case wire::status::unknown:
      return says("Stream removed");
    default:
      return false;
  }
}

caf::error trigger_error(const char* what, wire::rpc_status st, const config& cfg,
                         const trigger_about& about) {
  if (!answer_may_be_lost(st))
    return to_error(what, std::move(st), cfg);
  const std::string runs =
    about.runs > 1 ? "the " + std::to_string(about.runs) + " runs" : "the run";
  std::string text = std::string{what} + " of workflow '" + about.workflow
                     + "': the answer was lost (" + st.describe()
                     + "), so the engine may have created " + runs
                     + ", or not. Triggering again may run it twice; look for it first: runs of '"
                     + about.workflow + "' since " + about.since_utc
                     + " in the dashboard, or over the REST API, GET "
                     + (cfg.server_url.empty() ? std::string{"<server url>"} : cfg.server_url)
                     + "/api/v1/stable/tenants/"
                     + (cfg.tenant_id.empty() ? std::string{"<tenant>"} : cfg.tenant_id)
                     + "/workflow-runs?only_tasks=false&since=" + about.since_utc;
  if (!about.parent_task_run_external_id.empty())
    text += "&parent_task_external_id=" + about.parent_task_run_external_id;
  else
    text += " (add &additional_metadata=<key>:<value> to narrow it to runs you tagged)";
  return make_error(errc::outcome_unknown, text);
}

} // namespace hatchet::rpc
