#pragma once
// The resources one run has built from its task's declared dependencies (hatchet/depends.hpp),
// in build order, torn down in reverse. Internal: the worker builds one per run that declares
// dependencies, and the run's context finds the resources in it (ctx.use).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hatchet/detail/provider.hpp"

namespace hatchet::detail {

class dependency_scope {
public:
  dependency_scope(const std::vector<provider_ptr>& declared, std::string task_name)
    : declared_(declared), task_name_(std::move(task_name)) {
  }
  dependency_scope(const dependency_scope&) = delete;
  dependency_scope& operator=(const dependency_scope&) = delete;
  ~dependency_scope() { static_cast<void>(teardown()); }

  /// Builds every declared provider and what it needs, each once. On a failure, tears down what
  /// was built and throws dependency_error naming the provider.
  void build(context& ctx);

  /// The built resource of `p`, or nullptr.
  void* find(const provider_base* p) const noexcept;

  const std::string& task_name() const noexcept { return task_name_; }

  /// Tears everything down, newest first, once. What the teardowns threw, one line each ("" if
  /// nothing did); every teardown runs.
  std::string teardown() noexcept;

private:
  void build_one(const provider_ptr& p, context& ctx);
  /// Tears down what was built before a failed setup, then throws: the setup's failure first,
  /// then any teardown's.
  [[noreturn]] void fail_with(std::string what);

  const std::vector<provider_ptr>& declared_;
  std::string task_name_;
  std::vector<std::pair<const provider_base*, std::unique_ptr<built_resource>>> built_;
};

} // namespace hatchet::detail
