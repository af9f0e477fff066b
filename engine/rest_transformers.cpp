#include "engine/rest_transformers.hpp"

#include "engine/rfc3339.hpp"

namespace hatchet::engine {

namespace {

using json = nlohmann::json;
constexpr const char* nil_uuid = "00000000-0000-0000-0000-000000000000";

/// What the real engine's `CronWorkflows` and `ScheduledWorkflows` schemas share, in the parts
/// the dev engine knows.
template <class View>
json trigger_json(const View& v) {
  return json{{"metadata",
               {{"id", v.id},
                {"createdAt", format_rfc3339(v.created_at)},
                {"updatedAt", format_rfc3339(v.created_at)}}},
              {"workflowId", v.workflow_id},
              {"workflowVersionId", v.workflow_version_id},
              {"workflowName", v.workflow_name},
              {"input", object_text(v.input)},
              {"additionalMetadata", object_text(v.additional_metadata)},
              {"priority", v.priority}};
}

} // namespace

json object_text(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json::object();
}

/// The real engine's `Worker` schema, in the parts the dev engine knows.
json to_json(const worker_view& w) {
  json j = {
    {"metadata",
     {{"id", w.id},
      {"createdAt", format_rfc3339(w.created_at)},
      {"updatedAt", format_rfc3339(w.updated_at)}}},
    {"name", w.name},
    {"type", "SELFHOSTED"},
    {"status", w.status},
    {"actions", w.actions},
  };
  if (w.last_heartbeat_at)
    j["lastHeartbeatAt"] = format_rfc3339(*w.last_heartbeat_at);
  if (w.last_listener_established)
    j["lastListenerEstablished"] = format_rfc3339(*w.last_listener_established);
  json slots = json::object();
  int64_t max_runs = 0;
  int64_t available_runs = 0;
  for (const auto& s : w.slots) {
    slots[s.type] = {{"available", s.available}, {"limit", s.limit}};
    if (s.type != "durable") { // the real engine leaves durable slots out of the run counts
      max_runs += s.limit;
      available_runs += s.available;
    }
  }
  j["slotConfig"] = std::move(slots);
  j["maxRuns"] = max_runs;
  j["availableRuns"] = available_runs;
  json labels = json::array();
  for (const auto& [key, value] : w.labels)
    labels.push_back({{"metadata",
                       {{"id", nil_uuid},
                        {"createdAt", format_rfc3339(w.created_at)},
                        {"updatedAt", format_rfc3339(w.updated_at)}}},
                      {"key", key},
                      {"value", value}});
  j["labels"] = std::move(labels);
  return j;
}

/// The real engine's `CronWorkflows` schema, in the parts the dev engine knows.
json to_json(const cron_view& c) {
  auto j = trigger_json(c);
  j["cron"] = c.expression;
  j["name"] = c.name;
  j["enabled"] = true;
  j["method"] = c.method;
  return j;
}

/// The real engine's `ScheduledWorkflows` schema, in part.
json to_json(const schedule_view& s) {
  auto j = trigger_json(s);
  j["triggerAt"] = format_rfc3339(s.trigger_at);
  j["method"] = "API";
  return j;
}

json to_json(const workflow_view& w, const std::string& tenant_id) {
  return json{{"metadata",
               {{"id", w.id},
                {"createdAt", format_rfc3339(w.created_at)},
                {"updatedAt", format_rfc3339(w.updated_at)}}},
              {"name", w.name},
              {"description", w.description},
              {"isPaused", false},
              {"tenantId", tenant_id}};
}

json tenant_json(const std::string& tenant_id, std::chrono::system_clock::time_point created_at,
                 const std::string& server_url) {
  const auto at = format_rfc3339(created_at);
  return json{{"metadata", {{"id", tenant_id}, {"createdAt", at}, {"updatedAt", at}}},
              {"name", "dev"},
              {"slug", "dev"},
              {"analyticsOptOut", true},
              {"alertMemberEmails", false},
              {"version", "V1"},
              {"serverUrl", server_url}};
}

} // namespace hatchet::engine
