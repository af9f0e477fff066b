#pragma once
// A worker's log lines: every one starts "worker <name>: ", so that several workers in one
// process (or one log) can be told apart. Made once per worker and handed to the parts that log,
// instead of each passing the name by hand. Writes through spdlog's default logger, so a host's
// sinks and level apply; a line below the level costs one check.

#include <iterator>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace hatchet::detail {

class worker_log {
public:
  explicit worker_log(const std::string& name) : prefix_("worker " + name + ": ") {}

  template <class... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> fmt,
           Args&&... args) const {
    auto* logger = spdlog::default_logger_raw();
    if (!logger->should_log(level))
      return;
    fmt::memory_buffer line;
    line.append(prefix_);
    fmt::format_to(std::back_inserter(line), fmt, std::forward<Args>(args)...);
    logger->log(level, spdlog::string_view_t{line.data(), line.size()});
  }

  template <class... Args>
  void debug(fmt::format_string<Args...> fmt, Args&&... args) const {
    log(spdlog::level::debug, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> fmt, Args&&... args) const {
    log(spdlog::level::info, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> fmt, Args&&... args) const {
    log(spdlog::level::warn, fmt, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> fmt, Args&&... args) const {
    log(spdlog::level::err, fmt, std::forward<Args>(args)...);
  }

private:
  std::string prefix_;
};

} // namespace hatchet::detail
