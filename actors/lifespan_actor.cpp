#include "actors/lifespan_actor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

class lifespan_actor : public caf::event_based_actor {
public:
  lifespan_actor(caf::actor_config& cfg, lifespan_fn fn, std::string worker_name,
                 std::shared_ptr<lifespan_report> report)
    : caf::event_based_actor(cfg),
      fn_(std::move(fn)),
      worker_name_(std::move(worker_name)),
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
          auto state = driver_->setup();
          spdlog::info("worker {}: lifespan set up", worker_name_);
          return state;
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
      spdlog::error("worker {}: lifespan cleanup skipped: task code still holds the state",
                    worker_name_);
      (void) driver_.release();
      return;
    }
    std::string error;
    try {
      spdlog::info("worker {}: lifespan cleanup starting", worker_name_);
      driver_->cleanup();
    } catch (const std::exception& e) {
      error = demangle(typeid(e).name()) + ": " + e.what();
    } catch (...) {
      error = "a non-std exception was thrown";
    }
    driver_.reset();
    if (error.empty())
      spdlog::info("worker {}: lifespan cleanup finished", worker_name_);
    else
      spdlog::error("worker {}: lifespan cleanup failed: {}", worker_name_, error);
    std::lock_guard lock{report_->mtx};
    report_->cleaned_up = true;
    report_->cleanup_error = std::move(error);
  }

private:
  lifespan_fn fn_;
  std::string worker_name_;
  std::shared_ptr<lifespan_report> report_;
  std::unique_ptr<lifespan_driver> driver_;
};

} // namespace

caf::actor spawn_lifespan_actor(caf::local_actor* parent, lifespan_fn fn,
                                std::string worker_name,
                                std::shared_ptr<lifespan_report> report) {
  return parent->spawn<lifespan_actor, caf::detached + caf::monitored>(
    std::move(fn), std::move(worker_name), std::move(report));
}

} // namespace hatchet::detail
