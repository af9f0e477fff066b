// The public worker API (include/hatchet/worker.hpp): embedding, and run() with signal handling.

#include "hatchet/worker.hpp"

#include <csignal>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/process_tuning.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker_spec.hpp"
#include "client/rest_client.hpp"
#include "messages/messages.hpp"

namespace hatchet {

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

/// The exit code a worker that ended with `reason` reports, logged when it is not ok, and
/// whether threads may still be inside task or cleanup code (the lifespan actor still inside the
/// cleanup, or task threads inside user code): tearing the process down around them (static
/// destructors) is not safe.
exit_code ended_with(const caf::error& reason, const std::string& name, bool& must_exit_at_once) {
  auto code = exit_code_for(reason);
  if (code != exit_code::ok)
    spdlog::error("worker {}: exiting with code {} ({})", name, to_int(code), describe(reason));
  must_exit_at_once = reason && reason.category() == errc_category::value
                      && (reason.code() == static_cast<uint8_t>(errc::cleanup_timed_out)
                          || reason.code() == static_cast<uint8_t>(errc::cleanup_skipped));
  return code;
}

/// The end of a worker's own actor system. A forced stop does not wait for the REST pause call
/// (nor a start-up failure for a TLS probe); their threads post to the worker's actors, so they
/// are awaited while the system still exists, and must not run into the process's teardown.
/// When threads may still be inside user code the system is left alive rather than destroyed
/// under them (its destructor would wait for them, maybe forever).
void end_own_system(std::unique_ptr<caf::actor_system_config> cfg,
                    std::unique_ptr<caf::actor_system> sys, const std::string& name,
                    bool& must_exit_at_once) {
  if (!must_exit_at_once && !await_background_calls(std::chrono::seconds{2})) {
    spdlog::warn("worker {}: a call to the engine is still running", name);
    must_exit_at_once = true;
  }
  if (must_exit_at_once) {
    // Left running, with the configuration it refers to; the caller ends the process.
    static_cast<void>(sys.release());
    static_cast<void>(cfg.release());
  } else {
    sys.reset(); // before its configuration
  }
  spdlog::default_logger()->flush();
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
    return to_int(exit_code::startup_failed);
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
  auto code = exit_code::worker_failed;
  // Owned by hand: when threads may still be inside task or cleanup code, the system is left
  // alive rather than destroyed under them (its destructor would wait for them, maybe forever),
  // and so is the configuration it refers to.
  auto cfg = std::make_unique<caf::actor_system_config>();
  configure_own_system(*cfg);
  auto sys = std::make_unique<caf::actor_system>(*cfg);
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
      code = ended_with(reason, spec_->name, must_exit_at_once_);
    }
  }
  end_own_system(std::move(cfg), std::move(sys), spec_->name, must_exit_at_once_);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return to_int(code);
}

bool await_background_calls(std::chrono::milliseconds timeout) {
  return rpc::await_rest_calls(timeout);
}

bool worker::must_exit_at_once() const {
  return must_exit_at_once_;
}

// -- start(): in the background ------------------------------------------------------------------

struct started_worker::impl {
  std::string name;
  /// The system keeps a reference to its configuration: it must outlive the system.
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor supervisor;
  std::string id;
  std::optional<int> code; ///< once stopped
  caf::error reason;       ///< what the worker ended with, once stopped
  bool must_exit_at_once = false;

  /// Asks the supervisor to stop and waits for its end.
  int stop() {
    if (code)
      return *code;
    {
      caf::scoped_actor self{*sys};
      self->monitor(supervisor);
      caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
      self->receive([&](caf::down_msg& dm) { reason = std::move(dm.reason); });
    }
    supervisor = nullptr;
    code = to_int(ended_with(reason, name, must_exit_at_once));
    end_own_system(std::move(cfg), std::move(sys), name, must_exit_at_once);
    return *code;
  }
};

started_worker::started_worker(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
started_worker::started_worker(started_worker&&) noexcept = default;
started_worker& started_worker::operator=(started_worker&& other) noexcept {
  if (this != &other) {
    if (impl_)
      impl_->stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
started_worker::~started_worker() {
  if (impl_)
    impl_->stop();
}

const std::string& started_worker::id() const noexcept {
  return impl_->id;
}

int started_worker::stop() {
  return impl_->stop();
}

bool started_worker::must_exit_at_once() const noexcept {
  return impl_ && impl_->must_exit_at_once;
}

caf::expected<started_worker> worker::start(std::chrono::milliseconds ready_timeout) const {
  if (!spec_)
    return *init_error_;
  auto i = std::make_unique<started_worker::impl>();
  i->name = spec_->name;
  i->cfg = std::make_unique<caf::actor_system_config>();
  configure_own_system(*i->cfg);
  i->sys = std::make_unique<caf::actor_system>(*i->cfg);
  i->supervisor = detail::spawn_supervisor(*i->sys, spec_);
  auto id = await_ready(*i->sys, i->supervisor, ready_timeout);
  if (!id) {
    i->stop(); // whatever had started is stopped, in order
    // What stopped it (a failed setup, a refused registration) says more than "not ready".
    if (i->reason && i->reason != caf::exit_reason::normal)
      return std::move(i->reason);
    return std::move(id.error());
  }
  i->id = std::move(*id);
  return started_worker{std::move(i)};
}

namespace {

/// Asks the supervisor a question whose answer is a string, from a non-actor thread.
template <class Atom>
caf::expected<std::string> ask(caf::actor_system& sys, const caf::actor& worker, Atom question,
                               std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::expected<std::string> result{make_error(errc::shutting_down, "no answer")};
  self->request(worker, timeout, question)
    .receive([&](std::string& answer) { result = std::move(answer); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::expected<std::string> await_ready(caf::actor_system& sys, const caf::actor& worker,
                                       std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::ready_atom::value, timeout);
}

caf::expected<std::string> worker_status(caf::actor_system& sys, const caf::actor& worker,
                                         std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::status_atom::value, timeout);
}

caf::expected<uint64_t> reload(caf::actor_system& sys, const caf::actor& worker,
                               std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::expected<uint64_t> result{make_error(errc::reload_failed, "no answer")};
  self->request(worker, timeout, msg::reload_atom::value)
    .receive([&](uint64_t generation) { result = generation; },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<std::string> health_address(caf::actor_system& sys, const caf::actor& worker,
                                          std::chrono::milliseconds timeout) {
  return ask(sys, worker, msg::health_atom::value, timeout);
}

} // namespace hatchet
