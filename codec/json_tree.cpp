#include "codec/json_tree.hpp"

#include "codec/json_scan.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <locale.h>

namespace hatchet::detail {

namespace {

class builder {
public:
  explicit builder(std::string_view text) : s_(text) {}

  nlohmann::json run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF")
      pos_ = 3;
    nlohmann::json root;
    // Open containers, innermost last. A pointer stays valid: nothing is added to a container
    // while one of its children is open, and map nodes do not move.
    std::vector<nlohmann::json*> open;
    std::string key; // the pending member name of the innermost open object
    auto place = [&](nlohmann::json&& v) -> nlohmann::json* {
      if (open.empty()) {
        root = std::move(v);
        return &root;
      }
      nlohmann::json* top = open.back();
      if (top->is_array()) {
        top->push_back(std::move(v));
        return &top->back();
      }
      nlohmann::json& slot = (*top)[key]; // a duplicate key: the last one wins
      slot = std::move(v);
      return &slot;
    };
    for (;;) {
      skip_ws();
      switch (s_[pos_]) {
        case '{': {
          auto* obj = place(nlohmann::json::object());
          ++pos_;
          skip_ws();
          if (s_[pos_] == '}') {
            ++pos_;
            break;
          }
          open.push_back(obj);
          member_name(key);
          continue;
        }
        case '[': {
          auto* arr = place(nlohmann::json::array());
          ++pos_;
          skip_ws();
          if (s_[pos_] == ']') {
            ++pos_;
            break;
          }
          open.push_back(arr);
          continue;
        }
        case '"':
          place(nlohmann::json(string()));
          break;
        case 't':
          pos_ += 4;
          place(nlohmann::json(true));
          break;
        case 'f':
          pos_ += 5;
          place(nlohmann::json(false));
          break;
        case 'n':
          pos_ += 4;
          place(nlohmann::json(nullptr));
          break;
        default:
          place(number());
          break;
      }
      // A value ended: close what ends here, then on to the next value or the end.
      for (;;) {
        if (open.empty())
          return root;
        skip_ws();
        char c = s_[pos_++];
        if (c == ',') {
          if (open.back()->is_object())
            member_name(key);
          break;
        }
        open.pop_back(); // '}' or ']'
      }
    }
  }

private:
  void skip_ws() noexcept {
    while (pos_ < s_.size()
           && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  /// `"name"` and its colon.
  void member_name(std::string& out) {
    skip_ws();
    out = string();
    skip_ws();
    ++pos_; // ':'
  }

  /// The four hex digits of a \u escape (checked by the scan).
  uint32_t hex4() {
    uint32_t cp = 0;
    hex4_value(s_.substr(pos_, 4), cp);
    pos_ += 4;
    return cp;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  /// A string from its opening quote; runs without escapes are copied whole.
  std::string string() {
    ++pos_;
    const char* base = s_.data();
    std::string out;
    for (;;) {
      const char* p = base + pos_;
      size_t left = s_.size() - pos_;
      auto* quote = static_cast<const char*>(std::memchr(p, '"', left));
      auto* slash = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(quote - p)));
      if (slash == nullptr) {
        out.append(p, static_cast<size_t>(quote - p));
        pos_ = static_cast<size_t>(quote - base) + 1;
        return out;
      }
      out.append(p, static_cast<size_t>(slash - p));
      pos_ = static_cast<size_t>(slash - base) + 1;
      char e = s_[pos_++];
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            pos_ += 2; // the scan saw "\u" and a low surrogate here
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4() - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: // '"', '\\', '/'
          out += e;
          break;
      }
    }
  }

  /// A number, typed as nlohmann types it.
  nlohmann::json number() {
    size_t start = pos_;
    bool fractional = false;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '.' || c == 'e' || c == 'E')
        fractional = true;
      else if (!((c >= '0' && c <= '9') || c == '-' || c == '+'))
        break;
      ++pos_;
    }
    std::string token{s_.substr(start, pos_ - start)};
    if (!fractional) {
      errno = 0;
      if (token[0] == '-') {
        long long v = std::strtoll(token.c_str(), nullptr, 10);
        if (errno == 0)
          return nlohmann::json(static_cast<std::int64_t>(v));
      } else {
        unsigned long long v = std::strtoull(token.c_str(), nullptr, 10);
        if (errno == 0)
          return nlohmann::json(static_cast<std::uint64_t>(v));
      }
    }
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
    return nlohmann::json(strtod_l(token.c_str(), nullptr, c_locale));
  }

  std::string_view s_;
  size_t pos_ = 0;
};

} // namespace

nlohmann::json build_checked_json(std::string_view text) {
  return builder{text}.run();
}

} // namespace hatchet::detail
