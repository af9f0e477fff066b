// The calls of the public hatchet::client (include/hatchet/client.hpp) and what its copies share.

#include "hatchet/client.hpp"

#include "client/client_core.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {


client::client(config cfg) : cfg_(cfg), core_(std::make_shared<detail::client_core>(std::move(cfg))) {}


caf::expected<run_ref> client::trigger(const std::string& workflow, nlohmann::json input,
                                       const run_options& options) const {
  if (auto err = core_->ready())
    return err;
  auto req = detail::make_trigger_request(workflow, input, options, "a run");
  if (!req)
    return std::move(req.error());
  auto id = core_->admin().trigger(*req);
  if (!id)
    return std::move(id.error());
  return run_ref{core_, std::move(*id)};
}

caf::expected<std::vector<run_ref>>
client::bulk_trigger(const std::string& workflow, const std::vector<nlohmann::json>& inputs,
                     const run_options& options) const {
  if (auto err = core_->ready())
    return err;
  std::vector<rpc::trigger_request> reqs;
  reqs.reserve(inputs.size());
  for (const auto& in : inputs) {
    auto req = detail::make_trigger_request(workflow, in, options, "a run");
    if (!req)
      return std::move(req.error());
    reqs.push_back(std::move(*req));
  }
  auto ids = core_->admin().bulk_trigger(reqs);
  if (!ids)
    return std::move(ids.error());
  std::vector<run_ref> refs;
  refs.reserve(ids->size());
  for (auto& id : *ids)
    refs.emplace_back(core_, std::move(id));
  return refs;
}

caf::error client::cancel(const std::vector<std::string>& ids) const {
  if (auto err = core_->ready())
    return err;
  auto r = core_->admin().cancel(ids);
  return r ? caf::error{} : std::move(r.error());
}

caf::error client::replay(const std::vector<std::string>& ids) const {
  if (auto err = core_->ready())
    return err;
  auto r = core_->admin().replay(ids);
  return r ? caf::error{} : std::move(r.error());
}

caf::expected<run_result> client::run_workflow(const std::string& workflow,
                                               const nlohmann::json& input,
                                               std::chrono::milliseconds timeout) const {
  auto ref = run_no_wait(workflow, input);
  if (!ref)
    return std::move(ref.error());
  return ref->wait(timeout);
}

} // namespace hatchet
