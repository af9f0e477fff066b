#pragma once
// A scripted Hatchet engine for tests: a real gRPC server on a loopback port that implements just
// what a worker calls, answers what the test tells it to (including UNIMPLEMENTED, as older
// engines do), writes whatever AssignedAction the test pushes (unknown action ids, cancels for
// runs that never existed, payloads of any size) and records every event the worker sends.
//
// The dev engine is a well-behaved engine; this one exists to misbehave on purpose. Test-only:
// it includes the generated gRPC headers, which the library's public headers never do.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "dispatcher/dispatcher.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"

namespace harness {

/// Methods a scripted engine answers with UNIMPLEMENTED.
struct unimplemented_methods {
  bool get_version = false;
  bool register_worker = false;
  bool listen_v2 = false;
  bool listen = false;
  bool heartbeat = false;
  bool send_event = false;
};

class scripted_engine {
public:
  using unimplemented_set = unimplemented_methods;

  explicit scripted_engine(unimplemented_set unimpl = {}, int max_message_bytes = 64 << 20)
    : dispatcher_(*this), admin_(*this), unimpl_(unimpl) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.SetMaxReceiveMessageSize(max_message_bytes);
    b.SetMaxSendMessageSize(max_message_bytes);
    b.RegisterService(&dispatcher_);
    b.RegisterService(&admin_);
    server_ = b.BuildAndStart();
  }

  ~scripted_engine() {
    {
      std::lock_guard lock{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds{2});
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Queues an action for the next (or current) listen stream.
  void push(AssignedAction a) {
    {
      std::lock_guard lock{mtx_};
      outgoing_.push_back(std::move(a));
    }
    cv_.notify_all();
  }

  /// Waits until `pred` holds over the recorded state; false on timeout.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }

  /// The events received so far (a copy, taken under the lock).
  std::vector<StepActionEvent> events() const {
    std::lock_guard lock{mtx_};
    return events_;
  }

  // Read them inside wait_for and read (which hold the lock), or through events().
  std::vector<StepActionEvent> events_;
  int registers_ = 0;
  int listen_v2_calls_ = 0;
  int listen_calls_ = 0;
  int open_streams_ = 0;
  int heartbeats_ = 0;
  int unsubscribes_ = 0;

  /// Reads the recorded state under the lock.
  template <class F>
  auto read(F f) const {
    std::lock_guard lock{mtx_};
    return f(*this);
  }

  /// The recorded events of one task run.
  std::vector<StepActionEvent> events_of(const std::string& task_run_id) const {
    std::vector<StepActionEvent> out;
    for (auto& e : events())
      if (e.task_run_external_id() == task_run_id)
        out.push_back(e);
    return out;
  }

private:
  class dispatcher_service final : public Dispatcher::Service {
  public:
    explicit dispatcher_service(scripted_engine& e) : e_(e) {}

    grpc::Status GetVersion(grpc::ServerContext*, const GetVersionRequest*,
                            GetVersionResponse* resp) override {
      if (e_.unimpl_.get_version)
        return {grpc::StatusCode::UNIMPLEMENTED, "GetVersion is not implemented"};
      resp->set_version("v0.104.7");
      return grpc::Status::OK;
    }

    grpc::Status Register(grpc::ServerContext*, const WorkerRegisterRequest*,
                          WorkerRegisterResponse* resp) override {
      if (e_.unimpl_.register_worker)
        return {grpc::StatusCode::UNIMPLEMENTED, "Register is not implemented"};
      e_.bump([&] { ++e_.registers_; });
      resp->set_worker_id("scripted-worker-1");
      resp->set_worker_name("scripted");
      return grpc::Status::OK;
    }

    grpc::Status ListenV2(grpc::ServerContext* ctx, const WorkerListenRequest*,
                          grpc::ServerWriter<AssignedAction>* w) override {
      e_.bump([&] { ++e_.listen_v2_calls_; });
      if (e_.unimpl_.listen_v2)
        return {grpc::StatusCode::UNIMPLEMENTED, "ListenV2 is not implemented"};
      return e_.stream(ctx, w);
    }

    grpc::Status Listen(grpc::ServerContext* ctx, const WorkerListenRequest*,
                        grpc::ServerWriter<AssignedAction>* w) override {
      e_.bump([&] { ++e_.listen_calls_; });
      if (e_.unimpl_.listen)
        return {grpc::StatusCode::UNIMPLEMENTED, "Listen is not implemented"};
      return e_.stream(ctx, w);
    }

    grpc::Status Heartbeat(grpc::ServerContext*, const HeartbeatRequest*,
                           HeartbeatResponse*) override {
      e_.bump([&] { ++e_.heartbeats_; });
      if (e_.unimpl_.heartbeat)
        return {grpc::StatusCode::UNIMPLEMENTED, "Heartbeat is not implemented"};
      return grpc::Status::OK;
    }

    grpc::Status SendStepActionEvent(grpc::ServerContext*, const StepActionEvent* ev,
                                     ActionEventResponse* resp) override {
      e_.bump([&] { e_.events_.push_back(*ev); });
      if (e_.unimpl_.send_event)
        return {grpc::StatusCode::UNIMPLEMENTED, "SendStepActionEvent is not implemented"};
      resp->set_worker_id(ev->worker_id());
      return grpc::Status::OK;
    }

    grpc::Status Unsubscribe(grpc::ServerContext*, const WorkerUnsubscribeRequest*,
                             WorkerUnsubscribeResponse*) override {
      e_.bump([&] { ++e_.unsubscribes_; });
      return grpc::Status::OK;
    }

  private:
    scripted_engine& e_;
  };

  class admin_service final : public v1::AdminService::Service {
  public:
    explicit admin_service(scripted_engine& e) : e_(e) {}
    grpc::Status PutWorkflow(grpc::ServerContext*, const v1::CreateWorkflowVersionRequest*,
                             v1::CreateWorkflowVersionResponse*) override {
      return grpc::Status::OK;
    }

  private:
    scripted_engine& e_;
  };

  template <class F>
  void bump(F f) {
    {
      std::lock_guard lock{mtx_};
      f();
    }
    cv_.notify_all();
  }

  /// Writes queued actions until the worker cancels the stream or the engine stops.
  grpc::Status stream(grpc::ServerContext* ctx, grpc::ServerWriter<AssignedAction>* w) {
    bump([&] { ++open_streams_; });
    std::unique_lock lock{mtx_};
    while (!stopping_ && !ctx->IsCancelled()) {
      if (outgoing_.empty()) {
        cv_.wait_for(lock, std::chrono::milliseconds{20});
        continue;
      }
      auto a = std::move(outgoing_.front());
      outgoing_.pop_front();
      lock.unlock();
      bool ok = w->Write(a);
      lock.lock();
      if (!ok)
        break;
    }
    --open_streams_;
    cv_.notify_all();
    return grpc::Status::OK;
  }

  dispatcher_service dispatcher_;
  admin_service admin_;
  unimplemented_set unimpl_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<AssignedAction> outgoing_;
  bool stopping_ = false;
};

/// A START_STEP_RUN (or CANCEL_STEP_RUN) action as the engine writes it.
inline AssignedAction make_action(const std::string& run_id, const std::string& action_id,
                                  const std::string& payload,
                                  ActionType type = ActionType::START_STEP_RUN) {
  AssignedAction a;
  a.set_tenant_id("707d0855-80ab-4e1f-a156-f1c4546cbf52");
  a.set_workflow_run_id("wr-" + run_id);
  a.set_job_id("job-1");
  a.set_job_run_id("jr-" + run_id);
  a.set_task_id("task-1");
  a.set_task_run_external_id(run_id);
  a.set_action_id(action_id);
  a.set_action_type(type);
  a.set_action_payload(payload);
  a.set_task_name(action_id.substr(action_id.find(':') + 1));
  a.set_retry_count(0);
  return a;
}

} // namespace harness
