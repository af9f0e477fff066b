#include "health/probe_server.hpp"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "hatchet/errors.hpp"
#include "health/connection_book.hpp"
#include "health/http_head.hpp"

namespace hatchet::detail {

namespace {

using clock_type = std::chrono::steady_clock;


bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::string join_host_port(const std::string& host, int port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

/// A listening socket on host:port, or -1 with `why` set.
int listen_on(const std::string& host, int port, std::string& why) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    why = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int yes = 1;
    // SO_REUSEADDR only: a second worker on the same port must fail to start, not share probes.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0
        && set_nonblocking(fd))
      break;
    why = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

/// The peer's address without its port ("" when unknown); an IPv4-mapped IPv6 address is
/// written as the IPv4 one, so that one host counts as one peer on a dual-stack socket.
std::string peer_address(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6))
      inet_ntop(AF_INET, &in6.s6_addr[12], text, sizeof text);
    else
      inet_ntop(AF_INET6, &in6, text, sizeof text);
  }
  return text;
}

} // namespace

struct probe_server::impl {
  handler answer;
  limits lim;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  uint16_t port = 0;
  std::thread thread;
  std::atomic<uint64_t> dropped{0};

  struct conn {
    std::string in;  ///< bytes received, not yet a whole head
    std::string out; ///< the answer, not yet sent
    bool close_after = false;
  };
  std::map<int, conn> conns;
  /// Out of descriptors: accepting waits until then (the listening socket would stay readable).
  clock_type::time_point accept_paused_until{};

  ~impl() {
    for (auto& [fd, c] : conns)
      close(fd);
    for (int fd : {listen_fd, wake[0], wake[1]})
      if (fd >= 0)
        close(fd);
  }

  void run() {
    connection_book book{lim.capacity, lim.head_timeout};
    std::vector<pollfd> fds;
    for (;;) {
      auto now = clock_type::now();
      for (int fd : book.expired(now))
        drop(fd);
      int timeout = 1000;
      if (auto next = book.next_deadline())
        timeout = static_cast<int>(std::clamp<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count() + 1, 0, 1000));
      fds.clear();
      fds.push_back({wake[0], POLLIN, 0});
      bool accepting = now >= accept_paused_until;
      if (!accepting)
        timeout = std::min(timeout, 100);
      fds.push_back({accepting ? listen_fd : -1, POLLIN, 0});
      for (auto& [fd, c] : conns)
        fds.push_back({fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      if (poll(fds.data(), fds.size(), timeout) < 0) {
        if (errno == EINTR)
          continue;
        return;
      }
      if (fds[0].revents != 0)
        return; // the destructor's wake-up
      now = clock_type::now();
      for (size_t i = 2; i < fds.size(); ++i)
        if (fds[i].revents != 0)
          serve(fds[i].fd, fds[i].revents, book, now);
      if (fds[1].revents & POLLIN)
        accept_some(book, now);
    }
  }

  /// Accepts at most half the capacity per loop turn, after the turn has served the connections
  /// it had: a connection accepted in one turn (a probe, its request already sent) is read in the
  /// next before enough newer ones arrive to evict it, however fast others connect.
  void accept_some(connection_book& book, clock_type::time_point now) {
    const size_t per_turn = std::max<size_t>(1, lim.capacity / 2);
    for (size_t n = 0; n < per_turn; ++n) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&from), &from_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) // the connection waits in the backlog
          accept_paused_until = now + std::chrono::milliseconds{100};
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      for (int old : book.admit(fd, peer_address(from), now))
        drop(old);
      conns[fd];
    }
  }

  void serve(int fd, short revents, connection_book& book, clock_type::time_point now) {
    auto it = conns.find(fd);
    if (it == conns.end())
      return; // dropped earlier in this turn
    auto& c = it->second;
    if (revents & (POLLERR | POLLNVAL))
      return end(fd, book);
    if (!c.out.empty()) {
      if (!flush(fd, c))
        return end(fd, book);
      if (!c.out.empty())
        return;
      if (c.close_after)
        return end(fd, book);
      book.answered(fd, now);
    }
    if (!(revents & (POLLIN | POLLHUP)))
      return;
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.size() > max_head_bytes + sizeof buf)
          break;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return end(fd, book); // the client closed, or the socket failed
      break;
    }
    http_request req;
    size_t used = 0;
    switch (parse_head(c.in, req, used)) {
      case head_status::incomplete:
        return;
      case head_status::too_large:
        return refuse(fd, c, book, 431, "request head too large\n");
      case head_status::bad:
        return refuse(fd, c, book, 400, "not an HTTP/1.x request\n");
      case head_status::complete:
        break;
    }
    c.in.erase(0, used);
    bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only)
      return refuse(fd, c, book, 405, "only GET and HEAD\n");
    if (req.has_body)
      return refuse(fd, c, book, 400, "a GET carries no body here\n");
    response r;
    try {
      r = answer(req.path);
    } catch (const std::exception& e) {
      r = {500, "text/plain; charset=utf-8", std::string{"the handler failed: "} + e.what() + "\n"};
    }
    c.out = http_response(r.status, r.content_type, r.body, req.keep_alive, head_only);
    c.close_after = !req.keep_alive;
    if (!flush(fd, c))
      return end(fd, book);
    if (c.out.empty()) {
      if (c.close_after)
        return end(fd, book);
      book.answered(fd, now);
    }
  }

  /// A refusal: answered, then closed (the rest goes out when the socket is writable, within
  /// the connection's deadline).
  void refuse(int fd, conn& c, connection_book& book, int status, const char* text) {
    c.out = http_response(status, "text/plain; charset=utf-8", text, false, false);
    c.close_after = true;
    c.in.clear();
    if (!flush(fd, c) || c.out.empty())
      return end(fd, book);
  }

  /// Sends what it can of c.out; false on a socket error.
  static bool flush(int fd, conn& c) {
    while (!c.out.empty()) {
      ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
    return true;
  }

  void end(int fd, connection_book& book) {
    book.forget(fd);
    conns.erase(fd);
    close(fd);
  }

  /// Closed by the server's rules (deadline or eviction), not by the client.
  void drop(int fd) {
    conns.erase(fd);
    close(fd);
    dropped.fetch_add(1, std::memory_order_relaxed);
  }
};

probe_server::probe_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

caf::expected<std::unique_ptr<probe_server>>
probe_server::start(const std::string& bind_address, int port, handler h, limits l) {
  auto i = std::make_unique<impl>();
  i->answer = std::move(h);
  i->lim = l;
  std::string why;
  i->listen_fd = listen_on(bind_address, port, why);
  if (i->listen_fd < 0)
    return make_error(errc::invalid_config,
                      "the health server cannot listen on " + join_host_port(bind_address, port)
                        + " (" + why + "; HATCHET_CLIENT_WORKER_HEALTHCHECK_BIND_ADDRESS and "
                          "_PORT): is the port in use, or the address not on this host?");
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(i->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  i->port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                             : reinterpret_cast<sockaddr_in&>(addr).sin_port);
  if (pipe2(i->wake, O_NONBLOCK | O_CLOEXEC) != 0)
    return make_error(errc::invalid_config,
                      std::string{"the health server cannot make its wake-up pipe: "}
                        + std::strerror(errno));
  auto* self = i.get();
  i->thread = std::thread{[self] { self->run(); }};
  return std::unique_ptr<probe_server>{new probe_server(std::move(i))};
}

probe_server::~probe_server() {
  const char byte = 1;
  [[maybe_unused]] auto n = write(impl_->wake[1], &byte, 1);
  if (impl_->thread.joinable())
    impl_->thread.join();
}

uint16_t probe_server::port() const noexcept {
  return impl_->port;
}

uint64_t probe_server::dropped() const noexcept {
  return impl_->dropped.load(std::memory_order_relaxed);
}

} // namespace hatchet::detail
