#pragma once
// The few REST calls the worker makes to the engine's API (not gRPC): pausing itself during a
// graceful stop, as the official Python SDK does. No HTTP library types here.

#include <chrono>
#include <cstddef>
#include <string>

#include "hatchet/config.hpp"

namespace hatchet::rpc {

/// What a REST call came to: an HTTP status, or a transport error (status 0).
struct rest_result {
  int http_status = 0;
  std::string error; ///< transport error or the start of the response body
  bool ok() const noexcept { return http_status >= 200 && http_status < 300; }
  std::string describe() const;
};

/// `PATCH {server_url}/api/v1/workers/{worker_id}` with `{"isPaused": paused}` and the bearer
/// token. A paused worker keeps its stream and its running tasks, and gets no new assignments.
/// Blocking, bounded by `timeout` for the connection and the answer each; call it off the actor
/// threads. The base URL is config::server_url (HATCHET_CLIENT_SERVER_URL or _API_URL, else the
/// token's server_url claim); an empty one is reported as an error without a call.
rest_result set_worker_paused(const config& cfg, const std::string& worker_id, bool paused,
                              std::chrono::milliseconds timeout);

/// Waits until no REST call runs on its own thread (set_worker_paused through the engine link),
/// at most `timeout`; false if one still does. The process must not tear down (static
/// destructors, OpenSSL) under one: worker::run() waits for them, bounded, before it returns.
bool await_rest_calls(std::chrono::milliseconds timeout);

/// Counts a REST call in flight for as long as it lives (also a TLS diagnosis running on a thread
/// of its own: the same teardown hazard).
class rest_call_guard {
public:
  rest_call_guard();
  ~rest_call_guard();
  rest_call_guard(const rest_call_guard&) = delete;
  rest_call_guard& operator=(const rest_call_guard&) = delete;
};

} // namespace hatchet::rpc
