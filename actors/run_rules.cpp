#include "actors/run_rules.hpp"

namespace hatchet::detail {

namespace {

admission verdict(admission::kind what, task_def_ptr task = nullptr) {
  admission a;
  a.what = what;
  a.task = std::move(task);
  return a;
}

} // namespace

admission admit(const wire::assigned_action& a, bool already_here, const worker_spec& spec,
                bool refuses_new_runs) {
  const auto& ref = *a.ids;
  if (already_here)
    return verdict(admission::duplicate);
  auto task = spec.tasks.find(ref.action_id);
  if (task == spec.tasks.end())
    return {admission::refuse, nullptr,
            "hatchet::unknown_action: this worker does not serve action '" + ref.action_id + "'",
            "assigned unknown action '" + ref.action_id + "' (run " + ref.key + ")"};
  auto limit = static_cast<size_t>(spec.cfg.max_recv_bytes);
  if (a.action_payload.size() > limit) {
    auto size = std::to_string(a.action_payload.size());
    return {admission::refuse, nullptr,
            "hatchet::payload_too_large: the action payload has " + size
              + " bytes, over this worker's limit of " + std::to_string(limit)
              + " bytes (raise HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH)",
            "run " + ref.key + " (" + ref.action_id + ") carries a " + size
              + "-byte payload, over this worker's limit of " + std::to_string(limit) + " bytes"};
  }
  if (refuses_new_runs)
    return verdict(admission::hand_back);
  return verdict(admission::run, task->second);
}

run_report report_for(bool cancelled_by_engine, bool cancelled_for_stop,
                      const msg::task_outcome& o) {
  if (cancelled_by_engine)
    return {};
  if (cancelled_for_stop && o.kind == msg::task_outcome::failed)
    return {run_report::failed, false};
  if (o.kind == msg::task_outcome::completed)
    return {run_report::completed};
  return {run_report::failed, o.should_not_retry};
}

} // namespace hatchet::detail
