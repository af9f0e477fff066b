// hatchet-interop-peer: our SDK's side of the trigger and child-run cross-checks with the official
// TypeScript SDK, through the public API only.
//
//   hatchet-interop-peer worker        serves OnTsEvent (on_events "interop:ts-event"; prints
//                                      "event run: <input> <metadata>") and OurChildWorkflow
//                                      (task "double": {"n"} -> {"doubled": 2n}; prints "child
//                                      run: <input> index=<ctx child index of the run>")
//   hatchet-interop-peer run WF JSON   hatchet::client::run(WF, JSON), prints "result: <output>"
//
// Configuration from HATCHET_CLIENT_*, as every program of ours.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <hatchet/hatchet.hpp>

#include "apps/command_line.hpp"

namespace {

hatchet::workflow on_ts_event() {
  hatchet::workflow wf{"OnTsEvent"};
  wf.on_events({"interop:ts-event"});
  wf.task("on_event", [](const nlohmann::json& in, hatchet::context& ctx) {
    std::cout << "event run: " << in.dump() << " " << ctx.additional_metadata().dump()
              << std::endl;
    return nlohmann::json{{"seen", in}};
  });
  return wf;
}

hatchet::workflow our_child() {
  hatchet::workflow wf{"OurChildWorkflow"};
  wf.task("double", [](const nlohmann::json& in, hatchet::context&) {
    std::cout << "child run: " << in.dump() << std::endl;
    return nlohmann::json{{"doubled", 2 * in.value("n", 0)}};
  });
  return wf;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hatchet-interop-peer: our side of the interop tests with the official TypeScript "
               "SDK",
               "hatchet-interop-peer"};
  app.require_subcommand(1);
  auto* serve = app.add_subcommand("worker", "serve OnTsEventWorkflow and OurChildWorkflow");
  auto* run = app.add_subcommand("run", "run WORKFLOW with INPUT and print its result");
  std::string workflow, input_text;
  run->add_option("WORKFLOW", workflow, "the workflow to run")->required();
  run->add_option("INPUT", input_text, "its input, a JSON object")->required();
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-interop-peer"); rc >= 0)
    return rc;
  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << "configuration: " << hatchet::describe(client.error()) << "\n";
    return 2;
  }
  if (serve->parsed()) {
    auto w = client->worker("cpp-interop-peer", {.slots = 4,
                                                 .workflows = {on_ts_event(), our_child()}});
    int code = w.run();
    if (w.must_exit_at_once())
      std::_Exit(code);
    return code;
  }
  auto input = nlohmann::json::parse(input_text, nullptr, false);
  if (input.is_discarded())
    return hatchet::apps::usage_error("hatchet-interop-peer", "the input is not JSON");
  hatchet::run_options opts;
  opts.timeout = std::chrono::seconds{60};
  auto out = client->run(workflow, input, opts);
  if (!out) {
    std::cout << "error: " << hatchet::describe(out.error()) << std::endl;
    return 1;
  }
  std::cout << "result: " << out->dump() << std::endl;
  return 0;
}
