#include "bundled_workflows.hpp"

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <hatchet/input.hpp>
#include <spdlog/spdlog.h>

namespace hatchet::apps {

namespace {

// Declared with the strict macros: {"ms":1e12} fails the run naming "ms" rather than sleeping
// for a wrapped, negative or shorter time.
struct sleep_input {
  int ms = 0;
};
HATCHET_DEFINE_INPUT_WITH_DEFAULT(sleep_input, ms)

struct fail_input {
  std::string message = "the task failed on purpose";
};
HATCHET_DEFINE_INPUT_WITH_DEFAULT(fail_input, message)

} // namespace

hatchet::lifespan<demo_state> demo_lifespan(std::chrono::milliseconds setup_delay) {
  spdlog::info("demo lifespan: setting up");
  std::this_thread::sleep_for(setup_delay);
  auto now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%FT%TZ", std::gmtime(&now));
  spdlog::info("demo lifespan: set up");
  co_yield hatchet::make_state<demo_state>("hello from the lifespan", buf);
  spdlog::info("demo lifespan: cleaning up");
}

hatchet::workflow echo_workflow() {
  hatchet::workflow wf{"EchoWorkflow"};
  wf.task("echo", [](const nlohmann::json& in, hatchet::context&) {
    return in.is_object() ? in : nlohmann::json{{"value", in}};
  });
  return wf;
}

hatchet::workflow sleep_workflow() {
  hatchet::workflow wf{"SleepWorkflow"};
  // A co_task: while it sleeps it holds no thread, and a cancellation wakes it at once.
  // [snippet:sleep]
  wf.task("sleep", [](const sleep_input& in,
                      hatchet::context& ctx) -> hatchet::co_task<nlohmann::json> {
    co_await ctx.sleep_for(std::chrono::milliseconds{in.ms}); // false if cancelled first
    nlohmann::json out = {{"slept_ms", in.ms}, {"cancelled", ctx.cancelled()}};
    co_return out;
  });
  // [/snippet:sleep]
  return wf;
}

hatchet::workflow fail_workflow() {
  hatchet::workflow wf{"FailWorkflow"};
  wf.task("fail", [](const fail_input& in, hatchet::context&) -> nlohmann::json {
    throw std::runtime_error(in.message);
  });
  return wf;
}

hatchet::workflow stubborn_workflow() {
  hatchet::workflow wf{"StubbornWorkflow"};
  wf.task("stubborn", [](const sleep_input& in, hatchet::context&) {
    std::this_thread::sleep_for(std::chrono::milliseconds{in.ms});
    return nlohmann::json{{"slept_ms", in.ms}};
  });
  return wf;
}

hatchet::workflow demo_lifespan_workflow() {
  hatchet::workflow wf{"DemoLifespanWorkflow"};
  wf.task("state", [](const hatchet::empty_model&, hatchet::context& ctx) {
    const auto& st = ctx.lifespan<demo_state>();
    return nlohmann::json{{"greeting", st.greeting},
                          {"started_at", st.started_at},
                          {"generation", ctx.lifespan_generation()}};
  });
  return wf;
}

} // namespace hatchet::apps
