// The shortest whole program: a workflow, a worker serving it in the background, one run of it.
//   HATCHET_CLIENT_TOKEN=... [HATCHET_CLIENT_TLS_STRATEGY=none] quickstart [NAME]
// Prints the run's output and exits 0, or says what went wrong and exits 1.
#include <iostream>
#include <string>

#include <hatchet/hatchet.hpp>

// [snippet:quickstart]
struct Name {
  std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Name, name)

struct Greeting {
  std::string message;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Greeting, message)

int main(int argc, char** argv) {
  auto client = hatchet::client::from_env(); // HATCHET_CLIENT_* as the official SDKs read them
  if (!client) {
    std::cerr << hatchet::describe(client.error()) << "\n";
    return 1;
  }
  hatchet::workflow greet{"Greet"};
  greet.task("greet", [](const Name& in, hatchet::context&) {
    return Greeting{"hello, " + in.name};
  });
  auto worker = client->worker("greeter", {.slots = 4, .workflows = {greet}}).start();
  if (!worker) { // returns once registered: a run triggered now finds it
    std::cerr << hatchet::describe(worker.error()) << "\n";
    return 1;
  }
  auto out = client->run<Greeting>("Greet", Name{argc > 1 ? argv[1] : "world"});
  if (out)
    std::cout << out->message << "\n";
  else
    std::cerr << hatchet::describe(out.error()) << "\n";
  int code = worker->stop(); // the same graceful stop as SIGTERM gives run()
  return out && code == 0 ? 0 : 1;
}
// [/snippet:quickstart]
