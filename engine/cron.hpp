#pragma once
// Cron expressions as the real engine reads them, and when they fire next.
//
// A real engine schedules crons with gocron v2 (`CronJob(expr, withSeconds=true)`), which parses
// with robfig/cron v3's parser in the mode SecondOptional | Minute | Hour | Dom | Month | Dow |
// Descriptor, in UTC (internal/services/ticker/cron.go, ticker.go). Debian has no C++ cron
// library that fits (apt: only Go and Perl ones), so this is a small one with that grammar:
//
//   [CRON_TZ=UTC ] [sec] min hour dom month dow   5 fields, or 6 with a leading seconds field
//   field   := item ("," item)*
//   item    := ("*" | "?" | value ["-" value]) ["/" step]     "v/step" means v through the max
//   value   := number, or a name in month (JAN..DEC) and dow (SUN..SAT), any case
//   ranges  := sec, min 0-59; hour 0-23; dom 1-31; month 1-12; dow 0-6 (0 = Sunday)
//   @yearly @annually @monthly @weekly @daily @midnight @hourly, and @every <Go duration>
//
// Day matching is robfig's: when dom or dow starts with "*" or "?" (without a step above 1)
// both must match, otherwise either may. Only UTC is offered as a time zone (CRON_TZ= or TZ=
// with UTC, Etc/UTC or GMT): the dev engine keeps no time zone database.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hatchet::engine {

class cron_schedule {
public:
  using time_point = std::chrono::sys_seconds;

  /// The parsed expression, or nullopt with the reason in `error` (e.g. "field 'hour': 24 is
  /// beyond the end of its range 0-23").
  static std::optional<cron_schedule> parse(std::string_view expr, std::string& error);

  /// The first firing time strictly after `after`, in whole seconds, UTC; nullopt when the
  /// expression never fires within five years (e.g. "0 0 30 2 *"), as robfig gives up then.
  std::optional<time_point> next(time_point after) const;

private:
  uint64_t seconds_ = 0;
  uint64_t minutes_ = 0;
  uint32_t hours_ = 0;
  uint32_t days_of_month_ = 0; ///< bits 1..31
  uint16_t months_ = 0;        ///< bits 1..12
  uint8_t days_of_week_ = 0;   ///< bits 0..6
  bool dom_any_ = false;       ///< dom began with * or ?
  bool dow_any_ = false;
  std::chrono::seconds every_{0}; ///< @every: a constant interval instead of fields
};

/// The real engine's check at workflow registration (pkg/validator/validator.go, `CronRegex`,
/// matched unanchored, so any text that merely contains 5 to 7 cron-like tokens passes): what
/// it refuses, PutWorkflow answers INVALID_ARGUMENT "Invalid cron expression".
bool passes_registration_check(std::string_view expr);

} // namespace hatchet::engine
