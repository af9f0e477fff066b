#include "core/dependency_scope.hpp"

#include <exception>
#include <typeinfo>

#include "hatchet/depends.hpp"
#include "hatchet/detail/lifespan_state.hpp"

namespace hatchet::detail {

namespace {

std::string describe_failure(const provider_base& p, const char* when, const std::exception& e) {
  return "dependency '" + p.name + "' failed in its " + when + ": " + demangle(typeid(e).name())
         + ": " + e.what();
}

} // namespace

void dependency_scope::build(context& ctx) {
  for (const auto& p : declared_)
    build_one(p, ctx);
}

void* dependency_scope::find(const provider_base* p) const noexcept {
  for (const auto& [provider, built] : built_)
    if (provider == p && built)
      return built->get();
  return nullptr;
}

std::string dependency_scope::teardown() noexcept {
  std::string errors;
  while (!built_.empty()) {
    auto [provider, built] = std::move(built_.back());
    built_.pop_back();
    if (!built)
      continue; // its setup failed: nothing to tear down
    try {
      built->teardown();
    } catch (const std::exception& e) {
      errors += (errors.empty() ? "" : "\n") + describe_failure(*provider, "teardown", e);
    } catch (...) {
      errors += (errors.empty() ? "" : "\n")
                + ("dependency '" + provider->name + "' failed in its teardown: a non-std exception");
    }
  }
  return errors;
}

void dependency_scope::build_one(const provider_ptr& p, context& ctx) {
  if (find(p.get()) != nullptr)
    return;
  for (const auto& need : p->needs)
    build_one(need, ctx);
  // The place first, then the build: once built, a resource is never lost to an allocation.
  built_.emplace_back(p.get(), nullptr);
  try {
    built_.back().second = p->build(ctx);
  } catch (const std::exception& e) {
    fail_with(describe_failure(*p, "setup", e));
  } catch (...) {
    fail_with("dependency '" + p->name + "' failed in its setup: a non-std exception");
  }
}

void dependency_scope::fail_with(std::string what) {
  auto also = teardown();
  if (!also.empty())
    what += "\n" + also;
  throw dependency_error(what);
}

} // namespace hatchet::detail
