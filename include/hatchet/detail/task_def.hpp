#pragma once
// One task of a workflow as the worker holds it: its name, options and function with the
// input and output converted from and to JSON (workflow::task builds it), and how a task
// function's input and output types are read off its signature.

#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "hatchet/co_task.hpp"
#include "hatchet/task_options.hpp"

namespace hatchet {

class context;

namespace detail {

using task_fn = std::function<nlohmann::json(const nlohmann::json& input, context& ctx)>;
using async_task_fn = std::function<co_task<nlohmann::json>(nlohmann::json input, context& ctx)>;

/// One task: exactly one of fn (synchronous) and async_fn (a co_task) is set.
struct task_def {
  std::string name;
  task_options options;
  task_fn fn;
  async_task_fn async_fn;
};

using task_def_ptr = std::shared_ptr<const task_def>;

template <class F>
struct task_signature : task_signature<decltype(&std::remove_cvref_t<F>::operator())> {};

template <class R, class A>
struct task_signature<R (*)(A, context&)> {
  using input = std::remove_cvref_t<A>;
  using output = R;
};

template <class R, class A>
struct task_signature<R(A, context&)> : task_signature<R (*)(A, context&)> {};

template <class C, class R, class A>
struct task_signature<R (C::*)(A, context&) const> : task_signature<R (*)(A, context&)> {};

template <class C, class R, class A>
struct task_signature<R (C::*)(A, context&)> : task_signature<R (*)(A, context&)> {};

/// What a task function's result means as an output: Out for co_task<Out>, else the type itself.
template <class R>
struct task_output {
  using type = R;
};
template <class R>
struct task_output<co_task<R>> {
  using type = R;
};

} // namespace detail

} // namespace hatchet
