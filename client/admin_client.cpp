#include "client/admin_client.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "client/channel_impl.hpp"
#include "client/rpc_error.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "hatchet/errors.hpp"
#include "util/utc_time.hpp"
#include "v1/workflows.grpc.pb.h"
#include "workflows/workflows.grpc.pb.h"

namespace hatchet::rpc {

namespace {

caf::error rpc_error(const char* what, const grpc::Status& grpc_st, const config& cfg) {
  return to_error(what, to_wire(grpc_st), cfg); // blocking, as the calls that end here are
}

void fill(v1::TriggerWorkflowRequest& out, const trigger_request& in, const channel& ch) {
  out.set_name(namespaced_workflow_name(ch.namespace_, in.workflow_name));
  out.set_input(in.input_json.empty() ? "{}" : in.input_json);
  if (!in.additional_metadata_json.empty())
    out.set_additional_metadata(in.additional_metadata_json);
  if (in.priority != 0)
    out.set_priority(in.priority);
  if (!in.child_key.empty())
    out.set_child_key(in.child_key);
  if (!in.parent_id.empty())
    out.set_parent_id(in.parent_id);
  if (!in.parent_task_run_external_id.empty())
    out.set_parent_task_run_external_id(in.parent_task_run_external_id);
  if (in.child_index)
    out.set_child_index(*in.child_index);
}

/// What a lost answer to `r` would be about, the clock read before the call goes out.
trigger_about about(const trigger_request& r, const channel& ch, size_t runs = 1) {
  // A second early: a run created in the same second as the call is still listed.
  auto since = std::chrono::system_clock::now() - std::chrono::seconds{1};
  return {namespaced_workflow_name(ch.namespace_, r.workflow_name), util::utc_seconds_text(std::chrono::system_clock::to_time_t(since)),
          r.parent_task_run_external_id, runs};
}

} // namespace

bool run_result::failed() const {
  for (const auto& t : tasks)
    if (t.error && !t.error->empty())
      return true;
  return false;
}

struct admin_client::impl {
  std::shared_ptr<channel> ch;
  config cfg;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<WorkflowService::Stub> workflows;
  std::unique_ptr<Dispatcher::Stub> dispatcher;
  std::chrono::milliseconds deadline{30000};

  void build(v1::CreateWorkflowVersionRequest& req, const workflow& wf) const {
    req.set_name(cfg.workflow_name(wf.name()));
    req.set_description(wf.description());
    for (const auto& t : wf.tasks())
      fill(*req.add_tasks(), wf, *t, true);
    if (const auto& f = wf.on_failure_task())
      fill(*req.mutable_on_failure_task(), wf, *f, false);
    for (const auto& key : wf.event_triggers())
      req.add_event_triggers(cfg.apply_namespace(key));
    for (const auto& expr : wf.cron_triggers())
      req.add_cron_triggers(expr);
    if (!wf.cron_input().is_null())
      req.set_cron_input(wf.cron_input().dump());
  }

  void fill(v1::CreateTaskOpts& opts, const workflow& wf, const detail::task_def& t,
            bool with_parents) const {
    opts.set_readable_id(t.name);
    opts.set_action(cfg.action_id(wf.name(), t.name));
    opts.set_timeout(t.options.timeout);
    opts.set_inputs("{}");
    if (with_parents)
      for (const auto& p : t.options.parents)
        opts.add_parents(p.name());
    opts.set_retries(t.options.retries);
    (*opts.mutable_slot_requests())["default"] = t.options.slot_cost;
    if (t.options.backoff_factor) {
      opts.set_backoff_factor(static_cast<float>(*t.options.backoff_factor));
      if (t.options.backoff_max_seconds)
        opts.set_backoff_max_seconds(*t.options.backoff_max_seconds);
    }
    if (!t.options.schedule_timeout.empty())
      opts.set_schedule_timeout(t.options.schedule_timeout);
  }
};

admin_client::admin_client(std::shared_ptr<channel> ch, const config& cfg)
  : impl_(std::make_shared<impl>()) {
  impl_->admin = v1::AdminService::NewStub(ch->grpc);
  impl_->workflows = WorkflowService::NewStub(ch->grpc);
  impl_->dispatcher = Dispatcher::NewStub(ch->grpc);
  impl_->ch = std::move(ch);
  impl_->cfg = cfg;
}

admin_client::~admin_client() = default;

void admin_client::put_workflow(const workflow& wf, std::function<void(wire::rpc_status)> done) {
  auto call = std::make_shared<
    unary_call<v1::CreateWorkflowVersionRequest, v1::CreateWorkflowVersionResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, impl_->deadline);
  impl_->build(call->req, wf);
  impl_->admin->async()->PutWorkflow(&call->ctx, &call->req, &call->resp,
                                     [call, done = std::move(done)](grpc::Status st) {
                                       done(to_wire(st));
                                     });
}

wire::rpc_status admin_client::put_workflow(const workflow& wf) {
  grpc::ClientContext ctx;
  impl_->ch->prepare(ctx, impl_->deadline);
  v1::CreateWorkflowVersionRequest req;
  v1::CreateWorkflowVersionResponse resp;
  impl_->build(req, wf);
  return to_wire(impl_->admin->PutWorkflow(&ctx, req, &resp));
}

caf::expected<std::string> admin_client::trigger(const trigger_request& r) {
  grpc::ClientContext ctx;
  impl_->ch->prepare(ctx, impl_->deadline);
  v1::TriggerWorkflowRequest req;
  fill(req, r, *impl_->ch);
  TriggerWorkflowResponse resp;
  auto lost = about(r, *impl_->ch);
  auto st = impl_->workflows->TriggerWorkflow(&ctx, req, &resp);
  if (!st.ok())
    return trigger_error("TriggerWorkflow", to_wire(st), impl_->cfg, lost);
  return resp.workflow_run_id();
}

void admin_client::trigger(const trigger_request& r,
                           std::function<void(caf::expected<std::string>)> done) {
  auto call =
    std::make_shared<unary_call<v1::TriggerWorkflowRequest, TriggerWorkflowResponse>>(*impl_->ch);
  impl_->ch->prepare(call->ctx, impl_->deadline);
  fill(call->req, r, *impl_->ch);
  impl_->workflows->async()->TriggerWorkflow(
    &call->ctx, &call->req, &call->resp,
    [call, cfg = impl_->cfg, lost = about(r, *impl_->ch), done = std::move(done)](grpc::Status st) {
      if (!st.ok())
        return done(trigger_error("TriggerWorkflow", to_wire(st), cfg, lost));
      done(call->resp.workflow_run_id());
    });
}

caf::expected<std::vector<std::string>>
admin_client::bulk_trigger(const std::vector<trigger_request>& reqs) {
  // At most 500 runs a call, as the TypeScript SDK, and at most what one message may carry: our
  // send limit, and the engine's receive limit (4 MiB unless raised), less room for the framing.
  constexpr size_t max_runs_per_call = 500;
  constexpr size_t engine_limit = 4 * 1024 * 1024;
  constexpr size_t margin = 16 * 1024;
  const size_t limit = std::min(static_cast<size_t>(impl_->cfg.max_send_bytes), engine_limit);
  const size_t budget = limit > 2 * margin ? limit - margin : limit / 2;
  std::vector<std::string> ids;
  ids.reserve(reqs.size());
  size_t next = 0;
  while (next < reqs.size()) {
    const size_t first = next;
    BulkTriggerWorkflowRequest req;
    size_t bytes = 0;
    // A run alone over the budget still goes, alone: the engine's answer then names the limit.
    while (next < reqs.size() && static_cast<size_t>(req.workflows_size()) < max_runs_per_call) {
      std::remove_reference_t<decltype(*req.add_workflows())> item;
      fill(item, reqs[next], *impl_->ch);
      auto item_bytes = item.ByteSizeLong() + 8; // its tag and length prefix
      if (req.workflows_size() > 0 && bytes + item_bytes > budget)
        break;
      *req.add_workflows() = std::move(item);
      bytes += item_bytes;
      ++next;
    }
    grpc::ClientContext ctx;
    impl_->ch->prepare(ctx, impl_->deadline);
    BulkTriggerWorkflowResponse resp;
    auto lost = about(reqs[first], *impl_->ch, next - first);
    for (size_t i = first + 1; i < next; ++i)
      if (reqs[i].workflow_name != reqs[first].workflow_name) {
        lost.workflow += " and others";
        break;
      }
    auto st = impl_->workflows->BulkTriggerWorkflow(&ctx, req, &resp);
    if (!st.ok()) {
      auto err = trigger_error("BulkTriggerWorkflow", to_wire(st), impl_->cfg, lost);
      if (ids.empty())
        return err;
      // The calls before this one did create their runs: say so, or they would be run again.
      auto code = static_cast<errc>(err.code());
      auto text = hatchet::describe(err);
      if (auto prefix = std::string{to_string(code)} + ": "; text.starts_with(prefix))
        text.erase(0, prefix.size());
      return make_error(code, text + "; the " + std::to_string(ids.size())
                                + " run(s) of the calls before it were created (the first is "
                                + ids.front() + ", the last " + ids.back() + ")");
    }
    for (const auto& id : resp.workflow_run_ids())
      ids.push_back(id);
  }
  return ids;
}

bool resubscribable(const wire::rpc_status& st) {
  switch (st.code) {
    case wire::status::unavailable:
    case wire::status::cancelled: // a cut connection, as grpc++ reports some
    case wire::status::unknown:
    case wire::status::internal:
    case wire::status::aborted:
    case wire::status::ok: // the engine closed the stream with runs still unfinished
      return true;
    default:
      return false;
  }
}

caf::error admin_client::wait_for_runs(const std::vector<std::string>& run_ids,
                                       std::function<void(const run_result&)> on_result,
                                       std::chrono::milliseconds deadline) {
  if (run_ids.empty())
    return caf::none;
  using clock = std::chrono::steady_clock;
  const auto give_up_at = clock::now() + deadline;
  std::unordered_set<std::string> pending(run_ids.begin(), run_ids.end());
  // A connection cut ends the stream but not the runs: subscribe again to the runs still
  // unfinished (each result is reported once), as the official clients do, until the deadline;
  // but not for ever against an engine that answers nothing (a wrong address, an engine down).
  constexpr int max_attempts_without_progress = 10; // about 30 s with the backoff
  int without_progress = 0;
  for (int attempt = 0;; ++attempt) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at - clock::now());
    if (left <= std::chrono::milliseconds{0})
      return make_error(errc::rpc_failed, "SubscribeToWorkflowRuns: "
                                            + std::to_string(pending.size())
                                            + " run(s) unfinished at the deadline");
    std::vector<std::string> ids{pending.begin(), pending.end()};
    if (attempt == 0)
      ids = run_ids; // in the caller's order
    auto before = pending.size();
    auto st = subscribe_once(ids, pending, on_result, left);
    if (pending.empty())
      return caf::none;
    without_progress = pending.size() < before ? 0 : without_progress + 1;
    if (without_progress >= max_attempts_without_progress)
      return make_error(errc::rpc_failed, "SubscribeToWorkflowRuns: "
                                            + std::to_string(without_progress)
                                            + " subscriptions in a row ended without a result ("
                                            + st.describe() + "); "
                                            + std::to_string(pending.size())
                                            + " run(s) unfinished");
    if (!resubscribable(st) || clock::now() >= give_up_at)
      return make_error(errc::rpc_failed, "SubscribeToWorkflowRuns ended with "
                                            + std::to_string(pending.size())
                                            + " run(s) unfinished: " + st.describe());
    auto delay = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds{200} * (1 << std::min(attempt, 5)),
      std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at - clock::now()));
    std::fprintf(stderr, "hatchet: the run subscription ended (%s) with %zu run(s) unfinished; "
                         "subscribing again in %lld ms\n",
                 st.describe().c_str(), pending.size(), static_cast<long long>(delay.count()));
    std::this_thread::sleep_for(delay);
  }
}

wire::rpc_status admin_client::subscribe_once(const std::vector<std::string>& run_ids,
                                              std::unordered_set<std::string>& pending,
                                              const std::function<void(const run_result&)>& on_result,
                                              std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  impl_->ch->prepare(ctx, deadline);
  auto stream = impl_->dispatcher->SubscribeToWorkflowRuns(&ctx);
  // Writes go on their own thread so that results can flow back while ids are still being sent.
  std::thread writer{[&] {
    SubscribeToWorkflowRunsRequest req;
    for (const auto& id : run_ids) {
      req.set_workflow_run_id(id);
      if (!stream->Write(req))
        break;
    }
  }};
  WorkflowRunEvent ev;
  while (!pending.empty() && stream->Read(&ev)) {
    if (pending.erase(ev.workflow_run_id()) == 0)
      continue; // a duplicate, or a run we did not ask for
    run_result r;
    r.workflow_run_id = ev.workflow_run_id();
    for (const auto& res : ev.results()) {
      task_result t;
      t.task_run_external_id = res.task_run_external_id();
      t.task_name = res.task_name();
      if (res.has_output())
        t.output = res.output();
      if (res.has_error())
        t.error = res.error();
      r.tasks.push_back(std::move(t));
    }
    on_result(r);
  }
  ctx.TryCancel();
  writer.join();
  return to_wire(stream->Finish());
}

caf::expected<std::vector<std::string>>
admin_client::cancel(const std::vector<std::string>& external_ids) {
  grpc::ClientContext ctx;
  impl_->ch->prepare(ctx, impl_->deadline);
  v1::CancelTasksRequest req;
  for (const auto& id : external_ids)
    req.add_external_ids(id);
  v1::CancelTasksResponse resp;
  auto st = impl_->admin->CancelTasks(&ctx, req, &resp);
  if (!st.ok())
    return rpc_error("CancelTasks", st, impl_->cfg);
  return std::vector<std::string>(resp.cancelled_tasks().begin(), resp.cancelled_tasks().end());
}

caf::expected<std::vector<std::string>>
admin_client::replay(const std::vector<std::string>& external_ids) {
  grpc::ClientContext ctx;
  impl_->ch->prepare(ctx, impl_->deadline);
  v1::ReplayTasksRequest req;
  for (const auto& id : external_ids)
    req.add_external_ids(id);
  v1::ReplayTasksResponse resp;
  auto st = impl_->admin->ReplayTasks(&ctx, req, &resp);
  if (!st.ok())
    return rpc_error("ReplayTasks", st, impl_->cfg);
  return std::vector<std::string>(resp.replayed_tasks().begin(), resp.replayed_tasks().end());
}

} // namespace hatchet::rpc
