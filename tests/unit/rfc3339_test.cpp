// engine/rfc3339: the times the dev engine reads over REST and gRPC, refused with a reason when
// its clock cannot hold them or the text is not RFC 3339; and how it writes them.
#define BOOST_TEST_MODULE rfc3339
#include <boost/test/unit_test.hpp>

#include "engine/rfc3339.hpp"

using namespace hatchet::engine;
using namespace std::chrono;

namespace {
int64_t ms_since_epoch(const parsed_time& t) {
  return duration_cast<milliseconds>(t.at->time_since_epoch()).count();
}
} // namespace

BOOST_AUTO_TEST_CASE(utc_offsets_and_fractions_are_read) {
  auto t = parse_rfc3339("2024-05-01T12:00:00.123Z");
  BOOST_REQUIRE(t.at.has_value());
  BOOST_TEST(ms_since_epoch(t) == 1'714'564'800'123);
  auto plus = parse_rfc3339("2024-05-01T14:00:00.123+02:00");
  BOOST_REQUIRE(plus.at.has_value());
  BOOST_TEST(ms_since_epoch(plus) == 1'714'564'800'123);
  auto minus = parse_rfc3339("2024-05-01T00:00:00-23:59");
  BOOST_REQUIRE(minus.at.has_value());
  BOOST_TEST(ms_since_epoch(minus) == 1'714'521'600'000 + (23 * 60 + 59) * 60'000);
}

BOOST_AUTO_TEST_CASE(offsets_beyond_23_59_are_refused) {
  for (const char* text : {"2030-01-01T00:00:00+99:99", "2030-01-01T00:00:00+24:00",
                           "2030-01-01T00:00:00-00:60"}) {
    auto t = parse_rfc3339(text);
    BOOST_TEST(!t.at.has_value(), text);
    BOOST_TEST(t.why.find("offset") != std::string::npos, t.why);
  }
}

BOOST_AUTO_TEST_CASE(times_the_clock_cannot_hold_are_refused_not_wrapped) {
  for (const char* text : {"9999-12-31T00:00:00Z", "2262-04-12T00:00:00Z", "1677-09-20T00:00:00Z",
                           "0001-01-01T00:00:00Z"}) {
    auto t = parse_rfc3339(text);
    BOOST_TEST(!t.at.has_value(), text);
    BOOST_TEST(t.why.find("outside") != std::string::npos, t.why);
  }
  BOOST_TEST(parse_rfc3339("2262-04-10T23:59:59Z").at.has_value());
  BOOST_TEST(parse_rfc3339("1677-09-22T00:00:00Z").at.has_value());
  BOOST_TEST(!from_timestamp(253'402'214'400, 0).at.has_value()); // 9999-12-31
  BOOST_TEST(!from_timestamp(0, -1).at.has_value());
  BOOST_TEST(!from_timestamp(0, 1'000'000'000).at.has_value());
  BOOST_TEST(from_timestamp(-1, 500'000'000).at.has_value());
}

BOOST_AUTO_TEST_CASE(malformed_texts_and_impossible_days_are_refused) {
  for (const char* text : {"", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00",
                           "2024-05-01T12:00:00.Z", "2024-5-01T12:00:00Z", "2024-05-01T12:00:00Zx",
                           "2024-05-01T12:00:00+0200", "-024-05-01T12:00:00Z"})
    BOOST_TEST(!parse_rfc3339(text).at.has_value(), text);
  auto says = [](const char* text, const std::string& words) {
    return parse_rfc3339(text).why.find(words) != std::string::npos;
  };
  BOOST_TEST(says("2023-02-29T00:00:00Z", "no day 2023-02-29"));
  BOOST_TEST(parse_rfc3339("2024-02-29T00:00:00Z").at.has_value());
  BOOST_TEST(says("2024-05-01T24:00:00Z", "not a time of day"));
  BOOST_TEST(says("2016-12-31T23:59:60Z", "not a time of day")); // as Go's parser
}

BOOST_AUTO_TEST_CASE(times_are_written_in_utc_with_milliseconds_also_before_1970) {
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2024-05-01T14:00:00.123+02:00").at)
             == "2024-05-01T12:00:00.123Z");
  BOOST_TEST(format_rfc3339(*parse_rfc3339("1969-12-31T23:59:59.500Z").at)
             == "1969-12-31T23:59:59.500Z");
  BOOST_TEST(format_rfc3339(*from_timestamp(-1, 1'000'000).at) == "1969-12-31T23:59:59.001Z");
}
