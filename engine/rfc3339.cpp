#include "engine/rfc3339.hpp"

#include "util/utc_time.hpp"

#include <cctype>
#include <type_traits>

namespace hatchet::engine {

namespace {

using std::chrono::system_clock;
using std::chrono::duration_cast;

// The range and the message below assume libstdc++'s clock: nanoseconds in 64 bits.
static_assert(std::is_same_v<system_clock::duration, std::chrono::nanoseconds>);

// The whole seconds the clock holds, kept one second inside its ends.
constexpr int64_t first_second =
  duration_cast<std::chrono::seconds>(system_clock::time_point::min().time_since_epoch()).count()
  + 1;
constexpr int64_t last_second =
  duration_cast<std::chrono::seconds>(system_clock::time_point::max().time_since_epoch()).count()
  - 1;

constexpr const char* out_of_range =
  "is outside the times the dev engine can hold (1677-09-21T00:12:45Z to 2262-04-11T23:47:15Z; "
  "a real engine takes years up to 9999). For a run that should never happen, delete the "
  "schedule instead";

bool digits(std::string_view text, size_t at, size_t n) {
  if (at + n > text.size())
    return false;
  for (size_t i = at; i < at + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(text[i])))
      return false;
  return true;
}

int number(std::string_view text, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i)
    v = v * 10 + (text[i] - '0');
  return v;
}

parsed_time refuse(std::string why) { return {std::nullopt, std::move(why)}; }

parsed_time at_second(int64_t secs, std::chrono::nanoseconds frac) {
  if (secs < first_second || secs > last_second)
    return refuse(out_of_range);
  return {system_clock::time_point{std::chrono::duration_cast<system_clock::duration>(
            std::chrono::seconds{secs} + frac)},
          {}};
}

} // namespace

parsed_time parse_rfc3339(std::string_view text) {
  constexpr const char* malformed =
    "is not an RFC 3339 time (such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00)";
  // date-time = full-date "T" partial-time time-offset, every field of fixed width.
  if (text.size() < 20 || !digits(text, 0, 4) || text[4] != '-' || !digits(text, 5, 2)
      || text[7] != '-' || !digits(text, 8, 2) || (text[10] != 'T' && text[10] != 't')
      || !digits(text, 11, 2) || text[13] != ':' || !digits(text, 14, 2) || text[16] != ':'
      || !digits(text, 17, 2))
    return refuse(malformed);
  using namespace std::chrono;
  int y = number(text, 0, 4), mo = number(text, 5, 2), d = number(text, 8, 2);
  int h = number(text, 11, 2), mi = number(text, 14, 2), sec = number(text, 17, 2);
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return refuse("is not an RFC 3339 time: there is no day " + std::string(text.substr(0, 10)));
  if (h > 23 || mi > 59 || sec > 59) // Go's parser, the real engine's, refuses a leap second
    return refuse("is not an RFC 3339 time: " + std::string(text.substr(11, 8))
                  + " is not a time of day");
  size_t i = 19;
  nanoseconds frac{0};
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits(text, i, 1))
      return refuse(malformed);
    int64_t scale = 100'000'000;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      frac += nanoseconds{(text[i] - '0') * scale};
      scale /= 10;
    }
  }
  int offset_minutes = 0;
  if (i + 1 == text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i + 6 == text.size() && (text[i] == '+' || text[i] == '-') && digits(text, i + 1, 2)
             && text[i + 3] == ':' && digits(text, i + 4, 2)) {
    int oh = number(text, i + 1, 2), om = number(text, i + 4, 2);
    if (oh > 23 || om > 59)
      return refuse("has the offset " + std::string(text.substr(i)) + ", outside -23:59 to +23:59");
    offset_minutes = (text[i] == '-' ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else {
    return refuse(malformed);
  }
  int64_t days = sys_days{ymd}.time_since_epoch().count();
  int64_t secs = days * 86'400 + int64_t{h} * 3600 + int64_t{mi} * 60 + sec
                 - int64_t{offset_minutes} * 60;
  return at_second(secs, frac);
}

parsed_time from_timestamp(int64_t seconds, int32_t nanos) {
  if (nanos < 0 || nanos > 999'999'999)
    return refuse("has nanos " + std::to_string(nanos) + ", outside 0 to 999999999");
  return at_second(seconds, std::chrono::nanoseconds{nanos});
}

std::string format_rfc3339(std::chrono::system_clock::time_point tp) {
  return util::utc_millis_text(tp);
}

} // namespace hatchet::engine
