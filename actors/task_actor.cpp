#include "actors/task_actor.hpp"

#include <coroutine>
#include <optional>
#include <stop_token>

#include <caf/all.hpp>

#include "actors/run_dependencies.hpp"
#include "actors/task_run.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

/// One slot. A synchronous task runs on a task thread (the executor) and reports back here; a
/// co_task runs right here, on this actor, and is resumed by this actor's messages when what it
/// waits for (a timer, a blocking job, a callback from another thread) is done, so a waiting
/// co_task holds no thread.
class task_actor : public caf::event_based_actor, public async_hooks {
public:
  task_actor(caf::actor_config& cfg, caf::actor dispatcher, std::shared_ptr<executor> exec)
    : caf::event_based_actor(cfg), dispatcher_(std::move(dispatcher)), exec_(std::move(exec)) {
  }

  const char* name() const override { return "hatchet.task"; }

  caf::behavior make_behavior() override {
    return {
      [this](msg::run_atom, msg::assignment& a) {
        run_ = a.action.ids;
        stop_.emplace();
        if (a.task->async_fn)
          return start_async(std::move(a));
        auto token = stop_->get_token();
        auto self = caf::actor_cast<caf::actor>(this);
        exec_->post([a = std::move(a), token, self]() mutable {
          std::shared_ptr<engine_calls> calls;
          auto outcome = execute(a, token, &calls);
          report_after(calls, std::move(outcome), std::move(self));
          // Done with CAF first: the state reference may be the lifespan gate's last holder, and
          // once it goes the worker (and its actor system) may end.
          a = {};
        });
      },
      [this](msg::cancel_atom, const std::string& key) {
        if (!stop_ || !run_ || key != run_->key)
          return;
        stop_->request_stop();
        // A co_task asleep, or waiting for a callback, wakes at once (sleep_for yields false,
        // await_callback errc::cancelled); one waiting for a blocking job goes on waiting for it.
        if (async_ && interruptible_) {
          interruptible_ = false;
          ++wait_gen_; // the timer, when it fires, finds nothing to resume
          resume(std::exchange(waiting_, {}));
        }
      },
      [this](msg::resume_atom, uint64_t gen) {
        if (!async_ || gen != wait_gen_ || !waiting_)
          return;
        interruptible_ = false;
        resume(std::exchange(waiting_, {}));
      },
      [this](msg::done_atom, msg::task_outcome& outcome) { report(std::move(outcome)); },
    };
  }

  void on_exit() override {
    // A co_task still suspended here (stopped after the drain, or killed) goes with its frame,
    // unless a run_blocking job is still running: that job holds the run (it may read the
    // frame's locals and the context) and the last of them to finish destroys it.
    async_.reset();
    // The dispatcher holds this actor's handle and this actor holds the dispatcher's: drop ours
    // so that both can be destroyed once stopped.
    dispatcher_ = nullptr;
    exec_.reset();
    stop_.reset();
  }

  // -- async_hooks: called from inside the co_task, on this actor's thread ----------------------

  void resume_after(std::chrono::nanoseconds d, std::coroutine_handle<> h) override {
    waiting_ = h;
    interruptible_ = true;
    delayed_send(this, d, msg::resume_atom::value, ++wait_gen_);
  }

  std::function<void()> resume_on_call(std::coroutine_handle<> h) override {
    waiting_ = h;
    interruptible_ = true;
    // Weak: a wait that never completes (the run it waits for is lost) must not keep this actor,
    // and with it the worker's actor system, alive.
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(caf::actor_cast<caf::actor>(this));
    return [weak = std::move(weak), gen = ++wait_gen_] {
      if (auto self = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(self, msg::resume_atom::value, gen);
    };
  }

  void run_blocking(std::function<void()> job, std::coroutine_handle<> h) override {
    waiting_ = h;
    auto gen = ++wait_gen_;
    auto self = caf::actor_cast<caf::actor>(this);
    exec_->post([job = std::move(job), self, gen, run = async_]() mutable {
      job();
      caf::anon_send(self, msg::resume_atom::value, gen);
      self = nullptr; // done with CAF before the run (maybe the gate's last holder) goes
      run.reset(); // if the actor is gone, the frame is destroyed here, after the job
    });
  }

private:
  /// A co_task's run: the assignment keeps the task and the state alive, the context and the
  /// coroutine frame live as long as the run (and as a run_blocking job it started).
  struct async_run {
    msg::assignment assignment;
    std::unique_ptr<hatchet::context> ctx;
    co_task<nlohmann::json> coro;

    ~async_run() {
      coro = {}; // the frame refers to the context: destroy it first
    }
  };

  void start_async(msg::assignment a) {
    auto prepared = prepare(a, stop_->get_token(), this);
    if (auto* early = std::get_if<msg::task_outcome>(&prepared))
      return report(std::move(*early));
    auto& p = std::get<prepared_run>(prepared);
    async_ = std::make_shared<async_run>();
    async_->assignment = std::move(a);
    async_->ctx = std::move(p.ctx);
    try {
      async_->coro = context_access::dependencies(*async_->ctx)
                       ? with_dependencies(async_->assignment, std::move(p.input), *async_->ctx)
                       : async_->assignment.task->async_fn(std::move(p.input), *async_->ctx);
    } catch (...) { // only allocating the frame can throw here
      auto outcome = settle(async_->assignment, [] () -> nlohmann::json { throw; });
      async_.reset();
      return report(std::move(outcome));
    }
    resume(async_->coro.handle());
  }

  /// Runs the co_task until it waits again or ends; reports it when it has ended.
  void resume(std::coroutine_handle<> h) {
    h.resume();
    if (!async_ || !async_->coro.done())
      return;
    auto& run = *async_;
    auto outcome = settle(run.assignment, [&] { return run.coro.take(); });
    auto calls = context_access::engine_calls_of(*run.ctx);
    async_.reset(); // frame, context and state reference go before the slot is handed back
    if (!calls)
      return report(std::move(outcome));
    report_after(calls, std::move(outcome), caf::actor_cast<caf::actor>(this));
  }

  /// The outcome comes back here (done_atom) once the run's log lines and stream chunks have
  /// been answered, so that none is still on its way when the engine ends the run (a client
  /// reading the stream would lose it). At once when there are none in flight.
  static void report_after(const std::shared_ptr<engine_calls>& calls, msg::task_outcome outcome,
                           caf::actor self) {
    if (!calls) {
      caf::anon_send(self, msg::done_atom::value, std::move(outcome));
      return;
    }
    calls->when_drained([self = std::move(self), outcome = std::move(outcome)]() mutable {
      caf::anon_send(self, msg::done_atom::value, std::move(outcome));
      self = nullptr;
    });
  }

  void report(msg::task_outcome outcome) {
    stop_.reset();
    run_.reset();
    waiting_ = {};
    interruptible_ = false;
    send(dispatcher_, msg::done_atom::value, std::move(outcome), caf::actor_cast<caf::actor>(this));
  }

  caf::actor dispatcher_;
  std::shared_ptr<executor> exec_;
  wire::run_ref run_; ///< the run going on here, if any
  std::optional<std::stop_source> stop_;
  std::shared_ptr<async_run> async_; ///< shared with a running run_blocking job
  std::coroutine_handle<> waiting_; ///< where the co_task waits, if it does
  bool interruptible_ = false;      ///< ...in sleep_for or await_callback (a cancel wakes it)
  uint64_t wait_gen_ = 0;           ///< tells a current wake-up from a stale one
};

} // namespace

caf::actor spawn_task_actor(caf::local_actor* parent, caf::actor dispatcher,
                            std::shared_ptr<executor> exec) {
  return parent->spawn<task_actor, caf::monitored>(std::move(dispatcher), std::move(exec));
}

} // namespace hatchet::detail
