#include "actors/lifespan_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/worker_log.hpp"
#include "messages/messages.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace hatchet::detail {

namespace {

class lifespan_actor : public caf::event_based_actor {
public:
  lifespan_actor(caf::actor_config& cfg, lifespan_fn fn, std::string worker_name,
                 uint64_t generation, std::shared_ptr<lifespan_report> report)
    : caf::event_based_actor(cfg),
      fn_(std::move(fn)),
      log_(std::move(worker_name)),
      generation_(generation),
      report_(std::move(report)) {
  }

  const char* name() const override { return "hatchet.lifespan"; }

  caf::behavior make_behavior() override {
    return {
      [this](msg::setup_atom) -> caf::result<lifespan_state_ptr> {
        if (!fn_)
          return lifespan_state_ptr{}; // no lifespan: tasks see none
        try {
          driver_ = fn_.make();
          auto built = driver_->setup();
          log_.info("lifespan set up{}", label());
          // The same object, numbered: tasks can tell which setup they hold.
          return lifespan_state_ptr{std::make_shared<const lifespan_state>(
            lifespan_state{built->type, built->value, generation_})};
        } catch (const std::exception& e) {
          driver_.reset(); // destroys the coroutine frame: what setup built is released
          return make_error(errc::lifespan_setup_failed,
                            "lifespan setup failed: " + demangle(typeid(e).name()) + ": "
                              + e.what());
        } catch (...) {
          driver_.reset();
          return make_error(errc::lifespan_setup_failed,
                            "lifespan setup failed: a non-std exception was thrown");
        }
      },
    };
  }

  void on_exit() override {
    if (!driver_)
      return;
    bool skip = false;
    {
      std::lock_guard lock{report_->mtx};
      skip = report_->skip_cleanup;
    }
    if (skip) {
      // Task code still uses the state. Destroying the coroutine frame would run its locals'
      // destructors under that code, so the frame is deliberately left alive: the process is
      // about to end, and a leak is the lesser harm.
      log_.error("lifespan cleanup{} skipped: task code still holds the state",
                 label());
      auto* kept = driver_.release();
#if defined(__SANITIZE_ADDRESS__)
      __lsan_ignore_object(kept); // deliberate (above): not a leak for LeakSanitizer to report
#endif
      (void) kept;
      return;
    }
    std::string error;
    try {
      log_.info("lifespan cleanup{} starting", label());
      driver_->cleanup();
    } catch (const std::exception& e) {
      error = demangle(typeid(e).name()) + ": " + e.what();
    } catch (...) {
      error = "a non-std exception was thrown";
    }
    driver_.reset();
    if (error.empty())
      log_.info("lifespan cleanup{} finished", label());
    else
      log_.error("lifespan cleanup{} failed: {}", label(), error);
    std::lock_guard lock{report_->mtx};
    report_->cleaned_up = true;
    report_->cleanup_error = std::move(error);
  }

private:
  /// "" for the first generation (the usual case reads as before), " (generation N)" after.
  std::string label() const {
    return generation_ == 1 ? std::string{} : " (generation " + std::to_string(generation_) + ")";
  }

  lifespan_fn fn_;
  worker_log log_;
  uint64_t generation_;
  std::shared_ptr<lifespan_report> report_;
  std::unique_ptr<lifespan_driver> driver_;
};

} // namespace

caf::actor spawn_lifespan_actor(caf::local_actor* parent, lifespan_fn fn,
                                std::string worker_name, uint64_t generation,
                                std::shared_ptr<lifespan_report> report, bool detached) {
  if (!detached)
    return parent->spawn<lifespan_actor, caf::monitored>(std::move(fn), std::move(worker_name),
                                                         generation, std::move(report));
  return parent->spawn<lifespan_actor, caf::detached + caf::monitored>(
    std::move(fn), std::move(worker_name), generation, std::move(report));
}

} // namespace hatchet::detail
