// The calls of the public hatchet::client (include/hatchet/client.hpp) and what its copies share.

#include "hatchet/client.hpp"

#include "client/client_core.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace detail {

caf::error client_core::ready() {
  std::call_once(once_, [this] {
    if (auto err = cfg_.validate()) {
      init_error_ = std::move(err);
      return;
    }
    ch_ = rpc::make_channel(cfg_);
    admin_ = std::make_unique<rpc::admin_client>(ch_, cfg_);
  });
  return init_error_;
}

rpc::run_listener& client_core::listener() {
  std::lock_guard lk{listener_mtx_};
  if (!listener_)
    listener_ = std::make_unique<rpc::run_listener>(ch_, cfg_);
  return *listener_;
}

caf::expected<rpc::trigger_request> make_trigger_request(const std::string& workflow,
                                                         nlohmann::json input,
                                                         const run_options& options,
                                                         const char* what) {
  if (auto err = options.validate())
    return err;
  if (input.is_null()) // no input given
    input = nlohmann::json::object();
  if (!input.is_object())
    return make_error(errc::invalid_input, std::string{"the input of "} + what + " of '"
                                             + workflow + "' must be a JSON object, not "
                                             + std::string{input.type_name()});
  rpc::trigger_request req;
  req.workflow_name = workflow;
  req.input_json = input.dump();
  if (!options.additional_metadata.empty())
    req.additional_metadata_json = options.additional_metadata.dump();
  req.priority = options.priority;
  req.child_key = options.key;
  return req;
}

} // namespace detail

namespace {


} // namespace

client::client(config cfg) : cfg_(cfg), core_(std::make_shared<detail::client_core>(std::move(cfg))) {}

caf::error run_options::validate() const {
  if (!additional_metadata.is_object())
    return make_error(errc::invalid_config,
                      "run_options::additional_metadata must be a JSON object, not "
                        + std::string{additional_metadata.type_name()});
  if (priority < 0 || priority > 3)
    return make_error(errc::invalid_config, "run_options::priority must be 1, 2 or 3 (0: none), not "
                                              + std::to_string(priority));
  if (timeout.count() <= 0)
    return make_error(errc::invalid_config, "run_options::timeout must be positive");
  return caf::none;
}

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
