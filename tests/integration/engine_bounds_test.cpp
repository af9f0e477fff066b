// The dev engine, part 6: what it bounds. The bytes finished runs hold, how much of an input an
// error message quotes, and the times it accepts (refused with the field's name, never wrapped
// around).
#include "engine_harness.hpp"

namespace {

/// POST .../workflows/<wf>/scheduled with the given triggerAt (a JSON value, as text).
http_response schedule_at(engine_under_test& eng, const std::string& wf,
                          const std::string& trigger_at_json) {
  auto path = "/api/v1/tenants/" + eng.engine().options().tenant_id + "/workflows/" + wf
              + "/scheduled";
  return http(eng.engine().rest_port(), "POST", path, "Bearer " + eng.token(),
              R"({"input":{},"triggerAt":)" + trigger_at_json + "}");
}

grpc::StatusCode details_code(engine_under_test& eng, const std::string& run) {
  v1::GetRunDetailsRequest req;
  req.set_external_id(run);
  v1::GetRunDetailsResponse resp;
  return eng.admin->GetRunDetails(eng.context().get(), req, &resp).error_code();
}

} // namespace

BOOST_AUTO_TEST_SUITE(bounds)

BOOST_AUTO_TEST_CASE(finished_runs_are_kept_within_a_byte_budget_too) {
  auto o = test_options();
  o.max_finished_bytes = 1024 * 1024; // 1 MiB; the count (1,000,000) never binds here
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}};
  const std::string output = R"({"blob":")" + std::string(400'000, 'x') + R"("})";
  std::vector<std::string> runs;
  for (int i = 0; i < 4; ++i) { // 4 x 400 KB: the two oldest must go
    runs.push_back(eng.trigger("wf"));
    auto a = expect_action(w.stream, START_STEP_RUN);
    BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, output).ok());
  }
  BOOST_TEST(details_code(eng, runs[0]) == grpc::StatusCode::NOT_FOUND);
  BOOST_TEST(details_code(eng, runs[1]) == grpc::StatusCode::NOT_FOUND);
  BOOST_TEST(eng.details(runs[2]).status() == v1::COMPLETED);
  BOOST_TEST(eng.details(runs[3]).status() == v1::COMPLETED);
  // One run over the whole budget: the older ones go, the newest is kept whatever its size.
  runs.push_back(eng.trigger("wf"));
  auto a = expect_action(w.stream, START_STEP_RUN);
  const std::string huge = R"({"blob":")" + std::string(1'200'000, 'y') + R"("})";
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, huge).ok());
  BOOST_TEST(details_code(eng, runs[3]) == grpc::StatusCode::NOT_FOUND);
  BOOST_TEST(eng.details(runs[4]).status() == v1::COMPLETED);
}

BOOST_AUTO_TEST_CASE(a_byte_budget_under_one_mib_is_refused) {
  auto o = test_options();
  o.max_finished_bytes = 1000;
  BOOST_TEST(o.validate() == "max_finished_bytes must be at least 1 MiB (1048576)");
}

BOOST_AUTO_TEST_CASE(an_error_quotes_a_bounded_prefix_of_a_16000_character_input) {
  engine_under_test eng;
  const std::string name = std::string(16'000, 'n') + "!"; // invalid: '!'
  auto st = eng.put_workflow(name, {{.name = "t"}});
  // Whole, the name would pass the client's 8 KiB metadata limit and the caller would get a
  // transport error instead of the engine's reason.
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT, st.error_message());
  BOOST_TEST(st.error_message().size() < 400u, st.error_message().size());
  BOOST_TEST(st.error_message().find("(16001 bytes)") != std::string::npos, st.error_message());
  BOOST_TEST(st.error_message().find("must match") != std::string::npos, st.error_message());

  std::string run;
  st = eng.try_trigger(std::string(16'000, 'u'), "{}", run); // unknown, and long
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT, st.error_message());
  BOOST_TEST(st.error_message().rfind("workflow names not found: uuu", 0) == 0, st.error_message());
  BOOST_TEST(st.error_message().size() < 400u, st.error_message().size());
}

BOOST_AUTO_TEST_CASE(schedule_times_the_engine_cannot_hold_or_with_bad_offsets_are_refused_naming_the_field) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("later", {{.name = "t"}}).ok());
  // 9999-12-31, a common "never": it used to wrap around to 1816 and fire at once.
  auto r = schedule_at(eng, "later", R"("9999-12-31T00:00:00Z")");
  BOOST_TEST(r.status == 400, r.body);
  BOOST_TEST(r.body.find("triggerAt '9999-12-31T00:00:00Z' is outside") != std::string::npos,
             r.body);
  r = schedule_at(eng, "later", R"("1500-01-01T00:00:00Z")");
  BOOST_TEST(r.status == 400, r.body);
  r = schedule_at(eng, "later", R"("2030-01-01T00:00:00+99:99")");
  BOOST_TEST(r.status == 400, r.body);
  BOOST_TEST(r.body.find("triggerAt '2030-01-01T00:00:00+99:99' has the offset +99:99")
               != std::string::npos,
             r.body);
  r = schedule_at(eng, "later", R"("2030-02-30T00:00:00Z")");
  BOOST_TEST(r.status == 400, r.body);
  BOOST_TEST(r.body.find("no day 2030-02-30") != std::string::npos, r.body);
  BOOST_TEST(eng.engine().snapshot().scheduled_runs == 0u);
  // A time before 1970 is held, and written back without negative milliseconds.
  r = schedule_at(eng, "later", R"("1969-12-31T23:59:59.500Z")");
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body).value("triggerAt", "") == "1969-12-31T23:59:59.500Z", r.body);

  // The gRPC ScheduleWorkflow, likewise.
  ScheduleWorkflowRequest req;
  req.set_name("later");
  req.add_schedules()->set_seconds(253'402'214'400); // 9999-12-31
  WorkflowVersion resp;
  auto st = eng.workflows->ScheduleWorkflow(eng.context().get(), req, &resp);
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT, st.error_message());
  BOOST_TEST(st.error_message().find("schedules[0]") != std::string::npos, st.error_message());
  BOOST_TEST(st.error_message().find("outside") != std::string::npos, st.error_message());
}

BOOST_AUTO_TEST_SUITE_END()
