#include "actors/task_run.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "codec/json_dump.hpp"
#include "codec/json_scan.hpp"
#include "codec/json_tree.hpp"
#include "actors/run_link.hpp"
#include "hatchet/errors.hpp"
#include "hatchet/workflow.hpp"

namespace hatchet::detail {

namespace {

/// The tree path, for what the scan leaves to it: a double-encoded payload, escaped member names.
caf::expected<decoded_payload> decode_payload_tree(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return make_error(errc::invalid_input, "the action payload is not valid JSON");
  if (j.is_string()) { // double-encoded by some producers
    j = nlohmann::json::parse(j.get<std::string>(), nullptr, false);
    if (j.is_discarded())
      return make_error(errc::invalid_input, "the action payload is a string that is not JSON");
  }
  if (!j.is_object())
    return make_error(errc::invalid_input, std::string{"the action payload is a JSON "}
                                             + j.type_name() + ", not an object");
  decoded_payload out;
  if (auto i = j.find("input"); i != j.end() && !i->is_null())
    out.input = std::move(*i);
  else
    out.input = nlohmann::json::object();
  if (auto p = j.find("parents"); p != j.end() && p->is_object())
    out.parents = std::move(*p);
  if (auto e = j.find("step_run_errors"); e != j.end() && e->is_object())
    out.step_run_errors = std::move(*e);
  return out;
}

/// Keeps where `input` and `parents` are (the last of each, as a parser that builds a tree does).
struct payload_members final : json_member_sink {
  std::string_view input, parents, step_run_errors;
  bool escaped_key = false;

  void member(std::string_view key, bool escaped, std::string_view value) override {
    if (escaped)
      escaped_key = true; // it might spell "input": leave it to the tree path
    else if (key == "input")
      input = value;
    else if (key == "parents")
      parents = value;
    else if (key == "step_run_errors")
      step_run_errors = value;
  }
};

/// A member's value as a tree; "{}", the usual case, without parsing anything.
nlohmann::json member_tree(std::string_view text) {
  if (text == "{}")
    return nlohmann::json::object();
  return build_checked_json(text); // checked by the scan of the whole payload
}

/// An object member that may be absent: its tree, or null for none (and for "{}", the usual case).
nlohmann::json optional_object(std::string_view text) {
  if (text.empty() || text.front() != '{' || text == "{}")
    return nullptr;
  return build_checked_json(text);
}

} // namespace

caf::expected<decoded_payload> decode_payload(const std::string& text) {
  // One pass checks the whole payload and finds the two members a task uses; only those become
  // trees. The members nobody reads (triggers, user_data, overrides, ...) are checked, not built.
  payload_members found;
  auto scan = scan_json(text, &found);
  if (!scan.ok)
    return make_error(errc::invalid_input, "the action payload is not valid JSON: " + scan.error);
  if (scan.kind == json_kind::string || found.escaped_key)
    return decode_payload_tree(text);
  if (scan.kind != json_kind::object)
    return make_error(errc::invalid_input, std::string{"the action payload is a JSON "}
                                             + json_kind_name(scan.kind) + ", not an object");
  decoded_payload out;
  if (!found.input.empty() && found.input != "null")
    out.input = member_tree(found.input);
  else
    out.input = nlohmann::json::object();
  out.parents = optional_object(found.parents);
  out.step_run_errors = optional_object(found.step_run_errors);
  return out;
}

std::string format_error(const std::string& type, const std::string& message,
                         const std::string& task_run_external_id) {
  std::string escaped_type;
  for (size_t i = 0; i < type.size(); ++i) {
    if (type.compare(i, 2, ": ") == 0) {
      escaped_type += ":::";
      ++i; // the space is part of the escape
    } else {
      escaped_type += type[i];
    }
  }
  std::string escaped_message;
  for (char c : message) {
    if (c == '\n')
      escaped_message += "\\\n";
    else
      escaped_message += c;
  }
  nlohmann::json meta = {
    {"__hatchet_error_metadata__", {{"task_run_external_id", task_run_external_id}}}};
  return escaped_type + ": " + escaped_message + "\n" + "  (raised by a C++ task; no traceback)"
         + "\n\n" + meta.dump();
}

namespace {

msg::task_outcome failure(const msg::assignment& a, const std::string& type,
                          const std::string& what, bool final) {
  msg::task_outcome out;
  out.run = a.action.ids;
  out.kind = msg::task_outcome::failed;
  out.payload = format_error(type, what, a.action.ids->task_run_external_id);
  out.should_not_retry = final;
  return out;
}

} // namespace

std::variant<msg::task_outcome, prepared_run> prepare(const msg::assignment& a,
                                                      std::stop_token stop, async_hooks* hooks) {
  auto payload = decode_payload(a.action.action_payload);
  if (!payload)
    return failure(a, "hatchet::input_error",
                   "task '" + a.task->name + "': " + describe(payload.error()), true);
  run_info info;
  info.ids = a.action.ids;
  info.task_name = &a.task->name;
  if (a.action.priority >= 1 && a.action.priority <= 3)
    info.priority = a.action.priority; // an engine that sends none leaves the default, 1
  // Metadata that is not a JSON object is ignored ("{}", the usual case, is what the default is).
  if (const auto& m = a.action.additional_metadata; !m.empty() && m != "{}") {
    auto scan = scan_json(m);
    if (scan.ok && scan.kind == json_kind::object)
      info.additional_metadata = build_checked_json(m);
  }
  info.parents = std::move(payload->parents);
  info.step_run_errors = std::move(payload->step_run_errors);
  if (a.services)
    info.worker_id = &a.services->worker_id;
  prepared_run run;
  run.input = std::move(payload->input);
  run.ctx = std::make_unique<context>(std::move(info), a.state.get(), std::move(stop), hooks);
  context_access::attach_engine_calls(*run.ctx, a.services.get()); // made on the task's first call, if any
  if (a.client)
    context_access::attach_client(*run.ctx, a.client);
  if (!a.task->options.depends.empty())
    context_access::attach_dependencies(*run.ctx, 
      std::make_unique<dependency_scope>(a.task->options.depends, a.task->name));
  return run;
}

msg::task_outcome settle(const msg::assignment& a,
                         const std::function<nlohmann::json()>& produce) {
  try {
    auto result = produce();
    if (result.is_null())
      result = nlohmann::json::object();
    if (!result.is_object())
      return failure(a, "hatchet::output_error",
                     "task '" + a.task->name + "' returned a JSON " + result.type_name()
                       + "; a task's output must be a JSON object",
                     true);
    msg::task_outcome out;
    out.run = a.action.ids;
    out.kind = msg::task_outcome::completed;
    out.payload = dump_json(result);
    return out;
  } catch (const input_error& e) {
    return failure(a, "hatchet::input_error", e.what(), true);
  } catch (const non_retryable_error& e) {
    return failure(a, demangle(typeid(e).name()), e.what(), true);
  } catch (const std::exception& e) {
    return failure(a, demangle(typeid(e).name()), e.what(), false);
  } catch (...) {
    return failure(a, "unknown exception",
                   "task '" + a.task->name + "' threw a non-std exception", false);
  }
}

msg::task_outcome execute(const msg::assignment& a, std::stop_token stop,
                          std::shared_ptr<engine_calls>* calls) {
  auto prepared = prepare(a, std::move(stop));
  if (auto* early = std::get_if<msg::task_outcome>(&prepared))
    return std::move(*early);
  auto& run = std::get<prepared_run>(prepared);
  if (calls != nullptr)
    *calls = context_access::engine_calls_of(*run.ctx);
  auto* deps = context_access::dependencies(*run.ctx);
  if (deps == nullptr)
    return settle(a, [&] { return a.task->fn(run.input, *run.ctx); });
  auto outcome = settle(a, [&] {
    deps->build(*run.ctx);
    return a.task->fn(run.input, *run.ctx);
  });
  context_access::end_callbacks(*run.ctx);
  log_teardown_errors(a, deps->teardown());
  return outcome;
}

void log_teardown_errors(const msg::assignment& a, const std::string& errors) {
  if (!errors.empty())
    spdlog::warn("task {} (run {}): {}", a.task->name, a.action.ids->task_run_external_id, errors);
}

} // namespace hatchet::detail
