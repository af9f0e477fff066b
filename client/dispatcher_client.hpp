#pragma once
// The worker's calls to the Dispatcher service. Every call is asynchronous: its callback runs on
// a gRPC thread and must only hand the result over (the actors post it to themselves).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/channel.hpp"
#include "hatchet/config.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

struct register_request {
  std::string worker_name;
  std::vector<std::string> actions;
  int slots = 100;
  std::map<std::string, std::string> labels;
};

/// An open ListenV2 stream. Destroying the handle does not end the stream; cancel() does.
class listen_stream {
public:
  virtual ~listen_stream() = default;
  /// Ends the stream (the on_end callback then fires with CANCELLED). Idempotent.
  virtual void cancel() = 0;
};

template <class... Ts>
using callback = std::function<void(Ts...)>;

/// Where the answers to step events go: (the sender's sequence number, the outcome). Made once
/// by the sender and shared by every event, so that an event in flight allocates no callback.
using event_acks = callback<uint64_t, wire::rpc_status>;

class dispatcher_client {
public:
  dispatcher_client(std::shared_ptr<channel> ch, const config& cfg);
  ~dispatcher_client();

  void get_version(callback<wire::rpc_status, std::string> done);
  void register_worker(const register_request& req,
                       callback<wire::rpc_status, std::string /*worker_id*/> done);
  /// Opens ListenV2 (or, with `legacy`, the old Listen, for engines that answer ListenV2 with
  /// UNIMPLEMENTED). on_action runs for each AssignedAction in order; on_end runs exactly once.
  std::shared_ptr<listen_stream> listen(const std::string& worker_id,
                                        callback<wire::assigned_action> on_action,
                                        callback<wire::rpc_status> on_end, bool legacy = false);
  void heartbeat(const std::string& worker_id, callback<wire::rpc_status> done);
  /// SendStepActionEvent; `acks` gets `seq` and the outcome on a gRPC thread.
  void send_event(const wire::step_event& ev, const std::string& worker_id, uint64_t seq,
                  const std::shared_ptr<const event_acks>& acks);
  void unsubscribe(const std::string& worker_id, callback<wire::rpc_status> done);
  /// RefreshTimeout: `increment` is a Go duration ("1500ms"); `done` gets the new deadline
  /// (nanoseconds since the epoch) on success.
  void refresh_timeout(const std::string& task_run_external_id, const std::string& increment,
                       callback<wire::rpc_status, int64_t> done);
  /// ReleaseSlot: the engine frees the task's slot while the task goes on.
  void release_slot(const std::string& task_run_external_id, callback<wire::rpc_status> done);

  /// Deadline applied to unary calls. Default 10 s.
  std::chrono::milliseconds unary_deadline{10000};

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace hatchet::rpc
