#pragma once
// Strictly decoded task inputs: numbers that do not fit their field fail the run.
//
// nlohmann's `get<int>()` converts any JSON number and wraps what does not fit: {"ms":1e12} for an
// `int ms` becomes -2147483648, {"ms":4294968296} becomes 1000, {"ms":true} becomes 1. A typo in a
// trigger then runs the task with a different value. Declare the input type with
// HATCHET_DEFINE_INPUT (every field required) or HATCHET_DEFINE_INPUT_WITH_DEFAULT (a missing
// field keeps its default) instead of NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(_WITH_DEFAULT), at
// namespace scope as those:
//
//   struct sleep_input {
//     int ms = 0;
//   };
//   HATCHET_DEFINE_INPUT_WITH_DEFAULT(sleep_input, ms)
//
// and a value that does not fit fails the run as `hatchet::input_error` (FAILED, not retried),
// naming the task, the field and the value:
//
//   task 'sleep': the input does not match sleep_input: input field 'ms': 1000000000000.0 is out
//   of range for this field (-2147483648..2147483647)
//
// (the value as nlohmann prints it: 1e12 is a floating-point JSON number). The rules, by the
// field's C++ type:
// - an integer type: a JSON number whose value is a whole number in the type's range; 3.0 and 1e3
//   count as whole, 3.5 does not; true and "3" are not numbers;
// - float, double: any finite JSON number the type can hold (1e300 does not fit a float);
// - bool: true or false only;
// - std::optional<T>: null or missing is empty; anything else is decoded as T;
// - std::vector<T>: a JSON array, each element decoded as T (errors name 'field[i]');
// - a type declared with these macros: decoded by its own rules (errors name 'outer.inner');
// - anything else: nlohmann's own from_json, its error reported with the field's name.
// The encoding (to_json) is nlohmann's, with std::optional written as the value or null.
//
// A hand-written from_json can do the same per field: `hatchet::read_field(j, "ms", in.ms);`.

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace hatchet {

/// A field that does not decode: `path()` names it ("ms", "outer.inner", "items[2]"; empty for
/// the input itself), `reason()` says what is wrong with its value. It is a nlohmann exception,
/// as from_json functions throw, so that the task boundary (workflow.hpp's decode_input) turns it
/// into `hatchet::input_error` with the task's name, as any other decoding error.
class input_field_error : public nlohmann::json::exception {
public:
  input_field_error(std::string path, std::string reason)
    : nlohmann::json::exception(0, message(path, reason).c_str()),
      path_(std::move(path)),
      reason_(std::move(reason)) {
  }

  const std::string& path() const noexcept { return path_; }
  const std::string& reason() const noexcept { return reason_; }

private:
  static std::string message(const std::string& path, const std::string& reason) {
    return path.empty() ? "input: " + reason : "input field '" + path + "': " + reason;
  }

  std::string path_;
  std::string reason_;
};

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// A JSON value as it goes into an error message: its text, cut after 60 characters.
inline std::string shown(const nlohmann::json& v) {
  auto text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 60) + "..." : text;
}

/// A value of the wrong JSON type, in nlohmann's words ("type must be number, but is string").
inline input_field_error wrong_type(const std::string& path, const char* expected,
                                    const nlohmann::json& v) {
  return input_field_error(path, std::string{"type must be "} + expected + ", but is "
                                   + v.type_name() + ": " + shown(v));
}

inline std::string join_path(const std::string& outer, const std::string& inner) {
  if (inner.empty())
    return outer;
  if (outer.empty())
    return inner;
  return outer + (inner.front() == '[' ? "" : ".") + inner;
}

template <class Int>
Int whole_number(const nlohmann::json& v, const std::string& path) {
  using limits = std::numeric_limits<Int>;
  auto out_of_range = [&] {
    return input_field_error(path, shown(v) + " is out of range for this field ("
                                     + std::to_string(limits::min()) + ".."
                                     + std::to_string(limits::max()) + ")");
  };
  // Comparisons through uint64/int64 rather than std::in_range, which rejects the char types.
  auto fits_unsigned = [](std::uint64_t u) {
    return u <= static_cast<std::uint64_t>(limits::max());
  };
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (!fits_unsigned(u))
      throw out_of_range();
    return static_cast<Int>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    bool fits = i >= 0 ? fits_unsigned(static_cast<std::uint64_t>(i))
                       : limits::is_signed && i >= static_cast<std::int64_t>(limits::min());
    if (!fits)
      throw out_of_range();
    return static_cast<Int>(i);
  }
  if (v.is_number_float()) {
    auto d = v.get<double>();
    if (!std::isfinite(d) || d != std::trunc(d))
      throw input_field_error(path, shown(v) + " is not a whole number");
    // 2^digits is exact in a double: the range is [-2^digits, 2^digits), or [0, 2^digits).
    double limit = std::ldexp(1.0, limits::digits);
    if (d >= limit || d < (limits::is_signed ? -limit : 0.0))
      throw out_of_range();
    return static_cast<Int>(d);
  }
  throw wrong_type(path, "number", v);
}

/// `value` as JSON: nlohmann's encoding, with std::optional (which it lacks) as the value or null.
template <class T>
nlohmann::json encode_value(const T& value) {
  if constexpr (is_optional<T>::value) {
    return value ? encode_value(*value) : nlohmann::json(nullptr);
  } else if constexpr (is_vector<T>::value) {
    auto array = nlohmann::json::array();
    for (auto&& e : value)
      array.push_back(encode_value<typename T::value_type>(e));
    return array;
  } else {
    return nlohmann::json(value);
  }
}

/// Throws unless `j` is an object: the check of a declared input type's from_json.
inline void expect_object(const nlohmann::json& j) {
  if (!j.is_object())
    throw wrong_type({}, "object", j);
}

} // namespace detail

/// Decodes `v` into `out` by the rules of the file comment; errors name `path`.
template <class T>
void decode_value(const nlohmann::json& v, const std::string& path, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean())
      throw detail::wrong_type(path, "boolean", v);
    out = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    out = detail::whole_number<T>(v, path);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number())
      throw detail::wrong_type(path, "number", v);
    auto d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<T>::max())
      throw input_field_error(path, detail::shown(v) + " is out of range for this field");
    out = static_cast<T>(d);
  } else if constexpr (detail::is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    typename T::value_type inner{};
    decode_value(v, path, inner);
    out = std::move(inner);
  } else if constexpr (detail::is_vector<T>::value) {
    if (!v.is_array())
      throw detail::wrong_type(path, "array", v);
    T result;
    result.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      typename T::value_type element{};
      decode_value(v[i], path + "[" + std::to_string(i) + "]", element);
      result.push_back(std::move(element));
    }
    out = std::move(result);
  } else {
    try {
      v.get_to(out);
    } catch (const input_field_error& e) {
      throw input_field_error(detail::join_path(path, e.path()), e.reason());
    } catch (const nlohmann::json::exception& e) {
      throw input_field_error(path, e.what());
    }
  }
}

/// Decodes `object[key]` into `out` (see decode_value). A missing key is an error when
/// `required`, except for a std::optional field; otherwise `out` keeps its value.
template <class T>
void read_field(const nlohmann::json& object, const std::string& key, T& out,
                bool required = true) {
  detail::expect_object(object);
  auto it = object.find(key);
  if (it == object.end()) {
    if (required && !detail::is_optional<T>::value)
      throw input_field_error(key, "required, but missing");
    return;
  }
  decode_value(*it, key, out);
}

} // namespace hatchet

// The per-field steps of the macros below, applied to each field by nlohmann's NLOHMANN_JSON_PASTE
// (the macro its own NLOHMANN_DEFINE_TYPE_* use), so the limit is the same: 63 fields.
#define HATCHET_INPUT_TO_(field) hatchet_json_[#field] = ::hatchet::detail::encode_value(hatchet_value_.field);
#define HATCHET_INPUT_FROM_(field) ::hatchet::read_field(hatchet_json_, #field, hatchet_value_.field, hatchet_required_);

#define HATCHET_DEFINE_INPUT_IMPL_(required, Type, ...)                                           \
  inline void to_json(nlohmann::json& hatchet_json_, const Type& hatchet_value_) {               \
    hatchet_json_ = nlohmann::json::object();                                                     \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(HATCHET_INPUT_TO_, __VA_ARGS__))                     \
  }                                                                                               \
  inline void from_json(const nlohmann::json& hatchet_json_, Type& hatchet_value_) {             \
    ::hatchet::detail::expect_object(hatchet_json_);                                              \
    constexpr bool hatchet_required_ = required;                                                  \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(HATCHET_INPUT_FROM_, __VA_ARGS__))                   \
  }

/// Defines to_json and a strict from_json for `Type` and the listed fields; every field is
/// required (except std::optional ones). See the file comment for the rules.
#define HATCHET_DEFINE_INPUT(Type, ...) HATCHET_DEFINE_INPUT_IMPL_(true, Type, __VA_ARGS__)

/// As HATCHET_DEFINE_INPUT, but a missing field keeps the value it has in a default-constructed
/// `Type`.
#define HATCHET_DEFINE_INPUT_WITH_DEFAULT(Type, ...)                                              \
  HATCHET_DEFINE_INPUT_IMPL_(false, Type, __VA_ARGS__)
