#define BOOST_TEST_MODULE bad_input
// The worker against an engine that sends what a well-behaved engine would not: unknown action
// ids, cancels for runs it never assigned, malformed and oversized payloads, and UNIMPLEMENTED
// answers (as older engines give). Each gets a FAILED event with a message where a run is
// involved, and the worker keeps serving.

#include "harness.hpp"
#include "scripted_engine.hpp"

#include <nlohmann/json.hpp>

#include "bundled_workflows.hpp"
#include "hatchet/worker.hpp"

using namespace harness;
using nlohmann::json;

namespace {

struct sized_input {
  std::string blob;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(sized_input, blob)

struct needs_a_number {
  int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(needs_a_number, n)

/// EchoWorkflow plus two typed tasks: one that reports the size of its input, one that needs a
/// field.
std::vector<hatchet::workflow> workflows() {
  hatchet::workflow sized{"SizedWorkflow"};
  sized.task("measure", [](const sized_input& in, hatchet::context&) {
    return json{{"bytes", in.blob.size()}};
  });
  sized.task("typed", [](const needs_a_number& in, hatchet::context&) {
    return json{{"twice", in.n * 2}};
  });
  return {hatchet::apps::echo_workflow(), sized};
}

struct scripted_fixture {
  scripted_engine engine;
  hatchet::config cfg;

  explicit scripted_fixture(scripted_engine::unimplemented_set unimpl = {}) : engine(unimpl) {
    hatchet::engine::engine_options o;
    o.secret = hatchet::engine::random_secret();
    cfg.token = hatchet::engine::mint_token(o, engine.address());
    cfg.tenant_id = o.tenant_id;
    cfg.host_port = engine.address();
    cfg.tls = hatchet::tls_strategy::none;
  }

  /// Pushes a START and waits for the run's final event (COMPLETED or FAILED).
  StepActionEvent run(const std::string& run_id, const std::string& action_id,
                      const std::string& payload) {
    engine.push(make_action(run_id, action_id, payload));
    return final_event(run_id);
  }

  StepActionEvent final_event(const std::string& run_id) {
    StepActionEvent out;
    bool got = engine.wait_for([&](scripted_engine& e) {
      for (auto& ev : e.events_)
        if (ev.task_run_external_id() == run_id
            && (ev.event_type() == STEP_EVENT_TYPE_COMPLETED
                || ev.event_type() == STEP_EVENT_TYPE_FAILED)) {
          out = ev;
          return true;
        }
      return false;
    });
    BOOST_REQUIRE_MESSAGE(got, "no final event for run " << run_id);
    return out;
  }
};

bool completed(const StepActionEvent& ev) { return ev.event_type() == STEP_EVENT_TYPE_COMPLETED; }
bool failed(const StepActionEvent& ev) { return ev.event_type() == STEP_EVENT_TYPE_FAILED; }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(misbehaving_engine, scripted_fixture)

BOOST_AUTO_TEST_CASE(unknown_action_ids_fail_their_run_and_the_worker_keeps_serving) {
  running_worker w{cfg, "bad-input", {.slots = 2, .workflows = workflows()}};
  w.ready();
  auto ev = run("r-unknown", "nosuchworkflow:nosuchtask", R"({"input":{}})");
  BOOST_TEST(failed(ev));
  BOOST_TEST(ev.should_not_retry());
  BOOST_TEST(contains(ev.event_payload(), "does not serve action 'nosuchworkflow:nosuchtask'"),
             ev.event_payload());
  BOOST_TEST(engine.events_of("r-unknown").size() == 1u); // no STARTED for a run it cannot run
  auto ok = run("r-after", "echoworkflow:echo", R"({"input":{"x":1}})");
  BOOST_TEST(completed(ok));
  BOOST_TEST(json::parse(ok.event_payload()) == (json{{"x", 1}}));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_cancel_for_a_run_never_assigned_is_ignored) {
  running_worker w{cfg, "bad-input", {.slots = 2, .workflows = workflows()}};
  w.ready();
  engine.push(make_action("r-ghost", "echoworkflow:echo", "", ActionType::CANCEL_STEP_RUN));
  // Actions are handled in order: once the next run has completed, the cancel was handled.
  auto ok = run("r-next", "echoworkflow:echo", R"({"input":{"y":2}})");
  BOOST_TEST(completed(ok));
  BOOST_TEST(engine.events_of("r-ghost").empty());
  BOOST_TEST(w.wait_status("ready"), w.status());
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(malformed_payloads_fail_their_runs_with_the_reason) {
  running_worker w{cfg, "bad-input", {.slots = 2, .workflows = workflows()}};
  w.ready();
  struct bad_case {
    std::string id, payload, expect;
  };
  std::vector<bad_case> cases = {
    {"r-notjson", "{\"input\": {", "not valid JSON"},
    {"r-array", "[1,2,3]", "JSON array, not an object"},
    {"r-number", "42", "JSON number, not an object"},
    {"r-noinput", R"({"parents":{}})", "the input does not match"}, // {} lacks the field n
    {"r-wrongtype", R"({"input":{"n":"seven"}})", "the input does not match"},
  };
  for (const auto& c : cases) {
    auto ev = run(c.id, "sizedworkflow:typed", c.payload);
    BOOST_TEST(failed(ev), c.id);
    BOOST_TEST(ev.should_not_retry(), c.id); // the same payload would fail again
    BOOST_TEST(contains(ev.event_payload(), c.expect), c.id << ": " << ev.event_payload());
    BOOST_TEST(contains(ev.event_payload(), "hatchet::input_error"), c.id);
  }
  auto ok = run("r-good", "sizedworkflow:typed", R"({"input":{"n":21}})");
  BOOST_TEST(completed(ok));
  BOOST_TEST(json::parse(ok.event_payload()).at("twice") == 42);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_4_mib_input_over_the_limit_fails_with_advice_and_runs_when_allowed) {
  std::string blob(4 << 20, 'a');
  auto payload = json{{"input", {{"blob", blob}}}}.dump();
  {
    running_worker w{cfg, "bad-input", {.slots = 1, .workflows = workflows()}};
    w.ready();
    auto ev = run("r-big", "sizedworkflow:measure", payload);
    BOOST_TEST(failed(ev));
    BOOST_TEST(ev.should_not_retry());
    BOOST_TEST(contains(ev.event_payload(), "over this worker's limit of 4194304 bytes"),
               ev.event_payload().substr(0, 300));
    BOOST_TEST(contains(ev.event_payload(), "HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH"));
    // The stream survived it: the next run arrives on the same stream.
    auto ok = run("r-small", "sizedworkflow:measure", R"({"input":{"blob":"abc"}})");
    BOOST_TEST(completed(ok));
    BOOST_TEST(json::parse(ok.event_payload()).at("bytes") == 3);
    BOOST_TEST(engine.read([](const scripted_engine& e) { return e.listen_v2_calls_; }) == 1);
    BOOST_TEST(!w.stop());
  }
  cfg.max_recv_bytes = 16 << 20;
  running_worker w{cfg, "bad-input-big", {.slots = 1, .workflows = workflows()}};
  w.ready();
  auto ev = run("r-big-allowed", "sizedworkflow:measure", payload);
  BOOST_TEST(completed(ev), ev.event_payload().substr(0, 300));
  BOOST_TEST(json::parse(ev.event_payload()).at("bytes") == blob.size());
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

struct old_engine_fixture : scripted_fixture {
  old_engine_fixture()
    : scripted_fixture([] {
        scripted_engine::unimplemented_set u;
        u.get_version = true;
        u.listen_v2 = true;
        u.heartbeat = true;
        return u;
      }()) {
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(old_engine, old_engine_fixture)

BOOST_AUTO_TEST_CASE(without_get_version_listen_v2_and_heartbeat_the_worker_falls_back) {
  running_worker w{cfg, "old-engine", {.slots = 2,
                                       .workflows = workflows(),
                                       .heartbeat_interval = std::chrono::milliseconds{100}}};
  w.ready();
  // ListenV2 was refused once; the legacy Listen stream is open and carries work.
  BOOST_REQUIRE(engine.wait_for(
    [](scripted_engine& e) { return e.listen_calls_ == 1 && e.open_streams_ == 1; }));
  auto ok = run("r-old", "echoworkflow:echo", R"({"input":{"z":3}})");
  BOOST_TEST(completed(ok));
  // Heartbeat answered UNIMPLEMENTED 3 times in a row: the worker believes it and sends no more.
  // Nothing marks "not sending", so give it 8 of its 100 ms intervals to break that promise.
  BOOST_REQUIRE(engine.wait_for([](scripted_engine& e) { return e.heartbeats_ >= 3; }));
  int beats = engine.read([](const scripted_engine& e) { return e.heartbeats_; });
  BOOST_TEST(beats <= 4);
  BOOST_TEST(!engine.wait_for([&](scripted_engine& e) { return e.heartbeats_ > beats; }, 800ms));
  auto ok2 = run("r-old-2", "echoworkflow:echo", R"({"input":{"z":4}})");
  BOOST_TEST(completed(ok2));
  BOOST_TEST(w.wait_status("ready"), w.status()); // attached on the stream alone
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(an_engine_without_register_is_a_startup_failure_that_says_so) {
  scripted_engine::unimplemented_set u;
  u.register_worker = true;
  scripted_fixture f{u};
  running_worker w{f.cfg, "no-register", {.slots = 1, .workflows = workflows()}};
  auto reason = w.wait_down(30s);
  BOOST_TEST(hatchet::exit_code_for(reason) == hatchet::exit_code::startup_failed);
  BOOST_TEST(contains(hatchet::describe(reason), "UNIMPLEMENTED"), hatchet::describe(reason));
  BOOST_TEST(contains(hatchet::describe(reason), "Register"), hatchet::describe(reason));
}

BOOST_AUTO_TEST_CASE(an_engine_without_any_listen_leaves_the_worker_up_detached_and_retrying) {
  // Perhaps a proxy answering 404 for a while: the worker must not die of it, nor pretend to work.
  scripted_engine::unimplemented_set u;
  u.listen_v2 = true;
  u.listen = true;
  scripted_fixture f{u};
  running_worker w{f.cfg, "no-listen", {.slots = 1, .workflows = workflows()}};
  w.ready();
  // ListenV2, then Listen, then ListenV2 again after the backoff: it keeps trying.
  BOOST_TEST(f.engine.wait_for(
    [](scripted_engine& e) { return e.listen_v2_calls_ >= 2 && e.listen_calls_ >= 1; }));
  BOOST_TEST(w.status() == "detached");
  BOOST_TEST(!w.stop()); // and stops cleanly
}

BOOST_AUTO_TEST_CASE(events_the_engine_refuses_are_logged_and_the_worker_keeps_running) {
  scripted_engine::unimplemented_set u;
  u.send_event = true;
  scripted_fixture f{u};
  running_worker w{f.cfg, "no-events", {.slots = 1, .workflows = workflows()}};
  w.ready();
  for (auto id : {"r-1", "r-2"}) {
    f.engine.push(make_action(id, "echoworkflow:echo", R"({"input":{}})"));
    // Each event is sent once (UNIMPLEMENTED is not retried): STARTED and COMPLETED.
    BOOST_TEST(f.engine.wait_for([&](scripted_engine& e) {
      int n = 0;
      for (auto& ev : e.events_)
        n += ev.task_run_external_id() == id;
      return n == 2;
    }));
  }
  BOOST_TEST(w.wait_status("ready"), w.status());
  BOOST_TEST(!w.stop());
}
