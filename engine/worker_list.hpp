#pragma once
// Which workers `GET /api/v1/tenants/{tenant}/worker` lists, as the real engine's ListWorkers
// (pkg/repository/sqlcv1/workers.sql) and its v1 handler (api/v1/server/handlers/workers/
// list.go) choose them: a plain function, time passed in, unit-tested
// (tests/unit/worker_list_test.cpp).
//
// - Only workers whose last heartbeat is within the last 24 hours (none: not listed).
// - `statuses` (ACTIVE, INACTIVE, PAUSED, as worker_view::status says) and `labels`
//   ("key:value", every one must match the worker's label) narrow the list when given.
// - Newest first (by creation), then `offset` and `limit` (default 10,000) cut a page; the
//   pagination counts pages of `limit` as the handler does.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/pagination.hpp"
#include "engine/state.hpp"

namespace hatchet::engine {

struct worker_list_query {
  std::vector<std::string> statuses = {};
  std::vector<std::string> labels = {}; ///< "key:value"
  int64_t offset = 0;
  int64_t limit = 10000;
};

struct worker_list_page {
  std::vector<worker_view> rows;
  int64_t num_pages = 0;
  int64_t current_page = 1;
  int64_t next_page = 1;
  std::string error; ///< a malformed label filter (the handler's 400), else ""
};

inline worker_list_page select_workers(std::vector<worker_view> all,
                                       const worker_list_query& q,
                                       std::chrono::system_clock::time_point now) {
  worker_list_page page;
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const auto& l : q.labels) {
    auto colon = l.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == l.size()) {
      page.error = "invalid label filter format: " + l + ", expected key:value";
      return page;
    }
    wanted.emplace_back(l.substr(0, colon), l.substr(colon + 1));
  }
  const auto after = now - std::chrono::hours{24};
  std::erase_if(all, [&](const worker_view& w) {
    if (!w.last_heartbeat_at || *w.last_heartbeat_at <= after)
      return true;
    if (!q.statuses.empty()
        && std::find(q.statuses.begin(), q.statuses.end(), w.status) == q.statuses.end())
      return true;
    for (const auto& [key, value] : wanted) {
      auto it = w.labels.find(key);
      if (it == w.labels.end() || it->second != value)
        return true;
    }
    return false;
  });
  std::stable_sort(all.begin(), all.end(), [](const worker_view& a, const worker_view& b) {
    return a.created_at > b.created_at;
  });
  const auto count = static_cast<int64_t>(all.size());
  const int64_t limit = std::max<int64_t>(q.limit, 1);
  const int64_t offset = std::max<int64_t>(q.offset, 0);
  for (int64_t i = offset; i < count && i < offset + limit; ++i)
    page.rows.push_back(std::move(all[static_cast<size_t>(i)]));
  const auto pages = paginate(count, offset, limit);
  page.num_pages = pages.num_pages;
  page.current_page = pages.current_page;
  page.next_page = pages.next_page;
  return page;
}

} // namespace hatchet::engine
