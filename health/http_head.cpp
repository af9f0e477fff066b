#include "health/http_head.hpp"

#include <algorithm>
#include <cctype>

namespace hatchet::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

} // namespace

head_status parse_head(std::string_view bytes, http_request& out, size_t& head_bytes) {
  auto end = bytes.find("\r\n\r\n");
  size_t sep = 4;
  if (auto lf = bytes.find("\n\n"); lf != std::string_view::npos && lf < end) {
    end = lf; // bare LF line ends, as curl never sends but some probes do
    sep = 2;
  }
  if (end == std::string_view::npos)
    return bytes.size() > max_head_bytes ? head_status::too_large : head_status::incomplete;
  if (end + sep > max_head_bytes)
    return head_status::too_large;
  head_bytes = end + sep;
  auto head = bytes.substr(0, end);
  auto line_end = head.find('\n');
  auto request_line = trim(head.substr(0, line_end));
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1)
    return head_status::bad;
  auto method = request_line.substr(0, sp1);
  auto target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = request_line.substr(sp2 + 1);
  if (method.empty() || target.empty() || target.front() != '/')
    return head_status::bad;
  for (char ch : method)
    if (ch < 'A' || ch > 'Z')
      return head_status::bad; // a TLS hello, or anything else that is not a method
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return head_status::bad;
  out = {};
  out.method = std::string{method};
  out.path = std::string{target.substr(0, target.find('?'))};
  out.keep_alive = version == "HTTP/1.1";
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 1;
  while (pos < head.size()) {
    auto next = head.find('\n', pos);
    auto line = trim(head.substr(pos, next == std::string_view::npos ? std::string_view::npos
                                                                     : next - pos));
    pos = next == std::string_view::npos ? head.size() : next + 1;
    if (line.empty())
      continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return head_status::bad;
    auto name = line.substr(0, colon);
    auto value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (iequals(value, "close"))
        out.keep_alive = false;
      else if (iequals(value, "keep-alive"))
        out.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      if (value != "0")
        out.has_body = true;
    } else if (iequals(name, "transfer-encoding")) {
      out.has_body = true;
    }
  }
  return head_status::complete;
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, bool head_only) {
  std::string out;
  out.reserve(160 + (head_only ? 0 : body.size()));
  out += "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (status == 405)
    out += "Allow: GET, HEAD\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only)
    out += body;
  return out;
}

} // namespace hatchet::detail
