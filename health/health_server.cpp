// health_server: /health and /metrics on cpp-httplib; the text format written by prometheus-cpp.
// The only translation unit of the worker library that includes httplib.h or prometheus.

#include "health/health_server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include "hatchet/errors.hpp"

namespace hatchet::detail {

namespace {

/// A probe or a scraper needs one thread; a second keeps a slow client from blocking the other.
constexpr size_t serving_threads = 2;

/// How long the destructor waits for the serving threads.
constexpr std::chrono::seconds stop_timeout{3};

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

std::string join_host_port(const std::string& host, int port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

} // namespace

struct health_server::impl {
  identity who;
  std::shared_ptr<const worker_metrics> metrics;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> serving_done{false};
  uint16_t port = 0;

  void health(httplib::Response& res) const {
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
    res.status = state == health_state::healthy ? 200 : 503;
    res.set_content(body.dump(), "application/json");
  }
};

std::string health_server::metrics_text(const worker_metrics& m, const identity& who) {
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
  auto& s = i->server;
  s.new_task_queue = [] { return new httplib::ThreadPool(serving_threads); };
  // No SO_REUSEPORT (httplib's default): a second worker on the same port must fail to start,
  // not share the probes.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  auto* self = i.get();
  s.Get("/health", [self](const httplib::Request&, httplib::Response& res) { self->health(res); });
  s.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(*self->metrics, self->who),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  int bound = port == 0 ? s.bind_to_any_port(bind_address)
                        : (s.bind_to_port(bind_address, port) ? port : -1);
  if (bound <= 0)
    return make_error(errc::invalid_config,
                      "the health server cannot listen on " + join_host_port(bind_address, port)
                        + " (HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS and _PORT): is the "
                          "port in use, or the address not on this host?");
  i->port = static_cast<uint16_t>(bound);
  i->thread = std::thread([self] {
    self->server.listen_after_bind();
    self->serving_done = true;
  });
  // So that a probe sent right after start() finds the loop accepting.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{2};
  while (!s.is_running() && !self->serving_done && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  return std::unique_ptr<health_server>{new health_server(std::move(i))};
}

health_server::~health_server() {
  // Bounded: a client that trickles a request in keeps a serving thread, and httplib's loop
  // returns only once its threads have. Past the bound the server is left to finish on its own
  // (its memory with it) rather than hold the supervisor's exit.
  auto until = std::chrono::steady_clock::now() + stop_timeout;
  auto waiting = [&] { return !impl_->serving_done && std::chrono::steady_clock::now() < until; };
  try {
    // httplib's stop() only works once its loop runs, and must be called once.
    for (; waiting(); std::this_thread::sleep_for(std::chrono::milliseconds{1}))
      if (impl_->server.is_running()) {
        impl_->server.stop();
        break;
      }
    while (waiting())
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  } catch (const std::exception& e) {
    spdlog::error("stopping the health server: {}", e.what());
  }
  if (impl_->serving_done) {
    impl_->thread.join();
    return;
  }
  spdlog::warn("the health server still serves a request {} ms after the stop; leaving it behind",
               std::chrono::duration_cast<std::chrono::milliseconds>(stop_timeout).count());
  impl_->thread.detach();
  static_cast<void>(impl_.release());
}

uint16_t health_server::port() const noexcept {
  return impl_->port;
}

} // namespace hatchet::detail
