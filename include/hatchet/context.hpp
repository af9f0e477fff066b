#pragma once
// What a running task can see of its run and of the worker: ids, metadata, cancellation, and the
// lifespan state (read-only).

#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <typeinfo>
#include <vector>

#include <nlohmann/json.hpp>

#include "hatchet/errors.hpp"
#include "hatchet/lifespan.hpp"

namespace hatchet {

namespace detail {

/// The per-run facts the worker hands to a context. Internal: built by the task actor.
struct run_info {
  std::string workflow_run_id;
  std::string task_run_external_id;
  std::string task_name;
  std::string action_id;
  int retry_count = 0;
  nlohmann::json additional_metadata = nlohmann::json::object();
  nlohmann::json parents = nlohmann::json::object();
};

} // namespace detail

class context {
public:
  context(detail::run_info info, detail::lifespan_state_ptr state, std::stop_token stop)
    : info_(std::move(info)), state_(std::move(state)), stop_(std::move(stop)) {
  }

  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// The state the worker's lifespan yielded, as const: tasks share one object and must not
  /// change it. Throws lifespan_type_error, naming both types, when T is not the yielded type,
  /// and when the worker has no lifespan.
  template <class T>
  const T& lifespan() const {
    static_assert(std::is_object_v<T>, "ctx.lifespan<T>(): T must be an object type");
    using plain = std::remove_cv_t<T>;
    if (!state_)
      throw lifespan_type_error("ctx.lifespan<" + detail::demangle(typeid(plain).name())
                                + ">() called, but this worker has no lifespan");
    if (state_->type != typeid(plain))
      throw lifespan_type_error("ctx.lifespan<" + detail::demangle(typeid(plain).name())
                                + ">() called, but the lifespan yielded "
                                + detail::demangle(state_->type.name()));
    return *static_cast<const plain*>(state_->value.get());
  }

  /// True once the engine cancelled this run (or the worker is cancelling it at shutdown). A
  /// cancelled run reports nothing back: whatever the task returns is dropped.
  bool cancelled() const noexcept { return stop_.stop_requested(); }

  /// For loops that poll, or for std::stop_callback / std::condition_variable_any waits.
  std::stop_token stop_token() const noexcept { return stop_; }

  /// Runs `fn` once when the run is cancelled (at once, on this thread, if it already is);
  /// otherwise on the thread that cancels it, so keep it short and non-blocking. The callback is
  /// unregistered when the context ends with the task.
  void on_cancel(std::function<void()> fn) {
    callbacks_.push_back(
      std::make_unique<std::stop_callback<std::function<void()>>>(stop_, std::move(fn)));
  }

  const std::string& workflow_run_id() const noexcept { return info_.workflow_run_id; }
  const std::string& task_run_external_id() const noexcept { return info_.task_run_external_id; }
  const std::string& task_name() const noexcept { return info_.task_name; }
  const std::string& action_id() const noexcept { return info_.action_id; }
  /// 0 on the first attempt.
  int retry_count() const noexcept { return info_.retry_count; }
  /// The run's additional metadata (a JSON object, empty when none was given).
  const nlohmann::json& additional_metadata() const noexcept { return info_.additional_metadata; }
  /// Outputs of completed parent tasks in a DAG, by parent task name.
  const nlohmann::json& parents() const noexcept { return info_.parents; }

private:
  detail::run_info info_;
  detail::lifespan_state_ptr state_;
  std::stop_token stop_;
  std::vector<std::unique_ptr<std::stop_callback<std::function<void()>>>> callbacks_;
};

} // namespace hatchet
