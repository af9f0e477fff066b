// Code that docs/triggers.md, docs/children.md and README.md show for crons, schedules and child
// runs. Compiled (never run) so that it keeps up with the API; scripts/check_snippets.sh checks
// that the documents show exactly the marked regions.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <hatchet/hatchet.hpp>

namespace snippets_triggers {

struct Report {
  std::string region;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Report, region)

// [snippet:cron_declared]
hatchet::workflow nightly_report() {
  hatchet::workflow wf{"NightlyReport"};
  // UTC. 5 fields (minute hour day month weekday), 6 with a leading second, or @daily & co.
  wf.on_crons({"0 2 * * *", "0 14 * * MON-FRI"});
  wf.cron_input({{"region", "eu"}}); // every cron run's input (default {})
  wf.task("report", [](const Report& in, hatchet::context& ctx) {
    // The metadata names the cron: hatchet__cron_expression (and hatchet__cron_name).
    auto expr = ctx.additional_metadata().value("hatchet__cron_expression", "");
    return nlohmann::json{{"region", in.region}, {"cron", expr}};
  });
  return wf;
}
// [/snippet:cron_declared]

// [snippet:cron_client]
bool report_every_hour_for_us(const hatchet::client& client) {
  auto crons = client.crons();
  auto cron = crons.create("NightlyReport", "us-hourly", "@hourly",
                           {.input = {{"region", "us"}}, .additional_metadata = {{"team", "us"}}});
  if (!cron) { // invalid_input (e.g. a bad expression), unknown_workflow, ...
    std::fprintf(stderr, "%s\n", hatchet::describe(cron.error()).c_str());
    return false;
  }
  // ... later: it starts no more runs.
  return !crons.remove(cron->id);
}
// [/snippet:cron_client]

// [snippet:schedule_client]
bool report_once_in_ten_minutes(const hatchet::client& client) {
  auto schedules = client.schedules();
  auto at = std::chrono::system_clock::now() + std::chrono::minutes{10};
  auto scheduled = schedules.create("NightlyReport", at, Report{"apac"});
  if (!scheduled)
    return false;
  // Changed our mind: a deleted schedule never runs (errc::not_found once it has fired).
  return !schedules.remove(scheduled->id);
}
// [/snippet:schedule_client]

struct Chunk {
  int first = 0;
  int last = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Chunk, first, last)

struct Total {
  long long sum = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Total, sum)

// [snippet:child_run]
hatchet::workflow sum_in_chunks() {
  hatchet::workflow wf{"SumInChunks"};
  wf.task("sum", [](const Chunk& all, hatchet::context& ctx) -> hatchet::co_task<Total> {
    Total total;
    for (int first = all.first; first <= all.last; first += 1000) {
      Chunk part{first, std::min(first + 999, all.last)};
      // A child run of SumChunk, linked to this task; awaited without holding a thread. (Name
      // the awaiter: GCC 12 mishandles temporaries that live across a co_await.)
      auto child = ctx.run_child<Total>("SumChunk", part);
      caf::expected<Total> sub = co_await child;
      if (!sub)
        throw std::runtime_error(hatchet::describe(sub.error()));
      total.sum += sub->sum;
    }
    co_return total;
  });
  return wf;
}
// [/snippet:child_run]

// [snippet:child_spawn]
hatchet::workflow notify_all() {
  hatchet::workflow wf{"NotifyAll"};
  wf.task("notify", [](const nlohmann::json& in, hatchet::context& ctx) {
    std::vector<std::string> started;
    for (const auto& user : in.at("users")) {
      hatchet::run_options opts;
      opts.key = "notify-" + user.get<std::string>(); // a retry gets the same child back
      auto child = ctx.spawn("SendEmail", {{"to", user}}, opts); // returns at once
      if (!child)
        throw std::runtime_error(hatchet::describe(child.error()));
      started.push_back(child->id());
    }
    return nlohmann::json{{"children", started}};
  });
  return wf;
}
// [/snippet:child_spawn]

} // namespace snippets_triggers
