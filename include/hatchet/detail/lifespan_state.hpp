#pragma once
// The lifespan state as the worker holds it: its type erased, so one worker serves every
// lifespan type, and the driver interface that runs a lifespan's two halves. What the actors
// and a run's context need of a lifespan, without its coroutine machinery.

#include <cstdint>
#include <memory>
#include <string>
#include <typeindex>

namespace hatchet::detail {

/// Demangles a type name for error messages.
std::string demangle(const char* mangled);

/// The yielded state with its type erased, so one worker type serves every lifespan type. The
/// worker shares exactly one of these (by `shared_ptr<const ...>`) with every task.
struct lifespan_state {
  std::type_index type;
  std::shared_ptr<const void> value;
  /// Which setup built it: 1 for the worker's first, then the number of the reload that built it
  /// (each reload started takes the next number).
  uint64_t generation = 1;
};

using lifespan_state_ptr = std::shared_ptr<const lifespan_state>;

/// Runs one lifespan coroutine: `setup` to its co_yield, `cleanup` to its end, each at most once.
class lifespan_driver {
public:
  virtual ~lifespan_driver() = default;
  /// Throws the setup's exception, or lifespan_error when the coroutine ends without co_yield.
  virtual lifespan_state_ptr setup() = 0;
  /// Throws the cleanup's exception, or lifespan_error when the coroutine yields again.
  virtual void cleanup() = 0;
};

} // namespace hatchet::detail
