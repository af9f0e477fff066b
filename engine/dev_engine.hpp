#pragma once
// The dev engine: a small in-memory server that speaks the Hatchet gRPC protocol.
//
// Local runs, the tests and the benchmark need an engine without PostgreSQL, RabbitMQ or the
// official engine binary; the official SDKs (TypeScript, Python) and hatchet-caf's worker must work
// against it unchanged. It keeps every workflow, worker and run in memory (finished runs are kept up
// to a bound), enforces slots, liveness, execution timeouts, retries and DAG parents, and accepts
// only the bearer tokens it signs itself. Next to gRPC it serves the one piece of the REST API
// the SDKs use while a worker runs: pausing a worker (see rest_server.hpp).
//
// This header deliberately carries no gRPC or protobuf types.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hatchet::engine {

struct engine_options {
  /// Listen address (an IPv4 address, a host name or an IPv6 address without brackets).
  std::string host = "127.0.0.1";
  /// gRPC listen port; 0 picks a free port (read it back with dev_engine::port()).
  uint16_t port = 7077;
  /// REST API port, on the same host; 0 picks a free port (dev_engine::rest_port()). Tokens name
  /// it as their `server_url`, the base URL the SDKs call the REST API on. Must differ from
  /// `port` unless both are 0.
  uint16_t rest_port = 7078;
  /// TLS for both APIs: the server certificate (PEM, the certificate first, then any
  /// intermediates) and its unencrypted private key (PEM). Both empty (the default): plaintext
  /// gRPC and HTTP. Both set: gRPC over TLS and the REST API over HTTPS with this certificate,
  /// and tokens name an https:// `server_url`. One without the other is invalid. The files are
  /// read and checked by start(), which fails naming the file if one is unreadable or wrong.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Mutual TLS: a PEM file with the CA certificate(s) that sign client certificates. Set (needs
  /// tls_cert_file): both APIs require a client certificate signed by one of them and end the
  /// handshake of a client without one. Empty (the default): no client certificate is asked for.
  std::string tls_client_ca_file;
  /// The only tenant this engine serves: tokens must carry it as `sub`.
  std::string tenant_id = "707d0855-80ab-4e1f-a156-f1c4546cbf52";
  /// HMAC-SHA256 key for the tokens it issues and accepts. No default: empty (the default) makes
  /// start() fail, since any fixed key would be public and let anyone mint tokens for every
  /// engine. Use random_secret() (auth.hpp) for an engine only its owner mints tokens for, or
  /// load_or_create_secret(dir).secret to share one with other processes, as the binary does.
  /// Must not be the old public default, "hatchet-dev-engine-secret".
  std::string secret;
  /// GetVersion answer. The official SDKs turn features on by it (the TypeScript SDK's
  /// v1/client/worker/engine-version.js): from v0.78.23 they register slots as slot_config,
  /// which the dev engine serves; from v0.80.0 they run durable tasks through the durable
  /// stream and its eviction, which it does not. So it answers the first version with the one
  /// and without the other; raise it once durable tasks are modelled.
  std::string version = "v0.78.23";
  /// A worker gets new tasks only if its last heartbeat is at most this old. Must be > 0.
  std::chrono::milliseconds heartbeat_window{5000};
  /// Tasks of a worker whose last heartbeat (or registration) is older than this are requeued
  /// with retry_count + 1; such a requeue does not consume the task's retry budget. Must be > 0.
  std::chrono::milliseconds silence_requeue{30000};
  /// A START written on a ListenV2 stream that then ended may never have reached the worker: the
  /// write completes once the bytes are handed to the transport, and a broken connection drops
  /// whatever was still on its way. If the worker has not acknowledged such an attempt (STARTED,
  /// COMPLETED, FAILED, RefreshTimeout or ReleaseSlot) this long after the stream ended, the task
  /// is requeued with retry_count + 1, without consuming its retry budget, and the old attempt is
  /// cancelled. So a lost START costs this delay instead of the task's execution timeout; a
  /// worker that did get it only runs it again under a new retry_count. Must be > 0.
  std::chrono::milliseconds unacknowledged_requeue{5000};
  /// The gRPC message size limit, both ways (a real engine's SERVER_GRPC_MAX_MSG_SIZE, 4 MiB by
  /// default). A START that would be larger than this is never written: its task fails at once
  /// ("Could not send task to worker: ..."), so one oversized run cannot break the stream that
  /// every other run shares. >= 64 KiB.
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  /// A START that ended stream after stream unwritten (the worker's connections keep breaking
  /// before it is delivered) is requeued this many times, then its task fails. >= 1.
  int max_undelivered_requeues = 5;
  /// Finished workflow runs kept for GetRunDetails and late SubscribeToWorkflowRuns (roughly
  /// 0.5-1 KB each); beyond this count the oldest is forgotten, and a subscriber asking for it
  /// later waits forever. Clients that trigger N runs before subscribing need N below this. >= 1.
  std::size_t max_finished_runs = 1'000'000;
  /// ... and within this many bytes, their inputs, outputs, errors and logs counted (the newest
  /// is kept whatever its size). Beyond it the oldest are forgotten likewise. >= 1 MiB.
  std::size_t max_finished_bytes = std::size_t{512} * 1024 * 1024;
  /// How often execution timeouts and silent workers are checked. Must be > 0.
  std::chrono::milliseconds tick_interval{100};
  /// Stream chunks that reach a SubscribeToWorkflowEvents stream out of event_index order are
  /// held back, per subscription and task, for up to this long for the gap to close (the real
  /// engine's StreamEventBufferTimeout, 5 s). Must be > 0.
  std::chrono::milliseconds stream_buffer_timeout{5000};
  /// A run's end reaches its SubscribeToWorkflowEvents streams this long after the run finished;
  /// each stream chunk of the run that arrives meanwhile pushes it back as much again, up to 2 s
  /// after the finish. The real engine's run end comes through its OLAP status updates, after
  /// the chunks a worker sent just before its result (the TypeScript SDK does not wait for its
  /// PutStreamEvent calls). Must be >= 0; 0: at once.
  std::chrono::milliseconds stream_settle{250};
  /// TEST ONLY. A real engine marks a worker active once the database write made when its
  /// ListenV2 stream opened has landed; until then the worker counts as inactive. This models
  /// that lag: a stream becomes active this long after it opened (checked every tick_interval).
  /// Until a worker has an active stream it gets no tasks, and if one of its streams was active
  /// before, its heartbeats are refused with FAILED_PRECONDITION. 0 (the default): streams are
  /// active at once. Must be >= 0.
  std::chrono::milliseconds activation_delay{0};

  /// Whether the engine serves TLS (tls_cert_file is set).
  bool tls() const noexcept { return !tls_cert_file.empty(); }

  /// "" if the options are usable, else what is wrong with them. Does not read the TLS files
  /// (start() does).
  std::string validate() const;
};

class dev_engine {
public:
  explicit dev_engine(engine_options opts = {});
  ~dev_engine(); // stops if running; never hangs (stop() is bounded)

  dev_engine(const dev_engine&) = delete;
  dev_engine& operator=(const dev_engine&) = delete;

  /// Starts listening and serving gRPC and REST. Returns "" on success, else an error message
  /// (invalid options, a port in use, already running); on failure nothing is left listening.
  std::string start();

  /// Graceful and bounded (<= ~2 s, ~3 s with a REST client holding a connection): stops the REST
  /// API, ends open streams, shuts the gRPC server down (in-flight calls are cancelled after 1 s)
  /// and joins the background ticker. Idempotent. The in-memory state is kept, so start() may be
  /// called again (free ports, 0, are picked anew).
  void stop();

  /// The actual port after start() (0 before).
  uint16_t port() const;
  /// "<host>:<port>", e.g. "127.0.0.1:7077"; the gRPC address clients dial.
  std::string address() const;
  /// The actual REST port after start() (0 before).
  uint16_t rest_port() const;
  /// "http://<host>:<rest_port>", e.g. "http://127.0.0.1:7078" ("https://..." with TLS): the
  /// REST API's base URL (the tokens' `server_url`).
  std::string rest_address() const;
  /// What a client needs besides its token to reach this engine, as HATCHET_CLIENT_*
  /// assignments for a log line: "HATCHET_CLIENT_TLS_STRATEGY=none" without TLS; with TLS the
  /// strategy (tls, or mtls with a client certificate), the root CA, and
  /// HATCHET_CLIENT_TLS_SERVER_NAME when the certificate is not for the host in address().
  /// Files the engine does not know are written as <placeholders>.
  std::string client_settings() const;
  /// A signed token for address() and rest_address() that this engine accepts.
  std::string mint_token() const;

  struct stats {
    uint64_t assigned;  ///< START_STEP_RUN actions handed to workers (retries included)
    uint64_t completed; ///< task runs that reached COMPLETED
    uint64_t failed;    ///< task runs that reached FAILED (retries exhausted, bad output, timeout)
    uint64_t cancelled; ///< task runs that reached CANCELLED (CancelTasks, or a parent did not complete)
    uint64_t retried;   ///< attempts requeued: FAILED with retries left, timeouts, silent workers
    uint64_t max_running_on_one_worker; ///< peak slot-holding tasks seen on a single worker
    /// COMPLETED/FAILED events for a task run and retry whose outcome was already recorded, so
    /// ignored: a worker resending an event whose answer it lost (at-least-once delivery), or a
    /// worker that ran the same attempt twice. The fault tests read it.
    uint64_t duplicate_outcomes;
    /// COMPLETED/FAILED events for an older retry than the task's current one (it timed out, or
    /// was requeued since), ignored.
    uint64_t stale_outcomes;
    /// STARTs an ended ListenV2 stream never wrote, requeued with the same retry_count.
    uint64_t requeued_undelivered;
    /// Tasks failed because their START could not be sent: larger than max_message_bytes, or
    /// undelivered more than max_undelivered_requeues times.
    uint64_t undeliverable;
    /// Attempts whose START went out on a stream that then ended and that the worker did not
    /// acknowledge within unacknowledged_requeue: requeued with retry_count + 1.
    uint64_t requeued_unacknowledged;
    /// Register calls accepted (each makes a new worker id).
    uint64_t registrations;
    /// Events taken by Push and BulkPush.
    uint64_t events_pushed;
    /// Runs started by pushed events (one per workflow trigger that matched).
    uint64_t event_runs;
    /// Task runs re-queued by ReplayTasks.
    uint64_t replayed;
    /// Runs started by crons (declared with a workflow, or made over REST).
    uint64_t cron_runs;
    /// Runs started by one-off schedules (each fires once, then is gone).
    uint64_t scheduled_runs;
  };
  stats snapshot() const;

  /// What the engine holds of one worker, for tests and diagnostics.
  struct worker_info {
    /// The REST API's status: "INACTIVE" (no heartbeat within heartbeat_window), else "PAUSED"
    /// or "ACTIVE".
    std::string status;
    bool paused = false;
    bool stream_active = false; ///< it has an active ListenV2 stream
  };
  /// Empty for an unknown worker id.
  std::optional<worker_info> worker(const std::string& worker_id) const;

  /// A log line a task sent (PutLog), as the engine stored it.
  struct log_line {
    std::string message;
    std::string level; ///< INFO when the request had none
    std::string metadata; ///< JSON object text, "{}" when none
    int32_t retry_count = 0;
    /// the request's created_at, or when the engine stored the line if it had none
    std::chrono::system_clock::time_point created_at;
  };
  /// The log lines of a task run, oldest first (the real engine's GET
  /// /api/v1/stable/tasks/{task}/logs, ascending); empty for an unknown task.
  std::vector<log_line> task_logs(const std::string& task_run_external_id) const;

  /// How many SubscribeToWorkflowEvents streams follow this run now (stream chunks go only to
  /// these): a test waits for its subscription to be in place before the run streams.
  size_t stream_subscribers(const std::string& workflow_run_id) const;
  /// What the engine holds of one run: its workflow, the task that spawned it (the tree the real
  /// engine's API and UI show), its metadata and input. For tests and diagnostics.
  struct run_info {
    std::string workflow;
    std::optional<std::string> parent_task_run_external_id; ///< set for a child run
    std::optional<int32_t> child_index;
    std::optional<std::string> child_key;
    std::string additional_metadata; ///< JSON text
    std::string input;               ///< JSON text
  };
  /// Empty for an unknown (or forgotten) run id.
  std::optional<run_info> run(const std::string& run_id) const;

  const engine_options& options() const noexcept { return opts_; }

private:
  struct impl;
  engine_options opts_;
  std::unique_ptr<impl> impl_;
};

/// A 3-part HS256 JWT signed with opts.secret: `sub` = opts.tenant_id, `grpc_broadcast_address`
/// = grpc_address ("host:port"), `server_url` = server_url (the REST base URL, e.g.
/// "http://127.0.0.1:7078"), `iat`, `exp` (90 days) and a fresh `token_id`. An empty server_url
/// stands for the command line's default: the gRPC host with the gRPC port + 1.
std::string mint_token(const engine_options& opts, const std::string& grpc_address,
                       const std::string& server_url = {});

/// "host:port", with an IPv6 literal host in brackets ("[::1]:7077").
std::string join_host_port(const std::string& host, uint16_t port);

} // namespace hatchet::engine
