// hatchet-run: triggers runs of a workflow and prints each result as one JSON line, in the order
// the runs finish. A thin user of the public client API (include/hatchet/client.hpp).

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/parse.hpp"
#include "command_line.hpp"
#include "hatchet/client.hpp"
#include "hatchet/errors.hpp"

namespace {

const char* description = R"(hatchet-run: triggers runs of WORKFLOW on the engine named by HATCHET_CLIENT_*
and prints one JSON line per finished run: {"workflow_run_id": ..., "status":
"COMPLETED"|"FAILED", "output": {task: output}, "errors": {task: error}}.)";

const char* footer = R"(
N is a whole number and S a decimal number of seconds (120, 0.5; at most 10000000), written with
digits only: no sign, exponent, unit or spaces.

exit codes: 0 every run completed; 1 some run failed or did not finish; 2 bad usage or config
(a bad option value, or a bad HATCHET_CLIENT_* variable, named in the message; a token the
engine refuses; TLS settings that do not match the engine); 3 a trigger's answer was lost, so
the run may exist on the engine (the message says how to look for it): running the command again
may run the workflow twice.)";

using hatchet::apps::usage_exit;

/// A flag's value, or the error printed and the process ended with usage_exit.
template <class T>
T or_usage_exit(caf::expected<T> parsed) {
  return hatchet::apps::value_or_exit("hatchet-run", std::move(parsed), usage_exit);
}

/// The exit code of a trigger whose answer was lost: the run may exist.
constexpr int outcome_unknown_exit = 3;

/// A trigger that failed: 2 when the configuration is at fault (a refused token, TLS that does
/// not match the engine), as for any bad configuration; 3 when its answer was lost; 1 otherwise.
int exit_code_for(const caf::error& err) {
  if (err.category() == hatchet::errc_category::value
      && (err.code() == static_cast<uint8_t>(hatchet::errc::invalid_config)
          || err.code() == static_cast<uint8_t>(hatchet::errc::invalid_token)))
    return usage_exit;
  if (hatchet::has_code(err, hatchet::errc::outcome_unknown))
    return outcome_unknown_exit;
  return 1;
}

/// Everything `in` holds; a read error ends the process with usage_exit.
std::string read_all(std::istream& in, const std::string& what) {
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    std::cerr << "hatchet-run: cannot read " << what << "\n";
    std::exit(usage_exit);
  }
  return text.str();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{description, "hatchet-run"};
  app.footer(footer);
  app.get_formatter()->column_width(24);
  std::string workflow, count_text = "1", input = "{}", input_file, metadata, timeout_text = "120";
  bool bulk = false;
  app.add_option("WORKFLOW", workflow, "the workflow to run")->required();
  app.add_option("--count", count_text, "number of runs, at least 1 (default 1)")->type_name("N");
  auto* input_opt = app.add_option("--input", input,
                                   "input of every run, a JSON object (default {}); - reads it "
                                   "from standard input")
                      ->type_name("JSON");
  app.add_option("--input-file", input_file,
                 "input of every run, read from PATH (for inputs too long for a command line)")
    ->type_name("PATH")
    ->excludes(input_opt);
  app.add_option("--metadata", metadata, "additional metadata of every run, a JSON object")
    ->type_name("JSON");
  app.add_flag("--bulk", bulk,
               "trigger with BulkTriggerWorkflow (at most 500 runs and 4 MiB a call) instead of "
               "one call per run");
  app.add_option("--timeout", timeout_text, "give up waiting after S seconds (default 120)")
    ->type_name("S");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-run"); rc >= 0)
    return rc;
  int count = or_usage_exit(hatchet::detail::parse_whole<int>("--count", count_text, 1));
  auto timeout = or_usage_exit(hatchet::detail::parse_seconds("--timeout", timeout_text));
  if (input == "-")
    input = read_all(std::cin, "standard input");
  if (!input_file.empty()) {
    std::ifstream in{input_file, std::ios::binary};
    if (!in)
      return hatchet::apps::usage_error("hatchet-run",
                                        "--input-file: cannot open '" + input_file + "'");
    input = read_all(in, input_file);
  }
  auto parsed_input = nlohmann::json::parse(input, nullptr, false);
  if (parsed_input.is_discarded()) {
    std::cerr << "hatchet-run: the input (--input or --input-file) is not valid JSON\n";
    return usage_exit;
  }
  if (!parsed_input.is_object()) {
    std::cerr << "hatchet-run: the input (--input or --input-file) must be a JSON object\n";
    return usage_exit;
  }
  hatchet::run_options options;
  if (!metadata.empty()) {
    options.additional_metadata = nlohmann::json::parse(metadata, nullptr, false);
    if (!options.additional_metadata.is_object()) {
      std::cerr << "hatchet-run: --metadata must be a JSON object\n";
      return usage_exit;
    }
  }
  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << "hatchet-run: " << hatchet::describe(client.error()) << "\n";
    return usage_exit;
  }
  std::vector<hatchet::run_ref> refs;
  if (bulk) {
    auto r = client->run_no_wait_many(
      workflow, std::vector<nlohmann::json>(static_cast<size_t>(count), parsed_input), options);
    if (!r) {
      std::cerr << "hatchet-run: " << hatchet::describe(r.error()) << "\n";
      return exit_code_for(r.error());
    }
    refs = std::move(*r);
  } else {
    for (int i = 0; i < count; ++i) {
      auto r = client->run_no_wait(workflow, parsed_input, options);
      if (!r) {
        std::cerr << "hatchet-run: " << hatchet::describe(r.error()) << "\n";
        if (!refs.empty()) {
          // They exist and go on: running the command again would run them twice.
          std::cerr << "hatchet-run: the " << refs.size()
                    << " run(s) triggered before this one exist and go on on the engine:";
          for (const auto& ref : refs)
            std::cerr << " " << ref.id();
          std::cerr << "\n";
        }
        return exit_code_for(r.error());
      }
      refs.push_back(std::move(*r));
    }
  }
  // One line per run as each finishes; the callbacks come on the client's listener thread.
  std::mutex mtx;
  std::condition_variable cv;
  size_t reported = 0;
  size_t failed = 0;
  std::string wait_error; // the first error a wait ended with
  for (const auto& ref : refs) {
    ref.on_finished([&](caf::expected<hatchet::run_result> r) {
      std::lock_guard lock{mtx};
      ++reported;
      cv.notify_all();
      if (!r) {
        ++failed;
        if (wait_error.empty())
          wait_error = hatchet::describe(r.error());
        return;
      }
      nlohmann::json line;
      line["workflow_run_id"] = r->workflow_run_id;
      line["status"] = r->failed() ? "FAILED" : "COMPLETED";
      line["output"] = nlohmann::json(r->outputs);
      if (r->failed())
        line["errors"] = nlohmann::json(r->errors);
      failed += r->failed() ? 1 : 0;
      std::cout << line.dump() << "\n";
    });
  }
  std::unique_lock lock{mtx};
  bool all = cv.wait_for(lock, timeout, [&] { return reported == refs.size(); });
  std::cout.flush();
  if (!all) {
    std::cerr << "hatchet-run: " << refs.size() - reported << " of " << refs.size()
              << " run(s) unfinished after the timeout\n";
    return 1;
  }
  if (!wait_error.empty()) {
    std::cerr << "hatchet-run: " << wait_error << "\n";
    return 1;
  }
  if (failed > 0) {
    std::cerr << "hatchet-run: " << failed << " of " << refs.size() << " run(s) failed\n";
    return 1;
  }
  return 0;
}
