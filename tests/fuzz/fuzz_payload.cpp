// libFuzzer target: the START_STEP_RUN payload decoder, hatchet::detail::decode_payload.
//
// The payload is whatever the engine (or anything pretending to be one) put in
// AssignedAction.action_payload, so the worker must survive any bytes there: never crash, never
// throw, and either decode or say why. Beyond "no crash" (ASan/UBSan do that part), the target
// checks the decoder's documented contract:
//   - success: `parents` is an object or null (none) and `input` is never null (missing/null
//     become {});
//   - failure: an errc::invalid_input error with a non-empty description;
//   - agreement with a parser that builds the whole tree (nlohmann): the decoder only checks the
//     members a task does not use, so it must accept and refuse exactly what that parser does,
//     and find the same input and parents.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "codec/json_dump.hpp"
#include "actors/task_run.hpp"
#include "tests/payload_reference.hpp"
#include "hatchet/errors.hpp"

namespace {

[[noreturn]] void contract_broken(const char* what, const std::string& input) {
  std::fprintf(stderr, "decode_payload contract broken: %s (input of %zu bytes)\n", what,
               input.size());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto decoded = hatchet::detail::decode_payload(text);
  auto expected = payload_reference::decode(text);
  if (static_cast<bool>(decoded) != expected.has_value())
    contract_broken(decoded ? "accepted what a full parse refuses" : "refused what a full parse accepts",
                    text);
  // Compared as text: == finds 1 and 1.0 equal, and the number types must match too.
  const auto dump = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (decoded && (dump(decoded->input) != dump(expected->first)
                  || dump(hatchet::detail::object_or_empty(decoded->parents))
                       != dump(expected->second)))
    contract_broken("input or parents differ from a full parse", text);
  // What the worker writes a task's output with must write what nlohmann writes.
  if (decoded && hatchet::detail::dump_json(decoded->input) != dump(decoded->input))
    contract_broken("dump_json differs from nlohmann's dump", text);
  if (decoded) {
    if (!decoded->parents.is_object() && !decoded->parents.is_null())
      contract_broken("parents is neither an object nor none", text);
    if (decoded->input.is_null())
      contract_broken("input is null", text);
    // The task function receives `input`: serialising it (as logs and outputs do) must work for
    // whatever the decoder let through, including invalid UTF-8 inside strings.
    auto dumped = decoded->input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (dumped.empty())
      contract_broken("input serialises to nothing", text);
  } else {
    const auto& err = decoded.error();
    if (err.category() != hatchet::errc_category::value ||
        static_cast<hatchet::errc>(err.code()) != hatchet::errc::invalid_input)
      contract_broken("failure is not errc::invalid_input", text);
    if (hatchet::describe(err).empty())
      contract_broken("failure without a description", text);
  }
  return 0;
}
