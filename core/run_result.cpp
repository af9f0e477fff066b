// A finished run's output and the errors that describe it (include/hatchet/run_result.hpp).

#include "hatchet/run_result.hpp"

namespace hatchet {

nlohmann::json run_result::output() const {
  if (outputs.size() == 1 && errors.empty())
    return outputs.begin()->second;
  nlohmann::json all = nlohmann::json::object();
  for (const auto& [task, out] : outputs)
    all[task] = out;
  return all;
}

namespace detail {

caf::error run_failed_error(const run_result& r) {
  std::string text = "run " + r.workflow_run_id + " failed:";
  for (const auto& [task, err] : r.errors)
    text += " task '" + task + "': " + err + ";";
  text.pop_back();
  return make_error(errc::run_failed, std::move(text));
}

caf::error invalid_output_error(const run_result& r, const std::string& type,
                                const std::string& why) {
  return make_error(errc::invalid_output, "run " + r.workflow_run_id + ": the output "
                                            + r.output().dump() + " does not decode into "
                                            + type + ": " + why);
}

} // namespace detail

} // namespace hatchet
