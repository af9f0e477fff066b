#pragma once
// Everything the dispatcher actor asks of the engine, behind one interface: the Dispatcher calls,
// PutWorkflow, and the REST pause. The actor only sees this and wire:: types, so its session and
// drain logic can run against a scripted fake in tests; make_engine_link() gives the real one
// (gRPC for the calls, HTTP for the pause).
//
// Every call is asynchronous: its callback runs on another thread (a gRPC or HTTP thread) and
// must only hand the result over; the actor posts it to itself.

#include <memory>
#include <string>

#include "client/dispatcher_client.hpp"
#include "hatchet/config.hpp"
#include "hatchet/workflow.hpp"

namespace hatchet::rpc {

class engine_link {
public:
  virtual ~engine_link() = default;

  virtual void get_version(callback<wire::rpc_status, std::string> done) = 0;
  virtual void put_workflow(const workflow& wf, callback<wire::rpc_status> done) = 0;
  virtual void register_worker(const register_request& req,
                               callback<wire::rpc_status, std::string> done) = 0;
  /// See dispatcher_client::listen.
  virtual std::shared_ptr<listen_stream> listen(const std::string& worker_id,
                                                callback<wire::assigned_action> on_action,
                                                callback<wire::rpc_status> on_end,
                                                bool legacy) = 0;
  virtual void heartbeat(const std::string& worker_id, callback<wire::rpc_status> done) = 0;
  /// See dispatcher_client::send_event.
  virtual void send_event(const wire::step_event& ev, const std::string& worker_id, uint64_t seq,
                          const std::shared_ptr<const event_acks>& acks) = 0;
  virtual void unsubscribe(const std::string& worker_id, callback<wire::rpc_status> done) = 0;
  /// Pauses (or resumes) the worker on the engine's REST API; `done` gets the HTTP status and,
  /// on failure, what went wrong (empty on success).
  virtual void set_paused(const std::string& worker_id, bool paused,
                          callback<int, std::string> done) = 0;

  // What a running task asks of the engine (hatchet::context). Not pure: a link that does not
  // offer them (a scripted test engine) answers UNIMPLEMENTED.

  /// EventsService/PutLog.
  virtual void put_log(const wire::log_line& line, callback<wire::rpc_status> done);
  /// EventsService/PutStreamEvent.
  virtual void put_stream_event(const wire::stream_chunk& chunk, callback<wire::rpc_status> done);
  /// Dispatcher/RefreshTimeout; see dispatcher_client::refresh_timeout.
  virtual void refresh_timeout(const std::string& task_run_external_id,
                               const std::string& increment,
                               callback<wire::rpc_status, int64_t> done);
  /// Dispatcher/ReleaseSlot.
  virtual void release_slot(const std::string& task_run_external_id,
                            callback<wire::rpc_status> done);

  /// Every later call goes over a new connection. A connection can be dead without knowing it (a
  /// silent partition: no RST, no FIN) until its keepalive gives up; a stream renewed on it would
  /// die with it. Calls in flight end on the old one. The default does nothing (a test link).
  virtual void renew_connection() {}
};

/// The real link: one gRPC channel for the calls, the REST API at config::server_url.
std::shared_ptr<engine_link> make_engine_link(const config& cfg);

} // namespace hatchet::rpc
