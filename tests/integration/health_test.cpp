// The worker's health server through each state, with real HTTP requests: STARTING during the
// lifespan setup, HEALTHY once attached, UNHEALTHY when the engine is gone, DRAINING during a
// stop, and /metrics counting what the worker did.
#define BOOST_TEST_MODULE health
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <regex>

#include <httplib.h>
#include <nlohmann/json.hpp>

using namespace harness;
using json = nlohmann::json;

namespace {

struct reply {
  int status = 0; ///< 0: no answer (nothing listening)
  std::string body;
};

reply get(const std::string& address, const std::string& path) {
  auto colon = address.rfind(':');
  httplib::Client c{"127.0.0.1", std::stoi(address.substr(colon + 1))};
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto res = c.Get(path.c_str());
  if (!res)
    return {};
  return {res->status, res->body};
}

/// The health status the server reports, or "" when it does not answer.
std::string health_status(const std::string& address) {
  auto r = get(address, "/health");
  if (r.status == 0)
    return "";
  return json::parse(r.body).at("status").get<std::string>();
}

/// Polls /health (the server publishes no event) until it reports `want`.
bool wait_health(const std::string& address, const std::string& want,
                 std::chrono::milliseconds timeout = 15s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (health_status(address) != want) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

/// One sample's value from a Prometheus text body: the line "NAME VALUE" (NAME may carry
/// labels); NaN when absent.
double sample(const std::string& body, const std::string& name) {
  std::istringstream in{body};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0)
      return std::stod(line.substr(name.size() + 1));
  return std::nan("");
}

hatchet::config with_health(hatchet::config cfg) {
  cfg.healthcheck_enabled = true;
  cfg.healthcheck_port = 0; // a free port; the worker says which
  cfg.healthcheck_bind_address = "127.0.0.1";
  return cfg;
}

struct sleep_input {
  int ms = 0;
};
HATCHET_DEFINE_INPUT(sleep_input, ms)

hatchet::workflow health_workflow() {
  hatchet::workflow wf{"HealthWorkflow"};
  wf.task("nap", [](const sleep_input& in, hatchet::context& ctx) -> hatchet::co_task<json> {
    co_await ctx.sleep_for(std::chrono::milliseconds{in.ms});
    co_return json{{"slept", in.ms}};
  });
  return wf;
}

hatchet::workflow failing_workflow() {
  hatchet::workflow wf{"HealthFails"};
  wf.task("boom", [](const hatchet::empty_model&, hatchet::context&) -> json {
    throw std::runtime_error{"boom"};
  });
  return wf;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(health, engine_fixture)

BOOST_AUTO_TEST_CASE(health_follows_the_worker_from_setup_to_drain_and_metrics_count_runs) {
  std::promise<void> release_setup;
  auto setup_gate = release_setup.get_future().share();
  auto lifespan = [setup_gate]() -> hatchet::lifespan<int> {
    setup_gate.wait(); // the worker stays in its setup until the test lets it go
    co_yield 42;
  };
  running_worker w{with_health(cfg), "health-worker",
                   {.slots = 3,
                    .workflows = {health_workflow(), failing_workflow()},
                    .lifespan = lifespan,
                    .labels = {{"zone", "test"}},
                    .drain_timeout = 20s}};
  auto address = hatchet::health_address(w.system(), w.supervisor(), 5s);
  BOOST_REQUIRE_MESSAGE(address, (address ? "" : hatchet::describe(address.error())));

  // STARTING: the lifespan setup is still running; a probe must not route work here yet.
  auto starting = get(*address, "/health");
  BOOST_TEST(starting.status == 503);
  auto body = json::parse(starting.body);
  BOOST_TEST(body.at("status") == "STARTING");
  BOOST_TEST(body.at("name") == "health-worker");
  BOOST_TEST(body.at("slots") == 3);
  BOOST_TEST(body.at("actions").size() == 2u);
  BOOST_TEST(body.at("labels").at("zone") == "test");
  BOOST_TEST(sample(get(*address, "/metrics").body, "hatchet_worker_status") == 0);

  // HEALTHY: lifespan up, registered, stream attached, heartbeat accepted.
  release_setup.set_value();
  w.ready();
  BOOST_REQUIRE(wait_health(*address, "HEALTHY"));
  BOOST_TEST(get(*address, "/health").status == 200);

  auto ok = run_all("HealthWorkflow", {R"({"ms":1})", R"({"ms":1})", R"({"ms":1})"});
  BOOST_TEST(ok.size() == 3u);
  auto bad = run_all("HealthFails", {"{}"});
  BOOST_TEST(bad.size() == 1u);
  BOOST_TEST(bad.at(0).failed());

  auto metrics = get(*address, "/metrics");
  BOOST_TEST(metrics.status == 200);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_status") == 1);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_slots") == 3);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_actions") == 2);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_runs_started_total") == 4);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_runs_completed_total") == 3);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_runs_failed_total") == 1);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_runs_cancelled_total") == 0);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_run_duration_seconds_count") == 4);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_run_duration_seconds_bucket{le=\"+Inf\"}") == 4);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_slots_in_use") == 0);
  BOOST_TEST(sample(metrics.body, "hatchet_worker_lifespan_setup_seconds") > 0);
  BOOST_TEST(metrics.body.find("# TYPE hatchet_worker_run_duration_seconds histogram")
             != std::string::npos);

  // A run in progress: it holds a slot, and keeps the worker DRAINING during the stop.
  auto adm = admin();
  auto long_run = adm.bulk_trigger({{"HealthWorkflow", R"({"ms":1500})", {}}});
  BOOST_REQUIRE(long_run);
  auto until = std::chrono::steady_clock::now() + 10s;
  while (sample(get(*address, "/metrics").body, "hatchet_worker_slots_in_use") != 1
         && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  BOOST_REQUIRE(sample(get(*address, "/metrics").body, "hatchet_worker_slots_in_use") == 1);

  caf::anon_send_exit(w.supervisor(), caf::exit_reason::user_shutdown);
  BOOST_TEST(wait_health(*address, "DRAINING", 5s));
  BOOST_TEST(get(*address, "/health").status == 503);
  BOOST_TEST(!w.wait_down());
  auto done = wait(*long_run);
  BOOST_TEST(!done.at(0).failed()); // the drain let it finish
  // Stopped: nothing listens any more.
  BOOST_TEST(get(*address, "/health").status == 0);
}

BOOST_AUTO_TEST_CASE(health_is_unhealthy_while_the_engine_is_gone) {
  running_worker w{with_health(cfg), "health-lost",
                   {.slots = 1, .workflows = {health_workflow()}}};
  w.ready();
  auto address = hatchet::health_address(w.system(), w.supervisor(), 5s);
  BOOST_REQUIRE(address);
  BOOST_REQUIRE(wait_health(*address, "HEALTHY"));
  engine.stop();
  BOOST_TEST(wait_health(*address, "UNHEALTHY"));
  BOOST_TEST(get(*address, "/health").status == 503);
  auto metrics = get(*address, "/metrics").body;
  BOOST_TEST(sample(metrics, "hatchet_worker_status") == 0);
  BOOST_TEST(sample(metrics, "hatchet_worker_reconnects_total") >= 1);
}

BOOST_AUTO_TEST_CASE(a_health_port_in_use_fails_the_start_naming_the_variables) {
  running_worker first{with_health(cfg), "health-first",
                       {.slots = 1, .workflows = {health_workflow()}}};
  first.ready();
  auto address = hatchet::health_address(first.system(), first.supervisor(), 5s);
  BOOST_REQUIRE(address);
  auto taken = cfg;
  taken.healthcheck_enabled = true;
  taken.healthcheck_bind_address = "127.0.0.1";
  taken.healthcheck_port = std::stoi(address->substr(address->rfind(':') + 1));
  running_worker second{taken, "health-second", {.slots = 1, .workflows = {health_workflow()}}};
  auto reason = second.wait_down(10s);
  BOOST_REQUIRE(reason);
  auto text = hatchet::describe(reason);
  BOOST_TEST(text.find("HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS and _PORT")
               != std::string::npos,
             text);
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
}

// A client that trickles its request in holds a serving thread for as long as it keeps sending;
// the stop must not wait for it.
BOOST_AUTO_TEST_CASE(a_client_that_never_finishes_its_request_does_not_hold_the_stop) {
  running_worker w{with_health(cfg), "health-trickle",
                   {.slots = 1, .workflows = {health_workflow()}}};
  w.ready();
  auto address = hatchet::health_address(w.system(), w.supervisor(), 5s);
  BOOST_REQUIRE(address);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address->substr(address->rfind(':') + 1))));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  std::atomic<bool> stop_trickling{false};
  std::thread trickler{[&] {
    std::string request = "GET /health HTTP/1.1\r\nX-Slow: ";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    // One byte a second for up to 30 s, each well inside the server's per-read timeout.
    for (int i = 0; i < 30 && !stop_trickling; ++i) {
      ::send(fd, "a", 1, MSG_NOSIGNAL);
      for (int t = 0; t < 10 && !stop_trickling; ++t)
        std::this_thread::sleep_for(100ms);
    }
  }};
  std::this_thread::sleep_for(300ms); // the server has taken the connection
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(!w.stop(30s));
  auto took = std::chrono::steady_clock::now() - t0;
  stop_trickling = true;
  trickler.join();
  ::close(fd);
  BOOST_TEST(took < 8s, "the stop took "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms with a client trickling its request");
}

BOOST_AUTO_TEST_CASE(no_health_server_unless_enabled) {
  running_worker w{cfg, "health-off", {.slots = 1, .workflows = {health_workflow()}}};
  w.ready();
  BOOST_TEST(!hatchet::health_address(w.system(), w.supervisor(), 5s));
}

BOOST_AUTO_TEST_SUITE_END()
