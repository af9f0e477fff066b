// client.crons(): crons over the engine's REST API (include/hatchet/crons.hpp), the routes the
// official SDKs use: POST /api/v1/tenants/{tenant}/workflows/{workflow}/crons and
// DELETE /api/v1/tenants/{tenant}/workflows/crons/{id}.

#include "hatchet/crons.hpp"

#include <cctype>

#include "client/client_core.hpp"
#include "client/rest_client.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace {

constexpr std::chrono::seconds rest_timeout{30};

} // namespace

caf::error cron_options::validate() const {
  if (!input.is_object())
    return make_error(errc::invalid_config, "cron_options::input must be a JSON object, not "
                                              + std::string{input.type_name()});
  if (!additional_metadata.is_object())
    return make_error(errc::invalid_config,
                      "cron_options::additional_metadata must be a JSON object, not "
                        + std::string{additional_metadata.type_name()});
  if (priority < 0 || priority > 3)
    return make_error(errc::invalid_config, "cron_options::priority must be 1, 2 or 3 (0: none), "
                                            "not " + std::to_string(priority));
  return caf::none;
}

caf::expected<cron_ref> crons_client::create(const std::string& workflow, const std::string& name,
                                             const std::string& expression,
                                             const cron_options& options) const {
  if (auto err = core_->ready())
    return err;
  if (name.empty())
    return make_error(errc::invalid_config, "a cron needs a name");
  if (expression.empty())
    return make_error(errc::invalid_config, "a cron needs an expression");
  if (auto err = options.validate())
    return err;
  const auto& cfg = core_->cfg();
  const auto wf_name = cfg.workflow_name(workflow); // namespaced and lowercased, as the SDKs
  nlohmann::json body = {{"cronName", name},
                         {"cronExpression", expression},
                         {"input", options.input},
                         {"additionalMetadata", options.additional_metadata}};
  if (options.priority != 0)
    body["priority"] = options.priority;
  auto r = rpc::rest_call(cfg, "POST",
                          "/api/v1/tenants/" + cfg.tenant_id + "/workflows/" + wf_name + "/crons",
                          body.dump(), rest_timeout);
  if (!r.ok())
    return rpc::to_error("creating the cron '" + name + "' of '" + wf_name + "'", r);
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (!answer.is_object() || !answer.contains("metadata"))
    return make_error(errc::rpc_failed, "creating the cron '" + name
                                          + "': the engine's answer is not a CronWorkflows object");
  cron_ref ref;
  ref.id = answer["metadata"].value("id", "");
  ref.name = answer.value("name", name);
  ref.expression = answer.value("cron", expression);
  ref.workflow = answer.value("workflowName", wf_name);
  return ref;
}

caf::error crons_client::remove(const std::string& id) const {
  if (auto err = core_->ready())
    return err;
  if (!rpc::looks_like_uuid(id)) // as the TypeScript SDK checks before it calls
    return make_error(errc::invalid_config, "a cron id is a uuid, not '" + id + "'");
  const auto& cfg = core_->cfg();
  auto r = rpc::rest_call(cfg, "DELETE",
                          "/api/v1/tenants/" + cfg.tenant_id + "/workflows/crons/" + id, {},
                          rest_timeout);
  if (!r.ok())
    return rpc::to_error("deleting the cron " + id, r);
  return caf::none;
}

} // namespace hatchet
