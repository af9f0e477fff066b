#pragma once
// Which workflows `GET /api/v1/tenants/{tenant}/workflows` lists, as the real engine's
// WorkflowList handler (api/v1/server/handlers/workflows/list.go) and ListWorkflows
// (pkg/repository/sqlcv1/workflows.sql) choose them: a plain function, unit-tested
// (tests/unit/worker_list_test.cpp, with the worker list).
//
// - `name` keeps those whose name contains it, case-insensitively (ILIKE '%name%').
// - Newest first (by the workflow's creation), then `offset` (below 0: 0) and `limit` (0 or less:
//   the default, 50) cut a page.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/pagination.hpp"
#include "engine/state.hpp"

namespace hatchet::engine {

struct workflow_list_query {
  std::string name = {};
  int64_t offset = 0;
  int64_t limit = 50;
};

struct workflow_list_page {
  std::vector<workflow_view> rows;
  page_numbers pages;
};

inline workflow_list_page select_workflows(std::vector<workflow_view> all,
                                           const workflow_list_query& q) {
  auto lower = [](std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const auto needle = lower(q.name);
  std::erase_if(all, [&](const workflow_view& w) {
    return lower(w.name).find(needle) == std::string::npos;
  });
  std::stable_sort(all.begin(), all.end(), [](const workflow_view& a, const workflow_view& b) {
    return a.created_at > b.created_at;
  });
  const int64_t limit = q.limit <= 0 ? 50 : q.limit;
  const int64_t offset = std::max<int64_t>(q.offset, 0);
  workflow_list_page page;
  const auto count = static_cast<int64_t>(all.size());
  for (int64_t i = offset; i < count && i < offset + limit; ++i)
    page.rows.push_back(std::move(all[static_cast<size_t>(i)]));
  page.pages = paginate(count, offset, limit);
  return page;
}

} // namespace hatchet::engine
