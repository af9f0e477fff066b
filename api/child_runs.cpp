// Child runs from a task (hatchet::context::spawn and run_child, include/hatchet/context.hpp):
// the trigger carries the links the engine builds its run tree from, as the official SDKs send
// them (the TypeScript SDK's spawnOptions: parentId = the run, parentTaskRunExternalId = the
// task run, childIndex = a counter per attempt from 0, childKey = the key).

#include "hatchet/context.hpp"

#include "client/client_core.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/run_ref.hpp"

namespace hatchet {

namespace {

caf::expected<rpc::trigger_request> child_request(const context& ctx, int index,
                                                  const std::string& workflow,
                                                  nlohmann::json input,
                                                  const run_options& options) {
  auto req = detail::make_trigger_request(workflow, std::move(input), options, "a child run");
  if (!req)
    return req;
  req->parent_id = ctx.workflow_run_id();
  req->parent_task_run_external_id = ctx.task_run_external_id();
  req->child_index = index;
  return req;
}

caf::error not_connected() {
  return make_error(errc::invalid_config,
                    "this task's context is not connected to an engine: child runs need a "
                    "worker's context");
}

} // namespace

caf::expected<run_ref> context::spawn(const std::string& workflow, const nlohmann::json& input,
                                      const run_options& options) {
  const int index = next_child_index_.fetch_add(1);
  if (!client_)
    return not_connected();
  if (auto err = client_->ready())
    return err;
  auto req = child_request(*this, index, workflow, input, options);
  if (!req)
    return std::move(req.error());
  auto id = client_->admin().trigger(*req);
  if (!id)
    return std::move(id.error());
  return run_ref{client_, std::move(*id)};
}

std::function<void(context::child_done)> context::child_starter(const std::string& workflow,
                                                                const nlohmann::json& input,
                                                                const run_options& options) {
  const int index = next_child_index_.fetch_add(1);
  caf::expected<rpc::trigger_request> req = client_
                                              ? child_request(*this, index, workflow, input, options)
                                              : caf::expected<rpc::trigger_request>{not_connected()};
  return [core = client_, req = std::move(req)](child_done done) {
    if (!req)
      return done(req.error());
    if (auto err = core->ready())
      return done(std::move(err));
    // Neither step blocks: the trigger completes on a gRPC thread, the result on the client's
    // listener thread; `done` hands it to the task's actor (ctx.await_callback).
    core->admin().trigger(*req, [core, done](caf::expected<std::string> id) {
      if (!id)
        return done(std::move(id.error()));
      run_ref{core, std::move(*id)}.on_finished(done);
    });
  };
}

} // namespace hatchet
