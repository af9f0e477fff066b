#pragma once
// The lifespan example, ported from the Hatchet Python SDK's lifespans page: the lifespan opens a
// PostgreSQL connection pool once, every task borrows a connection from it, and the pool is
// closed once, after the last task.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <hatchet/hatchet.hpp>
#include <pqxx/pqxx>

namespace lifespan_pg {

/// A fixed-size pool of libpqxx connections (a pqxx::connection is not thread-safe, so each task
/// borrows one for the duration of its query).
class connection_pool {
public:
  connection_pool(const std::string& conninfo, size_t size);

  /// A borrowed connection; returns itself to the pool when destroyed.
  class lease {
  public:
    lease(connection_pool* pool, std::unique_ptr<pqxx::connection> c)
      : pool_(pool), conn_(std::move(c)) {}
    lease(lease&&) = default;
    ~lease() {
      if (conn_)
        pool_->give_back(std::move(conn_));
    }
    pqxx::connection& operator*() const { return *conn_; }
    pqxx::connection* operator->() const { return conn_.get(); }

  private:
    connection_pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  /// Waits for a free connection. Throws std::runtime_error once the pool is closed.
  lease acquire() const;
  /// Closes every connection; later acquire() calls throw.
  void close();
  bool closed() const;
  size_t size() const noexcept { return size_; }

private:
  void give_back(std::unique_ptr<pqxx::connection> c) const;

  size_t size_;
  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  mutable std::vector<std::unique_ptr<pqxx::connection>> idle_;
  bool closed_ = false;
};

// [snippet:state]
/// What the lifespan yields: tasks read it as `const Lifespan&`.
struct Lifespan {
  std::string foo;
  std::shared_ptr<connection_pool> pool;
};
// [/snippet:state]

struct TaskOutput {
  int num_rows = 0;
  std::vector<std::string> external_ids;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TaskOutput, num_rows, external_ids)

/// The lifespan: opens the pool (and seeds the example table when it is empty), yields, closes.
hatchet::lifespan<Lifespan> lifespan(std::string conninfo, size_t pool_size);

/// The per-run dependency: a connection borrowed from the lifespan's pool for the task's run.
hatchet::dependency<pqxx::connection*> connection();

/// "LifespanWorkflow" with the task "sync_lifespan_task", which takes its connection through
/// `connection()`.
hatchet::workflow workflow();

} // namespace lifespan_pg
