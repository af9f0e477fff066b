// Runs the engine starts on its own: crons declared with a workflow, crons made and deleted from
// the client, and one-off schedules, against a dev engine and a worker over loopback gRPC and
// REST. Crons here fire every second (6 fields), so no test waits for a real minute.
#define BOOST_TEST_MODULE triggers
#include "harness.hpp"
#include "mailbox.hpp"

#include <nlohmann/json.hpp>

using namespace harness;
using nlohmann::json;

namespace {

struct seen_run {
  json input;
  json metadata;
};

/// A workflow whose one task reports each run's input and metadata.
hatchet::workflow reporting(const std::string& name, std::shared_ptr<mailbox<seen_run>> runs) {
  hatchet::workflow wf{name};
  wf.task("report", [runs](const json& in, hatchet::context& ctx) {
    runs->push({in, ctx.additional_metadata()});
    return json::object();
  });
  return wf;
}

std::string text(const caf::error& err) { return hatchet::describe(err); }

template <class T>
std::string why(const caf::expected<T>& e) {
  return e ? std::string{} : hatchet::describe(e.error());
}

/// The error a worker fails to start with (its registration refused), or "" if it started.
std::string start_error(const hatchet::config& cfg, hatchet::workflow wf) {
  caf::actor_system_config sys_cfg;
  hatchet::configure(sys_cfg);
  caf::actor_system sys{sys_cfg};
  hatchet::worker w{cfg, "refused-worker", {.slots = 1, .workflows = {std::move(wf)}}};
  auto sup = w.spawn(sys);
  if (!sup)
    return text(sup.error());
  // A refused registration ends the supervisor with the engine's reason; wait for that.
  caf::scoped_actor self{sys};
  self->monitor(*sup);
  std::string reason = "the worker did not stop within 20 s";
  self->receive([&](caf::down_msg& dm) { reason = text(dm.reason); },
                caf::after(std::chrono::seconds{20}) >> [] {});
  caf::anon_send_exit(*sup, caf::exit_reason::kill);
  return reason;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(timed_triggers, engine_fixture)

BOOST_AUTO_TEST_CASE(a_declared_cron_fires_with_its_input_and_cron_metadata) {
  auto runs = std::make_shared<mailbox<seen_run>>();
  auto wf = reporting("EverySecond", runs);
  wf.on_crons({"* * * * * *"}).cron_input({{"from", "cron"}});
  running_worker w{cfg, "cron-worker", {.slots = 2, .workflows = {wf}}};
  w.ready();
  for (int i = 0; i < 2; ++i) { // it fires again: a cron, not a one-off
    auto r = runs->pop(5s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), "the cron did not fire within 5 s");
    BOOST_TEST(r->input == json({{"from", "cron"}}));
    BOOST_TEST(r->metadata
               == json({{"hatchet__cron_expression", "* * * * * *"}, {"hatchet__cron_name", ""}}));
  }
  BOOST_TEST(engine.snapshot().cron_runs >= 2u);
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_bad_cron_is_refused_at_registration_saying_why) {
  auto runs = std::make_shared<mailbox<seen_run>>();
  // Not cron-like at all: the real engine's own check refuses it.
  auto err = start_error(cfg, reporting("Tomorrow", runs).on_crons({"tomorrow at noon"}));
  BOOST_TEST(err.find("Invalid cron expression") != std::string::npos, err);
  // Cron-like but out of range: the scheduler's parser refuses it, naming the field.
  err = start_error(cfg, reporting("BadHour", runs).on_crons({"0 24 * * *"}));
  BOOST_TEST(err.find("invalid cron expression '0 24 * * *'") != std::string::npos, err);
  BOOST_TEST(err.find("24 is beyond the end of its range 0-23") != std::string::npos, err);
  // An empty expression never leaves the worker.
  err = start_error(cfg, reporting("Empty", runs).on_crons({" "}));
  BOOST_TEST(err.find("a cron expression in on_crons is empty") != std::string::npos, err);
  BOOST_TEST(engine.snapshot().cron_runs == 0u);
}

BOOST_AUTO_TEST_CASE(a_cron_made_by_the_client_fires_until_it_is_deleted) {
  auto runs = std::make_shared<mailbox<seen_run>>();
  running_worker w{cfg, "api-cron-worker", {.slots = 2, .workflows = {reporting("Nightly", runs)}}};
  w.ready();
  hatchet::client client{cfg};
  auto crons = client.crons();

  auto cron = crons.create("Nightly", "every-second", "* * * * * *",
                           {.input = {{"region", "eu"}}, .additional_metadata = {{"team", "a"}}});
  BOOST_REQUIRE_MESSAGE(cron, why(cron));
  BOOST_TEST(cron->workflow == "nightly"); // lowercased, as the SDKs name workflows
  BOOST_TEST(cron->expression == "* * * * * *");
  auto r = runs->pop(5s);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "the cron did not fire within 5 s");
  BOOST_TEST(r->input == json({{"region", "eu"}}));
  BOOST_TEST(r->metadata
             == json({{"team", "a"},
                      {"hatchet__cron_expression", "* * * * * *"},
                      {"hatchet__cron_name", "every-second"}}));

  // The same name and expression again is refused; a bad expression and an unknown workflow too.
  auto twice = crons.create("Nightly", "every-second", "* * * * * *");
  BOOST_REQUIRE(!twice);
  BOOST_TEST(text(twice.error()).find("already exists") != std::string::npos, text(twice.error()));
  auto bad = crons.create("Nightly", "bad", "0 0 30 13 *");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(hatchet::has_code(bad.error(), hatchet::errc::invalid_input), text(bad.error()));
  BOOST_TEST(text(bad.error()).find("field 'month'") != std::string::npos, text(bad.error()));
  auto unknown = crons.create("NoSuchWorkflow", "x", "* * * * *");
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(hatchet::has_code(unknown.error(), hatchet::errc::unknown_workflow),
             text(unknown.error()));

  // Deleted: it fires no more (a firing and a delete take the same lock, so the count read
  // after the delete is final).
  BOOST_REQUIRE_MESSAGE(!crons.remove(cron->id), "remove");
  const auto fired = engine.snapshot().cron_runs;
  std::this_thread::sleep_for(1500ms); // longer than the cron's period: absence takes a wait
  BOOST_TEST(engine.snapshot().cron_runs == fired);
  auto again = crons.remove(cron->id);
  BOOST_TEST(hatchet::has_code(again, hatchet::errc::not_found), text(again));
  auto not_an_id = crons.remove("nightly");
  BOOST_TEST(hatchet::has_code(not_an_id, hatchet::errc::invalid_config), text(not_an_id));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_CASE(a_schedule_fires_once_a_past_one_at_once_and_a_deleted_one_never) {
  auto runs = std::make_shared<mailbox<seen_run>>();
  running_worker w{cfg, "schedule-worker", {.slots = 2, .workflows = {reporting("Later", runs)}}};
  w.ready();
  hatchet::client client{cfg};
  auto schedules = client.schedules();
  const auto now = std::chrono::system_clock::now();

  hatchet::run_options opts;
  opts.additional_metadata = {{"why", "past"}};
  auto past = schedules.create("Later", now - std::chrono::hours{1}, json{{"n", 0}}, opts);
  BOOST_REQUIRE_MESSAGE(past, why(past));
  auto r = runs->pop(3s);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "a schedule in the past did not fire at once");
  BOOST_TEST(r->input == json({{"n", 0}}));
  BOOST_TEST(r->metadata == json({{"why", "past"}}));

  auto soon = schedules.create("Later", now + 800ms, json{{"n", 1}});
  BOOST_REQUIRE_MESSAGE(soon, why(soon));
  auto cancelled = schedules.create("Later", now + 1200ms, json{{"n", 2}});
  BOOST_REQUIRE_MESSAGE(cancelled, why(cancelled));
  BOOST_REQUIRE_MESSAGE(!schedules.remove(cancelled->id), "remove");
  r = runs->pop(5s);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "the schedule did not fire");
  BOOST_TEST(r->input == json({{"n", 1}}));
  // Not before its time; the wire carries whole milliseconds, so "its time" may be up to 1 ms
  // before now + 800 ms.
  BOOST_TEST((std::chrono::system_clock::now() >= now + 799ms));

  // Past the deleted one's time: it never ran, and the fired ones are gone (each fires once).
  std::this_thread::sleep_until(now + 2s);
  BOOST_TEST(engine.snapshot().scheduled_runs == 2u);
  BOOST_TEST(runs->size() == 0u);
  auto fired = schedules.remove(soon->id);
  BOOST_TEST(hatchet::has_code(fired, hatchet::errc::not_found), text(fired));
  auto unknown = schedules.create("NoSuchWorkflow", now, json::object());
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(hatchet::has_code(unknown.error(), hatchet::errc::unknown_workflow),
             text(unknown.error()));
  BOOST_TEST(!w.stop());
}

BOOST_AUTO_TEST_SUITE_END()
