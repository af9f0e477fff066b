#pragma once
// The few REST calls the worker makes to the engine's API (not gRPC): pausing itself during a
// graceful stop, as the official Python SDK does. No HTTP library types here.

#include <chrono>
#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "hatchet/config.hpp"

namespace hatchet::rpc {

/// What a REST call came to: an HTTP status, or a transport error (status 0).
struct rest_result {
  int http_status = 0;
  std::string error; ///< transport error or the start of the response body
  std::string body;  ///< the whole response body (any status)
  bool ok() const noexcept { return http_status >= 200 && http_status < 300; }
  std::string describe() const;
};

/// `method` ("GET", "POST", "PATCH", "DELETE") on `{server_url}{path}` with `body` (JSON; empty:
/// none) and the bearer token. Blocking, bounded by `timeout` for the connection and the answer
/// each. TLS as the configuration says (root CA, server name, client certificate under mTLS).
rest_result rest_call(const config& cfg, const std::string& method, const std::string& path,
                      const std::string& body, std::chrono::milliseconds timeout);

/// A failed REST call as an error of ours, `what` naming the call: 403 errc::invalid_token, 404
/// errc::not_found, 400 errc::unknown_workflow ("workflow not found") or errc::invalid_input,
/// anything else errc::rpc_failed; with the engine's description from the body.
caf::error to_error(const std::string& what, const rest_result& r);

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

/// `s` with every byte but the unreserved ones (RFC 3986) percent-encoded: a query value.
std::string query_value(const std::string& s);

/// A query string built a parameter at a time: "?statuses=ACTIVE&labels=zone%3Aeu", "" if empty.
class query_string {
public:
  void add(const std::string& name, const std::string& value) {
    text_ += (text_.empty() ? "?" : "&") + name + "=" + query_value(value);
  }
  const std::string& str() const noexcept { return text_; }

private:
  std::string text_;
};

/// Whether `s` has the 8-4-4-4-12 hex shape of the ids in REST paths (checked before a call, as
/// the TypeScript SDK does, so that a wrong id is not sent to the engine).
bool looks_like_uuid(const std::string& s);

} // namespace hatchet::rpc
