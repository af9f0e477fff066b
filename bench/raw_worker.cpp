// bench-raw-worker: the ceiling. A minimal Hatchet worker on the raw gRPC stubs, without actors,
// JSON or a thread pool: PutWorkflow "benchnoopraw" (task "noop") and "benchechoraw" (task "echo",
// whose output is its input's bytes), Register with --slots slots, read ListenV2 on the main
// thread and answer each START with STARTED and COMPLETED ("{}" for the no-op), both
// sent at once through gRPC's callback API (no waiting for answers: fully pipelined), plus the
// 4 s heartbeat. Prints "READY <worker id>" once the stream is open. Ends on SIGTERM (default
// action: the engine sees the stream close).
#include <absl/synchronization/mutex.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "apps/command_line.hpp"
#include "bench_common.hpp"
#include "core/parse.hpp"
#include "dispatcher/dispatcher.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"

namespace {

std::atomic<long> in_flight{0};
std::atomic<long> send_errors{0};

struct pending_call {
  grpc::ClientContext ctx;
  StepActionEvent req;
  ActionEventResponse resp;
};

/// The echo task's output: its input's bytes, taken out of the payload without parsing it. The
/// dev engine writes `{"input":<input>,"parents":...`; the raw client knows that layout (it is the
/// ceiling, not a worker) and the benchmark's inputs never contain the text searched for.
std::string echo_output(const std::string& payload) {
  static const std::string head = "{\"input\":", tail = ",\"parents\":";
  if (payload.compare(0, head.size(), head) != 0)
    return "{}";
  auto end = payload.find(tail, head.size());
  return end == std::string::npos ? std::string{"{}"}
                                  : payload.substr(head.size(), end - head.size());
}

void send_event(Dispatcher::Stub& stub, const hatchet::config& cfg, const AssignedAction& a,
                const std::string& worker_id, StepActionEventType type) {
  auto* call = new pending_call;
  bench::authorize(call->ctx, cfg);
  auto& e = call->req;
  e.set_worker_id(worker_id);
  e.set_job_id(a.job_id());
  e.set_job_run_id(a.job_run_id());
  e.set_task_id(a.task_id());
  e.set_task_run_external_id(a.task_run_external_id());
  e.set_action_id(a.action_id());
  *e.mutable_event_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  e.set_event_type(type);
  if (type == STEP_EVENT_TYPE_STARTED)
    e.set_event_payload("");
  else if (a.action_id() == "benchechoraw:echo")
    e.set_event_payload(echo_output(a.action_payload()));
  else
    e.set_event_payload("{}");
  e.set_retry_count(a.retry_count());
  ++in_flight;
  stub.async()->SendStepActionEvent(&call->ctx, &call->req, &call->resp,
                                    [call](grpc::Status st) {
                                      if (!st.ok() && send_errors++ < 5)
                                        std::fprintf(stderr, "bench-raw-worker: event: %s\n",
                                                     st.error_message().c_str());
                                      --in_flight;
                                      delete call;
                                    });
}

} // namespace

int main(int argc, char** argv) {
  // As worker::run() does for our worker (actors/process_tuning.cpp): Debian's abseil keeps
  // deadlock-detection bookkeeping on every mutex unless told not to. Both sides alike.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"bench-raw-worker: the benchmark's baseline, a worker written on the raw gRPC "
               "stubs, with no SDK",
               "bench-raw-worker"};
  std::string slots_text = "100";
  app.add_option("--slots", slots_text, "concurrent runs (default 100)")->type_name("N");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "bench-raw-worker"); rc >= 0)
    return rc;
  int slots = hatchet::apps::value_or_exit(
    "bench-raw-worker", hatchet::detail::parse_whole<int>("--slots", slots_text, 1),
    hatchet::apps::usage_exit);
  auto cfg = bench::config_or_die("bench-raw-worker");
  auto ch = bench::make_channel(cfg);
  auto admin = v1::AdminService::NewStub(ch);
  auto dispatcher = Dispatcher::NewStub(ch);

  for (const char* name : {"benchnoopraw", "benchechoraw"}) {
    v1::CreateWorkflowVersionRequest req;
    req.set_name(name);
    auto* t = req.add_tasks();
    t->set_readable_id(std::strcmp(name, "benchnoopraw") == 0 ? "noop" : "echo");
    t->set_action(std::string{name} + ":" + t->readable_id());
    t->set_timeout("60s");
    v1::CreateWorkflowVersionResponse resp;
    grpc::ClientContext ctx;
    bench::authorize(ctx, cfg);
    auto st = admin->PutWorkflow(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "bench-raw-worker: PutWorkflow: %s\n", st.error_message().c_str());
      return 1;
    }
  }
  std::string worker_id;
  {
    WorkerRegisterRequest req;
    req.set_worker_name("bench-raw-worker");
    req.add_actions("benchnoopraw:noop");
    req.add_actions("benchechoraw:echo");
    req.add_services("default");
    (*req.mutable_slot_config())["default"] = slots;
    WorkerRegisterResponse resp;
    grpc::ClientContext ctx;
    bench::authorize(ctx, cfg);
    auto st = dispatcher->Register(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "bench-raw-worker: Register: %s\n", st.error_message().c_str());
      return 1;
    }
    worker_id = resp.worker_id();
  }
  auto beat = [&] {
    HeartbeatRequest req;
    req.set_worker_id(worker_id);
    *req.mutable_heartbeat_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
    HeartbeatResponse resp;
    grpc::ClientContext ctx;
    bench::authorize(ctx, cfg);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{5});
    dispatcher->Heartbeat(&ctx, req, &resp);
  };
  beat();
  std::thread heartbeat([&] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds{4});
      beat();
    }
  });
  heartbeat.detach();

  grpc::ClientContext listen_ctx;
  bench::authorize(listen_ctx, cfg);
  WorkerListenRequest lreq;
  lreq.set_worker_id(worker_id);
  auto reader = dispatcher->ListenV2(&listen_ctx, lreq);
  std::printf("READY %s\n", worker_id.c_str());
  std::fflush(stdout);
  AssignedAction a;
  while (reader->Read(&a)) {
    if (a.action_type() != START_STEP_RUN)
      continue;
    send_event(*dispatcher, cfg, a, worker_id, STEP_EVENT_TYPE_STARTED);
    send_event(*dispatcher, cfg, a, worker_id, STEP_EVENT_TYPE_COMPLETED);
  }
  auto st = reader->Finish();
  std::fprintf(stderr, "bench-raw-worker: ListenV2 ended: %s\n", st.error_message().c_str());
  return 1;
}
