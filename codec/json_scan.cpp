#include "codec/json_scan.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>

#include <locale.h>

namespace hatchet::detail {

const char* json_kind_name(json_kind k) noexcept {
  switch (k) {
    case json_kind::object:
      return "object";
    case json_kind::array:
      return "array";
    case json_kind::string:
      return "string";
    case json_kind::number:
      return "number";
    case json_kind::boolean:
      return "boolean";
    case json_kind::null:
      return "null";
  }
  return "value";
}

bool hex4_value(std::string_view s, uint32_t& out) noexcept {
  if (s.size() < 4)
    return false;
  out = 0;
  for (int i = 0; i < 4; ++i) {
    char c = s[static_cast<size_t>(i)];
    out <<= 4;
    if (c >= '0' && c <= '9')
      out |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      out |= static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      out |= static_cast<uint32_t>(c - 'A' + 10);
    else
      return false;
  }
  return true;
}

size_t utf8_sequence(std::string_view s) noexcept {
  auto byte = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  auto in = [&](size_t i, unsigned lo, unsigned hi) { return byte(i) >= lo && byte(i) <= hi; };
  const unsigned lead = byte(0);
  if (lead < 0x80)
    return s.empty() ? 0 : 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return in(1, 0x80, 0xBF) ? 2 : 0;
  if (lead == 0xE0)
    return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF)
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (lead == 0xED)
    return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
  if (lead == 0xF0)
    return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (lead >= 0xF1 && lead <= 0xF3)
    return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  if (lead == 0xF4)
    return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

namespace {

class scanner {
public:
  scanner(std::string_view text, json_member_sink* sink) : s_(text), sink_(sink) {}

  json_scan_result run() {
    json_scan_result out;
    if (s_.substr(0, 3) == "\xEF\xBB\xBF")
      pos_ = 3;
    skip_ws();
    if (!value(out.kind))
      return fail(std::move(out));
    skip_ws();
    // A NUL byte ends the text, as for a parser reading a C string (nlohmann's does, whatever follows).
    if (pos_ != s_.size() && s_[pos_] != '\0') {
      error_ = "unexpected text after the value";
      return fail(std::move(out));
    }
    out.ok = true;
    return out;
  }

private:
  json_scan_result fail(json_scan_result out) {
    out.ok = false;
    out.error = error_ + " at byte " + std::to_string(pos_);
    return out;
  }

  bool at_end() const noexcept { return pos_ >= s_.size(); }
  unsigned char peek() const noexcept { return static_cast<unsigned char>(s_[pos_]); }

  void skip_ws() noexcept {
    while (!at_end()) {
      char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      ++pos_;
    }
  }

  bool expect(char c, const char* what) {
    if (at_end() || s_[pos_] != c) {
      error_ = at_end() ? std::string{"unexpected end of text, expected "} + what
                        : std::string{"expected "} + what;
      return false;
    }
    ++pos_;
    return true;
  }

  /// One whole value starting at pos_ (whitespace already skipped). Containers are walked with an
  /// explicit stack, so depth costs memory, not call frames.
  bool value(json_kind& top) {
    // The stack of open containers: '{' or '['. A std::string keeps the first 15 levels inline.
    std::string open;
    size_t member_start = 0; // of the top-level member's value being read
    std::string_view member_key;
    bool member_escaped = false;
    bool first_value = true;
    for (;;) {
      // A value is expected here.
      if (open.size() == 1 && open[0] == '{')
        member_start = pos_;
      if (at_end()) {
        error_ = "unexpected end of text, expected a value";
        return false;
      }
      json_kind kind = json_kind::null;
      switch (s_[pos_]) {
        case '{':
          ++pos_;
          open.push_back('{');
          kind = json_kind::object;
          skip_ws();
          if (!at_end() && s_[pos_] == '}') {
            ++pos_;
            open.pop_back();
            break;
          }
          if (!member(open.size(), member_key, member_escaped))
            return false;
          if (first_value)
            top = kind;
          first_value = false;
          continue;
        case '[':
          ++pos_;
          open.push_back('[');
          kind = json_kind::array;
          skip_ws();
          if (!at_end() && s_[pos_] == ']') {
            ++pos_;
            open.pop_back();
            break;
          }
          if (first_value)
            top = kind;
          first_value = false;
          continue;
        case '"':
          kind = json_kind::string;
          if (!string(nullptr))
            return false;
          break;
        case 't':
          kind = json_kind::boolean;
          if (!literal("true"))
            return false;
          break;
        case 'f':
          kind = json_kind::boolean;
          if (!literal("false"))
            return false;
          break;
        case 'n':
          kind = json_kind::null;
          if (!literal("null"))
            return false;
          break;
        default:
          kind = json_kind::number;
          if (!number())
            return false;
          break;
      }
      if (first_value)
        top = kind;
      first_value = false;
      // A value ended: close containers and move to the next value, or finish.
      for (;;) {
        if (open.empty())
          return true;
        if (open.size() == 1 && open[0] == '{' && sink_ != nullptr)
          sink_->member(member_key, member_escaped, s_.substr(member_start, pos_ - member_start));
        skip_ws();
        if (at_end()) {
          error_ = "unexpected end of text inside an ";
          error_ += open.back() == '{' ? "object" : "array";
          return false;
        }
        char c = s_[pos_];
        if (c == ',') {
          ++pos_;
          skip_ws();
          if (open.back() == '{' && !member(open.size(), member_key, member_escaped))
            return false;
          break; // the next value
        }
        if ((open.back() == '{' && c == '}') || (open.back() == '[' && c == ']')) {
          ++pos_;
          open.pop_back();
          continue; // the container was a value: it ended too
        }
        error_ = open.back() == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
        return false;
      }
    }
  }

  /// A member's key at nesting `depth`: only the top level's (depth 1) is kept for the sink.
  bool member(size_t depth, std::string_view& top_key, bool& top_escaped) {
    std::string_view k;
    bool escaped = false;
    if (!key(k, escaped))
      return false;
    if (depth == 1) {
      top_key = k;
      top_escaped = escaped;
    }
    return true;
  }

  /// A member's key and its colon; leaves pos_ at the value.
  bool key(std::string_view& k, bool& escaped) {
    if (at_end() || s_[pos_] != '"') {
      error_ = "expected a member name in quotes";
      return false;
    }
    size_t start = pos_ + 1;
    if (!string(&escaped))
      return false;
    k = s_.substr(start, pos_ - 1 - start);
    skip_ws();
    if (!expect(':', "':'"))
      return false;
    skip_ws();
    return true;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      error_ = "invalid literal";
      return false;
    }
    pos_ += word.size();
    return true;
  }

  bool digits() {
    size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9')
      ++pos_;
    if (pos_ == start) {
      error_ = at_end() ? "unexpected end of text in a number" : "expected a digit";
      return false;
    }
    return true;
  }

  bool number() {
    size_t start = pos_;
    bool exponent = false;
    if (s_[pos_] == '-')
      ++pos_;
    if (at_end()) {
      error_ = "unexpected end of text in a number";
      return false;
    }
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      digits();
    } else {
      error_ = "unexpected character";
      return false;
    }
    if (!at_end() && s_[pos_] == '.') {
      ++pos_;
      if (!digits())
        return false;
    }
    if (!at_end() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      exponent = true;
      ++pos_;
      if (!at_end() && (s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      if (!digits())
        return false;
    }
    // A number beyond the range of a double is refused (a parser that builds a tree cannot hold
    // it). Only an exponent or more than 300 digits can get there.
    if (exponent || pos_ - start > 300) {
      static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
      std::string token{s_.substr(start, pos_ - start)};
      if (!std::isfinite(strtod_l(token.c_str(), nullptr, c_locale))) {
        pos_ = start;
        error_ = "number out of range";
        return false;
      }
    }
    return true;
  }

  /// Four hex digits of a \u escape.
  bool hex4(uint32_t& cp) {
    if (s_.size() - pos_ < 4) {
      error_ = "unexpected end of text in a \\u escape";
      return false;
    }
    if (!hex4_value(s_.substr(pos_, 4), cp)) {
      error_ = "invalid \\u escape";
      return false;
    }
    pos_ += 4;
    return true;
  }

  bool escape() {
    if (at_end()) {
      error_ = "unexpected end of text in an escape";
      return false;
    }
    switch (s_[pos_++]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        return true;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          error_ = "a low surrogate without a high one";
          return false;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.substr(pos_, 2) != "\\u") {
            error_ = "a high surrogate without a low one";
            return false;
          }
          pos_ += 2;
          uint32_t low = 0;
          if (!hex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF) {
            error_ = "a high surrogate without a low one";
            return false;
          }
        }
        return true;
      }
      default:
        --pos_;
        error_ = "invalid escape";
        return false;
    }
  }

  /// A UTF-8 sequence whose lead byte (>= 0x80) is at pos_ - 1.
  bool utf8() {
    size_t n = utf8_sequence(s_.substr(pos_ - 1));
    if (n == 0) {
      error_ = "ill-formed UTF-8";
      return false;
    }
    pos_ += n - 1;
    return true;
  }

  /// A string from its opening quote at pos_ to just past its closing quote.
  bool string(bool* escaped) {
    ++pos_;
    if (escaped)
      *escaped = false;
    while (!at_end()) {
      unsigned char c = peek();
      ++pos_;
      if (c == '"')
        return true;
      if (c < 0x20) {
        --pos_;
        error_ = "a control character in a string";
        return false;
      }
      if (c == '\\') {
        if (escaped)
          *escaped = true;
        if (!escape())
          return false;
      } else if (c >= 0x80 && !utf8()) {
        return false;
      }
    }
    error_ = "unexpected end of text in a string";
    return false;
  }

  std::string_view s_;
  json_member_sink* sink_;
  size_t pos_ = 0;
  std::string error_;
};

} // namespace

json_scan_result scan_json(std::string_view text, json_member_sink* sink) {
  return scanner{text, sink}.run();
}

} // namespace hatchet::detail
