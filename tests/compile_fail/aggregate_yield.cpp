// With GCC < 13, `co_yield Aggregate{...}` must NOT compile (GCC 12 destroys the members of such a
// temporary twice); `co_yield hatchet::make_state<Aggregate>(...)` must. AGGREGATE_YIELD selects
// the rejected form.
#include <memory>
#include <string>

#include <hatchet/lifespan.hpp>

struct state {
  std::string name;
  std::shared_ptr<int> pool;
};

hatchet::lifespan<state> make(std::shared_ptr<int> pool) {
#ifdef AGGREGATE_YIELD
  co_yield state{"name", pool};
#else
  co_yield hatchet::make_state<state>("name", pool);
#endif
}

int main() {
  hatchet::lifespan_fn fn = [] { return make(std::make_shared<int>(1)); };
  return fn ? 0 : 1;
}
