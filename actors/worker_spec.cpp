#include "actors/worker_spec.hpp"

#include <algorithm>

#include "client/client_core.hpp"
#include "core/names.hpp"
#include "hatchet/errors.hpp"

namespace hatchet::detail {

caf::expected<std::shared_ptr<const worker_spec>>
worker_spec::make(config cfg, const std::string& name, worker_options options) {
  if (auto err = cfg.validate())
    return err;
  if (!valid_name(name))
    return make_error(errc::invalid_config,
                      "worker name '" + name + "' must match [a-zA-Z0-9._-]+");
  if (auto err = options.validate())
    return err;
  auto spec = std::make_shared<worker_spec>();
  spec->name = cfg.apply_namespace(name);
  for (const auto& wf : options.workflows) {
    // Everything the engine will check, checked before the first call: a name refused half-way
    // through registration would leave some workflows registered and their runs waiting.
    if (auto full = cfg.workflow_name(wf.name()); !valid_name(full))
      return make_error(errc::invalid_workflow, "workflow name '" + full
                                                  + "' must match [a-zA-Z0-9._-]+");
    auto all = wf.tasks();
    if (wf.on_failure_task())
      all.push_back(wf.on_failure_task()); // served like any task
    for (const auto& t : all) {
      auto id = cfg.action_id(wf.name(), t->name);
      if (!spec->tasks.emplace(id, t).second)
        return make_error(errc::invalid_workflow, "two tasks map to the action id '" + id + "'");
      spec->actions.push_back(id);
    }
  }
  std::sort(spec->actions.begin(), spec->actions.end());
  // HATCHET_CLIENT_WORKER_PRESET_LABELS add to the worker's labels; its own win on a clash.
  for (const auto& [key, value] : cfg.preset_labels)
    options.labels.emplace(key, value);
  spec->client = std::make_shared<client_core>(cfg);
  spec->cfg = std::move(cfg);
  spec->options = std::move(options);
  return std::shared_ptr<const worker_spec>{std::move(spec)};
}

} // namespace hatchet::detail
