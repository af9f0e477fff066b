// The non-template parts of hatchet::context (include/hatchet/context.hpp); spawn and run_child
// are in api/child_runs.cpp, with the client they start runs on.

#include "hatchet/context.hpp"

#include <condition_variable>
#include <mutex>

#include "core/dependency_scope.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

namespace detail {

caf::error cancelled_while_waiting() {
  return make_error(errc::cancelled, "the task was cancelled while it waited");
}

} // namespace detail

context::context(detail::run_info info, const detail::lifespan_state* state, std::stop_token stop,
                 detail::async_hooks* hooks)
  : info_(std::move(info)), state_(state), stop_(std::move(stop)), hooks_(hooks) {
}

context::~context() = default;

void context::log(std::string_view text, log_level level) {
  auto* calls = engine();
  if (text.empty() || calls == nullptr)
    return;
  static constexpr const char* names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  calls->put_log(detail::cut_to_characters(text, 10000), names[static_cast<int>(level)]);
}

void context::put_stream(std::string_view bytes) {
  if (auto* calls = engine())
    calls->put_stream(std::string{bytes});
}

void context::refresh_timeout_ms(std::chrono::milliseconds by) {
  call_engine("refresh_timeout", [&](std::function<void(caf::error)> done) {
    require_calls("refresh_timeout")->refresh_timeout(by, std::move(done));
  });
}

void context::release_slot() {
  call_engine("release_slot", [&](std::function<void(caf::error)> done) {
    require_calls("release_slot")->release_slot(std::move(done));
  });
}

detail::engine_calls* context::engine() {
  std::call_once(calls_made_, [this] {
    if (calls_source_ != nullptr)
      calls_ = calls_source_->calls_for(info_);
  });
  return calls_.get();
}

detail::engine_calls* context::require_calls(const char* what) {
  auto* calls = engine();
  if (calls == nullptr)
    throw std::logic_error(std::string{"ctx."} + what
                           + "(): this context is not connected to an engine");
  return calls;
}

void context::call_engine(const char* what,
                          const std::function<void(std::function<void(caf::error)>)>& start) {
  if (hooks_ != nullptr) // a co_task: never block CAF's scheduler; the worker logs a refusal
    return start([](caf::error) {});
  struct answer {
    std::mutex mtx;
    std::condition_variable cv;
    bool done = false;
    caf::error err;
  };
  auto a = std::make_shared<answer>();
  start([a](caf::error err) {
    std::lock_guard lock{a->mtx};
    a->err = std::move(err);
    a->done = true;
    a->cv.notify_all();
  });
  std::unique_lock lock{a->mtx};
  a->cv.wait(lock, [&] { return a->done; });
  if (a->err)
    throw engine_call_error(std::string{"ctx."} + what + "() failed: " + describe(a->err));
}

void* context::find_dependency(const detail::provider_base& p) const {
  void* built = deps_ ? deps_->find(&p) : nullptr;
  if (built == nullptr)
    throw dependency_error("task '" + task_name() + "' uses the dependency '" + p.name
                           + "', which it does not declare (task_options::depends)");
  return built;
}

void context::throw_no_parent_output(const std::string& task) const {
  std::string known;
  for (const auto& [name, value] : parents().items())
    known += (known.empty() ? "'" : ", '") + name + "'";
  throw parent_output_error("task '" + task_name() + "': no output of parent task '" + task
                            + "' in this run (parents with outputs: "
                            + (known.empty() ? std::string{"none"} : known) + ")");
}

detail::async_hooks* context::require_hooks(const char* what) const {
  if (hooks_ == nullptr)
    throw std::logic_error(std::string{"ctx."} + what
                           + "() is for co_task tasks; a synchronous task has a thread of its own "
                             "and can wait on ctx.stop_token()");
  return hooks_;
}

} // namespace hatchet
