#pragma once
// What a running task sends to the engine besides its lifecycle events: log lines
// (EventsService/PutLog) and stream chunks (EventsService/PutStreamEvent). Asynchronous: the
// callback runs on a gRPC thread and must only hand the result over.

#include <chrono>
#include <functional>
#include <memory>

#include "client/channel.hpp"
#include "messages/wire_types.hpp"

namespace hatchet::rpc {

class task_events_client {
public:
  explicit task_events_client(std::shared_ptr<channel> ch);
  ~task_events_client();

  void put_log(const wire::log_line& line, std::function<void(wire::rpc_status)> done);
  void put_stream_event(const wire::stream_chunk& chunk,
                        std::function<void(wire::rpc_status)> done);

  /// Deadline of each call. Default 10 s.
  std::chrono::milliseconds deadline{10000};

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace hatchet::rpc
