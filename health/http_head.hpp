#pragma once
// The head of an HTTP/1.x request, as much of it as the health server needs: method, path, and
// whether the connection stays open after the answer. Plain parsing over bytes received so far;
// unit-tested in tests/unit/probe_server_test.cpp.

#include <cstddef>
#include <string>
#include <string_view>

namespace hatchet::detail {

struct http_request {
  std::string method;
  std::string path;   ///< the target without its query string
  bool keep_alive = true;
  bool has_body = false; ///< Content-Length above 0 or a Transfer-Encoding: not served here
};

enum class head_status {
  incomplete, ///< no blank line yet: wait for more bytes
  complete,   ///< `out` is filled; the head took `head_bytes` bytes
  bad,        ///< not an HTTP/1.x request head
  too_large,  ///< no complete head within max_head_bytes
};

/// The most a request head may take before the server answers 431 and closes.
inline constexpr size_t max_head_bytes = 8192;

/// Parses the head at the start of `bytes`.
head_status parse_head(std::string_view bytes, http_request& out, size_t& head_bytes);

/// A complete response: status line, Content-Type, Content-Length, Connection, the body unless
/// `head_only` (a HEAD request).
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, bool head_only);

} // namespace hatchet::detail
