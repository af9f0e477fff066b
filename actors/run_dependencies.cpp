#include "actors/run_dependencies.hpp"

#include "actors/task_run.hpp"

namespace hatchet::detail {

co_task<nlohmann::json> with_dependencies(const msg::assignment& a, nlohmann::json input,
                                          context& ctx) {
  auto* deps = context_access::dependencies(ctx);
  // Setup and teardown may block (a pool, a file, a network call): a task thread runs them.
  co_await ctx.run_blocking([deps, &ctx] { deps->build(ctx); });
  nlohmann::json out;
  std::exception_ptr failed;
  try {
    out = co_await a.task->async_fn(std::move(input), ctx);
  } catch (...) {
    failed = std::current_exception();
  }
  context_access::end_callbacks(ctx);
  log_teardown_errors(a, co_await ctx.run_blocking([deps] { return deps->teardown(); }));
  if (failed)
    std::rethrow_exception(failed);
  co_return out;
}

} // namespace hatchet::detail
