// A Hatchet worker as a guest in a host's actor system.
//
// The host owns an actor, the price book. The worker's lifespan hands the book's handle to every
// task through the state; the QuoteWorkflow task asks the book for a price. The book counts the
// quotes it gave, and after the number asked for on the command line it stops the worker with
// an exit message: the same graceful stop as SIGTERM (drain, flush, cleanup).
//
//   HATCHET_CLIENT_TOKEN=... HATCHET_CLIENT_TLS_STRATEGY=none embed_in_actor_system 3
//   hatchet-run QuoteWorkflow --count 3 --input '{"symbol":"ACME"}'
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include <caf/all.hpp>
#include <hatchet/hatchet.hpp>

namespace {

// -- the host's side: an ordinary CAF actor --------------------------------------------------

// [snippet:host_actor]
using quote_atom = caf::atom_constant<caf::atom("quote")>;
using guest_atom = caf::atom_constant<caf::atom("guest")>;

struct price_book_state {
  std::map<std::string, int> cents{{"ACME", 12'345}, {"INITECH", 4'200}};
  int quotes = 0;
  int stop_after = 0;
  caf::actor guest; ///< the worker's supervisor, stopped after stop_after quotes
};

caf::behavior price_book(caf::stateful_actor<price_book_state>* self, int stop_after) {
  self->state.stop_after = stop_after;
  return {
    [self](guest_atom, caf::actor worker) { self->state.guest = std::move(worker); },
    [self](quote_atom, const std::string& symbol) -> caf::result<int> {
      auto i = self->state.cents.find(symbol);
      if (i == self->state.cents.end())
        return caf::make_error(caf::sec::invalid_argument, "no price for " + symbol);
      if (++self->state.quotes == self->state.stop_after && self->state.guest) {
        std::cout << "host: " << self->state.quotes << " quotes given; stopping the worker"
                  << std::endl;
        self->send_exit(self->state.guest, caf::exit_reason::user_shutdown);
      }
      return i->second;
    },
  };
}
// [/snippet:host_actor]

// -- the worker's side --------------------------------------------------------------------------

// [snippet:guest_worker]
/// The lifespan state: the host's actor, shared read-only by every task.
struct host_link {
  caf::actor book;
};

struct quote_input {
  std::string symbol;
};
HATCHET_DEFINE_INPUT(quote_input, symbol)

hatchet::workflow quote_workflow() {
  hatchet::workflow wf{"QuoteWorkflow"};
  // A synchronous task runs on a task thread, so it may block on the host's answer.
  wf.task("quote", [](const quote_input& in, hatchet::context& ctx) {
    const auto& host = ctx.lifespan<host_link>();
    caf::scoped_actor self{host.book.home_system()};
    nlohmann::json out;
    self->request(host.book, std::chrono::seconds{5}, quote_atom::value, in.symbol)
      .receive([&](int cents) { out = {{"symbol", in.symbol}, {"cents", cents}}; },
               [&](caf::error& err) {
                 throw std::runtime_error{"the price book said: " + self->system().render(err)};
               });
    return out;
  });
  return wf;
}
// [/snippet:guest_worker]

} // namespace

int main(int argc, char** argv) {
  int stop_after = argc > 1 ? std::atoi(argv[1]) : 3;
  if (stop_after < 1) {
    std::cerr << "usage: embed_in_actor_system [QUOTES_BEFORE_STOP, at least 1]\n";
    return 2;
  }
  auto client = hatchet::client::from_env();
  if (!client) {
    std::cerr << "configuration: " << hatchet::describe(client.error()) << "\n";
    return 1;
  }
  // [snippet:host_system]
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{4}); // the host's choices stay the host's
  hatchet::configure(cfg);                     // adds only what the worker needs
  caf::actor_system sys{cfg};
  auto book = sys.spawn(price_book, stop_after);
  auto lifespan = [book]() -> hatchet::lifespan<host_link> {
    std::cout << "guest: lifespan set up" << std::endl;
    co_yield hatchet::make_state<host_link>(book);
    std::cout << "guest: lifespan cleaned up" << std::endl;
  };
  auto worker = client->worker("embedded-guest", {.slots = 4,
                                                  .workflows = {quote_workflow()},
                                                  .lifespan = lifespan});
  auto sup = worker.spawn(sys);
  if (!sup) {
    std::cerr << "cannot start the worker: " << hatchet::describe(sup.error()) << "\n";
    return 1;
  }
  caf::anon_send(book, guest_atom::value, *sup);
  caf::scoped_actor self{sys};
  self->monitor(*sup);
  if (auto id = hatchet::await_ready(sys, *sup, std::chrono::seconds{30}))
    std::cout << "guest: ready as worker " << *id << std::endl;
  caf::error reason;
  self->receive([&](caf::down_msg& dm) { reason = std::move(dm.reason); });
  // [/snippet:host_system]
  // The worker's own helper threads (a REST pause of a forced stop) end before the system does.
  hatchet::await_background_calls(std::chrono::seconds{2});
  if (reason && reason != caf::exit_reason::normal) {
    std::cerr << "host: the worker stopped with an error: " << hatchet::describe(reason) << "\n";
    return 1;
  }
  std::cout << "host: the worker stopped cleanly; the host goes on (the price book is still "
               "up) and now ends"
            << std::endl;
  caf::anon_send_exit(book, caf::exit_reason::user_shutdown);
  return 0;
}
