// client.schedules(): one-off scheduled runs over the engine's REST API
// (include/hatchet/schedules.hpp), the routes the TypeScript SDK uses:
// POST /api/v1/tenants/{tenant}/workflows/{workflow}/scheduled and
// DELETE /api/v1/tenants/{tenant}/workflows/scheduled/{id}.

#include "hatchet/schedules.hpp"

#include <cctype>

#include "client/client_core.hpp"
#include "client/rest_client.hpp"
#include "hatchet/errors.hpp"
#include "util/utc_time.hpp"

namespace hatchet {

namespace {

constexpr std::chrono::seconds rest_timeout{30};

} // namespace

caf::expected<schedule_ref> schedules_client::create_json(const std::string& workflow,
                                                          std::chrono::system_clock::time_point at,
                                                          nlohmann::json input,
                                                          const run_options& options) const {
  if (auto err = core_->ready())
    return err;
  if (auto err = options.validate())
    return err;
  if (input.is_null())
    input = nlohmann::json::object();
  if (!input.is_object())
    return make_error(errc::invalid_input, "the input of a scheduled run of '" + workflow
                                             + "' must be a JSON object, not "
                                             + std::string{input.type_name()});
  const auto& cfg = core_->cfg();
  const auto wf_name = cfg.workflow_name(workflow);
  nlohmann::json body = {{"input", input},
                         {"additionalMetadata", options.additional_metadata},
                         {"triggerAt", util::utc_millis_text(at)}};
  if (options.priority != 0)
    body["priority"] = options.priority;
  auto r = rpc::rest_call(cfg, "POST",
                          "/api/v1/tenants/" + cfg.tenant_id + "/workflows/" + wf_name
                            + "/scheduled",
                          body.dump(), rest_timeout);
  if (!r.ok())
    return rpc::to_error("scheduling a run of '" + wf_name + "'", r);
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (!answer.is_object() || !answer.contains("metadata"))
    return make_error(errc::rpc_failed, "scheduling a run of '" + wf_name
                                          + "': the engine's answer is not a ScheduledWorkflows "
                                            "object");
  schedule_ref ref;
  ref.id = answer["metadata"].value("id", "");
  ref.trigger_at = at;
  return ref;
}

caf::error schedules_client::remove(const std::string& id) const {
  if (auto err = core_->ready())
    return err;
  if (!rpc::looks_like_uuid(id))
    return make_error(errc::invalid_config, "a scheduled run's id is a uuid, not '" + id + "'");
  const auto& cfg = core_->cfg();
  auto r = rpc::rest_call(cfg, "DELETE",
                          "/api/v1/tenants/" + cfg.tenant_id + "/workflows/scheduled/" + id, {},
                          rest_timeout);
  if (!r.ok())
    return rpc::to_error("deleting the scheduled run " + id, r);
  return caf::none;
}

} // namespace hatchet
