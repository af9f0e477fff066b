#include "actors/task_actor.hpp"

#include <optional>
#include <stop_token>

#include <caf/all.hpp>

#include "actors/task_run.hpp"
#include "messages/messages.hpp"

namespace hatchet::detail {

namespace {

class task_actor : public caf::event_based_actor {
public:
  task_actor(caf::actor_config& cfg, caf::actor dispatcher, std::shared_ptr<executor> exec)
    : caf::event_based_actor(cfg), dispatcher_(std::move(dispatcher)), exec_(std::move(exec)) {
  }

  const char* name() const override { return "hatchet.task"; }

  caf::behavior make_behavior() override {
    return {
      [this](msg::run_atom, msg::assignment& a) {
        key_ = a.action.key();
        stop_.emplace();
        auto token = stop_->get_token();
        auto self = caf::actor_cast<caf::actor>(this);
        exec_->post([a = std::move(a), token, self]() mutable {
          auto outcome = execute(a, token);
          a = {}; // drop the state reference before the slot is handed back
          caf::anon_send(self, msg::done_atom::value, std::move(outcome));
        });
      },
      [this](msg::cancel_atom, const std::string& key) {
        if (stop_ && key == key_)
          stop_->request_stop();
      },
      [this](msg::done_atom, msg::task_outcome& outcome) {
        stop_.reset();
        key_.clear();
        send(dispatcher_, msg::done_atom::value, std::move(outcome), caf::actor_cast<caf::actor>(this));
      },
    };
  }

private:
  caf::actor dispatcher_;
  std::shared_ptr<executor> exec_;
  std::string key_;
  std::optional<std::stop_source> stop_;
};

} // namespace

caf::actor spawn_task_actor(caf::local_actor* parent, caf::actor dispatcher,
                            std::shared_ptr<executor> exec) {
  return parent->spawn<task_actor, caf::monitored>(std::move(dispatcher), std::move(exec));
}

} // namespace hatchet::detail
