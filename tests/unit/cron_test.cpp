// The dev engine's cron expressions: robfig/cron v3's grammar (SecondOptional, descriptors), as
// the real engine's ticker parses them through gocron, and the next firing time in UTC.
#define BOOST_TEST_MODULE cron
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "engine/cron.hpp"

using hatchet::engine::cron_schedule;
using hatchet::engine::passes_registration_check;
using namespace std::chrono;

namespace {

sys_seconds at(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0, unsigned s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

/// The next firing of `expr` after `from`; fails the test if it does not parse.
sys_seconds next(const std::string& expr, sys_seconds from) {
  std::string error;
  auto s = cron_schedule::parse(expr, error);
  BOOST_REQUIRE_MESSAGE(s, expr << ": " << error);
  auto n = s->next(from);
  BOOST_REQUIRE_MESSAGE(n, expr << " never fires");
  return *n;
}

std::string refusal(const std::string& expr) {
  std::string error;
  auto s = cron_schedule::parse(expr, error);
  BOOST_CHECK_MESSAGE(!s, expr << " should not parse");
  return error;
}

} // namespace

BOOST_AUTO_TEST_CASE(five_fields_fire_on_the_minute_and_six_take_a_leading_second) {
  auto t = at(2024, 5, 1, 12, 0, 30);
  BOOST_CHECK(next("* * * * *", t) == at(2024, 5, 1, 12, 1, 0));
  BOOST_CHECK(next("* * * * * *", t) == at(2024, 5, 1, 12, 0, 31));
  BOOST_CHECK(next("*/15 * * * * *", t) == at(2024, 5, 1, 12, 0, 45));
  BOOST_CHECK(next("5 * * * *", t) == at(2024, 5, 1, 12, 5, 0));
  BOOST_CHECK(next("0 5 * * * *", t) == at(2024, 5, 1, 12, 5, 0));
  // Strictly after: a time that matches gives the next one.
  BOOST_CHECK(next("0 12 * * *", at(2024, 5, 1, 12, 0, 0)) == at(2024, 5, 2, 12, 0, 0));
}

BOOST_AUTO_TEST_CASE(ranges_lists_steps_and_names_as_robfig_reads_them) {
  auto t = at(2024, 1, 1); // a Monday
  BOOST_CHECK(next("0 9-17/4 * * *", t) == at(2024, 1, 1, 9));
  BOOST_CHECK(next("0 9-17/4 * * *", at(2024, 1, 1, 13)) == at(2024, 1, 1, 17));
  BOOST_CHECK(next("30 7,19 * * *", at(2024, 1, 1, 8)) == at(2024, 1, 1, 19, 30));
  BOOST_CHECK(next("0 0 * * SAT", t) == at(2024, 1, 6));
  BOOST_CHECK(next("0 0 * * sun", t) == at(2024, 1, 7));
  BOOST_CHECK(next("0 0 1 jun *", t) == at(2024, 6, 1));
  BOOST_CHECK(next("0 0 1 MAR-MAY *", t) == at(2024, 3, 1));
  // "v/step" runs from v to the end of the range.
  BOOST_CHECK(next("50/5 * * * * *", at(2024, 1, 1, 0, 0, 56)) == at(2024, 1, 1, 0, 1, 50));
  BOOST_CHECK(next("? * * * *", t) == at(2024, 1, 1, 0, 1));
}

BOOST_AUTO_TEST_CASE(day_of_month_and_day_of_week_combine_as_in_robfig) {
  // Both restricted: either may match (the 13th, or any Friday).
  BOOST_CHECK(next("0 0 13 * 5", at(2024, 1, 1)) == at(2024, 1, 5));
  BOOST_CHECK(next("0 0 13 * 5", at(2024, 1, 12, 1)) == at(2024, 1, 13));
  // One of them *: both must match (the 13th that is a Friday).
  BOOST_CHECK(next("0 0 13 * *", at(2024, 1, 1)) == at(2024, 1, 13));
  BOOST_CHECK(next("0 0 * * 5", at(2024, 1, 1)) == at(2024, 1, 5));
  // Leap days, month ends and a year wrap.
  BOOST_CHECK(next("0 0 29 2 *", at(2023, 3, 1)) == at(2024, 2, 29));
  BOOST_CHECK(next("0 0 31 * *", at(2024, 4, 1)) == at(2024, 5, 31));
  BOOST_CHECK(next("59 23 31 12 *", at(2024, 12, 31, 23, 59)) == at(2025, 12, 31, 23, 59));
}

BOOST_AUTO_TEST_CASE(descriptors_every_and_a_utc_time_zone) {
  auto t = at(2024, 5, 17, 10, 20, 30);
  BOOST_CHECK(next("@hourly", t) == at(2024, 5, 17, 11));
  BOOST_CHECK(next("@daily", t) == at(2024, 5, 18));
  BOOST_CHECK(next("@midnight", t) == at(2024, 5, 18));
  BOOST_CHECK(next("@weekly", t) == at(2024, 5, 19)); // Sunday
  BOOST_CHECK(next("@monthly", t) == at(2024, 6, 1));
  BOOST_CHECK(next("@yearly", t) == at(2025, 1, 1));
  BOOST_CHECK(next("@annually", t) == at(2025, 1, 1));
  BOOST_CHECK(next("@every 1m30s", t) == t + seconds{90});
  BOOST_CHECK(next("@every 500ms", t) == t + seconds{1}); // at least a second
  BOOST_CHECK(next("CRON_TZ=UTC 0 12 * * *", t) == at(2024, 5, 17, 12));
  BOOST_CHECK(next("TZ=Etc/UTC 0 12 * * *", t) == at(2024, 5, 17, 12));
}

BOOST_AUTO_TEST_CASE(malformed_expressions_are_refused_with_the_reason) {
  BOOST_CHECK_EQUAL(refusal(""), "the expression is empty");
  BOOST_CHECK(refusal("* * * *").find("expected 5 fields") != std::string::npos);
  BOOST_CHECK(refusal("* * * * * * *").find("got 7") != std::string::npos);
  BOOST_CHECK_EQUAL(refusal("0 24 * * *"),
                    "field 'hour': 24 is beyond the end of its range 0-23");
  BOOST_CHECK_EQUAL(refusal("60 * * * *"),
                    "field 'minute': 60 is beyond the end of its range 0-59");
  BOOST_CHECK_EQUAL(refusal("0 0 0 * *"),
                    "field 'day of month': 0 is before the start of its range 1-31");
  BOOST_CHECK_EQUAL(refusal("0 0 * * 7"),
                    "field 'day of week': 7 is beyond the end of its range 0-6");
  BOOST_CHECK(refusal("0 0 * 13 *").find("month") != std::string::npos);
  BOOST_CHECK(refusal("*/0 * * * *").find("must be positive") != std::string::npos);
  BOOST_CHECK(refusal("5-1 * * * *").find("begins after it ends") != std::string::npos);
  BOOST_CHECK(refusal("a * * * *").find("is not a number") != std::string::npos);
  BOOST_CHECK(refusal("-1 * * * *").find("is not a number") != std::string::npos);
  BOOST_CHECK(refusal("1/2/3 * * * *").find("too many slashes") != std::string::npos);
  BOOST_CHECK(refusal("@often").find("unknown descriptor") != std::string::npos);
  BOOST_CHECK(refusal("@every").find("one duration") != std::string::npos);
  BOOST_CHECK(refusal("@every soon").find("Go duration") != std::string::npos);
  BOOST_CHECK(refusal("CRON_TZ=Europe/Paris 0 12 * * *").find("UTC only") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_expression_that_never_fires_has_no_next_time) {
  std::string error;
  auto s = cron_schedule::parse("0 0 30 2 *", error); // February 30th
  BOOST_REQUIRE(s);
  BOOST_CHECK(!s->next(at(2024, 1, 1)));
}

BOOST_AUTO_TEST_CASE(the_registration_check_is_the_real_engines_unanchored_pattern) {
  for (const char* ok : {"* * * * *", "*/5 * * * * *", "0 12 * * 1-5", "@daily", "@every 10s",
                         "0 0 1,15 * *", "CRON_TZ=UTC 0 12 * * *",
                         "61 * * * *", // passes the pattern; only the scheduler refuses it
                         "not a cron but 1 2 3 4 5 inside"})
    BOOST_CHECK_MESSAGE(passes_registration_check(ok), ok);
  for (const char* bad : {"", "tomorrow", "* * * *", "@often", "every day"})
    BOOST_CHECK_MESSAGE(!passes_registration_check(bad), bad);
}
