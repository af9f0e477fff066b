#pragma once
// A small HTTP/1.1 server for probes and scrapes: one thread, poll(), non-blocking sockets, GET
// and HEAD only, a bounded number of connections and a deadline for each request head (see
// connection_book.hpp). It cannot be starved by slow or idle clients, and it holds at most
// `capacity` + 1 descriptors whatever comes at it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace hatchet::detail {

class probe_server {
public:
  struct response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  /// Answers a GET (or HEAD) of `path`; runs on the server's thread, so it must be quick.
  using handler = std::function<response(const std::string& path)>;

  struct limits {
    size_t capacity = 64;                        ///< connections open at once
    std::chrono::milliseconds head_timeout{2000}; ///< to deliver a whole request head
  };

  /// Listens on bind_address:port (port 0: any free port) and serves from its own thread until
  /// destroyed. The error says which address could not be bound.
  static caf::expected<std::unique_ptr<probe_server>>
  start(const std::string& bind_address, int port, handler h, limits l);

  ~probe_server(); ///< stops at once: the thread never waits on a client

  uint16_t port() const noexcept;

  /// Connections closed because their deadline passed or a newer one needed the room.
  uint64_t dropped() const noexcept;

  struct impl;

private:
  explicit probe_server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

} // namespace hatchet::detail
