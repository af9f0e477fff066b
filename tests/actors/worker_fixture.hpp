#pragma once
// A worker's supervisor, dispatcher, task actors and lifespan actor on CAF's test coordinator:
// one thread (the test's), messages delivered when the test runs the scheduler, time advanced by
// hand. The engine is a fake link the test answers call by call; synchronous task code runs when
// the test runs it. Nothing sleeps: a 30 s drain_timeout passes in one advance().

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <hatchet/hatchet.hpp>

#include "actors/supervisor.hpp"
#include "fake_engine_link.hpp"
#include "manual_executor.hpp"
#include "messages/messages.hpp"

namespace fake {

using namespace std::chrono_literals;

/// What the lifespans of a test worker did: setups and cleanups, by generation.
struct lifespan_book {
  int setups = 0;
  std::vector<uint64_t> cleaned; ///< the `generation` field of each state cleaned up
};

struct state {
  uint64_t number = 0; ///< 1 for the first setup, 2 for the first reload's, ...
  std::shared_ptr<lifespan_book> book;
  ~state() = default;
};

inline hatchet::lifespan<state> counted_lifespan(std::shared_ptr<lifespan_book> book) {
  ++book->setups;
  auto number = static_cast<uint64_t>(book->setups);
  co_yield hatchet::make_state<state>(number, book);
  book->cleaned.push_back(number);
}

/// "sleepy": a co_task that waits `ms` (virtual time) and returns its state's number;
/// "blocking": a synchronous task (the manual executor runs it) that returns its state's number.
inline hatchet::workflow test_workflow() {
  hatchet::workflow wf{"wf"};
  wf.task("sleepy", [](const nlohmann::json& in, hatchet::context& ctx)
                      -> hatchet::co_task<nlohmann::json> {
    auto ms = in.value("ms", 0);
    bool slept = co_await ctx.sleep_for(std::chrono::milliseconds{ms});
    co_return nlohmann::json{{"slept", slept}, {"state", ctx.lifespan<state>().number}};
  });
  wf.task("blocking", [](const nlohmann::json&, hatchet::context& ctx) {
    return nlohmann::json{{"state", ctx.lifespan<state>().number}};
  });
  return wf;
}

class worker_fixture {
public:
  worker_fixture() : sys_(configured(cfg_)) {
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler());
    // Any actor left at the end (a test that fails half-way) must not hang the destructor.
    sys_.await_actors_before_shutdown(false);
    book = std::make_shared<lifespan_book>();
  }

  ~worker_fixture() {
    if (sup && !ended())
      caf::anon_send_exit(sup, caf::exit_reason::kill);
    run();
    sup = nullptr;
    observer_ = nullptr;
    run();
  }

  /// Spawns the worker's supervisor with `opts` (test_workflow() and the counted lifespan unless
  /// given) and runs until it waits for the engine.
  void start(hatchet::worker_options opts = {}) {
    if (opts.workflows.empty())
      opts.workflows = {test_workflow()};
    if (!opts.lifespan)
      opts.lifespan = [b = book] { return counted_lifespan(b); };
    hatchet::config cfg;
    cfg.token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0In0.x";
    cfg.tenant_id = "t";
    cfg.host_port = "engine.test:7070";
    cfg.tls = hatchet::tls_strategy::none;
    auto spec = hatchet::detail::worker_spec::make(cfg, "actor-test", std::move(opts));
    if (!spec)
      throw std::runtime_error(hatchet::describe(spec.error()));
    hatchet::detail::wiring w;
    w.make_link = [l = link](const hatchet::config&) { return l; };
    w.make_executor = [e = exec](size_t) { return e; };
    w.detach_lifespan = false;
    sup = hatchet::detail::spawn_supervisor(sys_, *spec, w);
    auto seen = down_;
    // Held: an actor nobody references ends, and would miss the down message.
    observer_ = sys_.spawn([sup = sup, seen](caf::event_based_actor* self) -> caf::behavior {
      self->monitor(sup);
      self->set_down_handler([self, seen](caf::down_msg& dm) {
        *seen = std::move(dm.reason);
        self->quit();
      });
      return {[](int) {}};
    });
    run();
  }

  /// Delivers every message waiting, and those they cause, without advancing time.
  size_t run() {
    size_t n = 0;
    while (sched->try_run_once())
      ++n;
    return n;
  }

  /// Advances virtual time by `d`, firing the timers due, and delivers what follows.
  void advance(std::chrono::milliseconds d) {
    // In steps, so that a timer armed by a message a step delivers fires at its own time.
    while (d.count() > 0) {
      auto step = std::min(d, std::chrono::milliseconds{50});
      sched->advance_time(step);
      run();
      d -= step;
    }
  }

  /// advance(), with the engine accepting every heartbeat as it comes: a reachable engine. (A
  /// worker whose heartbeats go unanswered for fence_after gives its runs up.)
  void advance_beating(std::chrono::milliseconds d) {
    while (d.count() > 0) {
      auto step = std::min(d, std::chrono::milliseconds{1000});
      advance(step);
      link->answer_heartbeats(ok());
      run();
      d -= step;
    }
  }

  /// GetVersion, every PutWorkflow and Register answered OK; the worker registers as `id`.
  void register_as(const std::string& id = "worker-1") {
    link->answer(link->versions, ok(), std::string{"v0.80.0"});
    run();
    while (link->answer(link->workflows, ok()))
      run();
    link->answer(link->registrations, ok(), id);
    run();
  }

  /// Registered, and a heartbeat accepted on the open stream: the worker is ready.
  void attach(const std::string& id = "worker-1") {
    register_as(id);
    advance(250ms); // the extra heartbeat that proves a new stream
    link->answer_heartbeats(ok());
    run();
  }

  /// The supervisor's answer to a question (status_atom, ready_atom, ...), or the error.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts... question) {
    // Only for questions answered once the messages they cause are delivered: the receive
    // below would wait for ever on one that is not (nothing else runs the scheduler).
    caf::scoped_actor self{sys_, true};
    std::optional<caf::expected<T>> answer;
    auto handle = self->request(sup, caf::infinite, question...);
    run();
    handle.receive([&](T& x) { answer = std::move(x); },
                   [&](caf::error& e) { answer = std::move(e); });
    return std::move(*answer);
  }

  std::string worker_state() {
    auto s = ask<std::string>(hatchet::msg::status_atom::value);
    return s ? *s : "no answer";
  }

  /// The exit code the supervisor ended with, or -1 while it runs.
  int exit_code() const {
    return *down_ ? hatchet::to_int(hatchet::exit_code_for(**down_)) : -1;
  }
  bool ended() const { return down_->has_value(); }

  /// The events sent so far of `type` (COMPLETED, FAILED, ...).
  std::vector<hatchet::wire::step_event> sent(hatchet::wire::step_event_type type) const {
    std::vector<hatchet::wire::step_event> out;
    for (const auto& c : link->all_events)
      if (c.event.type == type)
        out.push_back(c.event);
    return out;
  }

  void stop() {
    caf::anon_send(sup, hatchet::msg::shutdown_atom::value);
    run();
  }

  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<engine_link> link = std::make_shared<engine_link>();
  std::shared_ptr<manual_executor> exec = std::make_shared<manual_executor>();
  std::shared_ptr<lifespan_book> book;
  caf::actor sup;

private:
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::actor observer_;
  std::shared_ptr<std::optional<caf::error>> down_ =
    std::make_shared<std::optional<caf::error>>();
};

} // namespace fake
