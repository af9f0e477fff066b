// The public worker API: validation, embedding, and run() with signal handling.

#include "hatchet/worker.hpp"

#include <csignal>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <regex>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/process_tuning.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker_spec.hpp"
#include "client/client_core.hpp"
#include "client/rest_client.hpp"
#include "messages/messages.hpp"

namespace hatchet {

namespace {

bool valid_name(const std::string& s) {
  static const std::regex re{"^[a-zA-Z0-9._-]+$"};
  return std::regex_match(s, re);
}

bool valid_duration(const std::string& s) {
  static const std::regex re{"^((\\d+(\\.\\d*)?|\\.\\d+)(ms|s|m|h))+$"};
  return std::regex_match(s, re);
}

} // namespace

caf::error workflow::validate() const {
  auto bad = [&](std::string why) {
    return make_error(errc::invalid_workflow, "workflow '" + name_ + "': " + std::move(why));
  };
  if (name_.empty())
    return make_error(errc::invalid_workflow, "a workflow needs a name");
  if (tasks_.empty())
    return bad("has no tasks");
  std::set<std::string> names;
  auto check_task = [&](const detail::task_def& t) -> caf::error {
    if (!valid_name(t.name))
      return bad("task name '" + t.name + "' must match [a-zA-Z0-9._-]+");
    if (!names.insert(to_lower(t.name)).second)
      return bad("two tasks are named '" + t.name + "'");
    const auto& o = t.options;
    if (!valid_duration(o.timeout))
      return bad("task '" + t.name + "': timeout '" + o.timeout
                 + "' is not a duration such as 30s, 5m or 1h");
    if (o.retries < 0)
      return bad("task '" + t.name + "': retries must be >= 0");
    if (o.slot_cost < 1)
      return bad("task '" + t.name + "': slot_cost must be >= 1");
    // The engine's bounds (PutWorkflow refuses a workflow outside them).
    if (o.backoff_factor && !(*o.backoff_factor >= 1 && *o.backoff_factor <= 1000))
      return bad("task '" + t.name + "': backoff_factor must be between 1 and 1000");
    if (o.backoff_max_seconds && !o.backoff_factor)
      return bad("task '" + t.name + "': backoff_max_seconds has no effect without backoff_factor");
    if (o.backoff_max_seconds && (*o.backoff_max_seconds < 1 || *o.backoff_max_seconds > 86400))
      return bad("task '" + t.name + "': backoff_max_seconds must be between 1 and 86400");
    if (!o.schedule_timeout.empty() && !valid_duration(o.schedule_timeout))
      return bad("task '" + t.name + "': schedule_timeout '" + o.schedule_timeout
                 + "' is not a duration such as 30s, 5m or 1h");
    return caf::none;
  };
  for (const auto& t : tasks_)
    if (auto err = check_task(*t))
      return err;
  if (on_failure_)
    if (auto err = check_task(*on_failure_))
      return err;
  for (const auto& t : tasks_)
    for (const auto& p : t->options.parents)
      if (names.count(to_lower(p)) == 0)
        return bad("task '" + t->name + "' names an unknown parent '" + p + "'");
  // Cycles: repeatedly remove tasks whose parents are all removed.
  std::set<std::string> done;
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& t : tasks_) {
      if (done.count(t->name) != 0)
        continue;
      if (std::all_of(t->options.parents.begin(), t->options.parents.end(),
                      [&](const std::string& p) { return done.count(p) != 0; })) {
        done.insert(t->name);
        progress = true;
      }
    }
  }
  if (done.size() != tasks_.size())
    return bad("the task parents form a cycle");
  for (const auto& key : event_triggers_)
    if (key.empty())
      return bad("an event key in on_events is empty");
  for (const auto& expr : cron_triggers_)
    if (expr.find_first_not_of(" \t") == std::string::npos)
      return bad("a cron expression in on_crons is empty");
  if (!cron_input_.is_null() && !cron_input_.is_object())
    return bad("cron_input must be a JSON object, not " + std::string{cron_input_.type_name()});
  return caf::none;
}

caf::error worker_options::validate() const {
  if (slots < 1 || slots > max_slots)
    return make_error(errc::invalid_config, "slots must be between 1 and "
                                              + std::to_string(max_slots) + ", not "
                                              + std::to_string(slots));
  if (workflows.empty())
    return make_error(errc::invalid_config, "a worker needs at least one workflow");
  if (heartbeat_interval < std::chrono::milliseconds{100})
    return make_error(errc::invalid_config, "heartbeat_interval must be at least 100 ms");
  for (auto [value, what] : {std::pair{drain_timeout, "drain_timeout"},
                             std::pair{cancel_grace, "cancel_grace"},
                             std::pair{cleanup_timeout, "cleanup_timeout"},
                             std::pair{flush_timeout, "flush_timeout"}})
    if (value.count() < 0)
      return make_error(errc::invalid_config, std::string{what} + " must not be negative");
  if (max_task_threads < 0)
    return make_error(errc::invalid_config, "max_task_threads must be >= 0");
  for (const auto& wf : workflows)
    if (auto err = wf.validate())
      return err;
  return caf::none;
}

namespace detail {

caf::expected<std::shared_ptr<const worker_spec>>
worker_spec::make(config cfg, const std::string& name, worker_options options) {
  if (auto err = cfg.validate())
    return err;
  if (!valid_name(name))
    return make_error(errc::invalid_config,
                      "worker name '" + name + "' must match [a-zA-Z0-9._-]+");
  if (auto err = options.validate())
    return err;
  auto spec = std::make_shared<worker_spec>();
  spec->name = cfg.apply_namespace(name);
  for (const auto& wf : options.workflows) {
    // Everything the engine will check, checked before the first call: a name refused half-way
    // through registration would leave some workflows registered and their runs waiting.
    if (auto full = cfg.workflow_name(wf.name()); !valid_name(full))
      return make_error(errc::invalid_workflow, "workflow name '" + full
                                                  + "' must match [a-zA-Z0-9._-]+");
    auto all = wf.tasks();
    if (wf.on_failure_task())
      all.push_back(wf.on_failure_task()); // served like any task
    for (const auto& t : all) {
      auto id = cfg.action_id(wf.name(), t->name);
      if (!spec->tasks.emplace(id, t).second)
        return make_error(errc::invalid_workflow, "two tasks map to the action id '" + id + "'");
      spec->actions.push_back(id);
    }
  }
  std::sort(spec->actions.begin(), spec->actions.end());
  // HATCHET_CLIENT_WORKER_PRESET_LABELS add to the worker's labels; its own win on a clash.
  for (const auto& [key, value] : cfg.preset_labels)
    options.labels.emplace(key, value);
  spec->client = std::make_shared<client_core>(cfg);
  spec->cfg = std::move(cfg);
  spec->options = std::move(options);
  return std::shared_ptr<const worker_spec>{std::move(spec)};
}

} // namespace detail

worker::worker(config cfg, std::string name, worker_options options) {
  auto spec = detail::worker_spec::make(std::move(cfg), name, std::move(options));
  if (spec)
    spec_ = std::move(*spec);
  else
    init_error_ = std::make_shared<const caf::error>(std::move(spec.error()));
}

worker::~worker() = default;
worker::worker(worker&&) noexcept = default;
worker& worker::operator=(worker&&) noexcept = default;

const std::string& worker::name() const {
  static const std::string none;
  return spec_ ? spec_->name : none;
}

caf::expected<caf::actor> worker::spawn(caf::actor_system& sys) const {
  if (!spec_)
    return *init_error_;
  return detail::spawn_supervisor(sys, spec_);
}

void configure(caf::actor_system_config& cfg) {
  // Only what the worker needs, in a host's system too: skip the "moderate" polling phase so
  // that blocking callers (gRPC threads, scoped actors) are woken in microseconds, not after
  // 50 us sleeps. The host's thread count and logger are its own business.
  cfg.set("work-stealing.moderate-poll-attempts", static_cast<size_t>(0));
}

namespace {

/// worker::run()'s own actor system: the worker is its only tenant.
void configure_own_system(caf::actor_system_config& cfg) {
  configure(cfg);
  // More scheduler threads than cores only adds contention (CAF's default is at least 4).
  auto threads = std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
  cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
  cfg.set("logger.verbosity", caf::atom("quiet"));
}

} // namespace

int worker::run() {
  must_exit_at_once_ = false;
  // run() owns the process's worker: HATCHET_CLIENT_LOG_LEVEL applies (an embedded worker
  // leaves the host's logger as it is).
  if (spec_ && !spec_->cfg.log_level.empty())
    spdlog::set_level(spdlog::level::from_str(spec_->cfg.log_level));
  if (!spec_) {
    spdlog::error("cannot start the worker: {}", describe(*init_error_));
    return exit_code::startup_failed;
  }
  detail::tune_process();
  // Signals go to one thread that waits for them, never to a CAF or gRPC thread: block them here
  // before any other thread exists, so every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGQUIT);
  sigaddset(&signals, SIGHUP);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  int code = exit_code::worker_failed;
  caf::actor_system_config cfg;
  configure_own_system(cfg);
  // Owned by hand: when threads may still be inside task or cleanup code, the system is left
  // alive rather than destroyed under them (its destructor would wait for them, maybe forever).
  auto sys = std::make_unique<caf::actor_system>(cfg);
  {
    auto sup = detail::spawn_supervisor(*sys, spec_);
    caf::scoped_actor self{*sys};
    auto waker = caf::actor_cast<caf::actor>(self);
    std::atomic<bool> done{false};
    std::thread waiter{[&] {
      timespec tick{0, 100'000'000};
      int received = 0;
      while (!done.load()) {
        int sig = sigtimedwait(&signals, nullptr, &tick);
        if (sig <= 0)
          continue;
        if (sig == SIGQUIT) {
          spdlog::warn("worker {}: SIGQUIT: cold stop, no drain and no cleanup", spec_->name);
          caf::anon_send(waker, msg::shutdown_atom::value);
          return;
        }
        if (sig == SIGHUP) {
          spdlog::info("worker {}: received SIGHUP: reloading the lifespan", spec_->name);
          caf::anon_send(sup, msg::reload_atom::value); // the supervisor logs how it went
          continue;
        }
        ++received;
        spdlog::info("worker {}: received {}{}", spec_->name, sig == SIGINT ? "SIGINT" : "SIGTERM",
                     received > 1 ? " again" : "");
        caf::anon_send(sup, msg::shutdown_atom::value);
      }
    }};
    self->monitor(sup);
    caf::error reason;
    bool cold = false;
    self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  [&](msg::shutdown_atom) { cold = true; });
    done = true;
    waiter.join();
    if (cold) {
      code = exit_code::cold_stop;
      must_exit_at_once_ = true;
    } else {
      code = detail::exit_code_for(reason);
      if (code != exit_code::ok)
        spdlog::error("worker {}: exiting with code {} ({})", spec_->name, code,
                      describe(reason));
      // The lifespan actor is still inside the cleanup, or task threads are still inside user
      // code: tearing the process down around them (static destructors) is not safe.
      must_exit_at_once_ = reason && reason.category() == errc_category::value
                           && (reason.code() == static_cast<uint8_t>(errc::cleanup_timed_out)
                               || reason.code() == static_cast<uint8_t>(errc::cleanup_skipped));
    }
  }
  // A forced stop does not wait for the REST pause call (nor a start-up failure for a TLS
  // probe); their threads post to the worker's actors, so they are awaited while the actor
  // system still exists, and must not run into the process's teardown.
  if (!must_exit_at_once_ && !await_background_calls(std::chrono::seconds{2})) {
    spdlog::warn("worker {}: a call to the engine is still running", spec_->name);
    must_exit_at_once_ = true;
  }
  if (must_exit_at_once_)
    static_cast<void>(sys.release()); // left running; the caller ends the process
  else
    sys.reset();
  spdlog::default_logger()->flush();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

bool await_background_calls(std::chrono::milliseconds timeout) {
  return rpc::await_rest_calls(timeout);
}

bool worker::must_exit_at_once() const {
  return must_exit_at_once_;
}

} // namespace hatchet
