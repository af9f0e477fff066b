#pragma once
// For the bundled programs only: ending the process on a bad command line is the program's
// decision, never the library's.

#include <cstdlib>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "core/parse.hpp"

namespace hatchet::apps {

/// The exit code of every bundled program for a bad command line.
inline constexpr int usage_exit = 2;

/// Prints "<program>: <message> (see <program> --help)" and returns usage_exit.
inline int usage_error(const char* program, const std::string& message) {
  std::cerr << program << ": " << message << " (see " << program << " --help)\n";
  return usage_exit;
}

/// Parses the command line with CLI11 in the programs' one style: --help prints the help and
/// answers 0; a bad command line prints what is wrong and answers usage_exit; a good one answers
/// -1 (go on).
inline int parse_command_line(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    return usage_error(program, e.what());
  }
  return -1;
}

/// A command-line value, or its error printed as "<program>: <message>" and the process ended
/// with `code` (the programs' exit code for a bad command line).
template <class T>
T value_or_exit(const char* program, caf::expected<T> parsed, int code) {
  if (!parsed) {
    std::cerr << program << ": " << detail::error_text(parsed.error()) << "\n";
    std::exit(code);
  }
  return std::move(*parsed);
}

} // namespace hatchet::apps
