// client.workflows(): the engine's workflows over its REST API (include/hatchet/workflows.hpp):
// GET /api/v1/tenants/{tenant}/workflows, which the official SDKs' get() also uses, filtering by
// name.

#include "hatchet/workflows.hpp"

#include <nlohmann/json.hpp>

#include "client/client_core.hpp"
#include "client/rest_client.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace {

constexpr std::chrono::seconds rest_timeout{30};

} // namespace

caf::expected<std::vector<workflow_info>>
workflows_client::list(const workflow_list_options& options) const {
  if (auto err = core_->ready())
    return err;
  if (options.offset < 0 || options.limit < 0)
    return make_error(errc::invalid_config,
                      "workflow_list_options: offset and limit must not be negative");
  rpc::query_string query;
  if (!options.name.empty())
    query.add("name", options.name);
  if (options.offset > 0)
    query.add("offset", std::to_string(options.offset));
  if (options.limit > 0)
    query.add("limit", std::to_string(options.limit));
  const auto& cfg = core_->cfg();
  const auto path = "/api/v1/tenants/" + cfg.tenant_id + "/workflows" + query.str();
  auto r = rpc::rest_call(cfg, "GET", path, {}, rest_timeout);
  if (!r.ok())
    return rpc::to_error("listing the workflows", r);
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  auto rows = answer.is_object() ? answer.find("rows") : answer.end();
  if (!answer.is_object() || (rows != answer.end() && !rows->is_array()))
    return make_error(errc::rpc_failed, "listing the workflows: the answer is not a WorkflowList");
  std::vector<workflow_info> out;
  if (rows == answer.end())
    return out;
  for (const auto& row : *rows) {
    if (!row.is_object() || !row.contains("metadata") || !row["metadata"].is_object())
      return make_error(errc::rpc_failed, "listing the workflows: a row is not a Workflow");
    const auto& meta = row["metadata"];
    out.push_back({meta.value("id", ""), row.value("name", ""), row.value("description", ""),
                   meta.value("createdAt", ""), meta.value("updatedAt", "")});
  }
  return out;
}

caf::expected<workflow_info> workflows_client::get(const std::string& name) const {
  if (name.empty())
    return make_error(errc::invalid_config, "a workflow name is needed");
  if (auto err = core_->ready())
    return err;
  const auto wanted = core_->cfg().workflow_name(name);
  auto found = list({.name = wanted, .limit = 1000});
  if (!found)
    return found.error();
  for (auto& w : *found)
    if (w.name == wanted)
      return std::move(w);
  return make_error(errc::unknown_workflow, "the engine has no workflow '" + wanted + "'");
}

} // namespace hatchet
