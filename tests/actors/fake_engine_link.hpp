#pragma once
// An engine link that answers nothing by itself: every call the worker makes is recorded with its
// callback, and the test answers it when and how it chooses (OK, a gRPC status, never). With
// CAF's test coordinator, whose clock is virtual, this runs the dispatcher and the supervisor
// through reconnects, refusals and stops in milliseconds, one message at a time.
//
// The callbacks post to actors (anon_send), so answering from the test's thread only enqueues a
// message: the test then runs the coordinator to deliver it.

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/engine_link.hpp"

namespace fake {

using hatchet::rpc::callback;
namespace wire = hatchet::wire;

inline wire::rpc_status status(int code, std::string message = {}) {
  wire::rpc_status st;
  st.code = code;
  st.message = std::move(message);
  return st;
}
inline wire::rpc_status ok() { return {}; }

/// A ListenV2 stream the test feeds: push() delivers an action, end() ends it.
struct stream final : hatchet::rpc::listen_stream {
  std::string worker_id;
  bool legacy = false;
  callback<wire::assigned_action> on_action;
  callback<wire::rpc_status> on_end;
  bool ended = false;
  bool cancelled = false;

  void push(wire::assigned_action a) {
    if (!ended)
      on_action(std::move(a));
  }
  void end(wire::rpc_status st) {
    if (!std::exchange(ended, true))
      on_end(std::move(st));
  }
  /// As a real stream: cancelling ends it with CANCELLED.
  void cancel() override {
    cancelled = true;
    end(status(wire::status::cancelled, "cancelled by the worker"));
  }
};

/// One recorded call: what was asked, and how to answer it once.
template <class... Answer>
struct call {
  std::string what; ///< worker id, workflow name, ... whatever identifies the call
  callback<Answer...> answer;
};

struct event_call {
  wire::step_event event;
  std::string worker_id;
  uint64_t seq = 0;
  std::shared_ptr<const hatchet::rpc::event_acks> acks;

  void answer(wire::rpc_status st) const { (*acks)(seq, std::move(st)); }
};

class engine_link final : public hatchet::rpc::engine_link {
public:
  std::deque<call<wire::rpc_status, std::string>> versions;
  std::deque<call<wire::rpc_status>> workflows;
  std::deque<call<wire::rpc_status, std::string>> registrations;
  std::vector<hatchet::rpc::register_request> register_requests;
  std::vector<std::shared_ptr<stream>> streams;
  std::deque<call<wire::rpc_status>> heartbeats;
  std::deque<event_call> events;
  std::vector<event_call> all_events; ///< every send, answered or not
  std::deque<call<wire::rpc_status>> unsubscribes;
  std::deque<call<int, std::string>> pauses;
  int heartbeat_count = 0;
  int renewals = 0; ///< renew_connection() calls

  void get_version(callback<wire::rpc_status, std::string> done) override {
    versions.push_back({"", std::move(done)});
  }
  void put_workflow(const hatchet::workflow& wf, callback<wire::rpc_status> done) override {
    workflows.push_back({wf.name(), std::move(done)});
  }
  void register_worker(const hatchet::rpc::register_request& req,
                       callback<wire::rpc_status, std::string> done) override {
    register_requests.push_back(req);
    registrations.push_back({req.worker_name, std::move(done)});
  }
  std::shared_ptr<hatchet::rpc::listen_stream> listen(const std::string& worker_id,
                                                      callback<wire::assigned_action> on_action,
                                                      callback<wire::rpc_status> on_end,
                                                      bool legacy) override {
    auto s = std::make_shared<stream>();
    s->worker_id = worker_id;
    s->legacy = legacy;
    s->on_action = std::move(on_action);
    s->on_end = std::move(on_end);
    streams.push_back(s);
    return s;
  }
  void heartbeat(const std::string& worker_id, callback<wire::rpc_status> done) override {
    ++heartbeat_count;
    heartbeats.push_back({worker_id, std::move(done)});
  }
  void send_event(const wire::step_event& ev, const std::string& worker_id, uint64_t seq,
                  const std::shared_ptr<const hatchet::rpc::event_acks>& acks) override {
    event_call c{ev, worker_id, seq, acks};
    all_events.push_back(c);
    events.push_back(std::move(c));
  }
  void unsubscribe(const std::string& worker_id, callback<wire::rpc_status> done) override {
    unsubscribes.push_back({worker_id, std::move(done)});
  }
  void set_paused(const std::string& worker_id, bool, callback<int, std::string> done) override {
    pauses.push_back({worker_id, std::move(done)});
  }
  void renew_connection() override { ++renewals; }

  /// The stream opened last, or null.
  std::shared_ptr<stream> current_stream() const {
    return streams.empty() ? nullptr : streams.back();
  }

  /// Answers the oldest pending call of `q` with `args`; false when none is pending.
  template <class Q, class... Args>
  static bool answer(Q& q, Args&&... args) {
    if (q.empty())
      return false;
    auto c = std::move(q.front());
    q.pop_front();
    c.answer(std::forward<Args>(args)...);
    return true;
  }

  /// Answers every pending heartbeat with `st`; returns how many.
  size_t answer_heartbeats(const wire::rpc_status& st) {
    size_t n = 0;
    while (answer(heartbeats, st))
      ++n;
    return n;
  }

  /// Answers every pending event with `st`; returns how many.
  size_t answer_events(const wire::rpc_status& st) {
    size_t n = 0;
    while (!events.empty()) {
      auto e = std::move(events.front());
      events.pop_front();
      e.answer(st);
      ++n;
    }
    return n;
  }
};

/// An assignment as the engine sends it.
inline wire::assigned_action start(const std::string& task_run_id, const std::string& action_id,
                                   std::string payload = R"({"input":{}})", int retry = 0) {
  auto ids = std::make_shared<hatchet::detail::run_ids>();
  ids->task_run_external_id = task_run_id;
  ids->workflow_run_id = "wr-" + task_run_id;
  ids->action_id = action_id;
  ids->retry_count = retry;
  ids->make_key();
  wire::assigned_action a;
  a.ids = std::move(ids);
  a.type = wire::action_type::start_step_run;
  a.action_payload = std::move(payload);
  return a;
}

inline wire::assigned_action cancel(const std::string& task_run_id, const std::string& action_id,
                                    int retry = 0) {
  auto a = start(task_run_id, action_id, "", retry);
  a.type = wire::action_type::cancel_step_run;
  return a;
}

} // namespace fake
