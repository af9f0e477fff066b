// The connection every copy of a hatchet::client shares (client/client_core.hpp).

#include "client/client_core.hpp"

#include "hatchet/errors.hpp"

namespace hatchet::detail {

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

} // namespace hatchet::detail
