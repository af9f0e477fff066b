#pragma once
// What a declared dependency is to the worker: a provider that builds one resource per run, and
// the built resource it tears down afterwards (see hatchet/depends.hpp).

#include <memory>
#include <string>
#include <vector>

namespace hatchet {

class context;

namespace detail {

/// One built resource of one run.
struct built_resource {
  virtual ~built_resource() = default;
  virtual void* get() noexcept = 0;
  /// Runs the teardown; throws what it threw.
  virtual void teardown() = 0;
};

/// What a dependency<T> holds: the provider's name, what it needs, and how to build it.
struct provider_base {
  std::string name;
  std::vector<std::shared_ptr<const provider_base>> needs;
  virtual ~provider_base() = default;
  /// Builds one for this run (its needs are built already); throws what the setup threw.
  virtual std::unique_ptr<built_resource> build(context& ctx) const = 0;
};

using provider_ptr = std::shared_ptr<const provider_base>;

} // namespace detail

} // namespace hatchet
