#pragma once
// The dev engine's in-memory model and scheduler: workflows, workers, runs, task runs and the
// queues between them. No gRPC or protobuf here: the services translate messages into the plain
// structs below and back.
//
// Concurrency: one mutex guards the whole model. Streams are reached only through the sink
// interfaces: while the lock is held the model may only *enqueue* into a sink (cheap, never blocks,
// never calls gRPC); every public method releases the lock and then flushes or closes the sinks it
// touched. So queue order per stream is model order, and no gRPC call ever runs under the lock.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/cron.hpp"
#include "engine/dev_engine.hpp"
#include "engine/dispatcher/run_end_hold.hpp"
#include "engine/finished_runs.hpp"

namespace hatchet::engine {

using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Outcomes

/// The failure kinds the services map onto gRPC status codes.
enum class status_code {
  ok,
  invalid_argument,    ///< malformed request (bad uuid, bad JSON, bad duration, bad name)
  not_found,           ///< unknown worker, task, run or workflow
  failed_precondition, ///< valid request in the wrong state (heartbeat without a listener)
  unavailable,         ///< the engine is stopping
  internal,            ///< what a real engine reports as INTERNAL (e.g. an unknown SDK language)
  unknown,             ///< a plain Go error that reaches gRPC unmapped (UNKNOWN)
};

struct status {
  status_code code = status_code::ok;
  std::string message;

  bool ok() const noexcept { return code == status_code::ok; }
  static status success() { return {}; }
  static status invalid(std::string m) { return {status_code::invalid_argument, std::move(m)}; }
  static status not_found(std::string m) { return {status_code::not_found, std::move(m)}; }
  static status precondition(std::string m) {
    return {status_code::failed_precondition, std::move(m)};
  }
};

// ---------------------------------------------------------------------------------------------
// What flows out to streams

enum class action_kind { start, cancel };

/// One message for a worker's ListenV2 stream. The service fills the protobuf AssignedAction
/// from it (job_run_id = task_run_external_id, task_id = job_id, task_name = job_name).
struct assigned_action {
  action_kind kind = action_kind::start;
  std::string workflow_run_id;
  std::string job_id;   ///< task definition id
  std::string job_name; ///< task readable id
  std::string task_run_external_id;
  std::string action_id;
  std::string payload; ///< JSON text (START only; empty for CANCEL)
  int32_t retry_count = 0;
  std::string additional_metadata; ///< JSON text, "{}" if none
  int32_t priority = 1;
  std::string workflow_id;
  std::string workflow_version_id;
  std::optional<std::string> parent_task_run_external_id;
  std::optional<int32_t> child_index;
  std::optional<std::string> child_key;
};

struct step_result {
  std::string task_run_external_id;
  std::string task_name; ///< readable id
  std::optional<std::string> output;
  std::optional<std::string> error;
};

/// The FINISHED event of a workflow run (immutable, shared by every subscriber).
struct run_finished {
  std::string workflow_run_id;
  std::vector<step_result> results; ///< one per task run, never empty
};
using run_finished_ptr = std::shared_ptr<const run_finished>;

/// A worker's ListenV2 stream as the model sees it.
class action_sink {
public:
  virtual ~action_sink() = default;
  /// Called under the model lock: append to the stream's queue; must not block or call gRPC.
  virtual void enqueue(assigned_action action) = 0;
  /// Called without the model lock: start writing queued messages.
  virtual void flush() = 0;
  /// Called without the model lock: finish the stream (UNAVAILABLE) once the write in flight is
  /// done; messages still queued then are reported by take_undelivered().
  virtual void close() = 0;
  /// Called under the model lock once the stream has ended: the messages it never wrote.
  virtual std::vector<assigned_action> take_undelivered() = 0;
};

/// A SubscribeToWorkflowRuns stream as the model sees it. Same locking rules as action_sink.
class run_sink {
public:
  virtual ~run_sink() = default;
  virtual void enqueue(run_finished_ptr event) = 0;
  virtual void flush() = 0;
  /// Finish the stream (UNAVAILABLE) once the write in flight is done.
  virtual void close() = 0;
};

/// One message of a SubscribeToWorkflowEvents stream (WorkflowEvent).
struct workflow_event {
  enum class kind { stream, run_finished } what = kind::stream;
  std::string workflow_run_id;
  std::string resource_id; ///< stream: the task run; run_finished: the run
  std::string payload;     ///< stream: the chunk's bytes, as sent
  std::optional<int64_t> index;
  std::chrono::system_clock::time_point at;
  bool failed = false;    ///< run_finished: the run FAILED
  bool cancelled = false; ///< run_finished: the run was CANCELLED (and none failed)
};

/// A SubscribeToWorkflowEvents stream as the model sees it. Same locking rules as action_sink.
class event_sink {
public:
  virtual ~event_sink() = default;
  virtual void enqueue(workflow_event event) = 0;
  /// Chunks held back for order whose wait has passed at `now` are queued; true if any were.
  virtual bool expire(std::chrono::steady_clock::time_point now) = 0;
  virtual void flush() = 0;
  /// Finish the stream with OK once everything queued is written (the run ended).
  virtual void end() = 0;
  /// Finish the stream (UNAVAILABLE) once the write in flight is done.
  virtual void close() = 0;
};

/// A PutLog request.
struct log_request {
  std::string task_run_external_id;
  std::string message;
  std::optional<std::string> level;
  std::string metadata;
  std::optional<int32_t> retry_count;
  std::optional<std::chrono::system_clock::time_point> created_at; ///< when the worker wrote it
};

/// Valid JSON text without the NUL escape (PostgreSQL's jsonb, so the real engine, refuses it).
bool is_valid_json(const std::string& text);

// ---------------------------------------------------------------------------------------------
// What flows in from requests

struct worker_spec {
  std::string name;
  std::vector<std::string> actions;
  std::vector<std::string> services;
  std::optional<int32_t> slots;            ///< deprecated field 4
  std::map<std::string, int32_t> slot_config; ///< field 9
  std::map<std::string, std::string> labels;  ///< affinity labels, values as text
  /// RuntimeInfo.language (an SDKS value) when runtime_info is present and sets it.
  std::optional<int32_t> language;
};

/// A worker as the REST API shows it (the real engine's `Worker` schema, in part).
struct worker_view {
  struct slot {
    std::string type;
    int32_t limit = 0;
    int32_t available = 0;
  };
  std::string id;
  std::string name;
  /// "INACTIVE" when the last heartbeat is older than heartbeat_window (or there was none), else
  /// "PAUSED" when paused, else "ACTIVE": the real engine's rule, which ignores the stream.
  std::string status;
  bool paused = false;
  bool stream_active = false; ///< an active ListenV2 stream (not in the REST view; for tests)
  std::vector<std::string> actions;
  std::vector<slot> slots;
  std::map<std::string, std::string> labels;
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point updated_at;
  std::optional<std::chrono::system_clock::time_point> last_heartbeat_at;
  std::optional<std::chrono::system_clock::time_point> last_listener_established;
};

/// A workflow as the REST API shows it (its latest version).
struct workflow_view {
  std::string id;
  std::string name;
  std::string description;
  std::string version_id;
  std::chrono::system_clock::time_point created_at;
  std::chrono::system_clock::time_point updated_at;
};

struct worker_registered {
  std::string worker_id;
  std::string worker_name;
};

struct task_spec {
  std::string readable_id;
  std::string action;
  std::string timeout; ///< Go duration; empty = 60s
  int32_t retries = 0;
  std::vector<std::string> parents;
  std::map<std::string, int32_t> slot_requests; ///< empty = {"default": 1}
  std::optional<double> backoff_factor;        ///< retry backoff; none: retry at once
  std::optional<int32_t> backoff_max_seconds;  ///< with a factor; none: 86400
  std::optional<std::string> schedule_timeout; ///< Go duration; none: 5m
};

struct workflow_spec {
  std::string name;
  std::string description; ///< shown with the workflow (the REST Workflow's description)
  std::vector<task_spec> tasks;
  /// Event key patterns whose pushes start a run (CreateWorkflowVersionRequest.event_triggers).
  std::vector<std::string> event_triggers;
  /// Runs once per run as soon as a task of it fails for good (CreateWorkflowVersionRequest
  /// on_failure_task); its parents are ignored.
  std::optional<task_spec> on_failure;
  /// Cron expressions that start a run (cron_triggers), each with `cron_input` as its input.
  std::vector<std::string> cron_triggers;
  std::optional<std::string> cron_input; ///< JSON text
  /// The priority (1..3) of a run whose trigger names none (default_priority; absent: 1).
  std::optional<int32_t> default_priority;
};

struct workflow_registered {
  std::string version_id;
  std::string workflow_id;
};

struct trigger_spec {
  std::string name;
  std::string input;
  std::optional<std::string> additional_metadata;
  std::optional<int32_t> priority;
  std::optional<std::string> parent_id;
  std::optional<std::string> parent_task_run_external_id;
  std::optional<int32_t> child_index;
  std::optional<std::string> child_key;
};

/// One pushed event (PushEventRequest), validated by the service.
struct event_spec {
  std::string key;
  std::string payload; ///< JSON text, "{}" when the push sent none
  std::string additional_metadata; ///< JSON text as pushed; empty: none
  std::optional<int32_t> priority;
};

/// A cron made through the REST API (CreateCronWorkflowTriggerRequest), validated by the server.
struct cron_spec {
  std::string workflow; ///< the workflow's name, matched exactly
  std::string name;
  std::string expression;
  std::string input = "{}";               ///< JSON object text
  std::string additional_metadata = "{}"; ///< JSON object text
  std::optional<int32_t> priority;
};

/// A cron as the REST API shows it (the real `CronWorkflows` schema, in part).
struct cron_view {
  std::string id;
  std::string workflow_name;
  std::string workflow_id;
  std::string workflow_version_id;
  std::string name; ///< "" for a declared cron
  std::string expression;
  std::string input;
  std::string additional_metadata;
  int32_t priority = 1;
  std::string method; ///< "API" or "DEFAULT" (declared with the workflow)
  std::chrono::system_clock::time_point created_at;
};

/// One-off runs at given times (ScheduleWorkflowRequest, or the REST API's create).
struct schedule_spec {
  std::string workflow; ///< matched exactly
  std::vector<std::chrono::system_clock::time_point> trigger_at;
  std::string input = "{}";
  std::string additional_metadata = "{}";
  std::optional<int32_t> priority;
};

/// A scheduled run as the APIs show it (`ScheduledWorkflows`, in part).
struct schedule_view {
  std::string id;
  std::string workflow_name;
  std::string workflow_id;
  std::string workflow_version_id;
  std::chrono::system_clock::time_point trigger_at;
  std::string input;
  std::string additional_metadata;
  int32_t priority = 1;
  std::chrono::system_clock::time_point created_at;
};

/// How a run is linked to the task that spawned it, as the engine stores it (for tests).
struct run_links {
  std::string workflow_name;
  std::optional<std::string> parent_task_run_external_id;
  std::optional<int32_t> child_index;
  std::optional<std::string> child_key;
  std::string additional_metadata;
  std::string input;
};

enum class step_event_kind { started, completed, failed, other };

struct step_event {
  std::string task_run_external_id;
  step_event_kind kind = step_event_kind::other;
  std::string payload;
  std::optional<int32_t> retry_count;
  bool should_not_retry = false;
};

enum class run_status { queued, running, completed, failed, cancelled };

struct task_details {
  std::string external_id;
  std::string readable_id;
  run_status status = run_status::queued;
  std::optional<std::string> error;
  std::optional<std::string> output;
};

struct run_details {
  std::string input;
  run_status status = run_status::queued;
  bool done = false;
  std::string additional_metadata;
  std::vector<task_details> tasks;
};

// ---------------------------------------------------------------------------------------------
// The model

class engine_state {
public:
  explicit engine_state(engine_options opts);
  ~engine_state();

  engine_state(const engine_state&) = delete;
  engine_state& operator=(const engine_state&) = delete;

  const engine_options& options() const noexcept { return opts_; }

  // Dispatcher
  status register_worker(const worker_spec& spec, worker_registered& out);
  status open_session(const std::string& worker_id, const std::shared_ptr<action_sink>& sink);
  /// The stream ended: forget it and requeue the tasks whose START it never wrote.
  void close_session(const std::string& worker_id, const std::shared_ptr<action_sink>& sink);
  status heartbeat(const std::string& worker_id);
  status handle_step_event(const step_event& ev);
  status unsubscribe(const std::string& worker_id);
  status refresh_timeout(const std::string& task_run_external_id, const std::string& increment,
                         std::chrono::system_clock::time_point& timeout_at);
  status release_slot(const std::string& task_run_external_id);

  // Events service: logs and stream chunks
  status put_log(const log_request& req);
  status put_stream_event(const std::string& task_run_external_id, std::string bytes,
                          std::optional<int64_t> index,
                          std::chrono::system_clock::time_point created_at);
  std::vector<dev_engine::log_line> task_logs(const std::string& task_run_external_id) const;

  // Run event subscriptions (SubscribeToWorkflowEvents by run id)
  /// Follows `run_id`: its stream chunks from now on, then its end. `finished` is set when the
  /// run has ended already (nothing is registered; the stream ends at once).
  status subscribe_events(const std::string& run_id, const std::shared_ptr<event_sink>& sink,
                          bool& finished);
  void unsubscribe_events(const event_sink* sink);
  size_t stream_subscribers(const std::string& run_id) const;
  /// Stores (merges) affinity labels. The dev engine keeps them but does not schedule by them.
  status upsert_labels(const std::string& worker_id,
                       const std::map<std::string, std::string>& labels);
  status task_exists(const std::string& task_run_external_id) const;

  // Workers over REST
  /// NOT_FOUND for an unknown id (the caller checks the uuid format first).
  status describe_worker(const std::string& worker_id, worker_view& out) const;
  /// Every worker the engine knows, as describe_worker sees it (worker_list.hpp chooses).
  std::vector<worker_view> all_workers() const;
  /// Sets isPaused when `paused` has a value (else changes nothing) and describes the worker. A
  /// paused worker gets no new tasks; its running tasks, stream and heartbeats are untouched.
  status update_worker(const std::string& worker_id, std::optional<bool> paused,
                       worker_view& out);

  // Run subscriptions
  /// Registers a subscription stream (so stop can close it). False if the engine is stopping.
  bool attach_run_sink(const std::shared_ptr<run_sink>& sink);
  /// The stream wants the FINISHED event of `run_id`: now if finished, else when it finishes.
  void watch_run(const std::string& run_id, const std::shared_ptr<run_sink>& sink);
  void detach_run_sink(const run_sink* sink);

  // Admin
  status put_workflow(const workflow_spec& spec, workflow_registered& out);
  /// Every registered workflow, as its latest version (workflow_list.hpp chooses).
  std::vector<workflow_view> all_workflows() const;
  /// All-or-nothing: every spec is validated before any run is created.
  status trigger(const std::vector<trigger_spec>& specs, std::vector<std::string>& run_ids);
  status get_run_details(const std::string& run_id, run_details& out) const;
  status cancel(const std::vector<std::string>& ids, std::vector<std::string>& cancelled);
  /// Runs again, in place, the finished runs named (or the finished runs of the tasks named):
  /// the same ids, retry_count + 1; a task id re-runs that task and what depends on it. Ids of
  /// runs still going are skipped. `replayed` gets the task ids re-queued.
  status replay(const std::vector<std::string>& ids, std::vector<std::string>& replayed);
  /// Takes pushed events: gives each an id and starts a run of every workflow with a matching
  /// event trigger, one per matching trigger (see event_triggers.hpp for the rules).
  void push_events(const std::vector<event_spec>& events, std::vector<std::string>& event_ids);

  // Crons and schedules (timed_triggers.cpp)
  /// NOT_FOUND "workflow not found"; INVALID_ARGUMENT for a missing name, a name-expression pair
  /// the workflow already has, or an expression that does not parse.
  status create_cron(const cron_spec& spec, cron_view& out);
  /// NOT_FOUND for an unknown id; a deleted cron never fires again.
  status delete_cron(const std::string& id);
  /// The crons of every workflow, declared and API-made.
  std::vector<cron_view> list_crons() const;
  /// One scheduled run per time (past times fire at the next tick). NOT_FOUND "workflow not
  /// found"; INVALID_ARGUMENT for bad JSON or priority.
  status create_schedules(const schedule_spec& spec, std::vector<schedule_view>& out);
  /// NOT_FOUND for an unknown (or already fired) id.
  status delete_schedule(const std::string& id);

  /// The parent links of a run (nullopt for an unknown id).
  std::optional<run_links> links_of(const std::string& run_id) const;

  // Background and lifecycle
  /// Enforces execution timeouts, requeues tasks of silent workers, retries stuck queues.
  void tick();
  /// Refuses new streams and closes the open ones (used by dev_engine::stop).
  void close_all_streams();
  /// Accepts streams again after close_all_streams (a restart).
  void reopen();
  dev_engine::stats snapshot() const;

private:
  struct task_def {
    std::string id;
    std::string readable_id;
    std::string action;
    std::chrono::milliseconds timeout{60000};
    std::string timeout_text;
    int32_t retries = 0;
    std::vector<size_t> parents;
    std::vector<size_t> children;
    std::vector<std::pair<std::string, int32_t>> slot_requests;
    std::optional<double> backoff_factor; ///< set: app-failure retries wait (see requeue)
    int32_t backoff_max_seconds = 86400;
    std::chrono::milliseconds schedule_timeout{std::chrono::minutes{5}};
    std::string schedule_timeout_text = "5m";
    bool on_failure = false; ///< the workflow's on-failure task (the last of `tasks`)
  };
  struct workflow_def {
    std::string workflow_id;
    std::string version_id;
    std::string name;
    std::vector<task_def> tasks; ///< the DAG, then the on-failure task if any
    bool has_on_failure = false;
    std::vector<std::string> event_triggers;
    int32_t default_priority = 1;
    std::string description;
    std::chrono::system_clock::time_point created_at; ///< of the workflow's first version
    std::chrono::system_clock::time_point updated_at; ///< of this version
  };
  /// A cron that fires: declared with a workflow (method DEFAULT) or made over REST (API).
  struct cron_entry {
    cron_view view;
    cron_schedule schedule;
    std::chrono::sys_seconds next_at{};
    bool expired = false; ///< never fires again (no next time within five years)
  };
  struct schedule_entry {
    schedule_view view;
  };
  struct worker;
  struct workflow_run;
  struct action_queue;
  struct task_run;
  /// Running tasks by deadline; a task leaves it as soon as it stops running, so the map never
  /// holds more entries than there are running tasks.
  using deadline_map = std::multimap<steady::time_point, task_run*>;
  enum class task_state { waiting, queued, running, completed, failed, cancelled };
  struct task_run {
    std::string external_id;
    workflow_run* run = nullptr; // null once the finished run is forgotten
    std::shared_ptr<const workflow_def> wf;
    size_t index = 0;
    action_queue* queue = nullptr;
    task_state state = task_state::waiting;
    int32_t retry_count = 0;
    int32_t retries_used = 0;
    // Bit r (r >= 63 share bit 63): an outcome (COMPLETED/FAILED) was recorded for retry r.
    uint64_t outcome_retries = 0;
    uint64_t attempt = 0; // invalidates stale queue entries
    int undelivered = 0;  // STARTs requeued because their stream ended before writing them
    worker* assigned = nullptr;
    // The stream that carried this attempt's START, and whether the worker has shown since that
    // it got it (any event or call for this attempt). Compared only, never dereferenced.
    const action_sink* carried_by = nullptr;
    bool acknowledged = false;
    bool holds_slot = false;
    bool has_deadline = false;
    deadline_map::iterator deadline; // valid while has_deadline
    size_t parents_left = 0;
    std::string output;
    std::string error;
    std::vector<dev_engine::log_line> logs;
    const task_def& def() const { return wf->tasks[index]; }
    bool terminal() const {
      return state == task_state::completed || state == task_state::failed ||
             state == task_state::cancelled;
    }
  };
  struct workflow_run {
    std::string id;
    std::shared_ptr<const workflow_def> wf;
    std::string input;
    std::string additional_metadata;
    int32_t priority = 1;
    std::optional<std::string> parent_task_run_external_id;
    std::optional<int32_t> child_index;
    std::optional<std::string> child_key;
    std::vector<std::shared_ptr<task_run>> tasks;
    size_t terminal = 0;
    bool done = false;
    bool on_failure_fired = false;
    /// The failures the on-failure task receives (`step_run_errors`): readable id, error text.
    std::vector<std::pair<std::string, std::string>> step_run_errors;
    std::vector<std::shared_ptr<event_sink>> event_sinks; ///< SubscribeToWorkflowEvents
    /// The run's end, held for its event_sinks until `events_end_hold` is due.
    std::optional<workflow_event> events_end;
    run_end_hold events_end_hold;
  };
  /// A ListenV2 stream of a worker. It becomes active activation_delay after it opened (at once
  /// by default); only active streams carry actions and make the worker eligible.
  struct session {
    std::shared_ptr<action_sink> sink;
    uint64_t serial = 0; // tells streams apart where a freed sink's address is reused
    bool active = false;
  };
  struct worker {
    std::string id;
    std::string name;
    std::vector<action_queue*> queues; // one per registered action
    size_t queue_cursor = 0;
    std::vector<std::pair<std::string, int32_t>> capacity;
    std::vector<std::pair<std::string, int32_t>> used;
    std::vector<session> sessions; // newest last
    size_t active_sessions = 0;
    std::map<std::string, std::string> labels;
    bool had_listener = false; // a stream of it has been active (the real lastListenerEstablished)
    bool unsubscribed = false;
    bool heartbeated = false;
    bool paused = false;
    bool dirty = false;
    steady::time_point registered_at{};
    steady::time_point last_heartbeat{};
    // Wall-clock times for the REST view only.
    std::chrono::system_clock::time_point created_at{};
    std::chrono::system_clock::time_point updated_at{};
    std::chrono::system_clock::time_point last_heartbeat_at{};
    std::chrono::system_clock::time_point last_listener_established{};
    std::unordered_set<task_run*> running;
    uint64_t slot_holders = 0;
  };
  /// A queue is ordered by priority, highest first, and by arrival within a priority, as the
  /// real engine reads its queue items (`ORDER BY priority DESC, id ASC`).
  struct queue_entry {
    std::shared_ptr<task_run> task;
    uint64_t attempt = 0;
    int32_t priority = 1;
  };
  /// A stream waiting for activation_delay to pass (activated by tick()).
  struct pending_activation {
    steady::time_point active_at;
    worker* w = nullptr;
    uint64_t serial = 0; // of the session; it may have ended since
  };
  /// An attempt whose START went out on a stream that has ended, unacknowledged at the time.
  struct unacknowledged_start {
    steady::time_point requeue_at;
    std::shared_ptr<task_run> task;
    uint64_t attempt = 0;
  };
  struct action_queue {
    std::string action;
    std::deque<queue_entry> tasks;
    std::vector<worker*> workers;
    size_t cursor = 0;
    bool dirty = false;
  };

  /// What to do with streams once the lock is released.
  struct effects {
    std::vector<std::shared_ptr<action_sink>> flush_actions;
    std::vector<std::shared_ptr<action_sink>> close_actions;
    std::vector<std::shared_ptr<run_sink>> flush_runs;
    std::vector<std::shared_ptr<run_sink>> close_runs;
    std::vector<std::shared_ptr<event_sink>> flush_events;
    std::vector<std::shared_ptr<event_sink>> end_events;
    std::vector<std::shared_ptr<event_sink>> close_events;
    void flush(const std::shared_ptr<action_sink>& s);
    void flush(const std::shared_ptr<run_sink>& s);
    void flush(const std::shared_ptr<event_sink>& s);
    void apply();
  };

  /// Checks a task's options and turns them into its definition (no lock needed).
  static status make_task_def(const task_spec& ts, task_def& def);

  // All private helpers run under mu_.
  worker* find_worker(const std::string& id) const;
  task_run* find_task(const std::string& id) const;
  bool eligible(const worker& w, steady::time_point now) const;
  /// The newest active stream of `w`, or null: the one the next action goes to.
  static const std::shared_ptr<action_sink>* newest_active(const worker& w);
  void activate(worker& w, session& s);
  worker_view view_of(const worker& w, steady::time_point now) const;
  static bool fits(const worker& w, const task_def& def);
  void enqueue(const std::shared_ptr<task_run>& t);
  void mark_dirty(action_queue* q);
  void mark_dirty(worker* w);
  void settle(steady::time_point now, effects& fx);
  void drain(action_queue& q, steady::time_point now, effects& fx);
  void assign(const std::shared_ptr<task_run>& t, worker& w, steady::time_point now, effects& fx);
  void free_slot(task_run& t);
  void detach(task_run& t);
  void send_cancel(task_run& t, effects& fx);
  assigned_action make_action(const task_run& t, action_kind kind) const;
  std::string make_payload(const task_run& t) const;
  void requeue(task_run& t, bool consumes_retry);
  /// The worker showed it has this attempt (an event or call with its retry_count).
  static void acknowledge(task_run& t);
  void complete(task_run& t, std::string output, effects& fx);
  void finish_unsuccessfully(task_run& t, task_state state, std::string error, effects& fx);
  void skip_dependants(task_run& t, effects& fx);
  void task_terminal(task_run& t, effects& fx);
  /// Queues the run's on-failure task once, with the failure of `failed` as its errors.
  void fire_on_failure(workflow_run& run, const task_run& failed);
  void finish_run(workflow_run& run, effects& fx);
  run_finished_ptr make_finished(const workflow_run& run) const;
  /// Creates a run of `wf` and queues its root tasks; returns its id.
  const std::string& start_run(const std::shared_ptr<const workflow_def>& wf,
                               const trigger_spec& spec);
  /// Resets the finished run's tasks in `which` (indices) and queues the ready ones.
  void replay_tasks(workflow_run& run, const std::vector<size_t>& which,
                    std::vector<std::string>& replayed);
  void forget_oldest_runs(effects& fx);
  /// Sends the run's held end to its event streams, which then end.
  void end_event_streams(workflow_run& run, effects& fx);
  /// Starts the runs of the crons and schedules due at `now` (wall clock, UTC).
  void fire_timed_triggers(std::chrono::system_clock::time_point now);
  /// Replaces the declared crons of `wf` (a new version drops the old version's).
  void declare_crons(const workflow_def& wf, const std::vector<std::pair<std::string, cron_schedule>>& crons,
                     const std::string& input);
  /// A child trigger's parent task must exist (the real engine's GetTaskByExternalId).
  status check_child(const trigger_spec& s) const;
  run_status status_of(const task_run& t) const;
  run_status status_of(const workflow_run& run) const;

  const engine_options opts_;
  mutable std::mutex mu_;
  bool closing_ = false;
  uint64_t next_session_serial_ = 0;

  // By name, exactly as registered: the real engine matches workflow names case-sensitively.
  std::unordered_map<std::string, std::shared_ptr<const workflow_def>> workflows_;
  std::unordered_map<std::string, std::string> workflow_ids_; // name -> stable id
  std::unordered_map<std::string, std::unique_ptr<worker>> workers_;
  // Keys view the id inside the value (stable heap objects): no second copy of every uuid.
  std::unordered_map<std::string_view, std::unique_ptr<workflow_run>> runs_;
  std::unordered_map<std::string_view, task_run*> tasks_;
  std::unordered_map<std::string, std::unique_ptr<action_queue>> queues_; // by action id
  std::vector<action_queue*> dirty_queues_;
  std::vector<worker*> dirty_workers_;
  deadline_map deadlines_;
  std::deque<unacknowledged_start> unacknowledged_; // requeue_at ascending (a fixed delay)
  std::deque<pending_activation> activations_;      // active_at ascending (a fixed delay)
  finished_runs<workflow_run*> finished_; // oldest first, within a count and bytes
  /// Retries waiting for their backoff: due time -> (task, attempt when it was put here).
  std::multimap<steady::time_point, std::pair<std::shared_ptr<task_run>, uint64_t>> backoffs_;
  /// Queue entries by schedule timeout, each deque in enqueue order (so due order): a task still
  /// queued when its entry is due is cancelled (SCHEDULING_TIMED_OUT).
  struct schedule_timeout_entry {
    steady::time_point due;
    std::shared_ptr<task_run> task;
    uint64_t attempt = 0;
  };
  std::map<std::chrono::milliseconds, std::deque<schedule_timeout_entry>> schedule_deadlines_;
  std::unordered_map<const event_sink*, workflow_run*> event_sinks_;
  std::vector<std::string> ending_runs_; ///< runs whose end waits for its events_end_hold

  std::unordered_map<std::string, std::vector<cron_entry>> declared_crons_; // by workflow name
  std::map<std::string, cron_entry> api_crons_;                             // by id
  std::map<std::string, schedule_entry> schedules_;                         // by id
  /// Children spawned by a task, by "<parent task id>.<child key, or child index>": the real
  /// engine's spawn key, which makes a second spawn with the same key return the first run.
  std::unordered_map<std::string, std::string> children_;

  std::unordered_map<std::string, std::vector<std::shared_ptr<run_sink>>> waiters_; // by run id
  std::unordered_map<const run_sink*, std::unordered_set<std::string>> sink_waits_;
  std::unordered_map<const run_sink*, std::shared_ptr<run_sink>> run_sinks_;

  dev_engine::stats stats_{};
};

} // namespace hatchet::engine
