#pragma once
// What the worker sets on a run's context before its task starts and reads after it ends. These
// are not the task's business, so hatchet::context keeps them private and befriends this.

#include <memory>

#include "core/dependency_scope.hpp"
#include "hatchet/context.hpp"

namespace hatchet::detail {

struct context_access {
  /// How the run reaches the engine (its engine calls are made on the task's first call).
  static void attach_engine_calls(context& ctx, const engine_calls_source* source) noexcept {
    ctx.calls_source_ = source;
  }
  /// The run's engine calls, if the task made any (read once the task has ended).
  static const std::shared_ptr<engine_calls>& engine_calls_of(const context& ctx) noexcept {
    return ctx.calls_;
  }
  /// The connection child runs are started on.
  static void attach_client(context& ctx, std::shared_ptr<client_core> core) {
    ctx.client_ = std::move(core);
  }
  /// The run's dependencies, when its task declares any.
  static void attach_dependencies(context& ctx, std::unique_ptr<dependency_scope> scope) {
    ctx.deps_ = std::move(scope);
  }
  static dependency_scope* dependencies(context& ctx) noexcept { return ctx.deps_.get(); }
  /// Unregisters the on_cancel callbacks (waiting for one already running), so that none runs
  /// once the task has ended and its dependencies are torn down.
  static void end_callbacks(context& ctx) noexcept { ctx.callbacks_.clear(); }
};

} // namespace hatchet::detail
