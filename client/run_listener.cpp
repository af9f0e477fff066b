#include "client/run_listener.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "client/channel_impl.hpp"
#include "client/rpc_error.hpp"
#include "client/watch_book.hpp"
#include "client/admin_client.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"
#include "hatchet/errors.hpp"

namespace hatchet::rpc {

namespace {


hatchet::run_result to_result(const WorkflowRunEvent& ev) {
  hatchet::run_result r;
  r.workflow_run_id = ev.workflow_run_id();
  for (const auto& res : ev.results()) {
    if (res.has_error() && !res.error().empty()) {
      r.errors[res.task_name()] = res.error();
    } else if (res.has_output()) {
      const auto& text = res.output();
      auto j = nlohmann::json::parse(text.empty() ? std::string{"{}"} : text, nullptr, false);
      r.outputs[res.task_name()] = j.is_discarded() ? nlohmann::json(text) : std::move(j);
    }
  }
  return r;
}

constexpr int max_subscriptions_without_progress = 10; // about 30 s with the backoff

/// How long fetching a run's withheld results may take.
constexpr std::chrono::seconds details_deadline{10};

/// What GetRunDetails answered for a run whose FINISHED event came without results: a real
/// engine leaves them out when together they do not fit in one message (cleanResults,
/// internal/services/dispatcher/server.go). They are asked for once: the answer carries them when
/// they fit after all (the engine's cut is by payload size alone); when they do not, the wait ends
/// at once with result_too_large. An engine without GetRunDetails gives the event as it came.
caf::expected<hatchet::run_result> withheld_results(const grpc::Status& grpc_st,
                                                    const v1::GetRunDetailsResponse& resp,
                                                    const WorkflowRunEvent& ev,
                                                    const config& cfg) {
  const auto& run_id = ev.workflow_run_id();
  auto st = to_wire(grpc_st);
  if (st.code == wire::status::unimplemented)
    return to_result(ev);
  if (st.over_size_limit())
    return make_error(errc::result_too_large,
                      "run " + run_id + " finished, but its task results together are too large "
                        "for one message of the engine (4 MiB unless the engine's "
                        "SERVER_GRPC_MAX_MSG_SIZE says otherwise): the engine sent the run's end "
                        "without them, and GetRunDetails could not carry them either ("
                        + st.describe()
                        + "). Return smaller outputs (store large data elsewhere and return a "
                          "reference to it), or read the outputs over the engine's REST API.");
  if (!st.ok()) {
    auto what = "GetRunDetails (run " + run_id
                + " finished; the engine left its results out of the event, as it does for "
                  "results too large for one message)";
    return to_error(what.c_str(), std::move(st), cfg);
  }
  hatchet::run_result r;
  r.workflow_run_id = run_id;
  for (const auto& [name, task] : resp.task_runs()) {
    if (task.has_error() && !task.error().empty()) {
      r.errors[name] = task.error();
    } else if (task.has_output()) {
      const auto& text = task.output();
      auto j = nlohmann::json::parse(text.empty() ? std::string{"{}"} : text, nullptr, false);
      r.outputs[name] = j.is_discarded() ? nlohmann::json(text) : std::move(j);
    }
  }
  return r;
}

} // namespace

struct run_listener::impl {
  std::shared_ptr<channel> ch;
  config cfg;
  std::unique_ptr<Dispatcher::Stub> stub;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::weak_ptr<impl> self; ///< for the calls that outlive a read (GetRunDetails)

  std::mutex mtx;
  std::condition_variable cv;
  watch_book<callback> watchers{max_subscriptions_without_progress};
  std::deque<std::string> to_send; ///< ids to write on the current stream
  using stream_t = grpc::ClientReaderWriter<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>;
  grpc::ClientContext* ctx = nullptr; ///< of the current stream, for a stop to cancel it
  stream_t* stream = nullptr;         ///< the current stream, while ids may be written on it
  uint64_t stream_serial = 0;
  bool writing = false; ///< the writer is inside Write on `stream`
  bool stopping = false;
  bool started = false;
  std::unordered_set<grpc::ClientContext*> details_calls; ///< in flight, for a stop to cancel
  std::thread reader;
  std::thread writer;

  void write_loop() {
    std::unique_lock lk{mtx};
    SubscribeToWorkflowRunsRequest req;
    for (;;) {
      cv.wait(lk, [&] { return stopping || (stream != nullptr && !to_send.empty()); });
      if (stopping)
        return;
      req.set_workflow_run_id(std::move(to_send.front()));
      to_send.pop_front();
      stream_t* s = stream;
      const uint64_t serial = stream_serial;
      writing = true;
      lk.unlock();
      bool ok = s->Write(req);
      lk.lock();
      writing = false;
      cv.notify_all();
      if (!ok) // the stream broke: the reader opens the next one and refills to_send
        cv.wait(lk, [&] { return stopping || stream_serial != serial; });
    }
  }

  /// Asks GetRunDetails for the results the event `ev` came without, and hands the answer to
  /// `fire` on a gRPC thread.
  void fetch_withheld(const WorkflowRunEvent& ev, std::vector<callback> fire) {
    struct call_state {
      grpc::ClientContext ctx;
      v1::GetRunDetailsRequest req;
      v1::GetRunDetailsResponse resp;
      WorkflowRunEvent ev;
    };
    auto call = std::make_shared<call_state>();
    call->req.set_external_id(ev.workflow_run_id());
    call->ev = ev;
    ch->prepare(call->ctx, details_deadline);
    {
      std::lock_guard g{mtx};
      if (stopping)
        call->ctx.TryCancel();
      details_calls.insert(&call->ctx);
    }
    admin->async()->GetRunDetails(
      &call->ctx, &call->req, &call->resp,
      [owner = self.lock(), call, fire = std::move(fire)](grpc::Status st) {
        {
          std::lock_guard g{owner->mtx};
          owner->details_calls.erase(&call->ctx);
        }
        auto result = withheld_results(st, call->resp, call->ev, owner->cfg);
        for (const auto& cb : fire)
          cb(result);
      });
  }

  void read_loop() {
    int attempt = 0;
    std::unique_lock lk{mtx};
    for (;;) {
      cv.wait(lk, [&] { return stopping || !watchers.empty(); });
      if (stopping)
        return;
      grpc::ClientContext call;
      ch->prepare(call, std::chrono::milliseconds{0}); // no deadline: it lives with the client
      ctx = &call; // a stop from now on cancels it, even while it is being opened
      lk.unlock();
      auto s = stub->SubscribeToWorkflowRuns(&call);
      lk.lock();
      stream = s.get();
      ++stream_serial;
      to_send.clear();
      for (auto& id : watchers.run_ids())
        to_send.push_back(std::move(id));
      cv.notify_all();
      lk.unlock();

      size_t delivered = 0;
      WorkflowRunEvent ev;
      while (s->Read(&ev)) {
        std::vector<callback> fire;
        {
          std::lock_guard g{mtx};
          fire = watchers.take(ev.workflow_run_id());
        }
        if (fire.empty())
          continue; // a duplicate, or a wait that gave up
        ++delivered;
        if (ev.results_size() == 0) {
          fetch_withheld(ev, std::move(fire)); // not on this thread: other runs' events go on
          continue;
        }
        caf::expected<hatchet::run_result> result{to_result(ev)};
        for (auto& cb : fire)
          cb(result);
      }

      lk.lock();
      call.TryCancel(); // the writer's Write, if any, returns at once
      stream = nullptr;
      cv.wait(lk, [&] { return !writing; });
      ctx = nullptr;
      lk.unlock();
      auto st = to_wire(s->Finish());
      s.reset();
      lk.lock();
      if (stopping)
        return;
      if (watchers.empty()) { // idle: the next watch wakes this loop and opens a new stream
        attempt = 0;
        continue;
      }
      attempt = delivered > 0 ? 0 : attempt + 1;
      // A refusal fails every wait alike; a barren stream only the waits it made reach the limit.
      auto given_up = resubscribable(st) ? watchers.stream_ended(delivered) : watchers.take_all();
      if (!given_up.empty()) {
        auto left = watchers.runs();
        lk.unlock();
        caf::error err = !resubscribable(st)
                           ? to_error("SubscribeToWorkflowRuns", st, cfg)
                           : make_error(errc::rpc_failed,
                                        "SubscribeToWorkflowRuns: "
                                          + std::to_string(max_subscriptions_without_progress)
                                          + " subscriptions in a row ended without a result ("
                                          + st.describe() + ")");
        for (auto& cb : given_up)
          cb(err);
        lk.lock();
        if (stopping)
          return;
        if (left == 0) {
          attempt = 0;
          continue; // nothing left to wait for: the next watch opens the next stream
        }
      }
      auto delay = std::chrono::milliseconds{200} * (1 << std::min(attempt, 5));
      std::fprintf(stderr,
                   "hatchet: the run subscription ended (%s) with %zu run(s) unfinished; "
                   "subscribing again in %lld ms\n",
                   st.describe().c_str(), watchers.runs(),
                   static_cast<long long>(delay.count()));
      cv.wait_for(lk, delay, [&] { return stopping; });
    }
  }
};

run_listener::run_listener(std::shared_ptr<channel> ch, config cfg)
  : impl_(std::make_shared<impl>()) {
  impl_->stub = Dispatcher::NewStub(ch->grpc);
  impl_->admin = v1::AdminService::NewStub(ch->grpc);
  impl_->self = impl_;
  impl_->ch = std::move(ch);
  impl_->cfg = std::move(cfg);
}

run_listener::~run_listener() {
  {
    std::lock_guard lk{impl_->mtx};
    impl_->stopping = true;
    if (impl_->ctx != nullptr)
      impl_->ctx->TryCancel();
    for (auto* details : impl_->details_calls)
      details->TryCancel();
    impl_->cv.notify_all();
  }
  if (impl_->writer.joinable())
    impl_->writer.join();
  // A callback may hold the last reference to its client: the listener then ends on its own
  // reader thread, which cannot join itself. It returns on its own (stopping is set), and its
  // reference keeps impl alive until it has.
  if (impl_->reader.joinable()) {
    if (impl_->reader.get_id() == std::this_thread::get_id())
      impl_->reader.detach();
    else
      impl_->reader.join();
  }
}

uint64_t run_listener::watch(const std::string& run_id, callback cb) {
  std::lock_guard lk{impl_->mtx};
  if (!impl_->started) {
    impl_->started = true;
    impl_->reader = std::thread{[self = impl_] { self->read_loop(); }};
    impl_->writer = std::thread{[self = impl_] { self->write_loop(); }};
  }
  auto [token, first] = impl_->watchers.add(run_id, std::move(cb));
  // A second wait for the same run shares the first one's subscription.
  if (first && impl_->stream != nullptr)
    impl_->to_send.push_back(run_id);
  // Always: with no stream open (none yet, or the last one ended while nobody waited, after a
  // cut or an engine restart) the reader sleeps until a watch arrives; this wakes it to open
  // one. It used to be woken only when a stream was open, and a client idle across a cut then
  // never heard of a result again.
  impl_->cv.notify_all();
  return token;
}

bool run_listener::unwatch(const std::string& run_id, uint64_t token) {
  std::lock_guard lk{impl_->mtx};
  return impl_->watchers.remove(run_id, token);
}

} // namespace hatchet::rpc
