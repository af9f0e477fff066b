// Ids made by hand (util::new_uuid: a per-thread mt19937_64, formatted in place) against
// libuuid's uuid_generate_random + uuid_unparse_lower, the Debian library the engine could use
// instead. Prints the median ns per id of each over alternating rounds, and their ratio.
//   bench-uuid [--ids N] [--rounds R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <uuid/uuid.h>

#include "apps/command_line.hpp"
#include "util/ids.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::string libuuid_v4() {
  uuid_t raw;
  uuid_generate_random(raw);
  char text[37];
  uuid_unparse_lower(raw, text);
  return std::string{text, 36};
}

template <class F>
double ns_per_id(F make, long ids) {
  size_t sink = 0;
  auto t0 = clock_type::now();
  for (long i = 0; i < ids; ++i)
    sink += make()[35] == 'x' ? 1 : 0; // read the id, so it is made
  auto ns = std::chrono::duration<double, std::nano>(clock_type::now() - t0).count();
  if (sink == 42)
    std::puts(""); // never; keeps `sink` alive
  return ns / static_cast<double>(ids);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-uuid: ids by hand against libuuid, ns per id", "bench-uuid"};
  std::string ids_text = "200000", rounds_text = "7";
  app.add_option("--ids", ids_text, "ids per round and kind (default 200000)")->type_name("N");
  app.add_option("--rounds", rounds_text, "alternating rounds (default 7)")->type_name("R");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "bench-uuid"); rc >= 0)
    return rc;
  auto number = [](auto parsed) {
    return hatchet::apps::value_or_exit("bench-uuid", std::move(parsed), hatchet::apps::usage_exit);
  };
  long ids = number(hatchet::detail::parse_whole<long>("--ids", ids_text, 1));
  int rounds = number(hatchet::detail::parse_whole<int>("--rounds", rounds_text, 1, 1000));
  std::vector<double> ours, theirs;
  for (int r = 0; r < rounds; ++r) {
    ours.push_back(ns_per_id([] { return hatchet::util::new_uuid(); }, ids));
    theirs.push_back(ns_per_id(libuuid_v4, ids));
  }
  double a = median(ours), b = median(theirs);
  std::printf("RESULT ids_per_round=%ld rounds=%d by_hand_ns=%.1f libuuid_ns=%.1f "
              "libuuid_over_by_hand=%.2f\n",
              ids, rounds, a, b, b / a);
  return 0;
}
