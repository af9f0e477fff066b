// Waiting for a run's result (include/hatchet/run_ref.hpp).

#include "hatchet/run_ref.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "client/client_core.hpp"
#include "hatchet/errors.hpp"

namespace hatchet {

void run_ref::on_finished(std::function<void(caf::expected<run_result>)> fn) const {
  if (!core_)
    return fn(make_error(errc::invalid_config, "an empty run_ref (default-constructed)"));
  if (auto err = core_->ready())
    return fn(std::move(err));
  core_->listener().watch(id_, std::move(fn));
}

caf::expected<run_result> run_ref::wait(std::chrono::milliseconds timeout) const {
  if (!core_)
    return make_error(errc::invalid_config, "an empty run_ref (default-constructed)");
  if (auto err = core_->ready())
    return err;
  struct slot {
    std::mutex mtx;
    std::condition_variable cv;
    std::optional<caf::expected<run_result>> value;
  };
  auto s = std::make_shared<slot>();
  auto token = core_->listener().watch(id_, [s](caf::expected<run_result> r) {
    std::lock_guard lk{s->mtx};
    s->value.emplace(std::move(r));
    s->cv.notify_all();
  });
  std::unique_lock lk{s->mtx};
  if (!s->cv.wait_for(lk, timeout, [&] { return s->value.has_value(); })) {
    lk.unlock();
    if (core_->listener().unwatch(id_, token))
      return make_error(errc::timed_out,
                        "run " + id_ + " did not finish within " + std::to_string(timeout.count())
                          + " ms; it goes on on the engine (wait again, or cancel it)");
    lk.lock(); // it fired meanwhile
    s->cv.wait(lk, [&] { return s->value.has_value(); });
  }
  return std::move(*s->value);
}

} // namespace hatchet
