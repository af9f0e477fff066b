#include "client/rest_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "hatchet/errors.hpp"


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

/// "https://host:port" -> {"host", ":port"} (IPv6 brackets kept in neither).
std::pair<std::string, std::string> split_authority(const std::string& base) {
  auto start = base.find("://");
  std::string authority = start == std::string::npos ? base : base.substr(start + 3);
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close != std::string::npos)
      return {authority.substr(1, close - 1), authority.substr(close + 1)};
  }
  auto colon = authority.rfind(':');
  if (colon == std::string::npos)
    return {authority, ""};
  return {authority.substr(0, colon), authority.substr(colon)};
}

/// `host` as a numeric address (resolved if it is a name), or "" if it does not resolve.
std::string numeric_address(const std::string& host) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1)
    return host;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return {};
  char text[NI_MAXHOST] = {};
  int rc = getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0,
                       NI_NUMERICHOST);
  freeaddrinfo(found);
  return rc == 0 ? std::string{text} : std::string{};
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

caf::error to_error(const std::string& what, const rest_result& r) {
  if (r.http_status == 0)
    return make_error(errc::rpc_failed, what + ": " + r.describe());
  // The API's bodies: {"errors":[{"description"}]} (APIErrors) or {"message"} (echo's).
  std::string text;
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_object()) {
    if (auto e = body.find("errors"); e != body.end() && e->is_array() && !e->empty()
                                      && e->front().is_object())
      text = e->front().value("description", "");
    if (text.empty())
      text = body.value("message", "");
  }
  if (text.empty())
    text = r.body.substr(0, 200);
  auto msg = what + ": HTTP " + std::to_string(r.http_status) + ": " + text;
  switch (r.http_status) {
    case 401:
    case 403:
      return make_error(errc::invalid_token, msg);
    case 404:
      return make_error(errc::not_found, msg);
    case 400:
      return make_error(text.find("workflow not found") != std::string::npos
                          ? errc::unknown_workflow
                          : errc::invalid_input,
                        msg);
    default:
      return make_error(errc::rpc_failed, msg);
  }
}

rest_result set_worker_paused(const config& cfg, const std::string& worker_id, bool paused,
                              std::chrono::milliseconds timeout) {
  return rest_call(cfg, "PATCH", "/api/v1/workers/" + worker_id,
                   nlohmann::json{{"isPaused", paused}}.dump(), timeout);
}

rest_result rest_call(const config& cfg, const std::string& method, const std::string& path,
                      const std::string& body, std::chrono::milliseconds timeout) {
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
  const bool https = base.rfind("https://", 0) == 0;
  // HATCHET_CLIENT_TLS_SERVER_NAME names the gRPC host's certificate; when the REST API is on
  // that same host (as the dev engine's is), its certificate is the same, so it is checked (and
  // SNI sent) for that name too: the URL is rewritten to the name, and the name mapped to the
  // URL's address for the connection. A REST API elsewhere keeps its own name.
  std::map<std::string, std::string> connect_to;
  if (https && !cfg.tls_server_name.empty()) {
    auto [url_host, port] = split_authority(base);
    std::string grpc_host = cfg.host_port.substr(0, cfg.host_port.rfind(':'));
    if (grpc_host.size() >= 2 && grpc_host.front() == '[')
      grpc_host = grpc_host.substr(1, grpc_host.size() - 2);
    if (url_host == grpc_host && url_host != cfg.tls_server_name) {
      auto address = numeric_address(url_host);
      if (!address.empty()) {
        connect_to[cfg.tls_server_name] = address;
        base = "https://" + cfg.tls_server_name + port;
      }
    }
  }
  // Under mTLS the REST API may ask for the client certificate too.
  bool client_cert = cfg.tls == tls_strategy::mtls && https;
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
  // The engine's certificate is verified (httplib's default) against the root CA file, else the
  // system's roots, and for the host of the URL (or the server name, above).
  if (!cfg.tls_root_ca_file.empty())
    http.set_ca_cert_path(cfg.tls_root_ca_file.c_str());
  http.enable_server_certificate_verification(true);
  if (!connect_to.empty())
    http.set_hostname_addr_map(connect_to);
  http.set_bearer_token_auth(cfg.token);
  const auto target = prefix + path;
  httplib::Result res = method == "GET"     ? http.Get(target)
                        : method == "POST"  ? http.Post(target, body, "application/json")
                        : method == "PATCH" ? http.Patch(target, body, "application/json")
                        : method == "DELETE" ? http.Delete(target)
                                              : httplib::Result{nullptr, httplib::Error::Unknown};
  if (!res) {
    result.error = method + " " + cfg.server_url + path + " failed: "
                   + httplib::to_string(res.error());
    if (res.error() == httplib::Error::SSLServerVerification) {
      long verify = http.get_openssl_verify_result();
      result.error += verify != X509_V_OK
                        ? std::string{" (the REST API's certificate: "}
                            + X509_verify_cert_error_string(verify) + ")"
                        : std::string{" (the REST API's certificate is not for "} + base + ")";
    }
    return result;
  }
  result.http_status = res->status;
  result.body = res->body;
  if (!result.ok())
    result.error = res->body.substr(0, 200);
  return result;
}

bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i])))
      return false;
  }
  return true;
}

std::string query_value(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
                            || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

} // namespace hatchet::rpc
