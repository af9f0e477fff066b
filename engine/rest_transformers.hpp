#pragma once
// The REST API's JSON shapes, from the model's views: the parts of the real engine's schemas
// (api-contracts/openapi/components/schemas/) the dev engine knows, filled as its transformers
// fill them (api/v1/server/oas/transformers/). No HTTP here; rest_server.cpp answers with them.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/state.hpp"

namespace hatchet::engine {

/// `Worker` (transformers/v1/worker.go, ToWorkerSqlc).
nlohmann::json to_json(const worker_view& w);
/// `CronWorkflows`.
nlohmann::json to_json(const cron_view& c);
/// `ScheduledWorkflows`.
nlohmann::json to_json(const schedule_view& s);
/// `Workflow` (transformers/workflow.go, ToWorkflowFromSQLC).
nlohmann::json to_json(const workflow_view& w, const std::string& tenant_id);
/// `Tenant` (transformers/tenant.go, ToTenant): a v1 tenant named "dev".
nlohmann::json tenant_json(const std::string& tenant_id,
                           std::chrono::system_clock::time_point created_at,
                           const std::string& server_url);
/// The JSON object in `text`, or {} if it is not one.
nlohmann::json object_text(const std::string& text);

} // namespace hatchet::engine
