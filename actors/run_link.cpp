#include "actors/run_link.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include <caf/all.hpp>

#include "client/engine_link.hpp"
#include "hatchet/errors.hpp"
#include "messages/messages.hpp"
#include "util/go_duration.hpp"
#include "util/wall_clock.hpp"

namespace hatchet::detail {

namespace {

caf::error to_error(const char* call, const wire::rpc_status& st) {
  return make_error(errc::rpc_failed, std::string{call} + " answered " + st.describe());
}

class run_link final : public engine_calls, public std::enable_shared_from_this<run_link> {
public:
  run_link(std::shared_ptr<const worker_services> services, const run_info& run)
    : run_link(std::move(services), run.ids ? *run.ids : no_run_ids()) {
  }

  run_link(std::shared_ptr<const worker_services> services, const run_ids& ids)
    : services_(std::move(services)), task_run_id_(ids.task_run_external_id),
      retry_count_(ids.retry_count), key_(ids.key) {
  }

  void put_log(std::string text, std::string level) override {
    wire::log_line line{task_run_id_, std::move(text), std::move(level), retry_count_,
                        util::wall_clock_ns()};
    submit("PutLog", [line = std::move(line)](rpc::engine_link& link, done_fn done) {
      link.put_log(line, std::move(done));
    });
  }

  void put_stream(std::string bytes) override {
    submit("PutStreamEvent", [bytes = std::move(bytes), this](rpc::engine_link& link,
                                                             done_fn done) mutable {
      // The index is taken when the call starts: calls start one at a time, in order.
      wire::stream_chunk chunk{task_run_id_, std::move(bytes), next_index_++,
                               util::wall_clock_ns()};
      link.put_stream_event(chunk, std::move(done));
    });
  }

  void when_drained(std::function<void()> fn) override {
    {
      std::lock_guard lock{mtx_};
      if (in_flight_) {
        drained_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }

  void refresh_timeout(std::chrono::milliseconds by,
                       std::function<void(caf::error)> done) override {
    auto increment = util::format_go_duration(std::max(by, std::chrono::milliseconds{1}));
    services_->link->refresh_timeout(
      task_run_id_, increment,
      [self = shared_from_this(), increment, done = std::move(done)](wire::rpc_status st, int64_t) {
        if (!st.ok()) {
          self->services_->log.warn("run {}: RefreshTimeout by {} refused: {}", self->key_,
                                    increment, st.describe());
          return done(to_error("RefreshTimeout", st));
        }
        done(caf::error{});
      });
  }

  void release_slot(std::function<void(caf::error)> done) override {
    services_->link->release_slot(
      task_run_id_, [self = shared_from_this(), done = std::move(done)](wire::rpc_status st) {
        if (!st.ok()) {
          self->services_->log.warn("run {}: ReleaseSlot refused: {}", self->key_,
                                    st.describe());
          return done(to_error("ReleaseSlot", st));
        }
        // The worker frees its own slot only once the engine has: until then the engine counts
        // the slot as used and assigns nothing into it, so the worker never runs more than its
        // slots of slot-holding runs. Told before `done`, so the dispatcher has the message
        // before the task goes on.
        if (auto d = caf::actor_cast<caf::actor>(self->services_->dispatcher))
          caf::anon_send(d, msg::slot_free_atom::value, self->key_);
        done(caf::error{});
      });
  }

private:
  using done_fn = std::function<void(wire::rpc_status)>;
  using call_fn = std::function<void(rpc::engine_link&, done_fn)>;

  struct pending_call {
    const char* what = "";
    call_fn call;
  };

  /// One call in flight per run: the next starts when the previous is answered, so the engine
  /// receives the run's lines and chunks in the order they were made.
  void submit(const char* what, call_fn call) {
    {
      std::lock_guard lock{mtx_};
      queue_.push_back({what, std::move(call)});
      if (in_flight_)
        return; // the call in flight starts this one when it is answered
      in_flight_ = true;
    }
    start_next();
  }

  /// Called by whoever holds the in-flight turn: starts the next call, or gives the turn up.
  void start_next() {
    pending_call next;
    std::vector<std::function<void()>> drained;
    {
      std::lock_guard lock{mtx_};
      if (queue_.empty()) {
        in_flight_ = false;
        drained.swap(drained_);
      } else {
        next = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (!next.call) {
      for (auto& fn : drained)
        fn();
      return;
    }
    next.call(*services_->link, [self = shared_from_this(), what = next.what](wire::rpc_status st) {
      if (!st.ok()) {
        self->services_->log.warn("run {}: {} refused: {}", self->key_, what, st.describe());
        if (st.code == wire::status::unavailable || st.code == wire::status::deadline_exceeded)
          self->drop_queue(); // the next would wait as long to fail the same way
      }
      self->start_next();
    });
  }

  /// The engine is out of reach: the lines and chunks still queued are dropped, so that the
  /// run's outcome (sent once they are answered) is not held back by one deadline each.
  void drop_queue() {
    size_t dropped = 0;
    {
      std::lock_guard lock{mtx_};
      dropped = queue_.size();
      queue_.clear();
    }
    if (dropped > 0)
      services_->log.warn("run {}: {} log line(s) or stream chunk(s) dropped: the engine is out "
                          "of reach",
                          key_, dropped);
  }

  std::shared_ptr<const worker_services> services_;
  std::string task_run_id_;
  int32_t retry_count_;
  std::string key_;
  std::mutex mtx_;
  std::deque<pending_call> queue_;
  std::vector<std::function<void()>> drained_; ///< when_drained callbacks waiting
  bool in_flight_ = false;
  int64_t next_index_ = 0; ///< touched only by the call holding the in-flight turn
};

} // namespace

std::shared_ptr<engine_calls> worker_services::calls_for(const run_info& run) const {
  return std::make_shared<run_link>(shared_from_this(), run);
}

} // namespace hatchet::detail
