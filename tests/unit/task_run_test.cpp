#define BOOST_TEST_MODULE task_run
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <hatchet/hatchet.hpp>

#include "actors/task_run.hpp"

namespace {

struct add_input {
  int a = 0;
  int b = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(add_input, a, b)

struct add_output {
  int sum = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(add_output, sum)

hatchet::workflow math() {
  hatchet::workflow wf{"math"};
  wf.task("add", [](const add_input& in, hatchet::context&) { return add_output{in.a + in.b}; });
  wf.task("boom", [](const hatchet::empty_model&, hatchet::context&) -> add_output {
    throw std::runtime_error("line one\nline two");
  });
  wf.task("final", [](const hatchet::empty_model&, hatchet::context&) -> add_output {
    throw hatchet::non_retryable_error("do not retry");
  });
  wf.task("scalar", [](const hatchet::empty_model&, hatchet::context&) { return 42; });
  wf.task("meta", [](const hatchet::empty_model&, hatchet::context& ctx) {
    return nlohmann::json{{"meta", ctx.additional_metadata()},
                          {"parents", ctx.parents()},
                          {"retry", ctx.retry_count()},
                          {"run", ctx.workflow_run_id()}};
  });
  return wf;
}

hatchet::msg::assignment assign(const std::string& task, std::string payload) {
  static const auto wf = math();
  hatchet::msg::assignment a;
  for (const auto& t : wf.tasks())
    if (t->name == task)
      a.task = t;
  BOOST_REQUIRE(a.task);
  a.action.action_id = "math:" + task;
  a.action.task_run_external_id = "0b6a1a35-4d49-4f43-8a4b-0e1ad1e4c001";
  a.action.workflow_run_id = "wr-1";
  a.action.retry_count = 2;
  a.action.action_payload = std::move(payload);
  return a;
}

hatchet::msg::task_outcome run(const std::string& task, std::string payload) {
  return hatchet::detail::execute(assign(task, std::move(payload)), std::stop_token{});
}

} // namespace

BOOST_AUTO_TEST_CASE(payload_input_and_parents_are_decoded) {
  auto p = hatchet::detail::decode_payload(
    R"({"input":{"a":1},"parents":{"first":{"x":2}},"triggers":{},"triggered_by":"manual","extra":1})");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->input["a"] == 1);
  BOOST_TEST(p->parents["first"]["x"] == 2);
}

BOOST_AUTO_TEST_CASE(missing_or_null_members_become_empty_objects) {
  for (const char* text : {"{}", R"({"input":null,"parents":null})"}) {
    auto p = hatchet::detail::decode_payload(text);
    BOOST_REQUIRE(p);
    BOOST_TEST(p->input.is_object());
    BOOST_TEST(p->parents.is_object());
  }
}

BOOST_AUTO_TEST_CASE(double_encoded_payload_is_unwrapped) {
  auto p = hatchet::detail::decode_payload(R"("{\"input\":{\"a\":5}}")");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->input["a"] == 5);
}

BOOST_AUTO_TEST_CASE(payloads_that_are_not_json_objects_are_errors) {
  for (const char* text : {"", "not json", "[1,2]", "42", R"("just a string")"}) {
    BOOST_TEST_CONTEXT("payload '" << text << "'") {
      auto p = hatchet::detail::decode_payload(text);
      BOOST_TEST(!p);
    }
  }
}

BOOST_AUTO_TEST_CASE(typed_task_completes_with_json_output) {
  auto out = run("add", R"({"input":{"a":2,"b":3}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::completed));
  BOOST_TEST(nlohmann::json::parse(out.payload) == nlohmann::json({{"sum", 5}}));
  BOOST_TEST(out.key == "0b6a1a35-4d49-4f43-8a4b-0e1ad1e4c001/2");
}

BOOST_AUTO_TEST_CASE(throwing_task_fails_in_the_python_error_layout) {
  auto out = run("boom", R"({"input":{}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::failed));
  BOOST_TEST(!out.should_not_retry);
  // "<type>: <message with escaped newlines>\n<trace>\n\n<metadata json>"
  BOOST_TEST(out.payload.rfind("std::runtime_error: line one\\\nline two\n", 0) == 0, out.payload);
  auto meta_at = out.payload.rfind("\n\n");
  BOOST_REQUIRE(meta_at != std::string::npos);
  auto meta = nlohmann::json::parse(out.payload.substr(meta_at + 2));
  BOOST_TEST(meta["__hatchet_error_metadata__"]["task_run_external_id"]
             == "0b6a1a35-4d49-4f43-8a4b-0e1ad1e4c001");
}

BOOST_AUTO_TEST_CASE(non_retryable_error_asks_the_engine_not_to_retry) {
  auto out = run("final", R"({"input":{}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::failed));
  BOOST_TEST(out.should_not_retry);
  BOOST_TEST(out.payload.find("do not retry") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(input_that_does_not_parse_fails_naming_the_task_and_the_error) {
  auto out = run("add", R"({"input":{"a":"two","b":3}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::failed));
  BOOST_TEST(out.should_not_retry);
  BOOST_TEST(out.payload.find("task 'add'") != std::string::npos, out.payload);
  BOOST_TEST(out.payload.find("type must be number") != std::string::npos, out.payload);
}

BOOST_AUTO_TEST_CASE(payload_that_is_not_json_fails_the_run) {
  auto out = run("add", "{{{");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::failed));
  BOOST_TEST(out.payload.find("not valid JSON") != std::string::npos, out.payload);
}

BOOST_AUTO_TEST_CASE(output_that_is_not_an_object_fails_the_run) {
  auto out = run("scalar", R"({"input":{}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::failed));
  BOOST_TEST(out.payload.find("must be a JSON object") != std::string::npos, out.payload);
}

BOOST_AUTO_TEST_CASE(context_carries_metadata_parents_and_ids) {
  auto a = assign("meta", R"({"input":{},"parents":{"p":{"v":1}}})");
  a.action.additional_metadata = R"({"source":"test"})";
  auto out = hatchet::detail::execute(a, std::stop_token{});
  BOOST_REQUIRE((out.kind == hatchet::msg::task_outcome::completed));
  auto j = nlohmann::json::parse(out.payload);
  BOOST_TEST(j["meta"]["source"] == "test");
  BOOST_TEST(j["parents"]["p"]["v"] == 1);
  BOOST_TEST(j["retry"] == 2);
  BOOST_TEST(j["run"] == "wr-1");
}

BOOST_AUTO_TEST_CASE(error_type_escapes_colon_space) {
  auto text = hatchet::detail::format_error("a: b", "m", "id");
  BOOST_TEST(text.rfind("a:::b: m\n", 0) == 0, text);
}
