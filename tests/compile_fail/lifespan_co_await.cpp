// Must NOT compile when AWAIT is defined: a lifespan may not co_await (nothing would resume it).
// Without AWAIT it must compile, which proves the failure is the co_await and nothing else.
#include <coroutine>

#include <hatchet/hatchet.hpp>

hatchet::lifespan<int> setup() {
#ifdef AWAIT
  co_await std::suspend_always{};
#endif
  co_yield 1;
}

int main() {
  auto l = setup();
  (void) l;
  return 0;
}
