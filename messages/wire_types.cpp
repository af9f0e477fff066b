#include "messages/wire_types.hpp"

namespace hatchet::wire {

const char* status_name(int code) noexcept {
  static constexpr const char* names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? names[code] : "UNKNOWN_STATUS";
}

bool rpc_status::over_size_limit() const {
  return code == status::resource_exhausted && message.find("larger than max") != std::string::npos;
}

std::string rpc_status::describe() const {
  std::string text = status_name(code);
  if (!message.empty())
    text += ": " + message;
  return text;
}

} // namespace hatchet::wire
