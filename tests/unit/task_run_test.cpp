#define BOOST_TEST_MODULE task_run
#include <boost/test/unit_test.hpp>

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <hatchet/hatchet.hpp>

#include "codec/json_dump.hpp"
#include "codec/json_scan.hpp"
#include "actors/task_run.hpp"
#include "tests/payload_reference.hpp"

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
  auto ids = std::make_shared<hatchet::detail::run_ids>();
  ids->action_id = "math:" + task;
  ids->task_run_external_id = "0b6a1a35-4d49-4f43-8a4b-0e1ad1e4c001";
  ids->workflow_run_id = "wr-1";
  ids->retry_count = 2;
  ids->make_key();
  a.action.ids = std::move(ids);
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
  for (const char* text : {"{}", R"({"input":null,"parents":null})", R"({"parents":{}})",
                           R"({"parents":[1]})"}) {
    auto p = hatchet::detail::decode_payload(text);
    BOOST_REQUIRE(p);
    BOOST_TEST(p->input.is_object());
    BOOST_TEST(p->input.empty());
    // No parents: none is built, and the context answers an empty object.
    BOOST_TEST(p->parents.is_null());
    BOOST_TEST(hatchet::detail::object_or_empty(p->parents).is_object());
    BOOST_TEST(hatchet::detail::object_or_empty(p->parents).empty());
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

namespace {

void check_agrees_with_tree(const std::string& text) {
  BOOST_TEST_CONTEXT("payload " << nlohmann::json(text).dump(-1, ' ', true,
                                                         nlohmann::json::error_handler_t::replace)) {
    auto fast = hatchet::detail::decode_payload(text);
    auto tree = payload_reference::decode(text);
    BOOST_TEST_REQUIRE(static_cast<bool>(fast) == tree.has_value());
    if (fast) {
      // dump() as well as ==: == finds 1 and 1.0 equal, and the types must match too.
      BOOST_TEST(fast->input.dump() == tree->first.dump());
      BOOST_TEST(hatchet::detail::object_or_empty(fast->parents).dump() == tree->second.dump());
    }
  }
}

} // namespace

// The decoder checks the payload in one pass and builds trees only for `input` and `parents`:
// it must accept, refuse and find exactly what a full parse does. (The fuzz_payload target checks
// the same on generated inputs, when clang is there.)
BOOST_AUTO_TEST_CASE(payload_decoder_agrees_with_a_full_parse) {
  const std::vector<std::string> corpus = {
    R"({"input":{"a":[1,2,{"b":null}]},"parents":{"p":{"x":"y"}},"triggers":{},"user_data":{}})",
    R"({"input":{},"parents":{},"triggers":{},"triggered_by":"manual","user_data":{},"overrides":{}})",
    R"( {"input" : { "a" : -0.5e+3 } , "parents" : [] } )", "\xEF\xBB\xBF{\"input\":{}}",
    R"({"input":1,"input":{"last":true}})", R"({"in\u0070ut":{"escaped":1}})",
    R"({"input":"text","parents":"no"})", R"({"input":null,"parents":null})",
    R"({"other":{"input":{"nested":1}}})", R"({"input":[]})", R"({"input":{"s":"\ud83d\ude00"}})",
    "{\"input\":{\"s\":\"caf\xC3\xA9\"}}", R"("{\"input\":{\"a\":5}}")", R"("not json")", "{}",
    "[]", "0", "-", "01", "1.", "1e", "+1", ".5", "tru", "nul", "{", "}", "{\"a\"}", "{\"a\":}",
    "{\"a\":1,}", "[1,]", "{,}", "{\"a\":1 \"b\":2}", R"({"s":"\ud800"})", R"({"s":"\udc00"})",
    R"({"s":"\ud800\u0041"})", R"({"s":"\x"})", R"({"s":"\u12G4"})", "{\"s\":\"tab\there\"}",
    "{\"s\":\"\xC3\"}", "{\"s\":\"\xED\xA0\x80\"}", "{\"s\":\"\xF4\x90\x80\x80\"}",
    "{\"s\":\"\xC0\xAF\"}", std::string("{\"a\":1}\0", 8), "{\"a\":1} x", "\xEF\xBB{}", R"({"input":1e999,"parents":[]})",
    R"({"x":-1E+400})", R"({"input":{"small":1e-400,"big":1e308}})",
    R"({"input":{"i":-0,"f":-0.0,"u":18446744073709551615,"o":18446744073709551616,"n":-9223372036854775808,"m":-9223372036854775809,"e":1E2,"z":0.5e-3}})",
    R"({"input":{"esc":"a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\u20ac\ud83d\ude00 end","k\"q":1,"dup":1,"dup":[2,{"dup":3}]}})",
    R"({"input":{"long":")" + std::string(70000, 'x') + R"(","mixed":")" + std::string(3000, 'y') + R"(\n)" + std::string(3000, 'z') + R"("}})",
    R"({"input":[[],{},[{}],{"a":[]},"",0,[1,[2,[3]]]],"parents":{"t":{"out":[true,false,null]}}})",
    "{\"x\":1" + std::string(400, '0') + "}",
    "[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]", "{\"input\":{\"deep\":" + std::string(2000, '[')
                                                    + std::string(2000, ']') + "}}"};
  for (const auto& text : corpus)
    check_agrees_with_tree(text);
  // Every one-byte change of a realistic payload: replaced by each of a few bytes that matter to
  // the grammar, or deleted.
  const std::string base
    = R"({"input":{"n":[1,-2.5e3,true,false,null],"s":"a\"b\u00e9"},"parents":{"t":{"o":{}}},"x":[]})";
  const char replacements[] = "{}[]\":,\\ 0-e.tn\x01\xC3\xFF\0"; // the last one a NUL
  const std::string bytes(replacements, sizeof replacements - 1);
  for (size_t i = 0; i < base.size(); ++i) {
    std::string removed = base;
    removed.erase(i, 1);
    check_agrees_with_tree(removed);
    for (char b : bytes) {
      std::string changed = base;
      changed[i] = b;
      check_agrees_with_tree(changed);
    }
  }
}

// A task's output is written by dump_json, which copies string runs whole: it must write exactly
// what nlohmann's dump(-1, ' ', false, replace) writes, invalid UTF-8 included.
BOOST_AUTO_TEST_CASE(dump_json_writes_what_nlohmann_writes) {
  using nlohmann::json;
  std::vector<json> trees = {
    json::object(), json::array(), json(nullptr), json(true), json(false), json(0), json(-0.0),
    json(1.0), json(0.1), json(1e300), json(-1e-300), json(std::numeric_limits<double>::quiet_NaN()),
    json(std::numeric_limits<double>::infinity()), json(std::numeric_limits<std::int64_t>::min()),
    json(std::numeric_limits<std::uint64_t>::max()), json("plain"), json(std::string(70000, 'x')),
    json(std::string("quote\" backslash\\ slash/ \b\f\n\r\t \x01\x1f\x7f end")),
    json(std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")),
    json(std::string("bad \xC3 lone")), json(std::string("\xFF\xFE")), json(std::string("\xED\xA0\x80")),
    json(std::string("over\xC0\xAFlong")), json(std::string("cut \xF0\x9F\x98")),
    json(std::string("\0nul\0", 5)),
    json::parse(R"({"b":[1,2.5,{"c":null}],"a":"x","k\"q":{"":[]},"n":-7,"u":18446744073709551615})"),
    json::binary({1, 2, 3})};
  json with_bad_key = json::object();
  with_bad_key[std::string("key \xC3")] = std::string("value \xFF");
  trees.push_back(with_bad_key);
  std::string all_bytes;
  for (int c = 0; c < 256; ++c)
    all_bytes += static_cast<char>(c);
  trees.push_back(json(all_bytes));
  trees.push_back(json::array({json(all_bytes), json::object({{all_bytes, all_bytes}})}));
  for (const auto& j : trees) {
    auto expected = j.dump(-1, ' ', false, json::error_handler_t::replace);
    BOOST_TEST_CONTEXT("expected " << expected.substr(0, 200)) {
      BOOST_TEST(hatchet::detail::dump_json(j) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(json_scan_lists_top_level_members_only) {
  struct sink final : hatchet::detail::json_member_sink {
    std::vector<std::string> seen;
    void member(std::string_view key, bool escaped, std::string_view value) override {
      seen.push_back(std::string{key} + (escaped ? "(escaped)" : "") + "=" + std::string{value});
    }
  } s;
  auto r = hatchet::detail::scan_json(R"( { "a" : {"b":1, "c":[{"d":2}]} , "e\n":"x" , "f":[] } )", &s);
  BOOST_TEST(r.ok);
  BOOST_TEST((r.kind == hatchet::detail::json_kind::object));
  BOOST_TEST(s.seen == (std::vector<std::string>{R"(a={"b":1, "c":[{"d":2}]})", R"(e\n(escaped)="x")",
                                                   "f=[]"}),
             boost::test_tools::per_element());
  auto bad = hatchet::detail::scan_json("{\"a\":[1,2}");
  BOOST_TEST(!bad.ok);
  BOOST_TEST(bad.error == "expected ',' or ']' at byte 9");
}

BOOST_AUTO_TEST_CASE(typed_task_completes_with_json_output) {
  auto out = run("add", R"({"input":{"a":2,"b":3}})");
  BOOST_TEST((out.kind == hatchet::msg::task_outcome::completed));
  BOOST_TEST(nlohmann::json::parse(out.payload) == nlohmann::json({{"sum", 5}}));
  BOOST_TEST(out.run->key == "0b6a1a35-4d49-4f43-8a4b-0e1ad1e4c001/2");
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
  // Metadata that is not a JSON object is ignored: the task sees {}.
  for (const char* bad : {"[1]", "not json", "{\"a\":", "\"text\"", "{}"}) {
    a.action.additional_metadata = bad;
    auto o = hatchet::detail::execute(a, std::stop_token{});
    BOOST_REQUIRE((o.kind == hatchet::msg::task_outcome::completed));
    BOOST_TEST(nlohmann::json::parse(o.payload)["meta"] == nlohmann::json::object(), bad);
  }
}

BOOST_AUTO_TEST_CASE(error_type_escapes_colon_space) {
  auto text = hatchet::detail::format_error("a: b", "m", "id");
  BOOST_TEST(text.rfind("a:::b: m\n", 0) == 0, text);
}
