#include "engine/state.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/event_triggers.hpp"
#include "util/go_duration.hpp"
#include "util/ids.hpp"
#include "util/quoted.hpp"

namespace hatchet::engine {

namespace {

constexpr int32_t default_slots = 100;
constexpr std::chrono::milliseconds default_timeout{60000};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string s) {
  for (auto& c : s)
    c = lower(c);
  return s;
}

/// ^[a-zA-Z0-9.\-_]+$, the real engine's `hatchetName` rule (worker, service, workflow and task
/// names).
bool valid_name(const std::string& name) {
  if (name.empty())
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
  });
}

/// `service:verb[:sub]` with non-empty parts and no ';' (the separator of the real engine's
/// worker action hash, which its parser refuses).
bool valid_action(const std::string& action) {
  if (action.find(';') != std::string::npos)
    return false;
  auto colon = action.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= action.size())
    return false;
  auto second = action.find(':', colon + 1);
  if (second == std::string::npos)
    return true;
  return second > colon + 1 && second + 1 < action.size() &&
         action.find(':', second + 1) == std::string::npos;
}

/// A step's action id as the real engine stores it (PutWorkflow runs it through its action-id
/// parser): the first letter of the service and of the sub-part lowercased, the verb lowercased
/// entirely. Worker actions, by contrast, are lowercased entirely, so a step whose service has a
/// capital after its first letter matches no worker, on a real engine as here. ASCII only.
std::string normalize_step_action(const std::string& action) {
  std::string out = action;
  auto colon = out.find(':');
  out[0] = lower(out[0]);
  auto second = out.find(':', colon + 1);
  auto verb_end = second == std::string::npos ? out.size() : second;
  for (size_t i = colon + 1; i < verb_end; ++i)
    out[i] = lower(out[i]);
  if (second != std::string::npos)
    out[second + 1] = lower(out[second + 1]);
  return out;
}

/// The name a real engine prints for an SDKS value (protobuf's enum String()).
std::string sdk_name(int32_t value) {
  switch (value) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "GO";
    case 2:
      return "PYTHON";
    case 3:
      return "TYPESCRIPT";
    case 4:
      return "RUBY";
    default:
      return std::to_string(value);
  }
}

int32_t find_units(const std::vector<std::pair<std::string, int32_t>>& v, const std::string& k) {
  for (const auto& [key, units] : v)
    if (key == k)
      return units;
  return 0;
}

void add_units(std::vector<std::pair<std::string, int32_t>>& v, const std::string& k, int32_t d) {
  for (auto& [key, units] : v) {
    if (key == k) {
      units += d;
      return;
    }
  }
  v.emplace_back(k, d);
}

} // namespace

bool is_valid_json(const std::string& text) {
  return text.find("\\u0000") == std::string::npos && nlohmann::json::accept(text);
}

// ---------------------------------------------------------------------------------------------
// effects

void engine_state::effects::flush(const std::shared_ptr<action_sink>& s) {
  if (flush_actions.empty() || flush_actions.back() != s)
    flush_actions.push_back(s);
}

void engine_state::effects::flush(const std::shared_ptr<run_sink>& s) {
  if (flush_runs.empty() || flush_runs.back() != s)
    flush_runs.push_back(s);
}

void engine_state::effects::flush(const std::shared_ptr<event_sink>& s) {
  if (flush_events.empty() || flush_events.back() != s)
    flush_events.push_back(s);
}

void engine_state::effects::apply() {
  auto dedupe = [](auto& v) {
    if (v.size() > 1) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
  };
  dedupe(flush_actions);
  dedupe(flush_runs);
  for (auto& s : flush_actions)
    s->flush();
  for (auto& s : flush_runs)
    s->flush();
  for (auto& s : close_actions)
    s->close();
  for (auto& s : close_runs)
    s->close();
  dedupe(flush_events);
  for (auto& s : flush_events)
    s->flush();
  for (auto& s : end_events)
    s->end();
  for (auto& s : close_events)
    s->close();
}

// ---------------------------------------------------------------------------------------------
// construction

engine_state::engine_state(engine_options opts)
  : opts_(std::move(opts)), finished_(opts_.max_finished_runs, opts_.max_finished_bytes) {}

engine_state::~engine_state() = default;

// ---------------------------------------------------------------------------------------------
// lookups and scheduling helpers (under mu_)

engine_state::worker* engine_state::find_worker(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

engine_state::task_run* engine_state::find_task(const std::string& id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : it->second;
}

bool engine_state::eligible(const worker& w, steady::time_point now) const {
  // While stopping, every stream is closing: an assignment would only bounce between them.
  // Paused and not-yet-active workers are the real engine's `isPaused` / `isActive` filters.
  return !closing_ && !w.unsubscribed && !w.paused && w.active_sessions > 0 && w.heartbeated &&
         now - w.last_heartbeat <= opts_.heartbeat_window;
}

const std::shared_ptr<action_sink>* engine_state::newest_active(const worker& w) {
  for (auto it = w.sessions.rbegin(); it != w.sessions.rend(); ++it)
    if (it->active)
      return &it->sink;
  return nullptr;
}

void engine_state::activate(worker& w, session& s) {
  s.active = true;
  ++w.active_sessions;
  w.had_listener = true;
  w.last_listener_established = std::chrono::system_clock::now();
  w.updated_at = w.last_listener_established;
  mark_dirty(&w);
}

bool engine_state::fits(const worker& w, const task_def& def) {
  for (const auto& [type, units] : def.slot_requests)
    if (find_units(w.capacity, type) - find_units(w.used, type) < units)
      return false;
  return true;
}

void engine_state::mark_dirty(action_queue* q) {
  if (!q->dirty) {
    q->dirty = true;
    dirty_queues_.push_back(q);
  }
}

void engine_state::mark_dirty(worker* w) {
  if (!w->dirty) {
    w->dirty = true;
    dirty_workers_.push_back(w);
  }
}

void engine_state::enqueue(const std::shared_ptr<task_run>& t) {
  t->state = task_state::queued;
  ++t->attempt;
  // Behind every entry of the same or a higher priority (a retry goes to the back of its class,
  // as the real engine gives a requeued item a new, larger id).
  const int32_t priority = t->run != nullptr ? t->run->priority : 1;
  auto& tasks = t->queue->tasks;
  auto at = tasks.end();
  while (at != tasks.begin() && std::prev(at)->priority < priority)
    --at;
  tasks.insert(at, queue_entry{t, t->attempt, priority});
  mark_dirty(t->queue);
  // The schedule timeout runs from each time the task enters the queue (a retry restarts it),
  // as the real engine stamps schedule_timeout_at on each queue item it creates.
  const auto& timeout = t->def().schedule_timeout;
  schedule_deadlines_[timeout].push_back({steady::now() + timeout, t, t->attempt});
}

void engine_state::settle(steady::time_point now, effects& fx) {
  // A worker with new capacity (or a new stream/heartbeat) looks at each of its actions, starting
  // from a rotating offset so one busy action cannot starve the others on that worker.
  for (worker* w : dirty_workers_) {
    w->dirty = false;
    const size_t n = w->queues.size();
    for (size_t i = 0; i < n; ++i) {
      action_queue* q = w->queues[(w->queue_cursor + i) % n];
      if (!q->tasks.empty())
        mark_dirty(q);
    }
    if (n > 0)
      w->queue_cursor = (w->queue_cursor + 1) % n;
  }
  dirty_workers_.clear();
  // drain() never marks queues dirty, so this loop does not grow while it runs.
  for (action_queue* q : dirty_queues_)
    drain(*q, now, fx);
  dirty_queues_.clear();
  forget_oldest_runs(fx);
}

void engine_state::drain(action_queue& q, steady::time_point now, effects& fx) {
  q.dirty = false;
  while (!q.tasks.empty()) {
    auto& head = q.tasks.front();
    if (head.task->state != task_state::queued || head.task->attempt != head.attempt) {
      q.tasks.pop_front(); // cancelled or requeued since: a stale entry
      continue;
    }
    const task_def& def = head.task->def();
    worker* chosen = nullptr;
    for (size_t i = 0; i < q.workers.size();) {
      size_t idx = (q.cursor + i) % q.workers.size();
      worker* w = q.workers[idx];
      if (w->unsubscribed && w->sessions.empty()) {
        // gone for good: drop it from this action's candidates
        q.workers.erase(q.workers.begin() + static_cast<std::ptrdiff_t>(idx));
        if (q.workers.empty())
          break;
        continue;
      }
      if (eligible(*w, now) && fits(*w, def)) {
        chosen = w;
        q.cursor = (idx + 1) % q.workers.size();
        break;
      }
      ++i;
    }
    if (chosen == nullptr)
      return; // in queue order: the head waits, and so does everything behind it
    auto t = std::move(head.task);
    q.tasks.pop_front();
    assign(t, *chosen, now, fx);
  }
}

/// An upper bound of the encoded AssignedAction: every string with its tag and length prefix
/// (at most 6 bytes each for these sizes), and the integer fields at their widest.
static size_t encoded_size_bound(const assigned_action& a, size_t tenant_bytes) {
  size_t strings = a.workflow_run_id.size() + a.job_id.size() + a.job_name.size() * 2
                   + a.task_run_external_id.size() * 3 + a.job_id.size() + a.action_id.size()
                   + a.payload.size() + a.additional_metadata.size() + a.workflow_id.size()
                   + a.workflow_version_id.size() + tenant_bytes
                   + a.parent_task_run_external_id.value_or("").size()
                   + a.child_key.value_or("").size();
  return strings + 20 * 6 + 4 * 11;
}

void engine_state::assign(const std::shared_ptr<task_run>& t, worker& w, steady::time_point now,
                          effects& fx) {
  const task_def& def = t->def();
  // A real engine encodes the message before it sends it, and grpc refuses one over its send
  // limit without writing it; the task then fails ("Could not send task to worker"). So here:
  // never write what the worker's stream cannot carry, or the stream (and every other run on
  // it) would break on it, again and again.
  auto action = make_action(*t, action_kind::start);
  if (auto size = encoded_size_bound(action, opts_.tenant_id.size());
      size > opts_.max_message_bytes) {
    ++stats_.undeliverable;
    spdlog::warn("task {}: its START would have about {} bytes, over the {}-byte message limit; "
                 "failing it",
                 t->external_id, size, opts_.max_message_bytes);
    return finish_unsuccessfully(
      *t, task_state::failed,
      "Could not send task to worker: its START message would have about " + std::to_string(size)
        + " bytes (input " + std::to_string(t->run->input.size()) + " bytes), over the engine's "
        + std::to_string(opts_.max_message_bytes)
        + "-byte gRPC message limit (SERVER_GRPC_MAX_MSG_SIZE on a real engine)",
      fx);
  }
  t->state = task_state::running;
  ++t->attempt;
  t->assigned = &w;
  t->holds_slot = true;
  for (const auto& [type, units] : def.slot_requests)
    add_units(w.used, type, units);
  w.running.insert(t.get());
  ++w.slot_holders;
  stats_.max_running_on_one_worker = std::max(stats_.max_running_on_one_worker, w.slot_holders);
  t->deadline = deadlines_.emplace(now + def.timeout, t.get());
  t->has_deadline = true;
  const auto& session = *newest_active(w); // eligible: there is one; the newest is likeliest alive
  t->carried_by = session.get();
  t->acknowledged = false;
  session->enqueue(std::move(action));
  fx.flush(session);
  ++stats_.assigned;
  spdlog::debug("assigned task {} ({} retry {}) to worker {}", t->external_id, def.action,
                t->retry_count, w.id);
}

void engine_state::free_slot(task_run& t) {
  if (!t.holds_slot || t.assigned == nullptr)
    return;
  worker& w = *t.assigned;
  for (const auto& [type, units] : t.def().slot_requests)
    add_units(w.used, type, -units);
  --w.slot_holders;
  t.holds_slot = false;
  mark_dirty(&w);
}

void engine_state::detach(task_run& t) {
  free_slot(t);
  if (t.has_deadline) {
    deadlines_.erase(t.deadline);
    t.has_deadline = false;
  }
  if (t.assigned != nullptr) {
    t.assigned->running.erase(&t);
    mark_dirty(t.assigned);
    t.assigned = nullptr;
  }
}

void engine_state::send_cancel(task_run& t, effects& fx) {
  if (t.assigned == nullptr)
    return;
  const auto* session = newest_active(*t.assigned);
  if (session == nullptr)
    return;
  (*session)->enqueue(make_action(t, action_kind::cancel));
  fx.flush(*session);
}

assigned_action engine_state::make_action(const task_run& t, action_kind kind) const {
  const task_def& def = t.def();
  const workflow_run& run = *t.run;
  assigned_action a;
  a.kind = kind;
  a.workflow_run_id = run.id;
  a.job_id = def.id;
  a.job_name = def.readable_id;
  a.task_run_external_id = t.external_id;
  a.action_id = def.action;
  if (kind == action_kind::start)
    a.payload = make_payload(t);
  a.retry_count = t.retry_count;
  a.additional_metadata = run.additional_metadata;
  a.priority = run.priority;
  a.workflow_id = run.wf->workflow_id;
  a.workflow_version_id = run.wf->version_id;
  a.parent_task_run_external_id = run.parent_task_run_external_id;
  a.child_index = run.child_index;
  a.child_key = run.child_key;
  return a;
}

std::string engine_state::make_payload(const task_run& t) const {
  // Built by concatenation: the input and every parent output were validated as JSON on the way in,
  // so there is no need to parse and re-serialise them for every assignment.
  const workflow_run& run = *t.run;
  std::string p;
  p.reserve(run.input.size() + 160);
  p += R"({"input":)";
  p += run.input;
  p += R"(,"parents":{)";
  bool first = true;
  for (size_t pi : t.def().parents) {
    const task_run& parent = *run.tasks[pi];
    if (!first)
      p += ',';
    first = false;
    p += nlohmann::json(parent.def().readable_id).dump();
    p += ':';
    p += parent.output;
  }
  p += '}';
  if (t.def().on_failure && !run.step_run_errors.empty()) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [name, error] : run.step_run_errors)
      errors[name] = error;
    p += R"(,"step_run_errors":)";
    p += errors.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  p += R"(,"triggers":{},"triggered_by":"manual","user_data":{},"overrides":{}})";
  return p;
}

void engine_state::acknowledge(task_run& t) {
  t.acknowledged = true;
  t.undelivered = 0; // it got through: the count is of misses in a row
}

void engine_state::requeue(task_run& t, bool consumes_retry) {
  ++t.retry_count;
  if (consumes_retry)
    ++t.retries_used;
  ++stats_.retried;
  const auto& def = t.def();
  if (consumes_retry && def.backoff_factor) {
    // The real engine's retry trigger: an app failure of a task with a backoff factor waits
    // min(max, factor ^ app_retry_count) seconds, the count being the new one (1 for the first
    // retry); internal requeues (a silent worker, a lost START) never wait.
    double seconds = std::min(static_cast<double>(def.backoff_max_seconds),
                              std::pow(*def.backoff_factor, t.retries_used));
    auto delay = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
    t.state = task_state::waiting;
    ++t.attempt;
    backoffs_.emplace(steady::now() + delay, std::make_pair(t.run->tasks[t.index], t.attempt));
    spdlog::debug("task {}: retry {} in {:.3f} s (backoff)", t.external_id, t.retry_count, seconds);
    return;
  }
  enqueue(t.run->tasks[t.index]);
}

void engine_state::complete(task_run& t, std::string output, effects& fx) {
  detach(t);
  t.state = task_state::completed;
  t.output = std::move(output);
  ++stats_.completed;
  spdlog::debug("task {} completed", t.external_id);
  workflow_run& run = *t.run;
  for (size_t ci : t.def().children) {
    auto& child = run.tasks[ci];
    if (child->state == task_state::waiting && --child->parents_left == 0)
      enqueue(child);
  }
  task_terminal(t, fx);
}

void engine_state::finish_unsuccessfully(task_run& t, task_state state, std::string error,
                                         effects& fx) {
  detach(t);
  t.state = state;
  t.error = std::move(error);
  if (state == task_state::failed)
    ++stats_.failed;
  else
    ++stats_.cancelled;
  spdlog::debug("task {} {}: {}", t.external_id,
                state == task_state::failed ? "failed" : "cancelled", t.error);
  skip_dependants(t, fx);
  task_terminal(t, fx);
}

void engine_state::skip_dependants(task_run& t, effects& fx) {
  workflow_run& run = *t.run;
  for (size_t ci : t.def().children) {
    task_run& child = *run.tasks[ci];
    if (child.state != task_state::waiting)
      continue;
    child.state = task_state::cancelled;
    child.error = "task not run: parent task " + util::quoted(t.def().readable_id)
      + " did not complete";
    ++stats_.cancelled;
    skip_dependants(child, fx);
    task_terminal(child, fx);
  }
}

void engine_state::task_terminal(task_run& t, effects& fx) {
  if (t.run == nullptr)
    return;
  workflow_run& run = *t.run;
  ++run.terminal;
  if (t.state == task_state::failed && !t.def().on_failure && run.wf->has_on_failure
      && !run.on_failure_fired)
    fire_on_failure(run, t);
  // An on-failure task that never fired is not waited for (the real engine leaves it out of
  // the run's task count).
  size_t expected = run.tasks.size();
  if (run.wf->has_on_failure && !run.on_failure_fired)
    --expected;
  if (!run.done && run.terminal == expected)
    finish_run(run, fx);
}

void engine_state::fire_on_failure(workflow_run& run, const task_run& failed) {
  // The real engine queues the on-failure task on the first FAILED (after retries) of any task
  // of the run, without waiting for the others, and at most once; cancellations (also by a
  // schedule timeout) do not fire it.
  run.on_failure_fired = true;
  run.step_run_errors.emplace_back(failed.def().readable_id, failed.error);
  spdlog::debug("workflow run {}: task {} failed; queueing its on-failure task", run.id,
                failed.def().readable_id);
  enqueue(run.tasks.back());
}

run_finished_ptr engine_state::make_finished(const workflow_run& run) const {
  auto ev = std::make_shared<run_finished>();
  ev->workflow_run_id = run.id;
  ev->results.reserve(run.tasks.size());
  for (const auto& t : run.tasks) {
    if (t->def().on_failure && !run.on_failure_fired)
      continue; // not part of the run unless it ran
    step_result r;
    r.task_run_external_id = t->external_id;
    r.task_name = t->def().readable_id;
    if (t->state == task_state::completed)
      r.output = t->output;
    else
      r.error = t->error.empty() ? std::string{"task did not complete"} : t->error;
    ev->results.push_back(std::move(r));
  }
  return ev;
}

void engine_state::finish_run(workflow_run& run, effects& fx) {
  run.done = true;
  finished_.add(&run, run_bytes(run));
  if (!run.event_sinks.empty()) {
    // The real engine's last message on a run's event stream: the run's end, with hangup. It
    // goes out after stream_settle (see engine_options), so that chunks the worker sent just
    // before its result still reach the subscribers first.
    workflow_event end;
    end.what = workflow_event::kind::run_finished;
    end.workflow_run_id = run.id;
    end.resource_id = run.id;
    end.at = std::chrono::system_clock::now();
    end.failed = status_of(run) == run_status::failed;
    end.cancelled = status_of(run) == run_status::cancelled;
    run.events_end = std::move(end);
    run.events_end_hold = run_end_hold{steady::now(), opts_.stream_settle};
    if (opts_.stream_settle.count() == 0)
      end_event_streams(run, fx);
    else
      ending_runs_.push_back(run.id);
  }
  spdlog::debug("workflow run {} finished", run.id);
  // Built only for the subscribers waiting now; a late subscriber gets a fresh one (watch_run).
  if (auto it = waiters_.find(run.id); it != waiters_.end()) {
    auto ev = make_finished(run);
    for (auto& sink : it->second) {
      sink->enqueue(ev);
      fx.flush(sink);
      if (auto sw = sink_waits_.find(sink.get()); sw != sink_waits_.end())
        sw->second.erase(run.id);
    }
    waiters_.erase(it);
  }
}

void engine_state::end_event_streams(workflow_run& run, effects& fx) {
  if (!run.events_end)
    return;
  for (auto& sink : run.event_sinks) {
    sink->enqueue(*run.events_end);
    fx.end_events.push_back(sink);
    event_sinks_.erase(sink.get());
  }
  run.event_sinks.clear();
  run.events_end.reset();
}

void engine_state::forget_oldest_runs(effects& fx) {
  for (auto why = finished_.over_limit(); why != decltype(finished_)::over::nothing;
       why = finished_.over_limit()) {
    if (why == decltype(finished_)::over::count && finished_.first_time(why)) {
      spdlog::warn("more than {} finished runs: forgetting the oldest (late result subscriptions "
                   "to them will not be answered; raise max_finished_runs if that matters)",
                   finished_.max_runs());
    } else if (why == decltype(finished_)::over::bytes && finished_.first_time(why)) {
      spdlog::warn("finished runs hold more than {} bytes (inputs, outputs, logs): forgetting the "
                   "oldest (late result subscriptions to them will not be answered; raise "
                   "--max-finished-bytes if that matters)",
                   finished_.max_bytes());
    }
    auto it = runs_.find(finished_.pop_oldest()->id);
    if (it == runs_.end())
      continue;
    end_event_streams(*it->second, fx); // a held end goes out before the run is forgotten
    for (auto& sink : it->second->event_sinks) { // none should be left; never keep a dangling run
      event_sinks_.erase(sink.get());
      fx.close_events.push_back(sink);
    }
    it->second->event_sinks.clear();
    for (auto& t : it->second->tasks) {
      tasks_.erase(std::string_view{t->external_id});
      t->run = nullptr; // a stale queue entry may still hold the task: it sees it terminal
    }
    runs_.erase(it);
  }
}

run_status engine_state::status_of(const task_run& t) const {
  switch (t.state) {
    case task_state::waiting:
    case task_state::queued:
      return run_status::queued;
    case task_state::running:
      return run_status::running;
    case task_state::completed:
      return run_status::completed;
    case task_state::failed:
      return run_status::failed;
    case task_state::cancelled:
      return run_status::cancelled;
  }
  return run_status::queued;
}

run_status engine_state::status_of(const workflow_run& run) const {
  if (run.done) {
    bool cancelled = false;
    for (const auto& t : run.tasks) {
      if (t->state == task_state::failed)
        return run_status::failed;
      cancelled = cancelled || t->state == task_state::cancelled;
    }
    return cancelled ? run_status::cancelled : run_status::completed;
  }
  for (const auto& t : run.tasks)
    if (t->state != task_state::waiting && t->state != task_state::queued)
      return run_status::running;
  return run_status::queued;
}

// ---------------------------------------------------------------------------------------------
// Dispatcher

status engine_state::register_worker(const worker_spec& spec, worker_registered& out) {
  // The real engine's order: the slots conflict, then its request validation (name, services,
  // actions: INVALID_ARGUMENT), then the language, checked only when the worker row is written.
  if (spec.slots && !spec.slot_config.empty())
    return status::invalid("set either slots or slot_config, not both");
  if (!valid_name(spec.name))
    return status::invalid("worker name " + util::quoted(spec.name)
                           + " must match ^[a-zA-Z0-9.\\-_]+$");
  for (const auto& svc : spec.services)
    if (!valid_name(svc))
      return status::invalid("service name " + util::quoted(svc)
                             + " must match ^[a-zA-Z0-9.\\-_]+$");
  auto w = std::make_unique<worker>();
  if (!spec.slot_config.empty()) {
    for (const auto& [type, units] : spec.slot_config) {
      if (units < 0)
        return status::invalid("slot_config[" + util::bounded_prefix(type)
                               + "] must not be negative");
      w->capacity.emplace_back(type, units);
    }
  } else if (spec.slots) {
    if (*spec.slots < 0)
      return status::invalid("slots must not be negative");
    w->capacity.emplace_back("default", *spec.slots);
  } else {
    w->capacity.emplace_back("default", default_slots);
  }
  for (const auto& [type, units] : w->capacity)
    w->used.emplace_back(type, 0);
  std::vector<std::string> actions;
  for (const auto& a : spec.actions) {
    auto id = lowercase(a); // the real engine stores worker actions with LOWER()
    if (!valid_action(id))
      return status::invalid("action " + util::quoted(a) + " must look like service:verb");
    if (std::find(actions.begin(), actions.end(), id) == actions.end())
      actions.push_back(std::move(id));
  }
  // A real engine answers INTERNAL ("An internal error occurred.") and logs this text.
  if (spec.language && (*spec.language < 1 || *spec.language > 4))
    return {status_code::internal, "invalid sdk: " + sdk_name(*spec.language)};
  std::string slots_text;
  for (const auto& [type, units] : w->capacity)
    slots_text += (slots_text.empty() ? "" : ", ") + type + "=" + std::to_string(units);
  w->id = util::new_uuid();
  w->name = spec.name;
  w->labels = spec.labels;
  w->registered_at = steady::now();
  w->created_at = std::chrono::system_clock::now();
  w->updated_at = w->created_at;
  out.worker_id = w->id;
  out.worker_name = w->name;
  {
    std::lock_guard lk{mu_};
    for (const auto& a : actions) {
      auto& q = queues_[a];
      if (!q) {
        q = std::make_unique<action_queue>();
        q->action = a;
      }
      q->workers.push_back(w.get());
      w->queues.push_back(q.get());
    }
    workers_.emplace(w->id, std::move(w));
    ++stats_.registrations;
  }
  spdlog::info("registered worker {} as {} ({} actions, slots {})", spec.name, out.worker_id,
               actions.size(), slots_text);
  return status::success();
}

status engine_state::open_session(const std::string& worker_id,
                                  const std::shared_ptr<action_sink>& sink) {
  if (!util::is_uuid(worker_id))
    return status::invalid("invalid worker ID format: " + util::bounded_prefix(worker_id));
  effects fx;
  {
    std::lock_guard lk{mu_};
    if (closing_)
      return {status_code::unavailable, "engine is stopping"};
    worker* w = find_worker(worker_id);
    if (w == nullptr)
      return status::not_found("worker " + worker_id + " not found");
    if (w->unsubscribed)
      return status::precondition("worker " + worker_id + " has unsubscribed; register again");
    w->sessions.push_back(session{sink, ++next_session_serial_});
    const auto now = steady::now();
    if (opts_.activation_delay.count() > 0) {
      // A real engine marks the worker active once its database write lands (tick() does it).
      activations_.push_back({now + opts_.activation_delay, w, next_session_serial_});
    } else {
      activate(*w, w->sessions.back());
      settle(now, fx);
    }
  }
  spdlog::debug("worker {} opened a listen stream", worker_id);
  fx.apply();
  return status::success();
}

void engine_state::close_session(const std::string& worker_id,
                                 const std::shared_ptr<action_sink>& sink) {
  effects fx;
  size_t requeued = 0;
  {
    std::lock_guard lk{mu_};
    worker* w = find_worker(worker_id);
    if (w == nullptr)
      return;
    // A stream still waiting for activation changes nothing: a real engine's activation write
    // is cancelled with the call.
    for (auto it = w->sessions.begin(); it != w->sessions.end(); ++it) {
      if (it->sink == sink) {
        if (it->active)
          --w->active_sessions;
        w->sessions.erase(it);
        break;
      }
    }
    // Taken under the lock, after the erase: no START can be queued on this stream any more.
    // The worker never saw these: give the tasks back to the queue with the same retry_count.
    for (const auto& a : sink->take_undelivered()) {
      if (a.kind != action_kind::start)
        continue;
      task_run* t = find_task(a.task_run_external_id);
      if (t == nullptr || t->state != task_state::running || t->assigned != w ||
          t->retry_count != a.retry_count)
        continue;
      if (++t->undelivered > opts_.max_undelivered_requeues) {
        // Stream after stream ended before this START was written: whatever the cause, it must
        // not keep going round for ever.
        ++stats_.undeliverable;
        finish_unsuccessfully(*t, task_state::failed,
                              "Could not send task to worker: its START was not delivered in "
                                + std::to_string(t->undelivered) + " streams in a row",
                              fx);
        continue;
      }
      detach(*t);
      enqueue(t->run->tasks[t->index]);
      ++requeued;
      ++stats_.requeued_undelivered;
    }
    // The STARTs it did write may still have died on the way (a connection cut drops the bytes in
    // flight). Those the worker has not acknowledged get until unacknowledged_requeue to show up
    // (a STARTED sent over the next connection); tick() requeues the rest as a new attempt.
    const auto requeue_at = steady::now() + opts_.unacknowledged_requeue;
    for (task_run* t : w->running)
      if (t->carried_by == sink.get() && !t->acknowledged && t->state == task_state::running)
        unacknowledged_.push_back({requeue_at, t->run->tasks[t->index], t->attempt});
    mark_dirty(w);
    settle(steady::now(), fx);
  }
  spdlog::debug("worker {} closed a listen stream ({} undelivered tasks requeued)", worker_id,
                requeued);
  fx.apply();
}

status engine_state::heartbeat(const std::string& worker_id) {
  if (!util::is_uuid(worker_id))
    return status::invalid("invalid worker ID format: " + util::bounded_prefix(worker_id));
  effects fx;
  {
    std::lock_guard lk{mu_};
    worker* w = find_worker(worker_id);
    if (w == nullptr)
      return status::not_found("worker " + worker_id + " not found");
    if (w->had_listener && w->active_sessions == 0)
      return status::precondition("worker " + worker_id +
                                  " has no active listen stream; reconnect ListenV2");
    w->heartbeated = true;
    w->last_heartbeat = steady::now();
    w->last_heartbeat_at = std::chrono::system_clock::now();
    mark_dirty(w);
    settle(w->last_heartbeat, fx);
  }
  fx.apply();
  return status::success();
}

status engine_state::handle_step_event(const step_event& ev) {
  if (!util::is_uuid(ev.task_run_external_id))
    return status::invalid("task_run_external_id " + util::quoted(ev.task_run_external_id)
                           + " is not a uuid");
  effects fx;
  {
    std::lock_guard lk{mu_};
    task_run* t = find_task(ev.task_run_external_id);
    if (t == nullptr)
      return status::not_found("task run " + ev.task_run_external_id + " not found");
    const int32_t retry = ev.retry_count.value_or(t->retry_count);
    const bool outcome =
      ev.kind == step_event_kind::completed || ev.kind == step_event_kind::failed;
    const uint64_t retry_bit = uint64_t{1} << std::clamp(retry, 0, 63);
    if (outcome && (t->outcome_retries & retry_bit) != 0) {
      // Already decided for this attempt: a resend after a lost answer, or a second run of the
      // same attempt. Either way the first outcome stands.
      ++stats_.duplicate_outcomes;
      spdlog::debug("task {} retry {}: duplicate outcome ignored", t->external_id, retry);
      return status::success();
    }
    // Events of an older attempt are stale (the task was retried or requeued since): ignore them.
    if (retry != t->retry_count) {
      if (outcome)
        ++stats_.stale_outcomes;
      return status::success();
    }
    // STARTED is observability only; COMPLETED/FAILED count only while the task is running
    // (they may arrive before STARTED: the TypeScript SDK sends them concurrently).
    if (t->state != task_state::running)
      return status::success();
    acknowledge(*t); // any event of this attempt proves the worker got its START
    if (outcome)
      t->outcome_retries |= retry_bit;
    switch (ev.kind) {
      case step_event_kind::completed: {
        std::string output = ev.payload.empty() ? std::string{"{}"} : ev.payload;
        if (is_valid_json(output))
          complete(*t, std::move(output), fx);
        else
          finish_unsuccessfully(*t, task_state::failed,
                                "task output is not valid JSON: the worker sent: " +
                                  output.substr(0, 200),
                                fx);
        break;
      }
      case step_event_kind::failed:
        if (!ev.should_not_retry && t->retries_used < t->def().retries) {
          spdlog::debug("task {} failed (retry {}), retrying", t->external_id, t->retry_count);
          detach(*t);
          requeue(*t, true);
        } else {
          finish_unsuccessfully(*t, task_state::failed,
                                ev.payload.empty() ? std::string{"task failed"} : ev.payload, fx);
        }
        break;
      case step_event_kind::started:
      case step_event_kind::other:
        return status::success();
    }
    settle(steady::now(), fx);
  }
  fx.apply();
  return status::success();
}

status engine_state::unsubscribe(const std::string& worker_id) {
  effects fx;
  {
    std::lock_guard lk{mu_};
    worker* w = find_worker(worker_id);
    if (w == nullptr)
      return status::not_found("worker " + worker_id + " not found");
    w->unsubscribed = true;
    for (const auto& s : w->sessions) // close_session removes them as each stream ends
      fx.close_actions.push_back(s.sink);
  }
  spdlog::info("worker {} unsubscribed", worker_id);
  fx.apply();
  return status::success();
}

status engine_state::refresh_timeout(const std::string& id, const std::string& increment,
                                     std::chrono::system_clock::time_point& timeout_at) {
  if (!util::is_uuid(id))
    return status::invalid("task_run_external_id " + util::quoted(id) + " is not a uuid");
  auto inc = util::parse_go_duration(increment);
  if (!inc)
    return status::invalid("increment_timeout_by " + util::quoted(increment)
                           + " is not a duration");
  std::lock_guard lk{mu_};
  task_run* t = find_task(id);
  if (t == nullptr)
    return status::not_found("task run " + id + " not found");
  if (t->state != task_state::running || !t->has_deadline)
    return status::precondition("task run " + id + " is not running");
  acknowledge(*t);
  auto when = t->deadline->first + *inc;
  deadlines_.erase(t->deadline);
  t->deadline = deadlines_.emplace(when, t);
  auto now = steady::now();
  timeout_at = std::chrono::system_clock::now() +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(when - now);
  return status::success();
}

status engine_state::release_slot(const std::string& id) {
  if (!util::is_uuid(id))
    return status::invalid("task_run_external_id " + util::quoted(id) + " is not a uuid");
  effects fx;
  {
    std::lock_guard lk{mu_};
    task_run* t = find_task(id);
    if (t == nullptr)
      return status::not_found("task run " + id + " not found");
    if (t->state == task_state::running)
      acknowledge(*t);
    if (t->state == task_state::running && t->holds_slot) {
      free_slot(*t);
      settle(steady::now(), fx);
    }
  }
  fx.apply();
  return status::success();
}

status engine_state::put_log(const log_request& req) {
  // The real engine's order (ingestor putLogV1): the id's form, the task, the metadata, then the
  // line's fields.
  if (!util::is_uuid(req.task_run_external_id))
    return status::invalid("task run id is not a valid uuid");
  std::string metadata = "{}";
  if (!req.metadata.empty()) {
    auto m = nlohmann::json::parse(req.metadata, nullptr, false);
    if (m.is_discarded() || !m.is_object())
      return status::invalid("Invalid metadata JSON: metadata must be a JSON object");
    if (!is_valid_json(req.metadata))
      return status::invalid("Invalid request: metadata: invalid JSON (\\u0000 is not allowed)");
    metadata = m.dump();
  }
  size_t characters = 0; // runes, as the validator counts them
  for (unsigned char c : req.message)
    characters += (c & 0xC0) != 0x80;
  if (characters < 1 || characters > 10000)
    return status::invalid("Invalid request: Validation failed with the following errors:\n0: "
                           "validation failed on field 'CreateLogLineOpts.Message': the message "
                           "must have 1 to 10000 characters, not " + std::to_string(characters));
  if (req.level && *req.level != "INFO" && *req.level != "ERROR" && *req.level != "WARN"
      && *req.level != "DEBUG")
    return status::invalid("Invalid request: Validation failed with the following errors:\n0: "
                           "validation failed on field 'CreateLogLineOpts.Level': must be one of "
                           "INFO ERROR WARN DEBUG, not " + util::quoted(*req.level));
  effects fx; // a forgotten run's held stream end goes out
  {
    std::lock_guard lk{mu_};
    task_run* t = find_task(req.task_run_external_id);
    if (t == nullptr)
      return {status_code::internal, "An internal error occurred."}; // the real engine's ErrNoRows
    dev_engine::log_line line;
    line.message = req.message;
    line.level = req.level.value_or("INFO");
    line.metadata = std::move(metadata);
    line.retry_count = req.retry_count.value_or(t->retry_count);
    // The request's time when it has one, as the real engine's putLogV1; else the time of receipt.
    line.created_at = req.created_at.value_or(std::chrono::system_clock::now());
    // A line for a finished run (workers often send their last lines after the outcome) counts
    // against the finished runs' bytes too.
    const bool finished = t->run != nullptr && t->run->done;
    if (finished)
      finished_.grow(t->run, log_line_bytes(line));
    t->logs.push_back(std::move(line));
    if (finished)
      forget_oldest_runs(fx); // may forget t's run: t is not used after this
  }
  fx.apply();
  return status::success();
}

std::vector<dev_engine::log_line> engine_state::task_logs(const std::string& id) const {
  std::lock_guard lk{mu_};
  task_run* t = find_task(id);
  return t == nullptr ? std::vector<dev_engine::log_line>{} : t->logs;
}

status engine_state::put_stream_event(const std::string& id, std::string bytes,
                                      std::optional<int64_t> index,
                                      std::chrono::system_clock::time_point created_at) {
  if (!util::is_uuid(id))
    return status::invalid("task run id is not a valid uuid");
  effects fx;
  {
    std::lock_guard lk{mu_};
    task_run* t = find_task(id);
    if (t == nullptr)
      return {status_code::internal, "An internal error occurred."};
    spdlog::trace("stream chunk {} of task {} ({} bytes) for {} subscriber(s)",
                  index ? std::to_string(*index) : std::string{"-"}, id, bytes.size(),
                  t->run != nullptr ? t->run->event_sinks.size() : 0);
    // Published to whoever follows the run now and kept nowhere: with no subscriber the chunk is
    // gone. No check on the task's state: a finished task may still publish.
    if (t->run != nullptr && !t->run->event_sinks.empty()) {
      workflow_event ev;
      ev.what = workflow_event::kind::stream;
      ev.workflow_run_id = t->run->id;
      ev.resource_id = t->external_id;
      ev.payload = std::move(bytes);
      ev.index = index;
      ev.at = created_at;
      for (auto& sink : t->run->event_sinks) {
        sink->enqueue(ev);
        fx.flush(sink);
      }
      // A chunk of a run whose end is held pushes the end back (within its cap).
      if (t->run->events_end)
        t->run->events_end_hold.chunk_arrived(steady::now());
    }
  }
  fx.apply();
  return status::success();
}

status engine_state::subscribe_events(const std::string& run_id,
                                      const std::shared_ptr<event_sink>& sink, bool& finished) {
  finished = false;
  if (!util::is_uuid(run_id))
    return status::invalid("invalid workflow run id " + util::bounded_prefix(run_id));
  std::lock_guard lk{mu_};
  if (closing_)
    return {status_code::unavailable, "engine is stopping"};
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return status::not_found("workflow run " + run_id + " not found");
  if (it->second->done) {
    finished = true; // the real engine returns at once, OK and empty
    return status::success();
  }
  it->second->event_sinks.push_back(sink);
  event_sinks_[sink.get()] = it->second.get();
  spdlog::debug("workflow run {} followed by {} event stream(s)", run_id,
                it->second->event_sinks.size());
  return status::success();
}

void engine_state::unsubscribe_events(const event_sink* sink) {
  std::lock_guard lk{mu_};
  auto it = event_sinks_.find(sink);
  if (it == event_sinks_.end())
    return; // its run ended (finish_run let it go) or it never subscribed
  std::erase_if(it->second->event_sinks, [&](const auto& s) { return s.get() == sink; });
  event_sinks_.erase(it);
}

size_t engine_state::stream_subscribers(const std::string& run_id) const {
  std::lock_guard lk{mu_};
  auto it = runs_.find(run_id);
  return it == runs_.end() ? 0 : it->second->event_sinks.size();
}

status engine_state::upsert_labels(const std::string& worker_id,
                                   const std::map<std::string, std::string>& labels) {
  if (!util::is_uuid(worker_id))
    return status::invalid("invalid worker ID format: " + util::bounded_prefix(worker_id));
  std::lock_guard lk{mu_};
  worker* w = find_worker(worker_id);
  if (w == nullptr)
    return status::not_found("worker " + worker_id + " not found");
  for (const auto& [key, value] : labels)
    w->labels[key] = value;
  return status::success();
}

status engine_state::task_exists(const std::string& id) const {
  if (!util::is_uuid(id))
    return status::invalid("task_run_external_id " + util::quoted(id) + " is not a uuid");
  std::lock_guard lk{mu_};
  if (find_task(id) == nullptr)
    return status::not_found("task run " + id + " not found");
  return status::success();
}

// ---------------------------------------------------------------------------------------------
// Workers over REST

worker_view engine_state::view_of(const worker& w, steady::time_point now) const {
  worker_view v;
  v.id = w.id;
  v.name = w.name;
  v.paused = w.paused;
  v.stream_active = w.active_sessions > 0;
  if (!w.heartbeated || now - w.last_heartbeat > opts_.heartbeat_window)
    v.status = "INACTIVE";
  else
    v.status = w.paused ? "PAUSED" : "ACTIVE";
  for (const auto* q : w.queues)
    v.actions.push_back(q->action);
  for (const auto& [type, limit] : w.capacity)
    v.slots.push_back({type, limit, limit - find_units(w.used, type)});
  v.labels = w.labels;
  v.created_at = w.created_at;
  v.updated_at = w.updated_at;
  if (w.heartbeated)
    v.last_heartbeat_at = w.last_heartbeat_at;
  if (w.had_listener)
    v.last_listener_established = w.last_listener_established;
  return v;
}

status engine_state::describe_worker(const std::string& worker_id, worker_view& out) const {
  std::lock_guard lk{mu_};
  const worker* w = find_worker(worker_id);
  if (w == nullptr)
    return status::not_found("worker " + worker_id + " not found");
  out = view_of(*w, steady::now());
  return status::success();
}

std::vector<worker_view> engine_state::all_workers() const {
  std::lock_guard lk{mu_};
  std::vector<worker_view> out;
  const auto now = steady::now();
  out.reserve(workers_.size());
  for (const auto& [id, w] : workers_)
    out.push_back(view_of(*w, now));
  return out;
}

status engine_state::update_worker(const std::string& worker_id, std::optional<bool> paused,
                                   worker_view& out) {
  effects fx;
  {
    std::lock_guard lk{mu_};
    worker* w = find_worker(worker_id);
    if (w == nullptr)
      return status::not_found("worker " + worker_id + " not found");
    const auto now = steady::now();
    if (paused && *paused != w->paused) {
      w->paused = *paused;
      w->updated_at = std::chrono::system_clock::now();
      spdlog::info("worker {} {}", worker_id, w->paused ? "paused" : "unpaused");
      if (!w->paused) {
        mark_dirty(w); // eligible again: give it what waited meanwhile
        settle(now, fx);
      }
    }
    out = view_of(*w, now);
  }
  fx.apply();
  return status::success();
}

// ---------------------------------------------------------------------------------------------
// Run subscriptions

bool engine_state::attach_run_sink(const std::shared_ptr<run_sink>& sink) {
  std::lock_guard lk{mu_};
  if (closing_)
    return false;
  run_sinks_.emplace(sink.get(), sink);
  return true;
}

void engine_state::watch_run(const std::string& run_id, const std::shared_ptr<run_sink>& sink) {
  effects fx;
  {
    std::lock_guard lk{mu_};
    auto it = runs_.find(run_id);
    if (it != runs_.end() && it->second->done) {
      sink->enqueue(make_finished(*it->second));
      fx.flush(sink);
    } else if (sink_waits_[sink.get()].insert(run_id).second) {
      // Unknown ids wait too: the trigger may still be on its way.
      waiters_[run_id].push_back(sink);
    }
  }
  fx.apply();
}

void engine_state::detach_run_sink(const run_sink* sink) {
  std::lock_guard lk{mu_};
  if (auto sw = sink_waits_.find(sink); sw != sink_waits_.end()) {
    for (const auto& id : sw->second) {
      auto it = waiters_.find(id);
      if (it == waiters_.end())
        continue;
      std::erase_if(it->second, [&](const auto& s) { return s.get() == sink; });
      if (it->second.empty())
        waiters_.erase(it);
    }
    sink_waits_.erase(sw);
  }
  run_sinks_.erase(sink);
}

// ---------------------------------------------------------------------------------------------
// Admin

status engine_state::make_task_def(const task_spec& ts, task_def& def) {
  if (ts.readable_id.empty())
    return status::invalid("a task has no readable_id");
  if (!valid_name(ts.readable_id))
    return status::invalid("task name " + util::quoted(ts.readable_id)
                           + " must match ^[a-zA-Z0-9.\\-_]+$");
  if (ts.action.empty())
    return status::invalid("task " + util::quoted(ts.readable_id) + " has no action");
  def.id = util::new_uuid();
  def.readable_id = ts.readable_id;
  if (!valid_action(ts.action))
    return status::invalid("action " + util::quoted(ts.action) + " must look like service:verb");
  def.action = normalize_step_action(ts.action);
  if (ts.timeout.empty()) {
    def.timeout = default_timeout;
    def.timeout_text = "60s";
  } else {
    auto d = util::parse_go_duration(ts.timeout);
    if (!d || d->count() <= 0)
      return status::invalid("task " + util::quoted(ts.readable_id) + ": timeout "
                             + util::quoted(ts.timeout) + " is not a positive duration");
    def.timeout = *d;
    def.timeout_text = ts.timeout;
  }
  if (ts.retries < 0)
    return status::invalid("task " + util::quoted(ts.readable_id)
                           + ": retries must not be negative");
  def.retries = ts.retries;
  // The real engine's CreateStepOpts bounds (validated at PutWorkflow): a factor of 1..1000 and,
  // with it, a cap of 1..86400 seconds (86400 when unset). Without a factor the cap is ignored
  // and a retry is queued at once.
  if (ts.backoff_factor) {
    if (!(*ts.backoff_factor >= 1 && *ts.backoff_factor <= 1000))
      return status::invalid("Invalid request: task " + util::quoted(ts.readable_id)
                             + ": backoff_factor "
                             + nlohmann::json(*ts.backoff_factor).dump()
                             + " is out of range (1 to 1000)");
    def.backoff_factor = *ts.backoff_factor;
    if (ts.backoff_max_seconds) {
      if (*ts.backoff_max_seconds < 1 || *ts.backoff_max_seconds > 86400)
        return status::invalid("Invalid request: task " + util::quoted(ts.readable_id)
                               + ": backoff_max_seconds " + std::to_string(*ts.backoff_max_seconds)
                               + " is out of range (1 to 86400)");
      def.backoff_max_seconds = *ts.backoff_max_seconds;
    }
  }
  if (ts.schedule_timeout) {
    auto d = util::parse_go_duration(*ts.schedule_timeout);
    if (!d || d->count() <= 0)
      return status::invalid("task " + util::quoted(ts.readable_id) + ": schedule_timeout "
                             + util::quoted(*ts.schedule_timeout) + " is not a positive duration");
    def.schedule_timeout = *d;
    def.schedule_timeout_text = *ts.schedule_timeout;
  }
  if (ts.slot_requests.empty()) {
    def.slot_requests.emplace_back("default", 1);
  } else {
    for (const auto& [type, units] : ts.slot_requests) {
      if (units < 0)
        return status::invalid("task " + util::quoted(ts.readable_id) + ": slot_requests["
                               + util::bounded_prefix(type) + "] must not be negative");
      def.slot_requests.emplace_back(type, units);
    }
  }
  return status::success();
}

status engine_state::put_workflow(const workflow_spec& spec, workflow_registered& out) {
  if (spec.name.empty())
    return status::invalid("workflow name is required");
  if (!valid_name(spec.name))
    return status::invalid("workflow name " + util::quoted(spec.name)
                           + " must match ^[a-zA-Z0-9.\\-_]+$");
  if (spec.tasks.empty())
    return status::invalid("workflow " + util::quoted(spec.name) + " has no tasks");
  if (spec.default_priority && (*spec.default_priority < 1 || *spec.default_priority > 3))
    return status::invalid("Validation failed with the following errors:\n0: validation failed "
                           "on field \"CreateWorkflowVersionOpts.DefaultPriority\": must be "
                           "between 1 and 3, got " + std::to_string(*spec.default_priority) + "\n");
  auto wf = std::make_shared<workflow_def>();
  wf->name = spec.name; // kept exactly: names are matched case-sensitively
  wf->default_priority = spec.default_priority.value_or(1);
  wf->description = spec.description;
  std::unordered_map<std::string, size_t> index;
  for (const auto& ts : spec.tasks) {
    task_def def;
    if (auto st = make_task_def(ts, def); !st.ok())
      return st;
    if (!index.emplace(ts.readable_id, wf->tasks.size()).second)
      return status::invalid("task " + util::quoted(ts.readable_id) + " is declared twice");
    wf->tasks.push_back(std::move(def));
  }
  for (size_t i = 0; i < spec.tasks.size(); ++i) {
    for (const auto& p : spec.tasks[i].parents) {
      auto it = index.find(p);
      if (it == index.end())
        return status::invalid("task " + util::quoted(spec.tasks[i].readable_id)
                               + ": unknown parent " + util::quoted(p));
      if (it->second == i)
        return status::invalid("task " + util::quoted(p) + " cannot be its own parent");
      if (std::find(wf->tasks[i].parents.begin(), wf->tasks[i].parents.end(), it->second) ==
          wf->tasks[i].parents.end()) {
        wf->tasks[i].parents.push_back(it->second);
        wf->tasks[it->second].children.push_back(i);
      }
    }
  }
  // Kahn's algorithm: a cycle would leave runs that can never finish.
  std::vector<size_t> indegree(wf->tasks.size());
  std::vector<size_t> ready;
  for (size_t i = 0; i < wf->tasks.size(); ++i) {
    indegree[i] = wf->tasks[i].parents.size();
    if (indegree[i] == 0)
      ready.push_back(i);
  }
  size_t visited = 0;
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    ++visited;
    for (size_t c : wf->tasks[i].children)
      if (--indegree[c] == 0)
        ready.push_back(c);
  }
  if (visited != wf->tasks.size())
    return status::invalid("the parents of workflow " + util::quoted(spec.name) + " form a cycle");

  // Crons: the real engine's registration check (an unanchored pattern), then the scheduler's
  // parser. A real engine accepts an expression that passes the pattern but does not parse, and
  // its ticker deletes it at the next poll; the dev engine refuses it here, saying why.
  std::vector<std::pair<std::string, cron_schedule>> crons;
  for (size_t i = 0; i < spec.cron_triggers.size(); ++i) {
    const auto& expr = spec.cron_triggers[i];
    auto field = "CreateWorkflowVersionOpts.CronTriggers[" + std::to_string(i) + "]";
    if (!passes_registration_check(expr))
      return status::invalid("Validation failed with the following errors:\n0: validation failed "
                             "on field " + util::quoted(field) + ": Invalid cron expression\n");
    std::string why;
    auto parsed = cron_schedule::parse(expr, why);
    if (!parsed)
      return status::invalid("invalid cron expression " + util::quoted(expr) + " (" + field
                             + "): " + why);
    crons.emplace_back(expr, *parsed);
  }
  if (spec.cron_input && !is_valid_json(*spec.cron_input))
    return status::invalid("cron_input of workflow " + util::quoted(spec.name)
                           + " must be valid JSON");

  wf->event_triggers = spec.event_triggers;
  if (spec.on_failure) {
    task_def def;
    if (auto st = make_task_def(*spec.on_failure, def); !st.ok())
      return st;
    def.on_failure = true; // no parents, no children: queued only by fire_on_failure
    wf->tasks.push_back(std::move(def));
    wf->has_on_failure = true;
  }

  wf->version_id = util::new_uuid();
  {
    std::lock_guard lk{mu_};
    auto& id = workflow_ids_[wf->name];
    if (id.empty())
      id = util::new_uuid();
    wf->workflow_id = id;
    wf->updated_at = std::chrono::system_clock::now();
    auto previous = workflows_.find(wf->name);
    wf->created_at = previous != workflows_.end() ? previous->second->created_at : wf->updated_at;
    out.version_id = wf->version_id;
    out.workflow_id = wf->workflow_id;
    workflows_[wf->name] = wf;
    declare_crons(*wf, crons, spec.cron_input.value_or("{}"));
  }
  spdlog::info("registered workflow {} ({} tasks{})", wf->name, wf->tasks.size(),
               wf->event_triggers.empty() ? std::string{}
                                          : ", " + std::to_string(wf->event_triggers.size())
                                              + " event trigger(s)");
  return status::success();
}

std::vector<workflow_view> engine_state::all_workflows() const {
  std::lock_guard lk{mu_};
  std::vector<workflow_view> out;
  out.reserve(workflows_.size());
  for (const auto& [name, wf] : workflows_)
    out.push_back({wf->workflow_id, wf->name, wf->description, wf->version_id, wf->created_at,
                   wf->updated_at});
  return out;
}

status engine_state::trigger(const std::vector<trigger_spec>& specs,
                             std::vector<std::string>& run_ids) {
  for (const auto& s : specs) {
    if (!is_valid_json(s.input))
      return status::invalid("input of workflow " + util::quoted(s.name) + " must be valid JSON");
    if (s.additional_metadata && !is_valid_json(*s.additional_metadata))
      return status::invalid("additional_metadata of workflow " + util::quoted(s.name)
                             + " must be valid JSON");
    if (s.priority && (*s.priority < 1 || *s.priority > 3))
      return status::invalid("priority must be between 1 and 3");
    if (s.parent_task_run_external_id && !util::is_uuid(*s.parent_task_run_external_id))
      return status::invalid("parentStepRunId must be a valid UUID");
    // The real engine dereferences child_index for every child without a check (a missing one
    // would crash its handler); the dev engine refuses it.
    if (s.parent_task_run_external_id && !s.child_index)
      return status::invalid("child_index is required with parent_task_run_external_id");
  }
  effects fx;
  {
    std::lock_guard lk{mu_};
    std::vector<std::shared_ptr<const workflow_def>> defs;
    defs.reserve(specs.size());
    std::vector<std::string> missing;
    for (const auto& s : specs) {
      auto it = workflows_.find(s.name); // exact, as the real engine's lookup by name
      if (it == workflows_.end()) {
        if (std::find(missing.begin(), missing.end(), s.name) == missing.end())
          missing.push_back(s.name);
        continue;
      }
      defs.push_back(it->second);
    }
    if (!missing.empty()) {
      // The real engine's answer (INVALID_ARGUMENT, not NOT_FOUND) and wording.
      std::string names;
      for (const auto& n : missing)
        names += (names.empty() ? "" : ", ") + util::bounded_prefix(n);
      return status::invalid("workflow names not found: " + names);
    }
    // Children: the parent task must exist, and a spawn key seen before gives back its run (OK,
    // not ALREADY_EXISTS) without starting another. All checked before any run starts.
    for (const auto& spec : specs)
      if (auto st = check_child(spec); !st.ok())
        return st;
    run_ids.reserve(run_ids.size() + specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      const auto& s = specs[i];
      if (!s.parent_task_run_external_id) {
        run_ids.push_back(start_run(defs[i], s));
        continue;
      }
      auto key = *s.parent_task_run_external_id + ".0."
                 + (s.child_key ? *s.child_key : std::to_string(*s.child_index));
      auto [it, fresh] = children_.try_emplace(key);
      if (fresh)
        it->second = start_run(defs[i], s);
      else
        spdlog::debug("child spawn {} again: run {}", key, it->second);
      run_ids.push_back(it->second);
    }
    settle(steady::now(), fx);
  }
  fx.apply();
  return status::success();
}

status engine_state::check_child(const trigger_spec& s) const {
  if (!s.parent_task_run_external_id)
    return status::success();
  if (find_task(*s.parent_task_run_external_id) == nullptr)
    // A plain error in the real engine's trigger path, which gRPC reports as UNKNOWN.
    return {status_code::unknown, "could not create trigger opt: could not find parent task: "
                                    + *s.parent_task_run_external_id};
  return status::success();
}

std::optional<run_links> engine_state::links_of(const std::string& run_id) const {
  std::lock_guard lk{mu_};
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return std::nullopt;
  const workflow_run& run = *it->second;
  return run_links{run.wf->name, run.parent_task_run_external_id, run.child_index, run.child_key,
                   run.additional_metadata, run.input};
}

const std::string& engine_state::start_run(const std::shared_ptr<const workflow_def>& wf,
                                           const trigger_spec& s) {
  auto run = std::make_unique<workflow_run>();
  run->id = util::new_uuid();
  run->wf = wf;
  run->input = s.input;
  run->additional_metadata = s.additional_metadata.value_or("{}");
  // The trigger's priority, else the workflow's default (the real engine's CreateTasks).
  run->priority = s.priority.value_or(wf->default_priority);
  // The real engine keeps the child fields only for a run with a parent task.
  if (s.parent_task_run_external_id) {
    run->parent_task_run_external_id = s.parent_task_run_external_id;
    run->child_index = s.child_index;
    run->child_key = s.child_key;
  }
  run->tasks.reserve(wf->tasks.size());
  for (size_t ti = 0; ti < wf->tasks.size(); ++ti) {
    auto t = std::make_shared<task_run>();
    t->external_id = util::new_uuid();
    t->run = run.get();
    t->wf = wf;
    t->index = ti;
    const auto& def = wf->tasks[ti];
    auto& q = queues_[def.action];
    if (!q) {
      q = std::make_unique<action_queue>();
      q->action = def.action;
    }
    t->queue = q.get();
    t->parents_left = def.parents.size();
    tasks_.emplace(std::string_view{t->external_id}, t.get());
    run->tasks.push_back(std::move(t));
  }
  for (auto& t : run->tasks)
    if (t->parents_left == 0 && !t->def().on_failure) // the on-failure task waits for a failure
      enqueue(t);
  spdlog::debug("triggered workflow run {} of {}", run->id, wf->name);
  workflow_run* raw = run.get();
  runs_.emplace(std::string_view{raw->id}, std::move(run));
  return raw->id;
}

void engine_state::push_events(const std::vector<event_spec>& events,
                               std::vector<std::string>& event_ids) {
  effects fx;
  {
    std::lock_guard lk{mu_};
    for (const auto& ev : events) {
      const auto& event_id = event_ids.emplace_back(util::new_uuid());
      ++stats_.events_pushed;
      trigger_spec spec;
      spec.input = ev.payload.empty() ? std::string{"{}"} : ev.payload;
      spec.additional_metadata = event_run_metadata(ev.additional_metadata, event_id, ev.key);
      spec.priority = ev.priority;
      // Only the latest version of each workflow (the one registered last) is matched, and
      // each of its triggers that matches starts a run of its own, as the real engine's join of
      // versions and trigger rows does.
      for (const auto& [name, wf] : workflows_) {
        for (const auto& pattern : wf->event_triggers) {
          if (!event_key_matches(ev.key, pattern))
            continue;
          spec.name = name;
          const auto& run_id = start_run(wf, spec);
          ++stats_.event_runs;
          spdlog::debug("event {} ({}) matched '{}' of {}: run {}", event_id, ev.key, pattern,
                        name, run_id);
        }
      }
    }
    settle(steady::now(), fx);
  }
  fx.apply();
}

void engine_state::replay_tasks(workflow_run& run, const std::vector<size_t>& which,
                                std::vector<std::string>& replayed) {
  if (run.done) {
    run.done = false;
    finished_.remove(&run);
  }
  for (size_t i : which) {
    task_run& t = *run.tasks[i];
    if (t.terminal())
      --run.terminal;
    t.state = task_state::waiting;
    t.output.clear();
    t.error.clear();
    ++t.retry_count; // the same task row again, its retry count one up
    t.retries_used = 0;
    ++stats_.replayed;
    replayed.push_back(t.external_id);
  }
  for (size_t i : which) {
    auto& t = run.tasks[i];
    t->parents_left = 0;
    for (size_t pi : t->def().parents)
      if (run.tasks[pi]->state != task_state::completed)
        ++t->parents_left;
    if (t->parents_left == 0)
      enqueue(t);
  }
}

status engine_state::replay(const std::vector<std::string>& ids,
                            std::vector<std::string>& replayed) {
  for (const auto& id : ids)
    if (!util::is_uuid(id))
      return status::invalid("invalid external id " + util::bounded_prefix(id));
  effects fx;
  {
    std::lock_guard lk{mu_};
    for (const auto& id : ids) {
      workflow_run* run = nullptr;
      std::vector<size_t> which;
      if (task_run* t = find_task(id); t != nullptr && t->run != nullptr) {
        run = t->run;
        // The task and, transitively, every task that depends on it.
        std::vector<bool> mark(run->tasks.size(), false);
        std::vector<size_t> todo{t->index};
        while (!todo.empty()) {
          size_t i = todo.back();
          todo.pop_back();
          if (mark[i])
            continue;
          mark[i] = true;
          for (size_t c : run->tasks[i]->def().children)
            todo.push_back(c);
        }
        for (size_t i = 0; i < mark.size(); ++i)
          if (mark[i])
            which.push_back(i);
      } else if (auto it = runs_.find(id); it != runs_.end()) {
        run = it->second.get();
        for (size_t i = 0; i < run->tasks.size(); ++i)
          if (!run->tasks[i]->def().on_failure) // it runs on a failure, not on a replay
            which.push_back(i);
      }
      // Unknown ids are ignored; runs still going are skipped, as the real engine's preflight
      // skips tasks it cannot replay.
      if (run == nullptr || !run->done)
        continue;
      end_event_streams(*run, fx); // the first end goes to whoever followed the first attempt
      replay_tasks(*run, which, replayed);
    }
    settle(steady::now(), fx);
  }
  fx.apply();
  return status::success();
}

status engine_state::get_run_details(const std::string& run_id, run_details& out) const {
  std::lock_guard lk{mu_};
  auto it = runs_.find(run_id);
  if (it == runs_.end())
    return status::not_found("workflow run " + run_id + " not found");
  const workflow_run& run = *it->second;
  out.input = run.input;
  out.status = status_of(run);
  out.done = run.done;
  out.additional_metadata = run.additional_metadata;
  for (const auto& t : run.tasks) {
    if (t->def().on_failure && !run.on_failure_fired)
      continue;
    task_details d;
    d.external_id = t->external_id;
    d.readable_id = t->def().readable_id;
    d.status = status_of(*t);
    if (t->state == task_state::completed)
      d.output = t->output;
    if (!t->error.empty())
      d.error = t->error;
    out.tasks.push_back(std::move(d));
  }
  return status::success();
}

status engine_state::cancel(const std::vector<std::string>& ids,
                            std::vector<std::string>& cancelled) {
  effects fx;
  {
    std::lock_guard lk{mu_};
    std::vector<task_run*> targets;
    for (const auto& id : ids) {
      if (task_run* t = find_task(id)) {
        targets.push_back(t);
      } else if (auto it = runs_.find(id); it != runs_.end()) {
        for (auto& task : it->second->tasks)
          targets.push_back(task.get());
      }
      // unknown ids (never known, or forgotten finished runs) are ignored
    }
    for (task_run* t : targets) {
      if (t->terminal())
        continue; // already finished, or skipped because an earlier target was its parent
      if (t->def().on_failure && t->run != nullptr && !t->run->on_failure_fired)
        continue; // not fired: not part of the run
      if (t->state == task_state::running)
        send_cancel(*t, fx);
      finish_unsuccessfully(*t, task_state::cancelled, "task cancelled", fx);
      cancelled.push_back(t->external_id);
    }
    settle(steady::now(), fx);
  }
  fx.apply();
  return status::success();
}

// ---------------------------------------------------------------------------------------------
// Background and lifecycle

void engine_state::tick() {
  effects fx;
  {
    std::lock_guard lk{mu_};
    const auto now = steady::now();
    // Stream chunks held back for order past their wait; then the held ends of runs now due.
    for (auto& [ptr, run] : event_sinks_)
      for (auto& sink : run->event_sinks)
        if (sink.get() == ptr && sink->expire(now))
          fx.flush(sink);
    std::erase_if(ending_runs_, [&](const std::string& id) {
      auto it = runs_.find(id);
      if (it == runs_.end() || !it->second->events_end)
        return true; // forgotten, or ended already
      if (!it->second->events_end_hold.due(now))
        return false;
      end_event_streams(*it->second, fx);
      return true;
    });
    // detach() removes the expired entry, so this loop always makes progress.
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      task_run& t = *deadlines_.begin()->second;
      spdlog::debug("task {} timed out after {}", t.external_id, t.def().timeout_text);
      send_cancel(t, fx);
      detach(t);
      if (t.retries_used < t.def().retries)
        requeue(t, true);
      else
        finish_unsuccessfully(t, task_state::failed,
                              "task timed out after " + t.def().timeout_text, fx);
    }
    // Retries whose backoff has passed enter the queue (the real engine's retry queue).
    while (!backoffs_.empty() && backoffs_.begin()->first <= now) {
      auto [task, attempt] = std::move(backoffs_.begin()->second);
      backoffs_.erase(backoffs_.begin());
      if (task->run != nullptr && task->state == task_state::waiting && task->attempt == attempt)
        enqueue(task); // not cancelled meanwhile
    }
    // Tasks still queued past their schedule timeout are cancelled (SCHEDULING_TIMED_OUT); the
    // fronts of the deques that were assigned (or cancelled) meanwhile are dropped on the way.
    std::vector<std::shared_ptr<task_run>> unscheduled;
    for (auto& [timeout, entries] : schedule_deadlines_) {
      while (!entries.empty()) {
        auto& e = entries.front();
        bool current = e.task->state == task_state::queued && e.task->attempt == e.attempt;
        if (current && e.due > now)
          break;
        if (current)
          unscheduled.push_back(std::move(e.task));
        entries.pop_front();
      }
    }
    for (auto& t : unscheduled) {
      if (t->run == nullptr || t->state != task_state::queued)
        continue;
      spdlog::debug("task {}: not assigned within its schedule timeout of {}; cancelled",
                    t->external_id, t->def().schedule_timeout_text);
      // A cancellation, not a failure: dependants are cancelled, the on-failure task does not
      // fire, as in the real engine (SCHEDULING_TIMED_OUT is a cancelled task event there).
      finish_unsuccessfully(*t, task_state::cancelled,
                            "SCHEDULING_TIMED_OUT: the task was not assigned to a worker within "
                            "its schedule timeout of " + t->def().schedule_timeout_text,
                            fx);
    }
    while (!unacknowledged_.empty() && unacknowledged_.front().requeue_at <= now) {
      auto entry = std::move(unacknowledged_.front());
      unacknowledged_.pop_front();
      task_run& t = *entry.task;
      if (t.state != task_state::running || t.attempt != entry.attempt || t.acknowledged)
        continue; // acknowledged, finished, timed out or requeued since
      spdlog::warn("task {} retry {}: its START went out on a listen stream that broke and the "
                   "worker has not acknowledged it within {}; requeueing it as retry {}",
                   t.external_id, t.retry_count, util::format_go_duration(opts_.unacknowledged_requeue),
                   t.retry_count + 1);
      send_cancel(t, fx); // in case the worker has it after all
      detach(t);
      requeue(t, false); // the connection's fault, not the task's: keep the retry budget
      ++stats_.requeued_unacknowledged;
    }
    while (!activations_.empty() && activations_.front().active_at <= now) {
      auto pending = activations_.front();
      activations_.pop_front();
      for (auto& s : pending.w->sessions) {
        if (s.serial == pending.serial) {
          activate(*pending.w, s);
          spdlog::debug("worker {}: listen stream active", pending.w->id);
          break;
        }
      }
    }
    for (auto& [id, w] : workers_) {
      if (w->running.empty())
        continue;
      auto last = w->heartbeated ? w->last_heartbeat : w->registered_at;
      if (now - last <= opts_.silence_requeue)
        continue;
      std::vector<task_run*> running(w->running.begin(), w->running.end());
      spdlog::warn("worker {} silent for more than {}: requeueing its {} tasks", id,
                   util::format_go_duration(opts_.silence_requeue), running.size());
      for (task_run* t : running) {
        send_cancel(*t, fx);
        detach(*t);
        requeue(*t, false); // the worker's fault, not the task's: keep the retry budget
      }
    }
    fire_timed_triggers(std::chrono::system_clock::now());
    // Scheduling is event driven (trigger, heartbeat, stream opened, slot freed); this sweep is
    // the safety net that bounds the wait should some path ever miss an event.
    for (auto& [action, q] : queues_)
      if (!q->tasks.empty())
        mark_dirty(q.get());
    settle(now, fx);
  }
  fx.apply();
}

void engine_state::close_all_streams() {
  effects fx;
  {
    std::lock_guard lk{mu_};
    closing_ = true;
    // Runs whose end was held for late chunks: their streams get that end, not UNAVAILABLE.
    for (const auto& id : ending_runs_)
      if (auto it = runs_.find(id); it != runs_.end())
        end_event_streams(*it->second, fx);
    ending_runs_.clear();
    for (auto& [id, w] : workers_)
      for (auto& s : w->sessions)
        fx.close_actions.push_back(s.sink);
    for (auto& [ptr, s] : run_sinks_)
      fx.close_runs.push_back(s);
    for (auto& [ptr, run] : event_sinks_)
      for (auto& sink : run->event_sinks)
        if (sink.get() == ptr)
          fx.close_events.push_back(sink);
  }
  fx.apply();
}

void engine_state::reopen() {
  std::lock_guard lk{mu_};
  closing_ = false;
}

dev_engine::stats engine_state::snapshot() const {
  std::lock_guard lk{mu_};
  return stats_;
}

} // namespace hatchet::engine
