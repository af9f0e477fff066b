#include "client/run_listener.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client/channel_impl.hpp"
#include "client/rpc_error.hpp"
#include "client/admin_client.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
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

} // namespace

struct run_listener::impl {
  std::shared_ptr<channel> ch;
  config cfg;
  std::unique_ptr<Dispatcher::Stub> stub;

  std::mutex mtx;
  std::condition_variable cv;
  struct watcher {
    uint64_t token;
    callback cb;
  };
  std::unordered_map<std::string, std::vector<watcher>> watchers;
  uint64_t next_token = 0;
  std::deque<std::string> to_send; ///< ids to write on the current stream
  using stream_t = grpc::ClientReaderWriter<SubscribeToWorkflowRunsRequest, WorkflowRunEvent>;
  grpc::ClientContext* ctx = nullptr; ///< of the current stream, for a stop to cancel it
  stream_t* stream = nullptr;         ///< the current stream, while ids may be written on it
  uint64_t stream_serial = 0;
  bool writing = false; ///< the writer is inside Write on `stream`
  bool stopping = false;
  bool started = false;
  std::thread reader;
  std::thread writer;

  /// Under mtx: every watcher's callback, taken out.
  std::vector<callback> take_all() {
    std::vector<callback> out;
    for (auto& [id, ws] : watchers)
      for (auto& w : ws)
        out.push_back(std::move(w.cb));
    watchers.clear();
    return out;
  }

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

  void read_loop() {
    int attempt = 0;
    int without_progress = 0;
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
      for (const auto& [id, ws] : watchers)
        to_send.push_back(id);
      cv.notify_all();
      lk.unlock();

      size_t delivered = 0;
      WorkflowRunEvent ev;
      while (s->Read(&ev)) {
        std::vector<watcher> fire;
        {
          std::lock_guard g{mtx};
          if (auto it = watchers.find(ev.workflow_run_id()); it != watchers.end()) {
            fire = std::move(it->second);
            watchers.erase(it);
          }
        }
        if (fire.empty())
          continue; // a duplicate, or a wait that gave up
        ++delivered;
        auto result = to_result(ev);
        for (auto& w : fire)
          w.cb(result);
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
      if (watchers.empty()) {
        attempt = 0;
        without_progress = 0;
        continue;
      }
      without_progress = delivered > 0 ? 0 : without_progress + 1;
      attempt = delivered > 0 ? 0 : attempt + 1;
      if (!resubscribable(st) || without_progress >= max_subscriptions_without_progress) {
        auto pending = watchers.size();
        auto fire = take_all();
        without_progress = 0;
        attempt = 0;
        lk.unlock();
        caf::error err = !resubscribable(st)
                           ? to_error("SubscribeToWorkflowRuns", st, cfg)
                           : make_error(errc::rpc_failed,
                                        "SubscribeToWorkflowRuns: "
                                          + std::to_string(max_subscriptions_without_progress)
                                          + " subscriptions in a row ended without a result ("
                                          + st.describe() + "); " + std::to_string(pending)
                                          + " run(s) unfinished");
        for (auto& cb : fire)
          cb(err);
        lk.lock();
        continue;
      }
      auto delay = std::chrono::milliseconds{200} * (1 << std::min(attempt, 5));
      std::fprintf(stderr,
                   "hatchet: the run subscription ended (%s) with %zu run(s) unfinished; "
                   "subscribing again in %lld ms\n",
                   st.describe().c_str(), watchers.size(),
                   static_cast<long long>(delay.count()));
      cv.wait_for(lk, delay, [&] { return stopping; });
    }
  }
};

run_listener::run_listener(std::shared_ptr<channel> ch, config cfg)
  : impl_(std::make_shared<impl>()) {
  impl_->stub = Dispatcher::NewStub(ch->grpc);
  impl_->ch = std::move(ch);
  impl_->cfg = std::move(cfg);
}

run_listener::~run_listener() {
  {
    std::lock_guard lk{impl_->mtx};
    impl_->stopping = true;
    if (impl_->ctx != nullptr)
      impl_->ctx->TryCancel();
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
  auto token = ++impl_->next_token;
  auto& ws = impl_->watchers[run_id];
  ws.push_back({token, std::move(cb)});
  // A second wait for the same run shares the first one's subscription.
  if (ws.size() == 1 && impl_->stream != nullptr) {
    impl_->to_send.push_back(run_id);
    impl_->cv.notify_all();
  }
  return token;
}

bool run_listener::unwatch(const std::string& run_id, uint64_t token) {
  std::lock_guard lk{impl_->mtx};
  auto it = impl_->watchers.find(run_id);
  if (it == impl_->watchers.end())
    return false;
  auto& ws = it->second;
  auto w = std::find_if(ws.begin(), ws.end(), [&](const auto& x) { return x.token == token; });
  if (w == ws.end())
    return false;
  ws.erase(w);
  if (ws.empty())
    impl_->watchers.erase(it);
  return true;
}

} // namespace hatchet::rpc
