#include "client/rest_client.hpp"

#include <condition_variable>
#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace hatchet::rpc {

namespace {

struct in_flight_calls {
  std::mutex mtx;
  std::condition_variable cv;
  size_t count = 0;
};

in_flight_calls& calls() {
  static auto* c = new in_flight_calls; // never destroyed: threads may use it during exit
  return *c;
}

/// "https://host:port/prefix" -> {"https://host:port", "/prefix"} (no trailing slash).
std::pair<std::string, std::string> split_base(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  auto scheme_end = url.find("://");
  auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start == std::string::npos)
    return {url, ""};
  return {url.substr(0, path_start), url.substr(path_start)};
}

} // namespace

rest_call_guard::rest_call_guard() {
  std::lock_guard lock{calls().mtx};
  ++calls().count;
}

rest_call_guard::~rest_call_guard() {
  std::lock_guard lock{calls().mtx};
  if (--calls().count == 0)
    calls().cv.notify_all();
}

bool await_rest_calls(std::chrono::milliseconds timeout) {
  std::unique_lock lock{calls().mtx};
  return calls().cv.wait_for(lock, timeout, [] { return calls().count == 0; });
}

std::string rest_result::describe() const {
  if (http_status == 0)
    return error.empty() ? std::string{"no answer"} : error;
  auto text = "HTTP " + std::to_string(http_status);
  if (!error.empty())
    text += ": " + error;
  return text;
}

rest_result set_worker_paused(const config& cfg, const std::string& worker_id, bool paused,
                              std::chrono::milliseconds timeout) {
  rest_result result;
  if (cfg.server_url.empty()) {
    result.error = "no REST API URL: set HATCHET_CLIENT_SERVER_URL or HATCHET_CLIENT_API_URL (or "
                   "use a token with a server_url claim)";
    return result;
  }
  auto [base, prefix] = split_base(cfg.server_url);
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
    result.error = "the REST API URL '" + cfg.server_url + "' is not http:// or https://";
    return result;
  }
  // Under mTLS the REST API may ask for the client certificate too.
  bool client_cert = cfg.tls == tls_strategy::mtls && base.rfind("https://", 0) == 0;
  httplib::Client http = client_cert
                           ? httplib::Client{base, cfg.tls_cert_file, cfg.tls_key_file}
                           : httplib::Client{base};
  if (!http.is_valid()) {
    result.error = "cannot use the REST API URL '" + cfg.server_url + "'";
    return result;
  }
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout - secs);
  http.set_connection_timeout(secs.count(), usecs.count());
  http.set_read_timeout(secs.count(), usecs.count());
  http.set_write_timeout(secs.count(), usecs.count());
  if (!cfg.tls_root_ca_file.empty())
    http.set_ca_cert_path(cfg.tls_root_ca_file.c_str());
  http.set_bearer_token_auth(cfg.token);
  auto body = nlohmann::json{{"isPaused", paused}}.dump();
  auto res = http.Patch(prefix + "/api/v1/workers/" + worker_id, body, "application/json");
  if (!res) {
    result.error = "PATCH " + cfg.server_url + "/api/v1/workers/" + worker_id + " failed: "
                   + httplib::to_string(res.error());
    return result;
  }
  result.http_status = res->status;
  if (!result.ok())
    result.error = res->body.substr(0, 200);
  return result;
}

} // namespace hatchet::rpc
