#pragma once
// The page numbers the real engine's list handlers answer with (PaginationResponse), from the
// count of matches, the offset and the limit (e.g. api/v1/server/handlers/workers/list.go).

#include <algorithm>
#include <cstdint>

namespace hatchet::engine {

struct page_numbers {
  int64_t num_pages = 0;
  int64_t current_page = 1;
  int64_t next_page = 1;
};

/// As the handlers compute them: ceil(count / limit) pages, the current one 1 + ceil(offset /
/// limit), the next one past it unless it is the last. `limit` >= 1.
inline page_numbers paginate(int64_t count, int64_t offset, int64_t limit) {
  page_numbers p;
  limit = std::max<int64_t>(limit, 1);
  p.num_pages = (count + limit - 1) / limit;
  p.current_page = 1 + (std::max<int64_t>(offset, 0) + limit - 1) / limit;
  p.next_page = p.current_page == p.num_pages ? p.current_page : p.current_page + 1;
  return p;
}

} // namespace hatchet::engine
