// hatchet-fault-proxy: a loopback TCP proxy that breaks every connection on a timer, freezes
// them all on a signal, or cuts a connection just as the engine starts an answer.
//
// The process tests put it between a worker and the dev engine to prove that the worker survives
// what a load balancer, a NAT timeout or a flaky network does to a long-lived gRPC connection:
// the connection disappears mid-stream, possibly with bytes in flight in either direction; or, in
// a silent partition, nothing moves and nothing closes (SIGUSR1 freezes, SIGUSR2 thaws). It is a
// single thread with poll(): a handful of connections, no need for more.
//
// Loopback only, by design: it listens on 127.0.0.1 and connects to 127.0.0.1, so a test can never
// turn it into an open relay.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/command_line.hpp"

namespace {

const char* description = R"(hatchet-fault-proxy: a loopback TCP proxy that cuts every connection on a timer.

Listens on 127.0.0.1:P and forwards each accepted connection to 127.0.0.1:PORT. The first line
on stdout is the port it listens on (useful with --port 0); everything else goes to stderr.

SIGUSR1 freezes every connection, a silent partition: no byte is forwarded either way, nothing is
closed (no RST, no FIN), and new connections wait in the listen backlog. SIGUSR2 thaws: what
waited flows on, and waiting connections are accepted.)";

const char* footer = R"(
It exits 0 on SIGTERM/SIGINT or after --max-seconds, 2 on a usage error, 1 if it cannot listen.
At exit it prints one summary line on stderr: connections accepted, cuts, connections cut,
bytes forwarded in each direction.)";

using clock_type = std::chrono::steady_clock;

constexpr size_t buffer_limit = 1 << 20; // per direction; reading pauses when it is full
constexpr size_t read_chunk = 64 * 1024;

int stop_pipe[2] = {-1, -1};

/// What a byte on the self-pipe means.
constexpr char stop_byte = 1, freeze_byte = 2, thaw_byte = 3;

extern "C" void on_stop_signal(int sig) {
  const char byte = sig == SIGUSR1 ? freeze_byte : sig == SIGUSR2 ? thaw_byte : stop_byte;
  // Best effort; the pipe is non-blocking, one byte is enough to wake poll().
  [[maybe_unused]] auto n = write(stop_pipe[1], &byte, 1);
}

struct options {
  int port = 0;
  int upstream = -1;
  long cut_every_ms = 0;
  bool rst = true;
  long max_seconds = 600;
  bool quiet = false;
  int lose_answer = 0; // > 0: on each connection, cut at the N-th answer the engine starts
};

/// Writes one line on stderr, prefixed with the local time as spdlog prints it
/// ("[2026-01-31 12:34:56.789]"), so a test can line the proxy's cuts up with the other logs.
void log_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_line(const char* fmt, ...) {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
  tm local{};
  localtime_r(&t, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  char text[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  std::fprintf(stderr, "[%s.%03d] hatchet-fault-proxy: %s\n", stamp, static_cast<int>(ms), text);
}

/// 0 parsed, -1 help shown, else the exit code of a usage error.
int parse(int argc, char** argv, options& o) {
  CLI::App app{description, "hatchet-fault-proxy"};
  app.footer(footer);
  std::string port = "0", upstream, cut_every = "0", mode = "rst", max_seconds = "600";
  app.add_option("--upstream", upstream, "the port to forward to on 127.0.0.1")
    ->type_name("PORT")
    ->required();
  app.add_option("--port", port, "the port to listen on (default 0: a free one)")->type_name("P");
  app.add_option("--cut-every", cut_every,
                 "every MS milliseconds, close every open connection on both sides (default 0: "
                 "never)")
    ->type_name("MS");
  app.add_option("--cut-mode", mode,
                 "rst (default): abortive close (SO_LINGER 0), bytes in flight lost and both peers "
                 "see a reset; fin: plain close(), the peers see an end of stream")
    ->type_name("M")
    ->check(CLI::IsMember({"rst", "fin"}));
  app.add_option("--max-seconds", max_seconds,
                 "exit after S seconds whatever happens (default 600; 1 to 86400)")
    ->type_name("S");
  std::string lose_answer = "0";
  app.add_option("--lose-answer", lose_answer,
                 "on each connection, cut it (rst) at the N-th HTTP/2 HEADERS frame the engine "
                 "sends on a stream, before forwarding it: with N = 1 the first call's answer "
                 "(a unary answer opens with one HEADERS frame and ends with another), so the "
                 "call went through and the engine acted on it, but the caller never hears back. "
                 "Plaintext HTTP/2 only (default 0: never)")
    ->type_name("N");
  app.add_flag("--quiet", o.quiet, "do not log each cut on stderr");
  if (int rc = hatchet::apps::parse_command_line(app, argc, argv, "hatchet-fault-proxy"); rc >= 0)
    return rc == 0 ? -1 : rc;
  using hatchet::detail::parse_whole;
  auto number = [](auto parsed) {
    return hatchet::apps::value_or_exit("hatchet-fault-proxy", std::move(parsed),
                                        hatchet::apps::usage_exit);
  };
  o.port = number(parse_whole<int>("--port", port, 0, 65535));
  o.upstream = number(parse_whole<int>("--upstream", upstream, 1, 65535));
  o.cut_every_ms = number(parse_whole<long>("--cut-every", cut_every, 0, 86'400'000));
  o.rst = mode == "rst";
  o.max_seconds = number(parse_whole<long>("--max-seconds", max_seconds, 1, 86'400));
  o.lose_answer = number(parse_whole<int>("--lose-answer", lose_answer, 0, 1'000'000));
  return 0;
}

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// One side of a proxied connection: its socket and the bytes waiting to be written to it.
struct side {
  int fd = -1;
  std::string pending; // bytes read from the other side, not yet written here
  bool eof = false;    // the peer of this socket closed its write side
};

/// The engine's side of an HTTP/2 connection, frame by frame (every frame starts with a 9-byte
/// header: length (3), type (1), flags (1), stream (4)), to see where an answer starts.
struct frame_reader {
  std::string head;  // the bytes of a frame header read so far
  size_t skip = 0;   // payload bytes of the current frame still to come
  int answers = 0;   // HEADERS frames on a stream seen so far

  /// Reads `bytes`; true when they hold the start of answer number `n`.
  bool starts_answer(const char* bytes, size_t len, int n) {
    for (size_t i = 0; i < len;) {
      if (skip > 0) {
        size_t k = std::min(skip, len - i);
        skip -= k;
        i += k;
        continue;
      }
      head.push_back(bytes[i++]);
      if (head.size() < 9)
        continue;
      auto byte = [&](size_t j) { return static_cast<unsigned char>(head[j]); };
      skip = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
      bool on_stream = ((byte(5) & 0x7f) | byte(6) | byte(7) | byte(8)) != 0;
      bool headers = byte(3) == 0x1;
      head.clear();
      if (headers && on_stream && ++answers == n)
        return true;
    }
    return false;
  }
};

struct connection {
  side client;
  side upstream;
  bool connecting = true; // the upstream connect() has not completed yet
  frame_reader down;      // with --lose-answer: the engine's frames
};

class proxy {
public:
  explicit proxy(options o) : opts_(o) {}

  /// Listens; prints the port. False (with a message) if it cannot.
  bool listen_now() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0)
      return fail("socket");
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto addr = loopback(opts_.port);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return fail("bind 127.0.0.1:" + std::to_string(opts_.port));
    if (listen(listen_fd_, 64) != 0)
      return fail("listen");
    if (!set_nonblocking(listen_fd_))
      return fail("fcntl");
    socklen_t len = sizeof addr;
    if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return fail("getsockname");
    std::printf("%d\n", ntohs(addr.sin_port));
    std::fflush(stdout);
    log_line("127.0.0.1:%d -> 127.0.0.1:%d, cut every %ld ms (%s), stopping after %ld s",
                 ntohs(addr.sin_port), opts_.upstream, opts_.cut_every_ms,
                 opts_.rst ? "rst" : "fin", opts_.max_seconds);
    return true;
  }

  void run() {
    const auto started = clock_type::now();
    const auto deadline = started + std::chrono::seconds{opts_.max_seconds};
    const auto cut_every = std::chrono::milliseconds{opts_.cut_every_ms};
    auto next_cut = started + cut_every;
    std::vector<pollfd> fds;
    std::vector<connection*> owners; // owner of fds[i] for i >= 2; nullptr for fixed entries
    for (;;) {
      auto now = clock_type::now();
      if (now >= deadline) {
        log_line("--max-seconds reached, stopping");
        break;
      }
      if (opts_.cut_every_ms > 0 && now >= next_cut) {
        cut_all();
        while (next_cut <= now)
          next_cut += cut_every;
      }
      auto wake = deadline;
      if (opts_.cut_every_ms > 0 && next_cut < wake)
        wake = next_cut;
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
      int timeout = static_cast<int>(std::clamp<long long>(wait_ms + 1, 0, 1000));

      fds.clear();
      owners.clear();
      fds.push_back({stop_pipe[0], POLLIN, 0});
      owners.push_back(nullptr);
      // Frozen: neither the listening socket nor any connection is polled (a closed peer's
      // POLLHUP would otherwise wake this loop for ever); nothing moves until the thaw.
      fds.push_back({frozen_ ? -1 : listen_fd_, POLLIN, 0});
      owners.push_back(nullptr);
      for (auto& c : conns_) {
        if (frozen_)
          break;
        short up_events = 0;
        short client_events = 0;
        if (c.connecting) {
          up_events = POLLOUT;
        } else {
          // Read from a side only while the other side's buffer has room (backpressure).
          if (!c.client.eof && c.upstream.pending.size() < buffer_limit)
            client_events |= POLLIN;
          if (!c.upstream.eof && c.client.pending.size() < buffer_limit)
            up_events |= POLLIN;
          if (!c.client.pending.empty())
            client_events |= POLLOUT;
          if (!c.upstream.pending.empty())
            up_events |= POLLOUT;
        }
        fds.push_back({c.client.fd, client_events, 0});
        owners.push_back(&c);
        fds.push_back({c.upstream.fd, up_events, 0});
        owners.push_back(&c);
      }
      int n = poll(fds.data(), fds.size(), timeout);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        log_line("poll: %s", std::strerror(errno));
        break;
      }
      if (fds[0].revents != 0 && !read_signals())
        break;
      if (fds[1].revents & POLLIN)
        accept_all();
      for (size_t i = 2; i < fds.size(); i += 2) {
        connection* c = owners[i];
        service(*c, fds[i].revents, fds[i + 1].revents);
      }
      conns_.remove_if([](const connection& c) { return c.client.fd < 0; });
    }
    for (auto& c : conns_)
      close_both(c, true);
    conns_.clear();
    log_line("summary: accepted %llu, cuts %llu, connections cut %llu, upstream-refused %llu, "
             "answers lost %llu, bytes client->upstream %llu, upstream->client %llu",
             accepted_, cuts_, connections_cut_, refused_, answers_lost_, bytes_up_, bytes_down_);
  }

private:
  /// Handles the signals noted on the self-pipe: false to stop.
  bool read_signals() {
    char bytes[16];
    ssize_t n;
    while ((n = read(stop_pipe[0], bytes, sizeof bytes)) > 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (bytes[i] == stop_byte) {
          log_line("stop signal, stopping");
          return false;
        }
        bool freeze = bytes[i] == freeze_byte;
        if (freeze != frozen_) {
          frozen_ = freeze;
          log_line("%s %zu connection(s)", freeze ? "froze" : "thawed", conns_.size());
        }
      }
    }
    return true;
  }

  bool fail(const std::string& what) {
    log_line("%s: %s", what.c_str(), std::strerror(errno));
    return false;
  }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return; // EAGAIN, or a transient error: poll again
      int up = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (up < 0) {
        close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto addr = loopback(opts_.upstream);
      int rc = connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      if (rc != 0 && errno != EINPROGRESS) {
        ++refused_;
        abort_close(fd);
        close(up);
        continue;
      }
      ++accepted_;
      connection c;
      c.client.fd = fd;
      c.upstream.fd = up;
      c.connecting = rc != 0;
      conns_.push_back(std::move(c));
    }
  }

  /// Moves bytes for one connection; closes it when either side is done or broken.
  void service(connection& c, short client_rev, short up_rev) {
    if (c.client.fd < 0)
      return;
    if (c.connecting) {
      if (up_rev == 0)
        return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ++refused_; // the upstream is down: the client sees its connection reset
        return close_both(c, true);
      }
      c.connecting = false;
      return;
    }
    bool broken = false;
    // Client -> upstream.
    if (client_rev & (POLLIN | POLLHUP | POLLERR))
      broken |= !read_into(c.client, c.upstream.pending, bytes_up_);
    if (up_rev & (POLLIN | POLLHUP | POLLERR)) {
      size_t before = c.client.pending.size();
      broken |= !read_into(c.upstream, c.client.pending, bytes_down_);
      if (opts_.lose_answer > 0
          && c.down.starts_answer(c.client.pending.data() + before,
                                  c.client.pending.size() - before, opts_.lose_answer)) {
        ++answers_lost_;
        log_line("lost answer %d of a connection: cut it before forwarding", opts_.lose_answer);
        return close_both(c, true);
      }
    }
    if (!broken && (client_rev & POLLOUT))
      broken |= !write_from(c.client);
    if (!broken && (up_rev & POLLOUT))
      broken |= !write_from(c.upstream);
    // A peer that closed: pass on what it sent, then close the whole connection (gRPC never
    // half-closes a TCP connection, so there is no need to keep the other direction open).
    bool done = (c.client.eof && c.upstream.pending.empty()) ||
                (c.upstream.eof && c.client.pending.empty());
    if (broken || done)
      close_both(c, broken);
  }

  /// Reads what is available from `from` into `to`. False on a socket error.
  bool read_into(side& from, std::string& to, unsigned long long& counter) {
    char buf[read_chunk];
    while (to.size() < buffer_limit) {
      ssize_t n = recv(from.fd, buf, sizeof buf, 0);
      if (n > 0) {
        to.append(buf, static_cast<size_t>(n));
        counter += static_cast<unsigned long long>(n);
        continue;
      }
      if (n == 0) {
        from.eof = true;
        return true;
      }
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
  }

  /// Writes what is pending for `to`. False on a socket error.
  bool write_from(side& to) {
    while (!to.pending.empty()) {
      ssize_t n = send(to.fd, to.pending.data(), to.pending.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to.pending.erase(0, static_cast<size_t>(n));
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
    return true;
  }

  static void abort_close(int fd) {
    linger l{1, 0}; // close() then sends RST and drops unsent bytes
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
  }

  void close_both(connection& c, bool abortive) {
    for (side* s : {&c.client, &c.upstream}) {
      if (s->fd < 0)
        continue;
      if (abortive)
        abort_close(s->fd);
      else
        close(s->fd);
      s->fd = -1;
      s->pending.clear();
    }
  }

  void cut_all() {
    ++cuts_;
    size_t n = 0;
    for (auto& c : conns_) {
      if (c.client.fd < 0)
        continue;
      close_both(c, opts_.rst);
      ++n;
    }
    connections_cut_ += n;
    conns_.remove_if([](const connection& c) { return c.client.fd < 0; });
    if (!opts_.quiet)
      log_line("cut %zu connection(s)", n);
  }

  options opts_;
  int listen_fd_ = -1;
  std::list<connection> conns_; // stable addresses while poll entries point at them
  bool frozen_ = false;          // SIGUSR1 .. SIGUSR2: a silent partition
  unsigned long long accepted_ = 0;
  unsigned long long cuts_ = 0;
  unsigned long long connections_cut_ = 0;
  unsigned long long refused_ = 0;
  unsigned long long answers_lost_ = 0;
  unsigned long long bytes_up_ = 0;
  unsigned long long bytes_down_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  options o;
  if (int rc = parse(argc, argv, o); rc != 0)
    return rc < 0 ? 0 : rc;
  if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
    std::perror("hatchet-fault-proxy: pipe");
    return 1;
  }
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGUSR2, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  proxy p{o};
  if (!p.listen_now())
    return 1;
  p.run();
  return 0;
}
