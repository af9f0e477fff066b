// The lifespan example as a standalone worker:
//   HATCHET_CLIENT_TOKEN=... HATCHET_CLIENT_TLS_STRATEGY=none
//   lifespan_pg_example "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
#include <cstdlib>
#include <iostream>

#include "lifespan_pg.hpp"

int main(int argc, char** argv) {
  const char* conninfo = argc > 1 ? argv[1] : std::getenv("PG_CONN");
  if (conninfo == nullptr) {
    std::cerr << "usage: lifespan_pg_example CONNINFO (or set PG_CONN)\n";
    return 2;
  }
  // [snippet:worker]
  auto client = hatchet::client::from_env(); // HATCHET_CLIENT_* as the official SDKs read them
  if (!client) {
    std::cerr << "configuration error: " << hatchet::describe(client.error()) << "\n";
    return 2;
  }
  std::string info{conninfo};
  auto worker = client->worker("test-worker",
                               {.slots = 1,
                                .workflows = {lifespan_pg::workflow()},
                                .lifespan = [info] { return lifespan_pg::lifespan(info, 4); }});
  int code = worker.run(); // until SIGINT/SIGTERM; returns the exit code
  if (worker.must_exit_at_once())
    std::_Exit(code); // threads are still inside task or cleanup code
  return code;
  // [/snippet:worker]
}
