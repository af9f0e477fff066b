#include "util/utc_time.hpp"

#include <cstdio>
#include <ctime>

namespace hatchet::util {

std::string utc_seconds_text(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[64];
  if (::gmtime_r(&t, &tm) == nullptr || tm.tm_year > 9999 - 1900 || tm.tm_year < -1900
      || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return "unix time " + std::to_string(unix_seconds);
  return buf;
}

std::string utc_millis_text(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(tp.time_since_epoch());
  auto secs = floor<seconds>(ms);
  auto text = utc_seconds_text(secs.count()); // "...Z"
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>((ms - secs).count()));
  text.pop_back();
  return text + frac;
}

} // namespace hatchet::util
