#include "client/engine_link.hpp"

#include <mutex>
#include <thread>

#include "client/admin_client.hpp"
#include "client/hints.hpp"
#include "client/rest_client.hpp"
#include "client/task_events_client.hpp"

namespace hatchet::rpc {

namespace {

wire::rpc_status not_offered(const char* what) {
  return {wire::status::unimplemented, std::string{what} + " is not offered by this engine link", {}};
}

} // namespace

void engine_link::put_log(const wire::log_line&, callback<wire::rpc_status> done) {
  done(not_offered("PutLog"));
}
void engine_link::put_stream_event(const wire::stream_chunk&, callback<wire::rpc_status> done) {
  done(not_offered("PutStreamEvent"));
}
void engine_link::refresh_timeout(const std::string&, const std::string&,
                                  callback<wire::rpc_status, int64_t> done) {
  done(not_offered("RefreshTimeout"), 0);
}
void engine_link::release_slot(const std::string&, callback<wire::rpc_status> done) {
  done(not_offered("ReleaseSlot"));
}

namespace {

/// How long the pause call may take (connecting, and the answer).
constexpr std::chrono::milliseconds pause_timeout{5000};

/// `done`, or, when the status may hide a TLS problem gRPC does not name (worth_a_tls_diagnosis),
/// `done` with the diagnosis as the status's hint. The diagnosis blocks for up to
/// tls_diagnosis_timeout and this runs on a gRPC thread: it gets a short-lived thread of its own,
/// counted like a REST call so that the process does not tear down under it.
template <class... Rest>
callback<wire::rpc_status, Rest...> with_tls_diagnosis(const config& cfg,
                                                       callback<wire::rpc_status, Rest...> done) {
  return [cfg, done = std::move(done)](wire::rpc_status st, Rest... rest) {
    if (!worth_a_tls_diagnosis(cfg, st))
      return done(std::move(st), std::move(rest)...);
    auto guard = std::make_shared<rest_call_guard>();
    try {
      std::thread{[cfg, done, st, guard, rest...]() mutable noexcept {
        try {
          add_tls_diagnosis(cfg, st);
        } catch (...) {
        }
        try {
          done(std::move(st), std::move(rest)...);
        } catch (...) {
        }
      }}.detach();
    } catch (const std::exception&) {
      done(std::move(st), std::move(rest)...); // no thread: the status as gRPC gave it
    }
  };
}

class grpc_engine_link final : public engine_link {
public:
  explicit grpc_engine_link(const config& cfg) : cfg_(cfg), parts_(std::make_shared<parts>(cfg)) {}

  void get_version(callback<wire::rpc_status, std::string> done) override {
    now()->dispatcher.get_version(with_tls_diagnosis(cfg_, std::move(done)));
  }
  void put_workflow(const workflow& wf, callback<wire::rpc_status> done) override {
    now()->admin.put_workflow(wf, with_tls_diagnosis(cfg_, std::move(done)));
  }
  void register_worker(const register_request& req,
                       callback<wire::rpc_status, std::string> done) override {
    now()->dispatcher.register_worker(req, with_tls_diagnosis(cfg_, std::move(done)));
  }
  std::shared_ptr<listen_stream> listen(const std::string& worker_id,
                                        callback<wire::assigned_action> on_action,
                                        callback<wire::rpc_status> on_end, bool legacy) override {
    return now()->dispatcher.listen(worker_id, std::move(on_action), std::move(on_end), legacy);
  }
  void heartbeat(const std::string& worker_id, callback<wire::rpc_status> done) override {
    now()->dispatcher.heartbeat(worker_id, std::move(done));
  }
  void send_event(const wire::step_event& ev, const std::string& worker_id, uint64_t seq,
                  const std::shared_ptr<const event_acks>& acks) override {
    now()->dispatcher.send_event(ev, worker_id, seq, acks);
  }
  void unsubscribe(const std::string& worker_id, callback<wire::rpc_status> done) override {
    now()->dispatcher.unsubscribe(worker_id, std::move(done));
  }
  void set_paused(const std::string& worker_id, bool paused,
                  callback<int, std::string> done) override {
    // The HTTP call blocks: it gets a short-lived thread of its own (one per stop), counted so
    // that the process does not tear down under it. Every failure ends in `done`.
    auto guard = std::make_shared<rest_call_guard>();
    try {
      std::thread{[cfg = cfg_, worker_id, paused, done, guard]() noexcept {
        rest_result res;
        try {
          res = set_worker_paused(cfg, worker_id, paused, pause_timeout);
        } catch (const std::exception& e) {
          res.error = std::string{"the REST call failed: "} + e.what();
        } catch (...) {
          res.error = "the REST call failed";
        }
        try {
          done(res.http_status, res.ok() ? std::string{} : res.describe());
        } catch (...) {
        }
      }}.detach();
    } catch (const std::exception& e) {
      done(0, std::string{"no thread for the REST call: "} + e.what());
    }
  }

  void put_log(const wire::log_line& line, callback<wire::rpc_status> done) override {
    now()->events.put_log(line, std::move(done));
  }
  void put_stream_event(const wire::stream_chunk& chunk, callback<wire::rpc_status> done) override {
    now()->events.put_stream_event(chunk, std::move(done));
  }
  void refresh_timeout(const std::string& task_run_external_id, const std::string& increment,
                       callback<wire::rpc_status, int64_t> done) override {
    now()->dispatcher.refresh_timeout(task_run_external_id, increment, std::move(done));
  }
  void release_slot(const std::string& task_run_external_id,
                    callback<wire::rpc_status> done) override {
    now()->dispatcher.release_slot(task_run_external_id, std::move(done));
  }

  void renew_connection() override {
    auto fresh = std::make_shared<parts>(cfg_);
    std::lock_guard lk{mtx_};
    // The old channel goes once the last call on it ends (see channel::~channel).
    parts_ = std::move(fresh);
  }

private:
  /// One connection and the clients over it. Task threads call through the link too, so the
  /// current parts are read under a lock and kept by each call for as long as it starts.
  struct parts {
    explicit parts(const config& cfg)
      : ch(make_channel(cfg)), dispatcher(ch, cfg), admin(ch, cfg), events(ch) {}
    std::shared_ptr<channel> ch;
    dispatcher_client dispatcher;
    admin_client admin;
    task_events_client events;
  };

  std::shared_ptr<parts> now() const {
    std::lock_guard lk{mtx_};
    return parts_;
  }

  config cfg_;
  mutable std::mutex mtx_;
  std::shared_ptr<parts> parts_;
};

} // namespace

std::shared_ptr<engine_link> make_engine_link(const config& cfg) {
  return std::make_shared<grpc_engine_link>(cfg);
}

} // namespace hatchet::rpc
