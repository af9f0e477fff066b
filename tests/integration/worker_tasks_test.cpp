// What runs on a worker beyond the plain task: co_tasks (waits that hold no thread, blocking
// work, nested co_tasks, a shutdown during a run_blocking job) and payloads at the size limits.
#define BOOST_TEST_MODULE worker_tasks
#include "harness.hpp"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bundled_workflows.hpp"

using namespace harness;
using nlohmann::json;

namespace {

const hatchet::rpc::task_result& only_task(const hatchet::rpc::run_result& r) {
  BOOST_REQUIRE_EQUAL(r.tasks.size(), 1u);
  return r.tasks.front();
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(worker_tasks, engine_fixture)

// -- sizes ----------------------------------------------------------------------------------------

// An input just under the engine's 4 MiB receive limit makes a START just over its send limit.
// That run must fail with a message naming the limit, and must not break the stream every other
// run uses (it used to, for ever).
BOOST_AUTO_TEST_CASE(a_start_over_the_engines_message_limit_fails_its_run_and_others_keep_flowing) {
  running_worker w{cfg, "size-worker", {.slots = 10, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  std::vector<hatchet::rpc::trigger_request> reqs;
  for (int i = 0; i < 100; ++i)
    reqs.push_back({"EchoWorkflow", json{{"i", i}}.dump(), {}});
  auto big_input = json{{"blob", std::string(4'194'000 - 11, 'x')}}.dump();
  BOOST_REQUIRE(big_input.size() == 4'194'000u);
  auto big = a.trigger({"EchoWorkflow", big_input, {}});
  BOOST_REQUIRE_MESSAGE(big, (big ? std::string{} : hatchet::describe(big.error())));
  auto ids = a.bulk_trigger(reqs);
  BOOST_REQUIRE(ids);
  auto t0 = std::chrono::steady_clock::now();
  auto big_result = wait({*big}, 30s);
  BOOST_REQUIRE(big_result.at(0).failed());
  auto error = *big_result[0].tasks.at(0).error;
  BOOST_TEST(error.find("Could not send task to worker") != std::string::npos, error);
  BOOST_TEST(error.find("4194304-byte gRPC message limit") != std::string::npos, error);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s));
  auto results = wait(*ids, 30s);
  BOOST_TEST(results.size() == 100u);
  for (const auto& r : results)
    BOOST_TEST(!r.failed());
  BOOST_TEST(engine.snapshot().undeliverable == 1u);
}

// 500 runs of a 10 KB input are 5 MB: one BulkTriggerWorkflow would be over the 4 MiB limit.
BOOST_AUTO_TEST_CASE(a_bulk_trigger_is_split_by_bytes_as_well_as_by_count) {
  running_worker w{cfg, "bulk-bytes", {.slots = 50, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  std::vector<hatchet::rpc::trigger_request> reqs;
  for (int i = 0; i < 500; ++i)
    reqs.push_back({"EchoWorkflow", json{{"i", i}, {"pad", std::string(10'000, 'p')}}.dump(), {}});
  auto ids = a.bulk_trigger(reqs);
  BOOST_REQUIRE_MESSAGE(ids, (ids ? std::string{} : hatchet::describe(ids.error())));
  BOOST_TEST(ids->size() == 500u);
  auto results = wait(*ids, 60s);
  BOOST_TEST(results.size() == 500u);
  for (const auto& r : results)
    BOOST_TEST(!r.failed());
}

BOOST_AUTO_TEST_CASE(an_output_over_the_send_limit_fails_at_once_saying_what_to_raise) {
  hatchet::workflow wf{"BigOutputWorkflow"};
  wf.task("big", [](const hatchet::empty_model&, hatchet::context&) {
    return json{{"blob", std::string(5'000'000, 'x')}};
  });
  wf.task("loud", [](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(std::string(5'000'000, 'e'));
  });
  // Two-byte characters, at both parities: one of the two cuts falls inside a character unless
  // the truncation steps back (a string an engine refuses as invalid UTF-8, for ever).
  auto accents = [](size_t lead) {
    std::string text(lead, 'x');
    for (int i = 0; i < 2'500'000; ++i) // 5 MB: over the send limit, so it is cut
      text += "\xC3\xA9"; // U+00E9
    return text;
  };
  wf.task("accents_even", [accents](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(accents(0));
  });
  wf.task("accents_odd", [accents](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error(accents(1));
  });
  running_worker w{cfg, "big-output", {.slots = 4, .workflows = {wf}}};
  w.ready();
  auto a = admin();
  auto id = a.trigger({"BigOutputWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  auto t0 = std::chrono::steady_clock::now();
  auto r = wait({*id}, 30s).at(0);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 10s)); // not the 60 s execution timeout
  BOOST_REQUIRE(r.failed());
  for (const auto& t : r.tasks) {
    BOOST_REQUIRE(t.error);
    if (t.task_name == "big") {
      BOOST_TEST(t.error->find("output_too_large") != std::string::npos, *t.error);
      BOOST_TEST(t.error->find("HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH") != std::string::npos);
      BOOST_TEST(t.error->find("5000011 bytes") != std::string::npos, *t.error);
    } else {
      BOOST_TEST(t.error->find("[truncated: the error text had") != std::string::npos);
      BOOST_TEST(t.error->size() < 20'000u);
    }
  }
  BOOST_TEST(!w.stop()); // nothing left in the outbox to wait for
}

// -- co_task tasks ------------------------------------------------------------------------------

namespace {

/// Threads of this process, from /proc.
int thread_count() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

struct pair_out {
  int first = 0;
  int second = 0;
  static inline std::atomic<int> alive{0};
  pair_out() { ++alive; }
  pair_out(int a, int b) : first(a), second(b) { ++alive; }
  pair_out(const pair_out& o) : first(o.first), second(o.second) { ++alive; }
  pair_out(pair_out&& o) noexcept : first(o.first), second(o.second) { ++alive; }
  ~pair_out() { --alive; }
};
void to_json(json& j, const pair_out& p) { j = json{{"first", p.first}, {"second", p.second}}; }

hatchet::co_task<int> add_later(hatchet::context& ctx, int a, int b) {
  co_await ctx.sleep_for(1ms);
  co_return a + b;
}

} // namespace

BOOST_AUTO_TEST_CASE(sleeping_co_tasks_hold_no_thread) {
  constexpr int n = 200;
  auto asleep = std::make_shared<gauge>();
  hatchet::workflow wf{"NapWorkflow"};
  wf.task("nap", [asleep](const hatchet::empty_model&,
                          hatchet::context& ctx) -> hatchet::co_task<json> {
    asleep->add(1);
    bool full = co_await ctx.sleep_for(1500ms);
    co_return json{{"slept", full}};
  });
  running_worker w{cfg, "nap-worker", {.slots = n, .workflows = {wf}}};
  w.ready();
  int before = thread_count();
  auto a = admin();
  auto ids = a.bulk_trigger(std::vector<hatchet::rpc::trigger_request>(n, {"NapWorkflow", "{}", {}}));
  BOOST_REQUIRE(ids);
  BOOST_REQUIRE(asleep->wait_at_least(n, 20s));
  int during = thread_count();
  // A synchronous sleep would hold one thread per run: 200 more. gRPC may add a few of its own.
  BOOST_TEST(during - before < 20, "threads before " << before << ", with all asleep " << during);
  auto results = wait(*ids);
  BOOST_REQUIRE_EQUAL(results.size(), size_t{n});
  for (const auto& r : results)
    BOOST_TEST(json::parse(*only_task(r).output).at("slept") == true);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_cancel_wakes_a_sleeping_co_task_at_once_and_nothing_is_reported) {
  auto asleep = std::make_shared<gauge>();
  auto woke = std::make_shared<std::promise<bool>>();
  hatchet::workflow wf{"LongNapWorkflow"};
  wf.task("nap", [asleep, woke](const hatchet::empty_model&,
                                hatchet::context& ctx) -> hatchet::co_task<json> {
    asleep->add(1);
    bool full = co_await ctx.sleep_for(60s);
    woke->set_value(full);
    co_return json{{"slept", full}};
  });
  running_worker w{cfg, "longnap-worker", {.slots = 1, .workflows = {wf}}};
  w.ready();
  auto a = admin();
  auto id = a.trigger({"LongNapWorkflow", "{}", {}});
  BOOST_REQUIRE(id);
  BOOST_REQUIRE(asleep->wait_at_least(1, 10s));
  BOOST_REQUIRE(a.cancel({*id}));
  auto woke_future = woke->get_future();
  BOOST_REQUIRE(woke_future.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(woke_future.get() == false); // sleep_for says it was cut short
  auto results = wait({*id});
  BOOST_REQUIRE_EQUAL(results.size(), 1u);
  BOOST_TEST(results[0].failed());
  BOOST_TEST(!w.stop());
  BOOST_TEST(engine.snapshot().completed == 0u);
  BOOST_TEST(engine.snapshot().cancelled == 1u);
}

BOOST_AUTO_TEST_CASE(co_tasks_await_blocking_work_nested_co_tasks_and_report_exceptions) {
  pair_out::alive = 0;
  hatchet::workflow compute{"CoComputeWorkflow"};
  compute.task("compute", [](const hatchet::empty_model&,
                             hatchet::context& ctx) -> hatchet::co_task<pair_out> {
    auto caller = std::this_thread::get_id();
    bool elsewhere = co_await ctx.run_blocking([caller] {
      return std::this_thread::get_id() != caller; // a task thread, not the actor's
    });
    int sum = co_await add_later(ctx, 20, 22);
    co_return pair_out{elsewhere ? 1 : 0, sum};
  });
  hatchet::workflow throws{"CoThrowWorkflow"};
  throws.task("throws_in_blocking", [](const hatchet::empty_model&,
                                       hatchet::context& ctx) -> hatchet::co_task<void> {
    co_await ctx.run_blocking([]() -> int { throw std::runtime_error("disk on fire"); });
  });
  hatchet::workflow misuse{"CoMisuseWorkflow"};
  misuse.task("sync_sleep_for", [](const hatchet::empty_model&, hatchet::context& ctx) {
    (void)ctx.sleep_for(1ms); // not a co_task: a clear error, not a hang
    return json::object();
  });
  running_worker w{cfg, "co-worker", {.slots = 4, .workflows = {compute, throws, misuse}}};
  w.ready();
  for (const auto& r : run_all("CoComputeWorkflow", std::vector<std::string>(10, "{}"))) {
    BOOST_REQUIRE(!r.failed());
    BOOST_TEST(json::parse(*only_task(r).output) == (json{{"first", 1}, {"second", 42}}));
  }
  BOOST_TEST(pair_out::alive.load() == 0); // every output object built was destroyed once
  auto thrown = run_all("CoThrowWorkflow", {"{}"});
  BOOST_REQUIRE_EQUAL(thrown.size(), 1u);
  BOOST_REQUIRE(only_task(thrown[0]).error);
  BOOST_TEST(only_task(thrown[0]).error->find("std::runtime_error: disk on fire") == 0u,
             *only_task(thrown[0]).error);
  auto misused = run_all("CoMisuseWorkflow", {"{}"});
  BOOST_REQUIRE_EQUAL(misused.size(), 1u);
  BOOST_REQUIRE(only_task(misused[0]).error);
  BOOST_TEST(only_task(misused[0]).error->find("ctx.sleep_for() is for co_task tasks")
               != std::string::npos,
             *only_task(misused[0]).error);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_run_blocking_job_keeps_its_co_task_alive_past_a_shutdown) {
  // A job may read the coroutine's locals (`[&]`); a shutdown that gives up on the run must not
  // destroy them while the job runs. The guard below lives in the coroutine's frame and says when
  // it is destroyed, through a flag the job reads without touching the frame.
  auto in_job = std::make_shared<gauge>();
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  auto frame_destroyed = std::make_shared<std::atomic<bool>>(false);
  auto destroyed_before_job_end = std::make_shared<std::promise<bool>>();
  struct guard {
    std::shared_ptr<std::atomic<bool>> destroyed;
    ~guard() { destroyed->store(true); }
  };
  hatchet::workflow wf{"HoldWorkflow"};
  wf.task("hold", [=](const hatchet::empty_model&,
                      hatchet::context& ctx) -> hatchet::co_task<void> {
    guard g{frame_destroyed};
    auto job = [in_job, released, frame_destroyed, destroyed_before_job_end] {
      in_job->add(1);
      released.wait();
      destroyed_before_job_end->set_value(frame_destroyed->load());
    };
    co_await ctx.run_blocking(job);
  });
  running_worker w{cfg, "hold-worker",
                   {.slots = 1,
                    .workflows = {wf},
                    .drain_timeout = std::chrono::milliseconds{200},
                    .cancel_grace = std::chrono::milliseconds{100}}};
  w.ready();
  auto a = admin();
  BOOST_REQUIRE(a.trigger({"HoldWorkflow", "{}", {}}));
  BOOST_REQUIRE(in_job->wait_at_least(1, 10s));
  auto reason = w.stop();
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::drain_timed_out);
  BOOST_TEST(!frame_destroyed->load()); // the worker is down; the job still holds the run
  release->set_value();
  auto before = destroyed_before_job_end->get_future();
  BOOST_REQUIRE(before.wait_for(10s) == std::future_status::ready);
  BOOST_TEST(!before.get());
  // Once the job has ended, the run goes: nothing leaks.
  for (int i = 0; i < 500 && !frame_destroyed->load(); ++i)
    std::this_thread::sleep_for(10ms);
  BOOST_TEST(frame_destroyed->load());
}

BOOST_AUTO_TEST_SUITE_END()
