// The task context and failure-handling code README.md and docs/task-context.md show (compiled,
// never run; see snippets.cpp). A file of its own so that the snippets of separate features do
// not all edit one file.

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

#include <hatchet/hatchet.hpp>

namespace snippets::task_context {

using namespace std::chrono_literals;

struct Order {
  std::string id;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, id)

struct Priced {
  double total = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Priced, total)

std::string render_page(int) { return "..."; }
void train_one_epoch(int) {}
void wait_for_the_bank(const Order&) {}

inline hatchet::workflow context_workflow() {
  hatchet::workflow wf{"OrderPipeline"};
  // [snippet:ctx_log_stream]
  wf.task("render", [](const Order& order, hatchet::context& ctx) {
    ctx.log("rendering order " + order.id);           // stored with the task run (PutLog)
    for (int page = 0; page < 3; ++page)
      ctx.put_stream(render_page(page));              // to whoever reads the run's stream
    ctx.log("worker " + ctx.worker_id() + " done", hatchet::log_level::debug);
  });
  // [/snippet:ctx_log_stream]

  // [snippet:ctx_refresh_release]
  wf.task("train", [](const Order&, hatchet::context& ctx) {
    for (int epoch = 0; epoch < 10; ++epoch) {
      train_one_epoch(epoch);
      ctx.refresh_timeout(5min);  // the deadline moves 5 minutes later each epoch
    }
  }, {.timeout = "10m"});

  wf.task("settle", [](const Order& order, hatchet::context& ctx) {
    ctx.release_slot();           // another run may start on this worker now
    wait_for_the_bank(order);     // a long wait that needs no slot
  });
  // [/snippet:ctx_refresh_release]

  // [snippet:ctx_parent_output]
  auto price = wf.task("price", [](const Order&, hatchet::context&) { return Priced{42.0}; });
  wf.task("invoice", [price](const Order& order, hatchet::context& ctx) {
    Priced priced = ctx.parent_output(price);  // task_ref<Priced>: typed, no name to misspell
    return nlohmann::json{{"order", order.id}, {"total", priced.total}};
  }, {.parents = {price}});
  // [/snippet:ctx_parent_output]

  // [snippet:ctx_parent_output_by_name]
  wf.task("audit", [](const Order&, hatchet::context& ctx) {
    auto priced = ctx.parent_output<Priced>("price");  // throws parent_output_error if absent
    return nlohmann::json{{"total", priced.total}};
  }, {.parents = {"price"}});
  // [/snippet:ctx_parent_output_by_name]
  return wf;
}

inline void read_the_stream(const hatchet::client& client, const std::string& run_id) {
  // [snippet:ctx_subscribe]
  auto err = client.subscribe_stream(run_id, [](const hatchet::stream_chunk& chunk) {
    std::cout << chunk.data << std::flush;  // in the order the task sent them
  });                                        // returns when the run has finished
  if (err)
    std::cerr << hatchet::describe(err) << '\n';
  // [/snippet:ctx_subscribe]
}

inline hatchet::workflow failure_workflow() {
  // [snippet:failure_handling]
  hatchet::workflow wf{"Payments"};
  wf.task("charge", [](const Order& order, hatchet::context&) {
    if (order.id.empty())
      throw std::runtime_error("no order id");
  }, {.retries = 3,
      .backoff_factor = 2,          // waits 2 s, 4 s, 8 s before retries 1, 2, 3
      .backoff_max_seconds = 60,
      .schedule_timeout = "2m"});   // cancelled if no worker takes it within 2 minutes
  wf.on_failure("alert", [](const Order& order, hatchet::context& ctx) {
    // Once per run, as soon as a task has failed for good: error text by task name.
    for (const auto& [task, error] : ctx.task_run_errors().items())
      std::cerr << "order " << order.id << ": " << task << " failed: " << error << '\n';
  });
  // [/snippet:failure_handling]
  return wf;
}

} // namespace snippets::task_context
