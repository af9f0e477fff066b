#pragma once
// A task as its workflow declared it: what `workflow::task` returns. It names the task and
// carries the type of its output, so a child task lists it as a parent and reads its output
// typed, without repeating the name or the type:
//
//   auto price = wf.task("price", [](const Order& o, hatchet::context&) { return Price{...}; });
//   wf.task("invoice", [price](const Order&, hatchet::context& ctx) {
//     Price p = ctx.parent_output(price); // the output of "price", as Price
//     ...
//   }, {.parents = {price}});

#include <string>
#include <utility>

namespace hatchet {

template <class Out>
class task_ref {
public:
  /// The task's output type (void for a task that returns nothing).
  using output_type = Out;

  explicit task_ref(std::string name) : name_(std::move(name)) {}

  /// The task's name, as given to workflow::task.
  const std::string& name() const noexcept { return name_; }

private:
  std::string name_;
};

/// A task that must complete first (task_options::parents): a task_ref, or a task's name.
class parent_task {
public:
  parent_task(std::string name) : name_(std::move(name)) {} // NOLINT: implicit on purpose
  parent_task(const char* name) : name_(name) {}            // NOLINT: implicit on purpose
  template <class Out>
  parent_task(const task_ref<Out>& task) : name_(task.name()) {} // NOLINT: implicit on purpose

  const std::string& name() const noexcept { return name_; }

  friend bool operator==(const parent_task& a, const parent_task& b) noexcept {
    return a.name_ == b.name_;
  }

private:
  std::string name_;
};

} // namespace hatchet
