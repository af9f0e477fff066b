#pragma once
// For the bundled programs only: ending the process on a bad command line is the program's
// decision, never the library's.

#include <cstdlib>
#include <iostream>

#include "core/parse.hpp"

namespace hatchet::apps {

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
