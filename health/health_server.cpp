// health_server: /health and /metrics on the probe server (probe_server.hpp); the text format
// written by prometheus-cpp, the only translation unit of the worker library that includes it.

#include "health/health_server.hpp"

#include <atomic>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "health/probe_server.hpp"

namespace hatchet::detail {

namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  return {std::move(name), std::move(help), type, {std::move(m)}};
}

double load(const std::atomic<uint64_t>& c) {
  return static_cast<double>(c.load(std::memory_order_relaxed));
}

double load(const std::atomic<int64_t>& c) {
  return static_cast<double>(c.load(std::memory_order_relaxed));
}

} // namespace

struct health_server::impl {
  identity who;
  std::shared_ptr<const worker_metrics> metrics;
  std::unique_ptr<probe_server> server;
  std::atomic<const probe_server*> serving{nullptr}; ///< set once start() has the server

  probe_server::response answer(const std::string& path) const {
    if (path == "/health")
      return health();
    if (path == "/metrics") {
      const auto* s = serving.load();
      return {200, "text/plain; version=0.0.4; charset=utf-8",
              metrics_text(*metrics, who, s != nullptr ? s->dropped() : 0)};
    }
    return {404, "text/plain; charset=utf-8", "not found: the health server serves /health and "
                                              "/metrics\n"};
  }

  probe_server::response health() const {
    auto state = metrics->state.load();
    nlohmann::json body{
      {"status", to_string(state)},
      {"name", who.name},
      {"slots", who.slots},
      {"slotsInUse", metrics->slots_in_use.load(std::memory_order_relaxed)},
      {"actions", who.actions},
      {"labels", who.labels},
      {"cppVersion", "C++" + std::to_string(__cplusplus / 100 % 100)},
    };
    return {state == health_state::healthy ? 200 : 503, "application/json",
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
};

std::string health_server::metrics_text(const worker_metrics& m, const identity& who,
                                        uint64_t dropped) {
  using prometheus::MetricType;
  struct single {
    const char* name;
    const char* help;
    MetricType type;
    double value;
  };
  const bool healthy = m.state.load() == health_state::healthy;
  const single singles[] = {
    {"hatchet_worker_status", "1 while the worker is healthy, else 0", MetricType::Gauge,
     healthy ? 1.0 : 0.0},
    {"hatchet_worker_slots", "Slots the worker declared", MetricType::Gauge,
     static_cast<double>(who.slots)},
    {"hatchet_worker_slots_in_use", "Slots running a task now", MetricType::Gauge,
     load(m.slots_in_use)},
    {"hatchet_worker_actions", "Actions the worker registered", MetricType::Gauge,
     static_cast<double>(who.actions.size())},
    {"hatchet_worker_runs_started_total", "Runs started on a slot", MetricType::Counter,
     load(m.runs_started)},
    {"hatchet_worker_runs_completed_total", "Runs reported COMPLETED", MetricType::Counter,
     load(m.runs_completed)},
    {"hatchet_worker_runs_failed_total",
     "Runs reported FAILED (including those refused before a slot)", MetricType::Counter,
     load(m.runs_failed)},
    {"hatchet_worker_runs_cancelled_total", "Runs cancelled by the engine while on this worker",
     MetricType::Counter, load(m.runs_cancelled)},
    {"hatchet_worker_runs_fenced_total",
     "Runs given up because no heartbeat was accepted for fence_after (the engine reassigns them)",
     MetricType::Counter, load(m.runs_fenced)},
    {"hatchet_worker_reconnects_total", "Listen streams that ended and were opened again",
     MetricType::Counter, load(m.reconnects)},
    {"hatchet_worker_heartbeat_failures_total", "Heartbeats the engine refused or that failed",
     MetricType::Counter, load(m.heartbeat_failures)},
    {"hatchet_worker_outbox_depth", "Events to the engine not acknowledged yet",
     MetricType::Gauge, load(m.outbox_depth)},
    {"hatchet_worker_lifespan_setup_seconds", "How long the lifespan setup took",
     MetricType::Gauge, m.lifespan_setup_seconds.load(std::memory_order_relaxed)},
    {"hatchet_worker_lifespan_reloads_total", "Reloads that put a new lifespan state in service",
     MetricType::Counter, load(m.lifespan_reloads)},
    {"hatchet_worker_lifespan_reload_failures_total",
     "Reloads whose setup failed (the worker kept its state)", MetricType::Counter,
     load(m.lifespan_reload_failures)},
    {"hatchet_worker_health_connections_dropped_total",
     "Connections to this health server closed for sending no whole request within 2 s, or to "
     "make room (64 at most)",
     MetricType::Counter, static_cast<double>(dropped)},
  };
  std::vector<prometheus::MetricFamily> families;
  for (const auto& f : singles)
    families.push_back(family(f.name, f.help, f.type, f.value));
  prometheus::ClientMetric hist;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < worker_metrics::duration_bounds.size(); ++i) {
    cumulative += m.duration_buckets[i].load(std::memory_order_relaxed);
    hist.histogram.bucket.push_back({cumulative, worker_metrics::duration_bounds[i]});
  }
  cumulative += m.duration_buckets.back().load(std::memory_order_relaxed);
  hist.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  // The count is the +Inf bucket, so that a scrape between two increments stays consistent.
  hist.histogram.sample_count = cumulative;
  hist.histogram.sample_sum =
    static_cast<double>(m.duration_sum_us.load(std::memory_order_relaxed)) / 1e6;
  families.push_back({"hatchet_worker_run_duration_seconds",
                      "Time from a run's start on a slot to its outcome",
                      MetricType::Histogram,
                      {std::move(hist)}});
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

health_server::health_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

caf::expected<std::unique_ptr<health_server>>
health_server::start(const std::string& bind_address, int port, identity who,
                     std::shared_ptr<const worker_metrics> metrics) {
  auto i = std::make_unique<impl>();
  i->who = std::move(who);
  i->metrics = std::move(metrics);
  auto* self = i.get();
  auto server = probe_server::start(
    bind_address, port, [self](const std::string& path) { return self->answer(path); }, {});
  if (!server)
    return std::move(server.error());
  i->server = std::move(*server);
  i->serving = i->server.get();
  return std::unique_ptr<health_server>{new health_server(std::move(i))};
}

health_server::~health_server() = default; // the probe server's thread never waits on a client

uint16_t health_server::port() const noexcept {
  return impl_->server->port();
}

} // namespace hatchet::detail
