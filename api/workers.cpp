// client.workers(): workers over the engine's REST API (include/hatchet/workers.hpp), the routes
// the official SDKs use: GET /api/v1/tenants/{tenant}/worker, GET and PATCH
// /api/v1/workers/{worker}.

#include "hatchet/workers.hpp"


#include <nlohmann/json.hpp>

#include "client/client_core.hpp"
#include "client/rest_client.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace {

constexpr std::chrono::seconds rest_timeout{30};

/// The engine's `Worker` JSON; errc::rpc_failed if it is not one.
caf::expected<worker_info> to_worker(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("metadata") || !j["metadata"].is_object())
    return make_error(errc::rpc_failed, what + ": the engine's answer is not a Worker object");
  worker_info w;
  w.id = j["metadata"].value("id", "");
  w.name = j.value("name", "");
  w.status = j.value("status", "");
  if (auto a = j.find("actions"); a != j.end() && a->is_array())
    for (const auto& action : *a)
      if (action.is_string())
        w.actions.push_back(action.get<std::string>());
  if (auto s = j.find("slotConfig"); s != j.end() && s->is_object())
    for (const auto& [type, v] : s->items())
      if (v.is_object())
        w.slot_config[type] = {v.value("limit", 0), v.value("available", 0)};
  if (auto l = j.find("labels"); l != j.end() && l->is_array())
    for (const auto& label : *l)
      if (label.is_object() && label.contains("key"))
        w.labels[label.value("key", "")] = label.value("value", "");
  w.last_heartbeat_at = j.value("lastHeartbeatAt", "");
  return w;
}

} // namespace

caf::expected<std::vector<worker_info>>
workers_client::list(const worker_list_options& options) const {
  if (auto err = core_->ready())
    return err;
  if (options.offset < 0 || options.limit < 0)
    return make_error(errc::invalid_config,
                      "worker_list_options: offset and limit must not be negative");
  rpc::query_string query;
  for (const auto& s : options.statuses) {
    if (s != "ACTIVE" && s != "PAUSED" && s != "INACTIVE")
      return make_error(errc::invalid_config, "worker_list_options::statuses: '" + s
                                                + "' is not ACTIVE, PAUSED or INACTIVE");
    query.add("statuses", s);
  }
  for (const auto& [key, value] : options.labels) {
    if (key.empty() || value.empty() || key.find(':') != std::string::npos)
      return make_error(errc::invalid_config,
                        "worker_list_options::labels: a label needs a key without ':' and a value");
    query.add("labels", key + ":" + value);
  }
  if (options.offset > 0)
    query.add("offset", std::to_string(options.offset));
  if (options.limit > 0)
    query.add("limit", std::to_string(options.limit));
  const auto& cfg = core_->cfg();
  const auto path = "/api/v1/tenants/" + cfg.tenant_id + "/worker" + query.str();
  auto r = rpc::rest_call(cfg, "GET", path, {}, rest_timeout);
  if (!r.ok())
    return rpc::to_error("listing the workers", r);
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (!answer.is_object())
    return make_error(errc::rpc_failed, "listing the workers: the answer is not a WorkerList");
  std::vector<worker_info> out;
  if (auto rows = answer.find("rows"); rows != answer.end() && rows->is_array()) {
    for (const auto& row : *rows) {
      auto w = to_worker(row, "listing the workers");
      if (!w)
        return w.error();
      out.push_back(std::move(*w));
    }
  }
  return out;
}

caf::expected<worker_info> workers_client::get(const std::string& id) const {
  return call("GET", id, {});
}

caf::expected<worker_info> workers_client::pause(const std::string& id) const {
  return call("PATCH", id, R"({"isPaused":true})");
}

caf::expected<worker_info> workers_client::unpause(const std::string& id) const {
  return call("PATCH", id, R"({"isPaused":false})");
}

caf::expected<worker_info> workers_client::call(const std::string& method, const std::string& id,
                                                const std::string& body) const {
  if (auto err = core_->ready())
    return err;
  if (!rpc::looks_like_uuid(id)) // as the TypeScript SDK checks before it calls
    return make_error(errc::invalid_config, "a worker id is a uuid, not '" + id + "'");
  const std::string what = (method == "GET" ? "reading the worker " : "updating the worker ") + id;
  auto r = rpc::rest_call(core_->cfg(), method, "/api/v1/workers/" + id, body, rest_timeout);
  if (!r.ok())
    return rpc::to_error(what, r);
  return to_worker(nlohmann::json::parse(r.body, nullptr, false), what);
}

} // namespace hatchet
