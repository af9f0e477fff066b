#pragma once
// What the dev engine does with every field of every request it serves: acts on it as the real
// engine does, keeps it for display only (as the real engine's own use of it is), or refuses a
// request that sets it, naming the field, because the dev engine does not model it yet. Nothing
// is accepted and ignored. Methods it does not serve are refused by name the same way.
//
// The table is walked by the test `engine_fields_test`, which fails on any field of a served
// request message (or of a message reached through a field the engine takes) that has no rule, so
// a field added to proto/ cannot be dropped silently.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace google::protobuf {
class Message;
}

namespace hatchet::engine {

enum class field_use {
  acts,          ///< the dev engine acts on it as the real engine does
  informational, ///< the real engine only stores or logs it (display, analytics): kept at most
  refused,       ///< set in a request: UNIMPLEMENTED naming the field
};

struct field_rule {
  std::string_view field; ///< full protobuf name, e.g. "v1.CreateTaskOpts.concurrency"
  field_use use;
  std::string_view note;  ///< what the engine does with it, or what is not modelled
};

/// One rule per field of every message the engine reads.
std::span<const field_rule> request_field_rules();

/// The rule of a field by its full name, or nullptr.
const field_rule* rule_for(std::string_view full_field_name);

struct method_rule {
  std::string_view method; ///< "/package.Service/Method"
  std::string_view why;
};

/// The methods of the served services that the dev engine refuses as a whole.
std::span<const method_rule> refused_methods();

/// The UNIMPLEMENTED message for a refused method, naming it and saying why.
std::string refused_method_message(std::string_view method);

/// If `m` sets a field the engine refuses (or one with no rule), the UNIMPLEMENTED message naming
/// it: the field's full name, where it is in the request, and what is not modelled. Walks into
/// the messages of the fields it takes. A message-typed field counts as set when it holds
/// anything (an SDK that sends an empty `conditions` is not refused), a scalar when it differs
/// from its default or has explicit presence, a list or map when it is not empty.
std::optional<std::string> unmodelled_field(const google::protobuf::Message& m);

} // namespace hatchet::engine
