// How a worker stops, with real task threads, the dev engine and its REST pause: the gate
// keeps the cleanup from running under task code that ignores its cancellation, and the pause
// comes before the stream closes. The stop's phases and timers are walked on virtual time in
// tests/actors/worker_actors_test.cpp; these prove the wiring.
#define BOOST_TEST_MODULE worker_stop
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

BOOST_FIXTURE_TEST_SUITE(worker_stop, engine_fixture)

namespace {

/// Two runs of a synchronous task that ignores its cancellation and sleeps `task_time`, on a
/// worker with a short drain; counts the task code inside, and what the cleanup saw.
struct stubborn_tasks {
  std::shared_ptr<gauge> inside = std::make_shared<gauge>();
  std::shared_ptr<gauge> cleanups = std::make_shared<gauge>();
  std::shared_ptr<std::atomic<int>> inside_at_cleanup = std::make_shared<std::atomic<int>>(-1);

  hatchet::worker_options options(std::chrono::milliseconds task_time,
                                  std::chrono::milliseconds cleanup_timeout) const {
    hatchet::workflow wf{"StuckWorkflow"};
    wf.task("stuck", [inside = inside, task_time](const hatchet::empty_model&,
                                                  hatchet::context&) {
      inside->add(1);
      std::this_thread::sleep_for(task_time); // ignores cancellation
      inside->add(-1);
      return json{{"late", true}};
    });
    auto lifespan = [inside = inside, cleanups = cleanups,
                     seen = inside_at_cleanup]() -> hatchet::lifespan<int> {
      co_yield 1;
      seen->store(inside->value());
      cleanups->add(1);
    };
    return {.slots = 2, .workflows = {wf}, .lifespan = lifespan, .drain_timeout = 300ms,
            .cancel_grace = 200ms, .cleanup_timeout = cleanup_timeout};
  }
  /// Waits for the worker, starts two runs and waits until both are inside the task.
  std::vector<std::string> start_two(running_worker& w, hatchet::rpc::admin_client a) const {
    w.ready();
    auto ids = a.bulk_trigger({{"StuckWorkflow", "{}", {}}, {"StuckWorkflow", "{}", {}}});
    BOOST_REQUIRE(ids);
    BOOST_REQUIRE(inside->wait_at_least(2, 10s));
    return *ids;
  }
};

} // namespace

// hatchet-dev/hatchet #3166: the task actors are gone after drain_timeout + cancel_grace, but a
// synchronous task that ignores its cancellation is still running its code on a task thread.
// The stop's phases and their timers are walked on virtual time in tests/actors; this proves the
// wiring with real task threads, the real engine and its REST pause.
BOOST_AUTO_TEST_CASE(cleanup_waits_for_a_task_that_ignores_cancellation) {
  stubborn_tasks s;
  running_worker w{cfg, "stuck-worker", s.options(1500ms, 30s)};
  auto ids = s.start_two(w, admin());
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::drain_timed_out,
             hatchet::describe(reason));
  BOOST_TEST(s.cleanups->peak() == 1);
  BOOST_TEST(s.inside_at_cleanup->load() == 0); // no task code was running when cleanup began
  BOOST_TEST(took < 10s);
  for (const auto& r : wait(ids)) { // reported FAILED at the grace's end, so the engine retries
    BOOST_REQUIRE(r.failed());
    BOOST_TEST(r.tasks[0].error->find("worker shut down") != std::string::npos, *r.tasks[0].error);
  }
}

BOOST_AUTO_TEST_CASE(cleanup_is_skipped_when_task_code_outlives_cleanup_timeout) {
  stubborn_tasks s;
  running_worker w{cfg, "stuck-worker", s.options(2s, 300ms)};
  s.start_two(w, admin());
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::cleanup_skipped,
             hatchet::describe(reason));
  BOOST_TEST(hatchet::describe(reason).find("2 task(s) still inside user code")
               != std::string::npos,
             hatchet::describe(reason));
  BOOST_TEST(s.cleanups->peak() == 0); // skipped: never run under the live tasks
  BOOST_TEST(took < 1800ms);           // drain + grace + flush + cleanup_timeout, not the 2 s
  BOOST_TEST(s.inside->wait_at_most(0, 10s)); // the tasks end in their own time
}

// -- pausing during a stop -----------------------------------------------------------------------

namespace {

/// A TCP port on 127.0.0.1 that accepts connections (the kernel does) and never answers.
class silent_port {
public:
  silent_port() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~silent_port() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

} // namespace

BOOST_AUTO_TEST_CASE(the_stop_pauses_the_worker_on_the_engine_before_it_closes_the_stream) {
  auto release = std::make_shared<std::promise<void>>();
  auto inside = std::make_shared<gauge>();
  hatchet::workflow wf{"HeldWorkflow"};
  wf.task("held", [inside, gate = release->get_future().share()](const hatchet::empty_model&,
                                                                 hatchet::context&) {
    inside->add(1);
    gate.wait();
    return json{{"done", true}};
  });
  running_worker w{cfg, "pausing-worker", {.slots = 1, .workflows = {wf}}};
  auto id = w.ready();
  auto a = admin();
  auto run = a.trigger({"HeldWorkflow", "{}", {}});
  BOOST_REQUIRE(run);
  BOOST_REQUIRE(inside->wait_at_least(1, 10s));
  std::promise<caf::error> stopped;
  std::thread stopper{[&] { stopped.set_value(w.stop()); }};
  // While the run goes on, the engine has the worker paused, with its heartbeats accepted
  // ("PAUSED", not "INACTIVE") and its stream still open. (The pause has no event to wait on.)
  std::optional<hatchet::engine::dev_engine::worker_info> seen;
  for (int i = 0; i < 500; ++i) {
    seen = engine.worker(id);
    if (seen && seen->paused)
      break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_REQUIRE(seen);
  BOOST_TEST(seen->paused);
  BOOST_TEST(seen->stream_active);
  BOOST_TEST(seen->status == "PAUSED");
  release->set_value();
  stopper.join();
  BOOST_TEST(!stopped.get_future().get());
  auto results = wait({*run});
  BOOST_TEST(!results.at(0).failed());
}

BOOST_AUTO_TEST_CASE(a_pause_call_that_never_answers_does_not_hold_the_stop_past_drain_timeout) {
  silent_port api;
  auto c = cfg;
  c.server_url = api.url();
  running_worker w{c, "silent-api", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()},
                                     .drain_timeout = 300ms}};
  w.ready();
  auto t0 = std::chrono::steady_clock::now();
  auto reason = w.stop();
  auto took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(!reason, hatchet::describe(reason));
  BOOST_TEST(took < 3s); // not the REST call's 5 s timeouts
}

BOOST_AUTO_TEST_CASE(a_failed_pause_is_logged_and_the_stop_goes_on) {
  auto c = cfg;
  c.server_url = "http://127.0.0.1:1"; // nothing listens there
  running_worker w{c, "no-api", {.slots = 1, .workflows = {hatchet::apps::echo_workflow()}}};
  w.ready();
  auto a = admin();
  auto ids = a.bulk_trigger({{"EchoWorkflow", R"({"x":1})", {}}});
  BOOST_REQUIRE(ids);
  BOOST_TEST(!wait(*ids).at(0).failed());
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()
