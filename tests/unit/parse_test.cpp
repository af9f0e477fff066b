#define BOOST_TEST_MODULE parse
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <hatchet/errors.hpp>
#include <hatchet/input.hpp>
#include <hatchet/workflow.hpp>

#include "core/parse.hpp"

using hatchet::detail::error_text;
using hatchet::detail::parse_seconds;
using hatchet::detail::parse_whole;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// The message of a failed parse, or "" when it succeeded. Checks the error's code too.
template <class T>
std::string failure_of(const caf::expected<T>& r) {
  if (r)
    return {};
  BOOST_TEST(r.error().category() == hatchet::errc_category::value);
  BOOST_TEST(r.error().code() == static_cast<uint8_t>(hatchet::errc::invalid_config));
  return error_text(r.error());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

// ---- flags and environment values ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(whole_numbers_must_be_the_whole_text) {
  // Each of these std::stoi read as a number (1e9 as 1, 3x as 3, " 5" as 5).
  for (std::string bad : {"1e9", "3x", " 5", "5 ", "", "+5", "0x10", "1.5", "-", "5-", "1,000",
                          "١"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      auto r = parse_whole<int>("--slots", bad, 1);
      BOOST_TEST(!r);
      BOOST_TEST(failure_of(r) == "--slots: '" + bad + "' is not a whole number");
    }
  }
}

BOOST_AUTO_TEST_CASE(whole_numbers_outside_the_range_name_the_bound) {
  BOOST_TEST(failure_of(parse_whole<int>("--slots", "0", 1)) == "--slots: '0' is too small (at least 1)");
  BOOST_TEST(failure_of(parse_whole<int>("--slots", "-3", 1)) == "--slots: '-3' is too small (at least 1)");
  BOOST_TEST(failure_of(parse_whole<int>("--slots", "99999999999", 1))
             == "--slots: '99999999999' is too large (at most 2147483647)");
  BOOST_TEST(failure_of(parse_whole<int>("N", "-99999999999"))
             == "N: '-99999999999' is too small (at least -2147483648)");
  BOOST_TEST(failure_of(parse_whole<uint16_t>("--port", "70000"))
             == "--port: '70000' is too large (at most 65535)");
  BOOST_TEST(failure_of(parse_whole<uint16_t>("--port", "-1")) == "--port: '-1' is too small (at least 0)");
  BOOST_TEST(failure_of(parse_whole<int64_t>("--setup-delay-ms", "3600001", 0, 3'600'000))
             == "--setup-delay-ms: '3600001' is too large (at most 3600000)");
}

BOOST_AUTO_TEST_CASE(good_whole_numbers_are_read) {
  BOOST_TEST(*parse_whole<int>("--slots", "100", 1) == 100);
  BOOST_TEST(*parse_whole<int>("--count", "30", 1) == 30);
  BOOST_TEST(*parse_whole<int>("--slots", "2147483647", 1) == 2147483647);
  BOOST_TEST(*parse_whole<int>("N", "-2147483648") == -2147483648LL);
  BOOST_TEST(*parse_whole<int>("N", "007") == 7);
  BOOST_TEST(*parse_whole<uint16_t>("--port", "0") == 0);
  BOOST_TEST(*parse_whole<uint16_t>("--port", "-0") == 0);
  BOOST_TEST(*parse_whole<uint16_t>("--port", "65535") == 65535);
  BOOST_TEST(*parse_whole<std::size_t>("--max-finished-runs", "1000000000000", 1, 1'000'000'000'000)
             == 1'000'000'000'000ULL);
}

BOOST_AUTO_TEST_CASE(seconds_must_be_a_finite_non_negative_decimal) {
  const std::string not_seconds = "' is not a number of seconds (write a decimal such as 30 or 0.5)";
  // std::stod read all of these as numbers: inf, nan and 1e300 then failed validation as
  // "negative" after the conversion to milliseconds overflowed.
  for (std::string bad : {"inf", "nan", "1e300", "1e3", "infinity", "-inf", "0x1p3", "", ".", " 1",
                          "1 ", "30s", "+1", "1.2.3", "1,5", "--1"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      BOOST_TEST(failure_of(parse_seconds("--drain-timeout", bad))
                 == "--drain-timeout: '" + bad + not_seconds);
    }
  }
  BOOST_TEST(failure_of(parse_seconds("--drain-timeout", "-1"))
             == "--drain-timeout: '-1' must not be negative");
  BOOST_TEST(failure_of(parse_seconds("--drain-timeout", "-0.5"))
             == "--drain-timeout: '-0.5' must not be negative");
  BOOST_TEST(failure_of(parse_seconds("--cleanup-timeout", "10000000.001"))
             == "--cleanup-timeout: '10000000.001' is too large (at most 10000000 seconds)");
  BOOST_TEST(failure_of(parse_seconds("--cleanup-timeout", "99999999999999999999999"))
             == "--cleanup-timeout: '99999999999999999999999' is too large (at most 10000000 seconds)");
  BOOST_TEST(failure_of(parse_seconds("--timeout", "11", 10)) == "--timeout: '11' is too large (at most 10 seconds)");
}

BOOST_AUTO_TEST_CASE(good_seconds_are_read_to_the_millisecond) {
  BOOST_TEST((*parse_seconds("S", "0.5") == 500ms));
  BOOST_TEST((*parse_seconds("S", "30") == 30s));
  BOOST_TEST((*parse_seconds("S", "0") == 0ms));
  BOOST_TEST((*parse_seconds("S", ".25") == 250ms));
  BOOST_TEST((*parse_seconds("S", "2.") == 2s));
  BOOST_TEST((*parse_seconds("S", "1.2345") == 1234ms)); // below the millisecond: dropped
  BOOST_TEST((*parse_seconds("S", "10000000") == std::chrono::seconds{10'000'000}));
  BOOST_TEST((*parse_seconds("S", "10000000.000") == std::chrono::seconds{10'000'000}));
}

// ---- task inputs -----------------------------------------------------------------------------

namespace {

struct sleep_input {
  int ms = 0;
};
HATCHET_DEFINE_INPUT_WITH_DEFAULT(sleep_input, ms)

struct required_input {
  int n = 0;
  std::string label;
};
HATCHET_DEFINE_INPUT(required_input, n, label)

struct wide_input {
  unsigned u = 0;
  int64_t i64 = 0;
  uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  bool flag = false;
};
HATCHET_DEFINE_INPUT_WITH_DEFAULT(wide_input, u, i64, u64, f, d, flag)

struct outer_input {
  sleep_input inner;
  std::vector<int> ids;
  std::optional<int> limit;
};
HATCHET_DEFINE_INPUT_WITH_DEFAULT(outer_input, inner, ids, limit)

/// The message of the input_error decoding `text` as In in task "sleep" throws; "" if it decodes.
template <class In>
std::string decode_error(const std::string& text) {
  try {
    hatchet::detail::decode_input<In>(json::parse(text), "sleep");
    return {};
  } catch (const hatchet::input_error& e) {
    return e.what();
  }
}

template <class In>
In decoded(const std::string& text) {
  return hatchet::detail::decode_input<In>(json::parse(text), "sleep");
}

} // namespace

BOOST_AUTO_TEST_CASE(an_int_that_does_not_fit_fails_the_input_naming_the_field_and_value) {
  // nlohmann's get<int> would give -2147483648 and 1000.
  auto e = decode_error<sleep_input>(R"({"ms":1e12})");
  BOOST_TEST(contains(e, "task 'sleep'"), e);
  BOOST_TEST(contains(e, "input field 'ms': 1000000000000.0 is out of range for this field "
                         "(-2147483648..2147483647)"), e);
  e = decode_error<sleep_input>(R"({"ms":4294968296})");
  BOOST_TEST(contains(e, "input field 'ms': 4294968296 is out of range"), e);
  e = decode_error<sleep_input>(R"({"ms":2147483648})");
  BOOST_TEST(contains(e, "input field 'ms': 2147483648 is out of range"), e);
  e = decode_error<sleep_input>(R"({"ms":-2147483649})");
  BOOST_TEST(contains(e, "input field 'ms': -2147483649 is out of range"), e);
  e = decode_error<sleep_input>(R"({"ms":3.5})");
  BOOST_TEST(contains(e, "input field 'ms': 3.5 is not a whole number"), e);
  e = decode_error<sleep_input>(R"({"ms":true})");
  BOOST_TEST(contains(e, "input field 'ms': type must be number, but is boolean: true"), e);
  e = decode_error<sleep_input>(R"({"ms":"soon"})");
  BOOST_TEST(contains(e, "input field 'ms': type must be number, but is string: \"soon\""), e);
  e = decode_error<sleep_input>(R"([1])");
  BOOST_TEST(contains(e, "input: type must be object, but is array: [1]"), e);
}

BOOST_AUTO_TEST_CASE(an_int_that_fits_decodes) {
  BOOST_TEST(decoded<sleep_input>(R"({"ms":1000})").ms == 1000);
  BOOST_TEST(decoded<sleep_input>(R"({"ms":2147483647})").ms == 2147483647);
  BOOST_TEST(decoded<sleep_input>(R"({"ms":-2147483648})").ms == -2147483648LL);
  BOOST_TEST(decoded<sleep_input>(R"({"ms":3.0})").ms == 3); // a whole value, however written
  BOOST_TEST(decoded<sleep_input>(R"({"ms":1e3})").ms == 1000);
  BOOST_TEST(decoded<sleep_input>(R"({})").ms == 0); // _WITH_DEFAULT: missing keeps the default
  BOOST_TEST(decoded<sleep_input>(R"({"ms":5,"other":"ignored"})").ms == 5);
}

BOOST_AUTO_TEST_CASE(required_fields_must_be_present) {
  auto e = decode_error<required_input>(R"({"label":"x"})");
  BOOST_TEST(contains(e, "input field 'n': required, but missing"), e);
  e = decode_error<required_input>(R"({"n":1,"label":7})");
  BOOST_TEST(contains(e, "input field 'label': [json.exception.type_error.302] type must be string"), e);
  auto ok = decoded<required_input>(R"({"n":1,"label":"x"})");
  BOOST_TEST(ok.n == 1);
  BOOST_TEST(ok.label == "x");
}

BOOST_AUTO_TEST_CASE(every_integer_width_is_checked_at_its_own_bounds) {
  BOOST_TEST(contains(decode_error<wide_input>(R"({"u":-1})"), "'u': -1 is out of range"));
  BOOST_TEST(decoded<wide_input>(R"({"u":4294967295})").u == 4294967295u);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"u":4294967296})"), "'u': 4294967296 is out of range"));
  BOOST_TEST(decoded<wide_input>(R"({"i64":9223372036854775807})").i64 == INT64_MAX);
  BOOST_TEST(decoded<wide_input>(R"({"i64":-9223372036854775808})").i64 == INT64_MIN);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"i64":9223372036854775808})"), "'i64'"));
  // 2^63 as a double: exactly one past the largest int64.
  BOOST_TEST(contains(decode_error<wide_input>(R"({"i64":9.223372036854775808e18})"), "'i64'"));
  BOOST_TEST(decoded<wide_input>(R"({"u64":18446744073709551615})").u64 == UINT64_MAX);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"u64":1.8446744073709551616e19})"), "'u64'"));
  BOOST_TEST(contains(decode_error<wide_input>(R"({"u64":-1})"), "'u64': -1 is out of range"));
}

BOOST_AUTO_TEST_CASE(floating_point_and_boolean_fields_are_checked) {
  BOOST_TEST(decoded<wide_input>(R"({"f":1.5})").f == 1.5f);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"f":1e300})"), "'f': 1e+300 is out of range"));
  BOOST_TEST(decoded<wide_input>(R"({"d":1e300})").d == 1e300);
  BOOST_TEST(decoded<wide_input>(R"({"d":2})").d == 2.0);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"d":"2"})"), "'d': type must be number, but is string"));
  BOOST_TEST(decoded<wide_input>(R"({"flag":true})").flag);
  BOOST_TEST(contains(decode_error<wide_input>(R"({"flag":1})"), "'flag': type must be boolean, but is number: 1"));
}

BOOST_AUTO_TEST_CASE(nested_vector_and_optional_fields_name_their_path) {
  auto e = decode_error<outer_input>(R"({"inner":{"ms":1e12}})");
  BOOST_TEST(contains(e, "input field 'inner.ms': 1000000000000.0 is out of range"), e);
  e = decode_error<outer_input>(R"({"inner":5})");
  BOOST_TEST(contains(e, "input field 'inner': type must be object, but is number: 5"), e);
  e = decode_error<outer_input>(R"({"ids":[1,2,4294968296]})");
  BOOST_TEST(contains(e, "input field 'ids[2]': 4294968296 is out of range"), e);
  e = decode_error<outer_input>(R"({"ids":{}})");
  BOOST_TEST(contains(e, "input field 'ids': type must be array"), e);
  e = decode_error<outer_input>(R"({"limit":1e12})");
  BOOST_TEST(contains(e, "input field 'limit': 1000000000000.0 is out of range"), e);
  auto ok = decoded<outer_input>(R"({"inner":{"ms":7},"ids":[1,2],"limit":null})");
  BOOST_TEST(ok.inner.ms == 7);
  BOOST_TEST((ok.ids == std::vector<int>{1, 2}));
  BOOST_TEST(!ok.limit);
  BOOST_TEST(*decoded<outer_input>(R"({"limit":3})").limit == 3);
  BOOST_TEST(!decoded<outer_input>(R"({})").limit);
}

BOOST_AUTO_TEST_CASE(declared_inputs_encode_as_nlohmann_does_with_optional_as_null) {
  outer_input in;
  in.inner.ms = 5;
  in.ids = {1, 2};
  BOOST_TEST(json(in).dump() == R"({"ids":[1,2],"inner":{"ms":5},"limit":null})");
  in.limit = 9;
  BOOST_TEST(json(in).dump() == R"({"ids":[1,2],"inner":{"ms":5},"limit":9})");
  BOOST_TEST((json(in).get<outer_input>().limit == 9));
}

BOOST_AUTO_TEST_CASE(read_field_serves_a_hand_written_from_json) {
  int ms = 42;
  hatchet::read_field(json::parse(R"({"other":1})"), "ms", ms, false);
  BOOST_TEST(ms == 42);
  BOOST_CHECK_EXCEPTION(hatchet::read_field(json::parse(R"({"ms":1e12})"), "ms", ms),
                        hatchet::input_field_error, [](const hatchet::input_field_error& e) {
                          return e.path() == "ms" && contains(e.reason(), "1000000000000.0");
                        });
  hatchet::read_field(json::parse(R"({"ms":12})"), "ms", ms);
  BOOST_TEST(ms == 12);
}
