// bench-worker: hatchet-caf's worker under benchmark. Serves
//   BenchNoop  task noop   returns {} at once (a co_task; with --sync-noop a synchronous task,
//                          which runs on a task thread)
//   BenchSleep task sleep  input {"ms": N}: sleeps N ms in co_await ctx.sleep_for (a co_task: no
//                          thread is held while it sleeps; with --sync-sleep it holds one)
//   BenchEcho  task echo   input {"data": "..."}: returns it as its output, typed both ways (a
//                          co_task): what a task with a real payload costs
// with a lifespan whose state is a buffer of --state-bytes bytes, written once (so it is resident)
// and read by every task (one byte), which shows the state exists once and is shared.
//
// usage: bench-worker --slots N [--state-bytes B] [--threads T] [--name NAME] [--sync-noop]
//                     [--sync-sleep]
// HATCHET_CLIENT_* from the environment, as every worker. Stops on SIGTERM/SIGINT.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <hatchet/hatchet.hpp>

#include "apps/command_line.hpp"

#include "core/parse.hpp"

namespace {

struct bench_state {
  explicit bench_state(std::size_t n) : size(n), data(std::make_unique<unsigned char[]>(n)) {
    std::memset(data.get(), 0x5a, n); // touch every page: the state is resident, once
  }
  std::size_t size;
  std::unique_ptr<unsigned char[]> data;
};

struct sleep_input {
  int ms = 1000;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(sleep_input, ms)

struct echo_io {
  std::string data;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(echo_io, data)

hatchet::lifespan<bench_state> bench_lifespan(std::size_t bytes) {
  co_yield hatchet::make_state<bench_state>(bytes);
}

} // namespace

int main(int argc, char** argv) {
  int slots = 100;
  int threads = 0;
  std::size_t state_bytes = 1024;
  std::string name = "bench-worker";
  bool sync_noop = false;
  bool sync_sleep = false;
  bool dependency = false;
  int reload_every_ms = 0;
  CLI::App app{"bench-worker: the benchmark's worker, with the workflows bench/run.sh runs",
               "bench-worker"};
  std::string slots_text = "100", threads_text = "0", state_text = "1024", reload_text;
  app.add_option("--slots", slots_text, "concurrent runs (default 100)")->type_name("N");
  app.add_option("--threads", threads_text, "task threads, 0: as many as slots (default 0)")
    ->type_name("T");
  app.add_option("--state-bytes", state_text, "the lifespan state's size (default 1024)")
    ->type_name("B");
  app.add_option("--name", name, "worker name (default bench-worker)")->type_name("NAME");
  app.add_flag("--sync-noop", sync_noop, "the no-op task is synchronous (default: a co_task)");
  app.add_flag("--sync-sleep", sync_sleep, "the sleep task is synchronous");
  app.add_flag("--dependency", dependency, "tasks declare a per-run dependency");
  app.add_option("--reload-every-ms", reload_text, "reload the lifespan every MS ms")
    ->type_name("MS");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "bench-worker"); rc >= 0)
    return rc;
  auto number = [](auto parsed) {
    return hatchet::apps::value_or_exit("bench-worker", std::move(parsed),
                                        hatchet::apps::usage_exit);
  };
  using hatchet::detail::parse_whole;
  slots = number(parse_whole<int>("--slots", slots_text, 1));
  threads = number(parse_whole<int>("--threads", threads_text, 0));
  state_bytes = number(parse_whole<std::size_t>("--state-bytes", state_text));
  if (!reload_text.empty())
    reload_every_ms = number(parse_whole<int>("--reload-every-ms", reload_text, 1));
  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << "bench-worker: " << hatchet::describe(client.error()) << "\n";
    return 2;
  }
  auto touch_state = [](hatchet::context& ctx) {
    const auto& st = ctx.lifespan<bench_state>();
    volatile unsigned char b = st.data[0];
    (void)b;
  };
  // --dependency: each noop run takes a resource built from the lifespan state before the task
  // and torn down after it (the cost of a per-task dependency).
  auto resource = hatchet::provide("bench-resource", [](hatchet::context& ctx)
                                                       -> hatchet::resource<const unsigned char*> {
    co_yield ctx.lifespan<bench_state>().data.get();
  });
  hatchet::task_options noop_options;
  if (dependency)
    noop_options.depends = {resource};
  hatchet::workflow noop{"BenchNoop"};
  if (sync_noop)
    noop.task("noop", [=](const hatchet::empty_model&, hatchet::context& ctx) {
      touch_state(ctx);
      if (dependency)
        static_cast<void>(*ctx.use(resource));
    }, noop_options);
  else
    noop.task("noop", [=](const hatchet::empty_model&,
                          hatchet::context& ctx) -> hatchet::co_task<void> {
      touch_state(ctx);
      if (dependency)
        static_cast<void>(*ctx.use(resource));
      co_return;
    }, noop_options);
  hatchet::workflow sleeper{"BenchSleep"};
  if (sync_sleep)
    sleeper.task("sleep", [=](const sleep_input& in, hatchet::context& ctx) {
      touch_state(ctx);
      std::this_thread::sleep_for(std::chrono::milliseconds{in.ms});
    }, {.timeout = "300s"});
  else
    sleeper.task("sleep", [=](const sleep_input& in,
                              hatchet::context& ctx) -> hatchet::co_task<void> {
      touch_state(ctx);
      co_await ctx.sleep_for(std::chrono::milliseconds{in.ms});
    }, {.timeout = "300s"});
  hatchet::workflow echo{"BenchEcho"};
  echo.task("echo", [](const echo_io& in, hatchet::context&) -> hatchet::co_task<echo_io> {
    co_return in;
  });
  // --reload-every-ms: the lifespan is reloaded (SIGHUP) this often while the worker serves.
  if (reload_every_ms > 0)
    std::thread{[reload_every_ms] {
      // The signal goes to the worker's signal thread, never to this one.
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds{reload_every_ms});
        ::kill(::getpid(), SIGHUP);
      }
    }}.detach();
  return client
    ->worker(name, {.slots = slots,
                    .workflows = {noop, sleeper, echo},
                    .lifespan = [state_bytes] { return bench_lifespan(state_bytes); },
                    .max_task_threads = threads})
    .run();
}
