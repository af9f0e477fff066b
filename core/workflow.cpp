// Workflow definitions checked before anything is sent (include/hatchet/workflow.hpp).

#include "hatchet/workflow.hpp"

#include <algorithm>
#include <set>

#include "core/names.hpp"
#include "hatchet/config.hpp"
#include "util/go_duration.hpp"

namespace hatchet {

namespace {

/// A Go duration ("30s", "1m30s", "500ms") the engine reads, and longer than zero.
bool positive_duration(const std::string& s) {
  auto d = util::parse_go_duration(s);
  return d && d->count() > 0;
}

} // namespace

caf::error workflow::validate() const {
  auto bad = [&](std::string why) {
    return make_error(errc::invalid_workflow, "workflow '" + name_ + "': " + std::move(why));
  };
  if (name_.empty())
    return make_error(errc::invalid_workflow, "a workflow needs a name");
  if (tasks_.empty())
    return bad("has no tasks");
  std::set<std::string> names;
  auto check_task = [&](const detail::task_def& t) -> caf::error {
    if (!detail::valid_name(t.name))
      return bad("task name '" + t.name + "' must match [a-zA-Z0-9._-]+");
    if (!names.insert(to_lower(t.name)).second)
      return bad("two tasks are named '" + t.name + "'");
    const auto& o = t.options;
    if (!positive_duration(o.timeout))
      return bad("task '" + t.name + "': timeout '" + o.timeout
                 + "' is not a duration such as 30s, 5m or 1h");
    if (o.retries < 0)
      return bad("task '" + t.name + "': retries must be >= 0");
    if (o.slot_cost < 1)
      return bad("task '" + t.name + "': slot_cost must be >= 1");
    // The engine's bounds (PutWorkflow refuses a workflow outside them).
    if (o.backoff_factor && !(*o.backoff_factor >= 1 && *o.backoff_factor <= 1000))
      return bad("task '" + t.name + "': backoff_factor must be between 1 and 1000");
    if (o.backoff_max_seconds && !o.backoff_factor)
      return bad("task '" + t.name + "': backoff_max_seconds has no effect without backoff_factor");
    if (o.backoff_max_seconds && (*o.backoff_max_seconds < 1 || *o.backoff_max_seconds > 86400))
      return bad("task '" + t.name + "': backoff_max_seconds must be between 1 and 86400");
    if (!o.schedule_timeout.empty() && !positive_duration(o.schedule_timeout))
      return bad("task '" + t.name + "': schedule_timeout '" + o.schedule_timeout
                 + "' is not a duration such as 30s, 5m or 1h");
    return caf::none;
  };
  for (const auto& t : tasks_)
    if (auto err = check_task(*t))
      return err;
  if (on_failure_)
    if (auto err = check_task(*on_failure_))
      return err;
  for (const auto& t : tasks_)
    for (const auto& p : t->options.parents)
      if (names.count(to_lower(p.name())) == 0)
        return bad("task '" + t->name + "' names an unknown parent '" + p.name() + "'");
  // Cycles: repeatedly remove tasks whose parents are all removed.
  std::set<std::string> done;
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& t : tasks_) {
      if (done.count(t->name) != 0)
        continue;
      if (std::all_of(t->options.parents.begin(), t->options.parents.end(),
                      [&](const parent_task& p) { return done.count(p.name()) != 0; })) {
        done.insert(t->name);
        progress = true;
      }
    }
  }
  if (done.size() != tasks_.size())
    return bad("the task parents form a cycle");
  for (const auto& key : event_triggers_)
    if (key.empty())
      return bad("an event key in on_events is empty");
  for (const auto& expr : cron_triggers_)
    if (expr.find_first_not_of(" \t") == std::string::npos)
      return bad("a cron expression in on_crons is empty");
  if (!cron_input_.is_null() && !cron_input_.is_object())
    return bad("cron_input must be a JSON object, not " + std::string{cron_input_.type_name()});
  return caf::none;
}

} // namespace hatchet
