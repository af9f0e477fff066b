#include "codec/json_dump.hpp"

#include <charconv>
#include <cstdint>
#include <string_view>

#include "codec/json_scan.hpp"

namespace hatchet::detail {

namespace {

using json = nlohmann::json;

/// nlohmann's text for anything this file leaves to it: a float, a binary value, a string that is
/// not valid UTF-8 (its replacement rules are its own).
void append_nlohmann(const json& j, std::string& out) {
  out += j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_sequence(s.substr(i));
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

void append_string(std::string_view s, std::string& out) {
  if (!valid_utf8(s)) {
    append_nlohmann(json(std::string{s}), out);
    return;
  }
  out += '"';
  size_t run = 0; // start of the characters not written yet
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        static const char hex[] = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class Int>
void append_integer(Int v, std::string& out) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out.append(buf, static_cast<size_t>(end - buf));
}

void append(const json& j, std::string& out) {
  switch (j.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first)
          out += ',';
        first = false;
        append_string(it.key(), out);
        out += ':';
        append(it.value(), out);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first)
          out += ',';
        first = false;
        append(v, out);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      return append_string(j.get_ref<const std::string&>(), out);
    case json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::number_integer:
      return append_integer(j.get<std::int64_t>(), out);
    case json::value_t::number_unsigned:
      return append_integer(j.get<std::uint64_t>(), out);
    default: // float, binary, discarded
      return append_nlohmann(j, out);
  }
}

} // namespace

std::string dump_json(const json& j) {
  std::string out;
  append(j, out);
  return out;
}

} // namespace hatchet::detail
