// The calls of the public hatchet::client that go to the engine (include/hatchet/client.hpp).

#include "hatchet/client.hpp"

#include <optional>

#include "client/admin_client.hpp"
#include "client/channel.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

caf::expected<run_result> client::run_workflow(const std::string& workflow,
                                               const nlohmann::json& input,
                                               std::chrono::milliseconds timeout) const {
  if (auto err = cfg_.validate())
    return err;
  rpc::admin_client admin{rpc::make_channel(cfg_), cfg_};
  auto id = admin.trigger(rpc::trigger_request{workflow, input.dump(), {}});
  if (!id)
    return std::move(id.error());
  std::optional<run_result> result;
  auto err = admin.wait_for_runs(
    {*id},
    [&](const rpc::run_result& r) {
      run_result out;
      out.workflow_run_id = r.workflow_run_id;
      for (const auto& t : r.tasks) {
        if (t.error && !t.error->empty())
          out.errors[t.task_name] = *t.error;
        else if (t.output)
          out.outputs[t.task_name] = nlohmann::json::parse(t.output->empty() ? "{}" : *t.output,
                                                           nullptr, false);
      }
      result = std::move(out);
    },
    timeout);
  if (err)
    return err;
  if (!result) // wait_for_runs reports every run before it returns without an error
    return make_error(errc::rpc_failed, "run " + *id + " finished without a result");
  return std::move(*result);
}

} // namespace hatchet
