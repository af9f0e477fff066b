// Must NOT compile when MUTATE is defined: tasks get the lifespan state as const. Without MUTATE
// it must compile, which proves the failure is the mutation and nothing else.
#include <hatchet/hatchet.hpp>

struct state {
  int counter = 0;
};

int main() {
  hatchet::workflow wf{"w"};
  wf.task("t", [](const hatchet::empty_model&, hatchet::context& ctx) {
#ifdef MUTATE
    ctx.lifespan<state>().counter += 1;
#else
    (void) ctx.lifespan<state>().counter;
#endif
    return hatchet::empty_model{};
  });
  return 0;
}
