// The task context talking to the engine (logs, stream, timeout, slot, worker id, parent
// outputs) through our worker and the dev engine, and the engine rules those calls meet, driven
// with the raw generated stubs where the SDK would never send the request.
#define BOOST_TEST_MODULE task_context
#include "harness.hpp"

#include <future>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "events/events.grpc.pb.h"
#include "v1/workflows.grpc.pb.h"

using namespace harness;
using nlohmann::json;

namespace {

/// Upper bound for something that must happen; only a broken worker or engine waits this long.
constexpr auto must_happen = 10s;

/// Polls `cond` (engine state the test cannot wait on otherwise) until true or `timeout`.
template <class F>
bool eventually(F cond, std::chrono::milliseconds timeout = must_happen) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

const hatchet::rpc::task_result& task_named(const hatchet::rpc::run_result& r,
                                            const std::string& name) {
  for (const auto& t : r.tasks)
    if (t.task_name == name)
      return t;
  BOOST_FAIL("no task " << name << " in run " << r.workflow_run_id);
  throw std::logic_error("unreachable");
}

json output_of(const hatchet::rpc::task_result& t) {
  BOOST_REQUIRE_MESSAGE(t.output, "task " << t.task_name << " failed: " << t.error.value_or("?"));
  return json::parse(*t.output);
}

/// A one-shot signal between a task and the test.
struct signal {
  std::promise<void> p;
  std::shared_future<void> f = p.get_future().share();
  void set() {
    try {
      p.set_value();
    } catch (const std::future_error&) {
    }
  }
  bool wait(std::chrono::milliseconds d = must_happen) const {
    return f.wait_for(d) == std::future_status::ready;
  }
};

struct raw_stubs {
  std::shared_ptr<grpc::Channel> ch;
  std::unique_ptr<EventsService::Stub> events;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::string bearer;

  explicit raw_stubs(const engine_fixture& f)
    : ch(grpc::CreateChannel(f.cfg.host_port, grpc::InsecureChannelCredentials())),
      events(EventsService::NewStub(ch)), admin(v1::AdminService::NewStub(ch)),
      bearer("Bearer " + f.cfg.token) {
  }
  void prepare(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization", bearer);
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  }
  grpc::Status put_log(const std::string& task, const std::string& message,
                       std::optional<std::string> level = std::nullopt,
                       const std::string& metadata = {}) const {
    grpc::ClientContext ctx;
    prepare(ctx);
    PutLogRequest req;
    req.set_task_run_external_id(task);
    req.set_message(message);
    if (level)
      req.set_level(*level);
    req.set_metadata(metadata);
    PutLogResponse resp;
    return events->PutLog(&ctx, req, &resp);
  }
  /// The external id of the run's first task.
  std::string task_of(const std::string& run_id) const {
    grpc::ClientContext ctx;
    prepare(ctx);
    v1::GetRunDetailsRequest req;
    req.set_external_id(run_id);
    v1::GetRunDetailsResponse resp;
    auto st = admin->GetRunDetails(&ctx, req, &resp);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.error_message());
    BOOST_REQUIRE(!resp.task_runs().empty());
    return resp.task_runs().begin()->second.external_id();
  }
};

struct number {
  int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(number, n)

} // namespace

BOOST_FIXTURE_TEST_SUITE(task_context, engine_fixture)

BOOST_AUTO_TEST_CASE(logs_reach_the_engine_in_order_with_their_level) {
  hatchet::workflow wf{"ctx-logs"};
  wf.task("talk", [](const hatchet::empty_model&, hatchet::context& ctx) {
    ctx.log("first");
    ctx.log("second", hatchet::log_level::warn);
    ctx.log("");                         // not sent: the engine refuses empty lines
    ctx.log(std::string(10001, 'x'));    // cut to the engine's 10,000 characters
    ctx.log(std::string(10001, 'x') + "\xc3\xa9", hatchet::log_level::error);
    return json{{"task", ctx.task_run_external_id()}};
  });
  running_worker w{cfg, "ctx-logs-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto results = run_all("ctx-logs", {"{}"});
  auto task = output_of(task_named(results.at(0), "talk")).at("task").get<std::string>();
  BOOST_REQUIRE(eventually([&] { return engine.task_logs(task).size() >= 4; }));
  auto logs = engine.task_logs(task);
  BOOST_REQUIRE_EQUAL(logs.size(), 4u);
  BOOST_TEST(logs[0].message == "first");
  BOOST_TEST(logs[0].level == "INFO");
  BOOST_TEST(logs[1].message == "second");
  BOOST_TEST(logs[1].level == "WARN");
  BOOST_TEST(logs[2].message == std::string(10000, 'x'));
  BOOST_TEST(logs[3].message == std::string(10000, 'x'));
  BOOST_TEST(logs[3].level == "ERROR");
  BOOST_TEST(logs[0].retry_count == 0);
  BOOST_TEST(logs[0].metadata == "{}");
}

BOOST_AUTO_TEST_CASE(put_log_refuses_what_the_real_engine_refuses) {
  hatchet::workflow wf{"ctx-log-rules"};
  wf.task("idle", [](const hatchet::empty_model&, hatchet::context&) {});
  BOOST_REQUIRE(admin().put_workflow(wf).ok()); // no worker: the task stays queued, and exists
  auto run = admin().trigger({"ctx-log-rules", "{}", {}});
  BOOST_REQUIRE(run);
  raw_stubs raw{*this};
  auto task = raw.task_of(*run);

  auto bad_id = raw.put_log("not-a-uuid", "hello");
  BOOST_TEST(bad_id.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(bad_id.error_message() == "task run id is not a valid uuid");
  auto unknown = raw.put_log("00000000-0000-4000-8000-000000000000", "hello");
  BOOST_TEST(unknown.error_code() == grpc::StatusCode::INTERNAL); // ErrNoRows, unmapped
  BOOST_TEST(raw.put_log(task, "").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(raw.put_log(task, std::string(10001, 'a')).error_code()
             == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(raw.put_log(task, "hi", "info").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(raw.put_log(task, "hi", "INFO", "[1]").error_code()
             == grpc::StatusCode::INVALID_ARGUMENT);
  // Characters, not bytes: 10,000 two-byte characters are within the bound.
  std::string accented;
  for (int i = 0; i < 10000; ++i)
    accented += "\xc3\xa9";
  BOOST_TEST(raw.put_log(task, accented).ok());
  BOOST_TEST(raw.put_log(task, "meta", "DEBUG", R"({"b":1,"a":2})").ok());

  auto logs = engine.task_logs(task);
  BOOST_REQUIRE_EQUAL(logs.size(), 2u); // only the accepted ones
  BOOST_TEST(logs[0].level == "INFO");  // no level: INFO
  BOOST_TEST(logs[1].level == "DEBUG");
  BOOST_TEST(json::parse(logs[1].metadata) == json({{"a", 2}, {"b", 1}}));
  admin().cancel({*run});
}

BOOST_AUTO_TEST_CASE(stream_chunks_arrive_in_order_and_the_subscription_ends_with_the_run) {
  constexpr int chunks = 50;
  auto subscribed = std::make_shared<signal>();
  hatchet::workflow wf{"ctx-stream"};
  // A co_task: put_stream never blocks, and the wait for the test runs on a task thread.
  wf.task("produce", [subscribed](const hatchet::empty_model&,
                                  hatchet::context& ctx) -> hatchet::co_task<json> {
    ctx.put_stream("before anyone listens"); // index 0, dropped: nobody subscribed yet
    // The run's calls go out one at a time, in order: once the engine has this line, it has
    // answered chunk 0 (the test subscribes only then).
    ctx.log("chunk 0 answered");
    auto wait = [subscribed] { return subscribed->wait(); };
    if (!co_await ctx.run_blocking(wait))
      throw std::runtime_error("the test never subscribed");
    for (int i = 0; i < chunks; ++i)
      ctx.put_stream("chunk-" + std::to_string(i));
    co_return json::object();
  });
  running_worker w{cfg, "ctx-stream-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto run = admin().trigger({"ctx-stream", "{}", {}});
  BOOST_REQUIRE(run);
  auto task = raw_stubs{*this}.task_of(*run);
  BOOST_REQUIRE(eventually([&] { return engine.task_logs(task).size() == 1; }));

  hatchet::client client{cfg};
  std::vector<hatchet::stream_chunk> got;
  auto reader = std::async(std::launch::async, [&] {
    return client.subscribe_stream(*run, [&](const hatchet::stream_chunk& c) { got.push_back(c); },
                                   30s);
  });
  BOOST_REQUIRE(eventually([&] { return engine.stream_subscribers(*run) == 1; }));
  subscribed->set();
  BOOST_REQUIRE_MESSAGE(reader.wait_for(must_happen) == std::future_status::ready,
                        "the subscription did not end with the run");
  auto err = reader.get();
  BOOST_REQUIRE_MESSAGE(!err, hatchet::describe(err));
  BOOST_REQUIRE_EQUAL(got.size(), static_cast<size_t>(chunks));
  for (int i = 0; i < chunks; ++i) {
    BOOST_TEST(got[i].data == "chunk-" + std::to_string(i));
    BOOST_TEST(got[i].index.value_or(-1) == i + 1); // 0 went out before the subscription
  }
  BOOST_TEST(engine.stream_subscribers(*run) == 0u);

  // The run has ended: a new subscription ends at once, empty.
  got.clear();
  BOOST_TEST(!client.subscribe_stream(*run, [&](const hatchet::stream_chunk& c) {
    got.push_back(c);
  }, 5s));
  BOOST_TEST(got.empty());
}

BOOST_AUTO_TEST_CASE(stream_subscriptions_refuse_bad_and_unknown_run_ids) {
  hatchet::client client{cfg};
  auto ignore = [](const hatchet::stream_chunk&) {};
  auto bad = client.subscribe_stream("not-a-uuid", ignore, 5s);
  BOOST_REQUIRE(bad);
  BOOST_TEST(hatchet::describe(bad).find("INVALID_ARGUMENT") != std::string::npos);
  auto unknown = client.subscribe_stream("00000000-0000-4000-8000-000000000000", ignore, 5s);
  BOOST_REQUIRE(unknown);
  BOOST_TEST(hatchet::describe(unknown).find("NOT_FOUND") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refresh_timeout_keeps_a_task_alive_past_its_timeout) {
  // Each task has a 1 s timeout and runs 1.5 s: only a refresh (added to the deadline) saves it.
  auto wait_out = [](hatchet::context& ctx) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock{m};
    cv.wait_for(lock, ctx.stop_token(), 1500ms, [] { return false; });
  };
  hatchet::workflow wf{"ctx-refresh"};
  wf.task("sync_refreshed", [wait_out](const hatchet::empty_model&, hatchet::context& ctx) {
    ctx.refresh_timeout(2s); // waits for the engine's answer
    wait_out(ctx);
  }, {.timeout = "1s"});
  wf.task("co_refreshed", [](const hatchet::empty_model&,
                             hatchet::context& ctx) -> hatchet::co_task<void> {
    ctx.refresh_timeout(std::chrono::seconds{2}); // sent; the co_task goes on at once
    co_await ctx.sleep_for(1500ms);
  }, {.timeout = "1s"});
  wf.task("not_refreshed", [wait_out](const hatchet::empty_model&, hatchet::context& ctx) {
    wait_out(ctx);
  }, {.timeout = "1s"});
  running_worker w{cfg, "ctx-refresh-worker", {.slots = 3, .workflows = {wf}}};
  w.ready();
  auto r = run_all("ctx-refresh", {"{}"}).at(0);
  BOOST_TEST(task_named(r, "sync_refreshed").output.has_value());
  BOOST_TEST(task_named(r, "co_refreshed").output.has_value());
  BOOST_TEST(task_named(r, "not_refreshed").error.value_or("").find("timed out")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(release_slot_lets_a_second_run_start_on_a_one_slot_worker) {
  auto second_started = std::make_shared<signal>();
  auto first_released = std::make_shared<signal>();
  hatchet::workflow hold{"ctx-release-hold"};
  hold.task("hold", [=](const hatchet::empty_model&, hatchet::context& ctx) {
    ctx.release_slot();
    first_released->set();
    // Still running: only a freed slot (engine and worker) lets the second run start now.
    return json{{"saw_second", second_started->wait()}};
  });
  hatchet::workflow second{"ctx-release-second"};
  second.task("second", [=](const hatchet::empty_model&, hatchet::context&) {
    second_started->set();
  });
  running_worker w{cfg, "ctx-release-worker", {.slots = 1, .workflows = {hold, second}}};
  w.ready();
  auto a = admin();
  auto first = a.trigger({"ctx-release-hold", "{}", {}});
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(first_released->wait());
  auto next = a.trigger({"ctx-release-second", "{}", {}});
  BOOST_REQUIRE(next);
  auto results = wait({*first, *next}, 20s);
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  for (const auto& r : results)
    if (r.workflow_run_id == *first)
      BOOST_TEST(output_of(task_named(r, "hold")).at("saw_second").get<bool>());
}

BOOST_AUTO_TEST_CASE(worker_id_is_the_id_the_engine_registered) {
  hatchet::workflow wf{"ctx-worker-id"};
  wf.task("who", [](const hatchet::empty_model&, hatchet::context& ctx) {
    return json{{"worker", ctx.worker_id()}};
  });
  running_worker w{cfg, "ctx-worker-id-worker", {.slots = 1, .workflows = {wf}}};
  auto id = w.ready();
  BOOST_TEST(!id.empty());
  auto r = run_all("ctx-worker-id", {"{}"}).at(0);
  BOOST_TEST(output_of(task_named(r, "who")).at("worker").get<std::string>() == id);
}

BOOST_AUTO_TEST_CASE(parent_output_is_typed_and_names_the_task_when_missing_or_wrong) {
  hatchet::workflow wf{"ctx-parents"};
  wf.task("first", [](const hatchet::empty_model&, hatchet::context&) { return number{41}; });
  wf.task("second", [](const hatchet::empty_model&, hatchet::context& ctx) {
    json out;
    out["n"] = ctx.parent_output<number>("first").n + 1;
    try {
      ctx.parent_output<number>("nope");
    } catch (const hatchet::parent_output_error& e) {
      out["missing"] = e.what();
    }
    try {
      ctx.parent_output<std::string>("first");
    } catch (const hatchet::parent_output_error& e) {
      out["wrong_type"] = e.what();
    }
    return out;
  }, {.parents = {"first"}});
  running_worker w{cfg, "ctx-parents-worker", {.slots = 2, .workflows = {wf}}};
  w.ready();
  auto out = output_of(task_named(run_all("ctx-parents", {"{}"}).at(0), "second"));
  BOOST_TEST(out.at("n").get<int>() == 42);
  auto missing = out.value("missing", std::string{});
  BOOST_TEST(missing.find("'nope'") != std::string::npos, missing);
  BOOST_TEST(missing.find("'first'") != std::string::npos, missing); // what there is
  auto wrong = out.value("wrong_type", std::string{});
  BOOST_TEST(wrong.find("'first'") != std::string::npos, wrong);
}

BOOST_AUTO_TEST_SUITE_END()
