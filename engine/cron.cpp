// cron: the grammar of robfig/cron v3 (as gocron runs it for the real engine) and its next-time
// search, in UTC. See cron.hpp.

#include "engine/cron.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <vector>

#include "util/go_duration.hpp"
#include "util/quoted.hpp"

namespace hatchet::engine {

namespace {

using namespace std::chrono;

struct field_bounds {
  const char* name;
  unsigned min;
  unsigned max;
  const char* const* names; ///< names[i] stands for min + i; null when the field has none
  size_t name_count;
};

constexpr const char* month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr field_bounds second_field{"second", 0, 59, nullptr, 0};
constexpr field_bounds minute_field{"minute", 0, 59, nullptr, 0};
constexpr field_bounds hour_field{"hour", 0, 23, nullptr, 0};
constexpr field_bounds dom_field{"day of month", 1, 31, nullptr, 0};
constexpr field_bounds month_field{"month", 1, 12, month_names, 12};
constexpr field_bounds dow_field{"day of week", 0, 6, dow_names, 7};

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos)
      return out;
    start = pos + 1;
  }
}

std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
      ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])))
      ++i;
    if (i > start)
      out.push_back(s.substr(start, i - start));
  }
  return out;
}

/// A non-negative decimal number (robfig's mustParseInt refuses signs and anything else).
std::optional<unsigned> number(std::string_view s) {
  if (s.empty() || s.size() > 9)
    return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

std::optional<unsigned> value_of(std::string_view s, const field_bounds& b) {
  if (b.names != nullptr) {
    auto l = lower(s);
    for (size_t i = 0; i < b.name_count; ++i)
      if (l == b.names[i])
        return b.min + static_cast<unsigned>(i);
  }
  return number(s);
}

/// One comma-separated item: its bits, and whether it began with * or ? (robfig's star bit).
bool parse_item(std::string_view item, const field_bounds& b, uint64_t& bits, bool& any,
                std::string& error) {
  auto what = [&](const std::string& text) {
    error = "field " + util::quoted(std::string{b.name}) + ": " + text;
    return false;
  };
  auto range_and_step = split(item, '/');
  if (range_and_step.size() > 2)
    return what("too many slashes in " + util::quoted(std::string{item}));
  auto low_and_high = split(range_and_step[0], '-');
  if (low_and_high.size() > 2)
    return what("too many hyphens in " + util::quoted(std::string{item}));
  unsigned start = 0;
  unsigned end = 0;
  bool star = false;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    if (low_and_high.size() > 1)
      return what(util::quoted(std::string{item}) + " is not a value or a range");
    start = b.min;
    end = b.max;
    star = true;
  } else {
    auto s = value_of(low_and_high[0], b);
    if (!s)
      return what(util::quoted(std::string{low_and_high[0]}) + " is not a number"
                  + (b.names != nullptr ? " or a name" : ""));
    start = end = *s;
    if (low_and_high.size() == 2) {
      auto e = value_of(low_and_high[1], b);
      if (!e)
        return what(util::quoted(std::string{low_and_high[1]}) + " is not a number"
                    + (b.names != nullptr ? " or a name" : ""));
      end = *e;
    }
  }
  unsigned step = 1;
  if (range_and_step.size() == 2) {
    auto st = number(range_and_step[1]);
    if (!st)
      return what("the step " + util::quoted(std::string{range_and_step[1]}) + " is not a number");
    step = *st;
    if (low_and_high.size() == 1 && !star)
      end = b.max; // "v/step": from v to the end of the range
    if (step > 1)
      star = false;
  }
  auto range_text = std::to_string(b.min) + "-" + std::to_string(b.max);
  if (start < b.min)
    return what(std::to_string(start) + " is before the start of its range " + range_text);
  if (end > b.max)
    return what(std::to_string(end) + " is beyond the end of its range " + range_text);
  if (start > end)
    return what("the range " + util::quoted(std::string{item}) + " begins after it ends");
  if (step == 0)
    return what("the step in " + util::quoted(std::string{item}) + " must be positive");
  for (unsigned v = start; v <= end; v += step)
    bits |= uint64_t{1} << v;
  any = any || star;
  return true;
}

bool parse_field(std::string_view text, const field_bounds& b, uint64_t& bits, bool& any,
                 std::string& error) {
  bits = 0;
  any = false;
  for (auto item : split(text, ','))
    if (!parse_item(item, b, bits, any, error))
      return false;
  return true;
}

bool utc_zone(std::string_view zone) {
  return zone == "UTC" || zone == "Etc/UTC" || zone == "GMT" || zone == "Etc/GMT" || zone == "Z";
}

struct civil {
  int year;
  unsigned month; ///< 1..12
  unsigned day;   ///< 1..31
  unsigned hour;
  unsigned minute;
  unsigned second;
};

civil to_civil(sys_seconds t) {
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(hms.hours().count()),
          static_cast<unsigned>(hms.minutes().count()),
          static_cast<unsigned>(hms.seconds().count())};
}

sys_seconds from_civil(const civil& c) {
  sys_days d{year{c.year} / month{c.month} / day{c.day}};
  return d + hours{c.hour} + minutes{c.minute} + seconds{c.second};
}

/// The first day of the month after `c`'s, at midnight.
civil next_month(civil c) {
  if (++c.month > 12) {
    c.month = 1;
    ++c.year;
  }
  return {c.year, c.month, 1, 0, 0, 0};
}

} // namespace

std::optional<cron_schedule> cron_schedule::parse(std::string_view expr, std::string& error) {
  auto text = fields_of(expr);
  if (text.empty()) {
    error = "the expression is empty";
    return std::nullopt;
  }
  // A leading time zone, as robfig takes it; only UTC is known here.
  if (text[0].rfind("CRON_TZ=", 0) == 0 || text[0].rfind("TZ=", 0) == 0) {
    auto zone = text[0].substr(text[0].find('=') + 1);
    if (!utc_zone(zone)) {
      error = "the time zone " + util::quoted(zone)
              + " is not supported by the dev engine (UTC only; crons run in UTC)";
      return std::nullopt;
    }
    text.erase(text.begin());
    if (text.empty()) {
      error = "the expression is empty after its time zone";
      return std::nullopt;
    }
  }
  cron_schedule s;
  if (text[0].size() > 0 && text[0][0] == '@') {
    if (text.size() > 1 && text[0] != "@every") {
      error = "a descriptor such as " + util::quoted(std::string{text[0]})
        + " takes nothing after it";
      return std::nullopt;
    }
    static constexpr std::array<std::pair<const char*, const char*>, 7> descriptors{{
      {"@yearly", "0 0 0 1 1 *"},
      {"@annually", "0 0 0 1 1 *"},
      {"@monthly", "0 0 0 1 * *"},
      {"@weekly", "0 0 0 * * 0"},
      {"@daily", "0 0 0 * * *"},
      {"@midnight", "0 0 0 * * *"},
      {"@hourly", "0 0 * * * *"},
    }};
    for (const auto& [name, spec] : descriptors)
      if (text[0] == name)
        return parse(spec, error);
    if (text[0] == "@every") {
      if (text.size() != 2) {
        error = "@every takes one duration, e.g. '@every 1m30s'";
        return std::nullopt;
      }
      auto d = util::parse_go_duration(text[1]);
      if (!d || d->count() <= 0) {
        error = util::quoted(std::string{text[1]}) + " is not a positive Go duration";
        return std::nullopt;
      }
      // robfig rounds the interval down to whole seconds, at least one.
      s.every_ = std::max(seconds{1}, duration_cast<seconds>(*d));
      return s;
    }
    error = "unknown descriptor " + util::quoted(std::string{text[0]});
    return std::nullopt;
  }
  if (text.size() != 5 && text.size() != 6) {
    error = "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with a "
            "leading second), got "
            + std::to_string(text.size());
    return std::nullopt;
  }
  if (text.size() == 5)
    text.insert(text.begin(), "0");
  uint64_t bits = 0;
  bool any = false;
  if (!parse_field(text[0], second_field, bits, any, error))
    return std::nullopt;
  s.seconds_ = bits;
  if (!parse_field(text[1], minute_field, bits, any, error))
    return std::nullopt;
  s.minutes_ = bits;
  if (!parse_field(text[2], hour_field, bits, any, error))
    return std::nullopt;
  s.hours_ = static_cast<uint32_t>(bits);
  if (!parse_field(text[3], dom_field, bits, s.dom_any_, error))
    return std::nullopt;
  s.days_of_month_ = static_cast<uint32_t>(bits);
  if (!parse_field(text[4], month_field, bits, any, error))
    return std::nullopt;
  s.months_ = static_cast<uint16_t>(bits);
  if (!parse_field(text[5], dow_field, bits, s.dow_any_, error))
    return std::nullopt;
  s.days_of_week_ = static_cast<uint8_t>(bits);
  return s;
}

std::optional<cron_schedule::time_point> cron_schedule::next(time_point after) const {
  if (every_.count() > 0)
    return after + every_;
  auto has = [](uint64_t set, unsigned v) { return (set >> v & 1U) != 0; };
  auto day_matches = [&](const civil& c) {
    bool dom = has(days_of_month_, c.day);
    unsigned wd = weekday{sys_days{year{c.year} / month{c.month} / day{c.day}}}.c_encoding();
    bool dow = has(days_of_week_, wd);
    return dom_any_ || dow_any_ ? dom && dow : dom || dow;
  };
  civil c = to_civil(after + seconds{1});
  const int year_limit = c.year + 5;
  // Each step moves to the start of the next unit that could match; a unit that wraps over
  // starts the search again from the month, as robfig's does.
  while (c.year <= year_limit) {
    if (!has(months_, c.month)) {
      c = next_month(c);
      continue;
    }
    if (!day_matches(c)) {
      auto t = from_civil({c.year, c.month, c.day, 0, 0, 0}) + days{1};
      c = to_civil(t);
      continue;
    }
    if (!has(hours_, c.hour)) {
      c = to_civil(from_civil({c.year, c.month, c.day, c.hour, 0, 0}) + hours{1});
      continue;
    }
    if (!has(minutes_, c.minute)) {
      c = to_civil(from_civil({c.year, c.month, c.day, c.hour, c.minute, 0}) + minutes{1});
      continue;
    }
    if (!has(seconds_, c.second)) {
      c = to_civil(from_civil(c) + seconds{1});
      continue;
    }
    return from_civil(c);
  }
  return std::nullopt;
}

bool passes_registration_check(std::string_view expr) {
  // The real engine's pattern, character for character (Go's RE2 and ECMAScript agree on it).
  static const std::regex pattern{
    R"((@(annually|yearly|monthly|weekly|daily|hourly|reboot))|(@every (\d+(ns|us|µs|ms|s|m|h))+)|((((\d+,)+\d+|(\d+(\/|-)\d+)|\d+|\*) ?){5,7}))"};
  return std::regex_search(expr.begin(), expr.end(), pattern);
}

} // namespace hatchet::engine
