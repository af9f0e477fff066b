// Crons and one-off schedules: the engine_state members that keep them and start their runs
// when they come due, as the real engine's ticker does (internal/services/ticker/cron.go,
// cron_v1.go, schedule_workflow.go, schedule_workflow_v1.go).

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "util/ids.hpp"
#include "engine/state.hpp"
#include "util/quoted.hpp"

namespace hatchet::engine {

namespace {

using wall = std::chrono::system_clock;

std::chrono::sys_seconds whole_seconds(wall::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

/// The metadata of a cron's run: the cron's own, then the keys the real engine adds
/// (RunCronWorkflow copies them over the cron's, so they win).
std::string cron_run_metadata(const cron_view& c) {
  auto meta = nlohmann::json::parse(c.additional_metadata, nullptr, false);
  if (!meta.is_object())
    meta = nlohmann::json::object();
  meta["hatchet__cron_expression"] = c.expression;
  meta["hatchet__cron_name"] = c.name;
  return meta.dump();
}

/// The first firing of `e` after `now`; marks it expired when there is none.
void arm(std::chrono::sys_seconds now, cron_schedule const& schedule,
         std::chrono::sys_seconds& next_at, bool& expired) {
  auto next = schedule.next(now);
  expired = !next;
  if (next)
    next_at = *next;
}

} // namespace

void engine_state::declare_crons(const workflow_def& wf,
                                 const std::vector<std::pair<std::string, cron_schedule>>& crons,
                                 const std::string& input) {
  // A new version replaces the declared crons (the real engine deletes the old version's
  // DEFAULT crons and creates the new ones); API crons follow the workflow by name.
  auto& entries = declared_crons_[wf.name];
  entries.clear();
  const auto now = wall::now();
  for (const auto& [expr, schedule] : crons) {
    cron_entry e{{}, schedule, {}, false};
    e.view.id = util::new_uuid();
    e.view.workflow_name = wf.name;
    e.view.workflow_id = wf.workflow_id;
    e.view.workflow_version_id = wf.version_id;
    e.view.expression = expr;
    e.view.input = input;
    e.view.additional_metadata = "{}";
    e.view.method = "DEFAULT";
    e.view.created_at = now;
    arm(whole_seconds(now), e.schedule, e.next_at, e.expired);
    entries.push_back(std::move(e));
  }
  if (entries.empty())
    declared_crons_.erase(wf.name);
}

status engine_state::create_cron(const cron_spec& spec, cron_view& out) {
  if (spec.name.empty())
    return status::invalid("cron name is required");
  // The real engine stores the expression unchecked and its ticker deletes it at the next poll
  // if gocron cannot parse it; the dev engine refuses it at once, saying why.
  std::string why;
  auto schedule = cron_schedule::parse(spec.expression, why);
  if (!schedule)
    return status::invalid("invalid cron expression " + util::quoted(spec.expression) + ": " + why);
  if (spec.priority && (*spec.priority < 1 || *spec.priority > 3))
    return status::invalid("priority must be between 1 and 3");
  std::lock_guard lk{mu_};
  auto wf = workflows_.find(spec.workflow);
  if (wf == workflows_.end())
    return status::not_found("workflow not found");
  for (const auto& [id, e] : api_crons_)
    if (e.view.workflow_name == spec.workflow && e.view.name == spec.name
        && e.view.expression == spec.expression)
      return status::invalid("cron trigger with that name-expression pair already exists");
  const auto now = wall::now();
  cron_entry e{{}, *schedule, {}, false};
  e.view.id = util::new_uuid();
  e.view.workflow_name = spec.workflow;
  e.view.workflow_id = wf->second->workflow_id;
  e.view.workflow_version_id = wf->second->version_id;
  e.view.name = spec.name;
  e.view.expression = spec.expression;
  e.view.input = spec.input;
  e.view.additional_metadata = spec.additional_metadata;
  e.view.priority = spec.priority.value_or(1);
  e.view.method = "API";
  e.view.created_at = now;
  arm(whole_seconds(now), e.schedule, e.next_at, e.expired);
  out = e.view;
  api_crons_.emplace(e.view.id, std::move(e));
  spdlog::info("cron {} '{}' ({}) of {} created", out.id, out.name, out.expression,
               out.workflow_name);
  return status::success();
}

status engine_state::delete_cron(const std::string& id) {
  std::lock_guard lk{mu_};
  if (api_crons_.erase(id) > 0)
    return status::success();
  for (auto& [name, entries] : declared_crons_)
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (it->view.id == id) {
        entries.erase(it);
        return status::success();
      }
  return status::not_found("cron not found");
}

std::vector<cron_view> engine_state::list_crons() const {
  std::lock_guard lk{mu_};
  std::vector<cron_view> out;
  for (const auto& [name, entries] : declared_crons_)
    for (const auto& e : entries)
      out.push_back(e.view);
  for (const auto& [id, e] : api_crons_)
    out.push_back(e.view);
  return out;
}

status engine_state::create_schedules(const schedule_spec& spec,
                                      std::vector<schedule_view>& out) {
  if (!is_valid_json(spec.input))
    return status::invalid("input must be valid JSON");
  if (!is_valid_json(spec.additional_metadata))
    return status::invalid("additional_metadata must be valid JSON");
  if (spec.priority && (*spec.priority < 1 || *spec.priority > 3))
    return status::invalid("priority must be between 1 and 3");
  std::lock_guard lk{mu_};
  auto wf = workflows_.find(spec.workflow);
  if (wf == workflows_.end())
    return status::not_found("workflow not found");
  const auto now = wall::now();
  // One row per time; a time in the past is accepted and fires at once, as on the real engine.
  for (auto at : spec.trigger_at) {
    schedule_entry e;
    e.view.id = util::new_uuid();
    e.view.workflow_name = spec.workflow;
    e.view.workflow_id = wf->second->workflow_id;
    e.view.workflow_version_id = wf->second->version_id;
    e.view.trigger_at = at;
    e.view.input = spec.input;
    e.view.additional_metadata = spec.additional_metadata;
    e.view.priority = spec.priority.value_or(1);
    e.view.created_at = now;
    out.push_back(e.view);
    schedules_.emplace(e.view.id, std::move(e));
  }
  return status::success();
}

status engine_state::delete_schedule(const std::string& id) {
  std::lock_guard lk{mu_};
  if (schedules_.erase(id) == 0)
    return status::not_found("scheduled workflow run not found");
  return status::success();
}

void engine_state::fire_timed_triggers(wall::time_point now) {
  const auto now_s = whole_seconds(now);
  auto fire_cron = [&](cron_entry& e) {
    if (e.expired || e.next_at > now_s)
      return;
    // Runs of the workflow's latest version, by name; one firing even if several were missed
    // (gocron runs a job once per due time and the dev engine checks every tick).
    auto wf = workflows_.find(e.view.workflow_name);
    if (wf != workflows_.end()) {
      trigger_spec spec;
      spec.name = e.view.workflow_name;
      spec.input = e.view.input;
      spec.additional_metadata = cron_run_metadata(e.view);
      spec.priority = e.view.priority;
      const auto& run_id = start_run(wf->second, spec);
      ++stats_.cron_runs;
      spdlog::debug("cron {} ({}) of {} fired: run {}", e.view.id, e.view.expression,
                    e.view.workflow_name, run_id);
    }
    arm(now_s, e.schedule, e.next_at, e.expired);
  };
  for (auto& [name, entries] : declared_crons_)
    for (auto& e : entries)
      fire_cron(e);
  for (auto& [id, e] : api_crons_)
    fire_cron(e);
  // A schedule fires once and is deleted (the real engine claims its id, then deletes the row).
  for (auto it = schedules_.begin(); it != schedules_.end();) {
    const auto& v = it->second.view;
    if (v.trigger_at > now) {
      ++it;
      continue;
    }
    if (auto wf = workflows_.find(v.workflow_name); wf != workflows_.end()) {
      trigger_spec spec;
      spec.name = v.workflow_name;
      spec.input = v.input;
      spec.additional_metadata = v.additional_metadata;
      spec.priority = v.priority;
      const auto& run_id = start_run(wf->second, spec);
      ++stats_.scheduled_runs;
      spdlog::debug("schedule {} of {} fired: run {}", v.id, v.workflow_name, run_id);
    }
    it = schedules_.erase(it);
  }
}

} // namespace hatchet::engine
