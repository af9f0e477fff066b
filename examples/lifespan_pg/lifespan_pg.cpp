#include "lifespan_pg.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace lifespan_pg {

connection_pool::connection_pool(const std::string& conninfo, size_t size) : size_(size) {
  // An empty pool would make every acquire() wait for ever: refuse it while the lifespan is
  // still being set up, where the worker reports it and exits.
  if (size == 0)
    throw std::invalid_argument("the connection pool needs at least 1 connection, not 0");
  for (size_t i = 0; i < size; ++i)
    idle_.push_back(std::make_unique<pqxx::connection>(conninfo));
}

connection_pool::lease connection_pool::acquire() const {
  std::unique_lock lock{mtx_};
  cv_.wait(lock, [this] { return closed_ || !idle_.empty(); });
  if (closed_)
    throw std::runtime_error("the connection pool is closed");
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return lease{const_cast<connection_pool*>(this), std::move(c)};
}

void connection_pool::give_back(std::unique_ptr<pqxx::connection> c) const {
  std::lock_guard lock{mtx_};
  if (!closed_)
    idle_.push_back(std::move(c));
  cv_.notify_one();
}

void connection_pool::close() {
  std::lock_guard lock{mtx_};
  closed_ = true;
  idle_.clear(); // destroying a pqxx::connection closes it

  cv_.notify_all();
}

bool connection_pool::closed() const {
  std::lock_guard lock{mtx_};
  return closed_;
}

namespace {

// The Python example reads a table of the engine's database; ours brings its own lookup table and
// fills it with five rows the first time.
void create_lookup_table(const connection_pool& pool) {
  auto conn = pool.acquire();
  pqxx::work tx{*conn};
  tx.exec0("CREATE TABLE IF NOT EXISTS lookup_table (external_id uuid PRIMARY KEY, "
           "created_at timestamptz NOT NULL DEFAULT now())");
  tx.exec0("INSERT INTO lookup_table (external_id) SELECT gen_random_uuid() "
           "FROM generate_series(1, 5) WHERE NOT EXISTS (SELECT 1 FROM lookup_table)");
  tx.commit();
}

} // namespace

// [snippet:lifespan]
hatchet::lifespan<Lifespan> lifespan(std::string conninfo, size_t pool_size) {
  spdlog::info("Running lifespan!");
  auto pool = std::make_shared<connection_pool>(conninfo, pool_size);
  create_lookup_table(*pool);
  co_yield hatchet::make_state<Lifespan>("bar", pool); // above: setup; below: cleanup
  pool->close();
  spdlog::info("Cleaning up lifespan!");
}
// [/snippet:lifespan]

// [snippet:workflow]
// [snippet:connection]
hatchet::dependency<pqxx::connection*> connection() {
  // Each run borrows a connection from the lifespan's pool before its task starts, and gives it
  // back when the task has ended (returned, thrown or been cancelled).
  return hatchet::provide("connection", [](hatchet::context& ctx)
                                          -> hatchet::resource<pqxx::connection*> {
    auto lease = ctx.lifespan<Lifespan>().pool->acquire();
    co_yield &*lease;
  });
}
// [/snippet:connection]

hatchet::workflow workflow() {
  hatchet::workflow wf{"LifespanWorkflow"};
  auto conn = connection();
  wf.task("sync_lifespan_task", [conn](const hatchet::empty_model&, hatchet::context& ctx) {
    const auto& ls = ctx.lifespan<Lifespan>(); // const Lifespan&: tasks cannot change it
    pqxx::read_transaction tx{*ctx.use(conn)};
    auto rows = tx.exec("SELECT external_id FROM lookup_table ORDER BY created_at, external_id "
                        "LIMIT 5");
    TaskOutput out; // {num_rows, external_ids}, to JSON through nlohmann
    out.num_rows = static_cast<int>(rows.size());
    for (const auto& row : rows)
      out.external_ids.push_back(row[0].as<std::string>());
    spdlog::debug("executed sync task with lifespan (foo={})", ls.foo);
    return out;
  }, {.depends = {conn}});
  return wf;
}
// [/snippet:workflow]

} // namespace lifespan_pg
