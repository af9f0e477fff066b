// The health server's HTTP layer: request heads parsed from partial bytes, the connection book's
// deadlines and evictions (time passed in), and the server itself over loopback sockets: probes
// answered while slow and idle clients hold connections, which are closed by the rules.
#define BOOST_TEST_MODULE probe_server
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "health/connection_book.hpp"
#include "health/http_head.hpp"
#include "health/probe_server.hpp"

using namespace hatchet::detail;
using namespace std::chrono_literals;

// -- request heads ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_head_is_complete_only_at_its_blank_line) {
  http_request r;
  size_t used = 0;
  std::string head = "GET /health?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nextra";
  for (size_t n = 0; n < head.size() - 5; ++n) // every prefix short of the blank line
    BOOST_TEST((parse_head(std::string_view{head}.substr(0, n), r, used) == head_status::incomplete));
  BOOST_REQUIRE((parse_head(head, r, used) == head_status::complete));
  BOOST_TEST(used == head.size() - 5);
  BOOST_TEST(r.method == "GET");
  BOOST_TEST(r.path == "/health");
  BOOST_TEST(!r.keep_alive);
}

BOOST_AUTO_TEST_CASE(keep_alive_follows_the_version_and_the_connection_header) {
  http_request r;
  size_t used = 0;
  BOOST_REQUIRE((parse_head("GET / HTTP/1.1\r\n\r\n", r, used) == head_status::complete));
  BOOST_TEST(r.keep_alive);
  BOOST_REQUIRE((parse_head("GET / HTTP/1.0\r\n\r\n", r, used) == head_status::complete));
  BOOST_TEST(!r.keep_alive);
  BOOST_REQUIRE((parse_head("GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", r, used)
                 == head_status::complete));
  BOOST_TEST(r.keep_alive);
  BOOST_REQUIRE((parse_head("GET / HTTP/1.1\nContent-Length: 3\n\n", r, used)
                 == head_status::complete)); // bare LF line ends
  BOOST_TEST(r.has_body);
}

BOOST_AUTO_TEST_CASE(what_is_not_a_request_head_is_bad_and_an_endless_one_too_large) {
  http_request r;
  size_t used = 0;
  for (const char* bad : {"HELLO\r\n\r\n", "GET /x\r\n\r\n", "GET x HTTP/1.1\r\n\r\n",
                          "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\nno colon\r\n\r\n",
                          "\x16\x03\x01 / HTTP/1.1\r\n\r\n"})
    BOOST_TEST((parse_head(bad, r, used) == head_status::bad), bad);
  std::string endless = "GET / HTTP/1.1\r\n" + std::string(max_head_bytes, 'x');
  BOOST_TEST((parse_head(endless, r, used) == head_status::too_large));
}

BOOST_AUTO_TEST_CASE(responses_carry_length_and_connection_and_head_has_no_body) {
  auto full = http_response(200, "application/json", "{}", true, false);
  BOOST_TEST(full == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                     "Connection: keep-alive\r\n\r\n{}");
  auto head = http_response(503, "application/json", "{}", false, true);
  BOOST_TEST(head.find("Content-Length: 2\r\n") != std::string::npos);
  BOOST_TEST(head.find("Connection: close\r\n\r\n") == head.size() - 21);
}

// -- the connection book ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_new_connection_beyond_capacity_evicts_the_oldest_deadline) {
  connection_book book{3, 2000ms};
  connection_book::clock::time_point t0{};
  BOOST_TEST(book.admit(10, "10.0.0.1", t0).empty());
  BOOST_TEST(book.admit(11, "10.0.0.1", t0 + 1ms).empty());
  BOOST_TEST(book.admit(12, "10.0.0.1", t0 + 2ms).empty());
  book.answered(10, t0 + 3ms); // 10 was answered: its deadline is now the latest
  BOOST_TEST(book.admit(13, "10.0.0.1", t0 + 4ms) == std::vector<int>{11});
  BOOST_TEST(book.admit(14, "10.0.0.1", t0 + 5ms) == std::vector<int>{12});
  BOOST_TEST(book.open() == 3u);
}

BOOST_AUTO_TEST_CASE(a_flood_from_one_address_only_evicts_its_own_connections) {
  connection_book book{4, 2000ms};
  connection_book::clock::time_point t0{};
  BOOST_TEST(book.admit(1, "10.0.0.9", t0).empty()); // the probe: the oldest deadline of all
  for (int fd = 2; fd <= 4; ++fd)
    BOOST_TEST(book.admit(fd, "10.0.0.66", t0 + std::chrono::milliseconds{fd}).empty());
  // 1,000 connections from the flooding address go through three slots; the probe stays.
  std::vector<int> evicted;
  for (int fd = 5; fd < 1005; ++fd)
    for (int e : book.admit(fd, "10.0.0.66", t0 + std::chrono::milliseconds{fd}))
      evicted.push_back(e);
  BOOST_TEST(evicted.size() == 1000u);
  BOOST_TEST((std::find(evicted.begin(), evicted.end(), 1) == evicted.end()));
  BOOST_TEST(book.open() == 4u);
  // The flooder's oldest went first, in order.
  BOOST_TEST(evicted.front() == 2);
  BOOST_TEST(evicted[1] == 3);
}

BOOST_AUTO_TEST_CASE(between_addresses_the_one_holding_most_gives_way_then_the_oldest) {
  connection_book book{4, 2000ms};
  connection_book::clock::time_point t0{};
  book.admit(1, "a", t0);
  book.admit(2, "b", t0 + 1ms);
  book.admit(3, "b", t0 + 2ms);
  book.admit(4, "c", t0 + 3ms);
  // "b" holds two: its oldest goes, though "a" waited longer.
  BOOST_TEST(book.admit(5, "d", t0 + 4ms) == std::vector<int>{2});
  // Now each holds one; the newcomer's own address counts it: "a" again makes two of "a".
  BOOST_TEST(book.admit(6, "a", t0 + 5ms) == std::vector<int>{1});
  // Four addresses with one each and a fifth arrives: the oldest deadline goes ("b"'s 3).
  BOOST_TEST(book.admit(7, "e", t0 + 6ms) == std::vector<int>{3});
  BOOST_TEST(book.open() == 4u);
}

BOOST_AUTO_TEST_CASE(deadlines_pass_whatever_trickles_in_and_reset_after_an_answer) {
  connection_book book{10, 2000ms};
  connection_book::clock::time_point t0{};
  book.admit(5, "p", t0);
  book.admit(6, "p", t0 + 500ms);
  BOOST_TEST(book.expired(t0 + 1999ms).empty()); // bytes arriving do not move a deadline
  BOOST_TEST(book.expired(t0 + 2000ms) == std::vector<int>{5});
  book.answered(6, t0 + 2400ms);
  BOOST_TEST(book.expired(t0 + 2500ms).empty());
  BOOST_TEST((*book.next_deadline() == t0 + 4400ms));
  book.forget(6);
  BOOST_TEST(!book.next_deadline().has_value());
  book.answered(6, t0 + 5s); // a closed connection stays closed
  BOOST_TEST(book.open() == 0u);
}

// -- the server over loopback ---------------------------------------------------------------------

namespace {

/// A connection to 127.0.0.1:port from `source` (another loopback address stands for another
/// host).
int connect_to(uint16_t port, const char* source = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0}; // no test waits for ever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  BOOST_REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

/// Reads until the peer closes, or until `bytes` have come; "" on a receive timeout.
std::string read_some(int fd, size_t bytes = 1 << 20) {
  std::string out;
  char buf[4096];
  while (out.size() < bytes) {
    auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ask(uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  auto out = read_some(fd);
  close(fd);
  return out;
}

std::unique_ptr<probe_server> serve(probe_server::limits l = {}) {
  auto s = probe_server::start(
    "127.0.0.1", 0,
    [](const std::string& path) {
      if (path == "/health")
        return probe_server::response{200, "application/json", R"({"status":"HEALTHY"})"};
      return probe_server::response{404, "text/plain", "no\n"};
    },
    l);
  BOOST_REQUIRE(s);
  return std::move(*s);
}

} // namespace

BOOST_AUTO_TEST_CASE(get_head_unknown_paths_and_other_methods) {
  auto s = serve();
  auto ok = ask(s->port(), "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  BOOST_TEST(ok.find("HTTP/1.1 200 OK\r\n") == 0u);
  BOOST_TEST(ok.substr(ok.size() - 20) == R"({"status":"HEALTHY"})");
  auto head = ask(s->port(), "HEAD /health HTTP/1.0\r\n\r\n");
  BOOST_TEST(head.find("200 OK") != std::string::npos);
  BOOST_TEST(head.find("HEALTHY") == std::string::npos);
  BOOST_TEST(ask(s->port(), "GET /nope HTTP/1.0\r\n\r\n").find("404") == 9u);
  auto post = ask(s->port(), "POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  BOOST_TEST(post.find("405 Method Not Allowed") == 9u);
  BOOST_TEST(post.find("Allow: GET, HEAD") != std::string::npos);
  BOOST_TEST(ask(s->port(), "garbage\r\n\r\n").find("400 Bad Request") == 9u);
}

BOOST_AUTO_TEST_CASE(one_connection_serves_several_requests_with_keep_alive) {
  auto s = serve();
  int fd = connect_to(s->port());
  auto want = http_response(200, "application/json", R"({"status":"HEALTHY"})", true, false);
  for (int i = 0; i < 3; ++i) {
    std::string req = "GET /health HTTP/1.1\r\n\r\n";
    send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    BOOST_TEST(read_some(fd, want.size()) == want, "request " << i);
  }
  close(fd);
}

BOOST_AUTO_TEST_CASE(a_slow_client_is_closed_at_its_deadline_and_a_probe_gets_through_meanwhile) {
  auto s = serve({.capacity = 64, .head_timeout = 300ms});
  int slow = connect_to(s->port());
  auto t0 = std::chrono::steady_clock::now();
  std::string partial = "GET /health HTTP/1.1\r\nX-Slow: ";
  send(slow, partial.data(), partial.size(), MSG_NOSIGNAL);
  BOOST_TEST(ask(s->port(), "GET /health HTTP/1.0\r\n\r\n").find("200 OK") == 9u);
  for (int i = 0; i < 10; ++i) { // a byte every 50 ms: does not move the deadline
    std::this_thread::sleep_for(50ms);
    send(slow, "a", 1, MSG_NOSIGNAL);
  }
  auto rest = read_some(slow); // returns when the server closes
  auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(rest.empty());
  BOOST_TEST(waited >= 300ms);
  BOOST_TEST(waited < 2s);
  BOOST_TEST(s->dropped() >= 1u);
  close(slow);
}

BOOST_AUTO_TEST_CASE(idle_connections_beyond_capacity_are_evicted_and_probes_still_answered) {
  auto s = serve({.capacity = 4, .head_timeout = 10s});
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i)
    idle.push_back(connect_to(s->port()));
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(ask(s->port(), "GET /health HTTP/1.0\r\n\r\n").find("200 OK") == 9u);
  // Every idle connection but the newest few was closed to make room: they read end of stream.
  size_t closed = 0;
  for (int fd : idle) {
    timeval tv{0, 200'000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    if (recv(fd, &c, 1, 0) == 0)
      ++closed;
    close(fd);
  }
  BOOST_TEST(closed >= 16u);
  BOOST_TEST(s->dropped() >= 16u);
}

BOOST_AUTO_TEST_CASE(a_probe_that_has_not_sent_yet_outlasts_a_flood_from_another_address) {
  auto s = serve({.capacity = 4, .head_timeout = 10s});
  int probe = connect_to(s->port()); // connected, its request not sent yet
  // Make sure the server has accepted it before the flood starts.
  BOOST_TEST(ask(s->port(), "GET /health HTTP/1.0\r\n\r\n").find("200 OK") == 9u);
  std::vector<int> flood;
  for (int i = 0; i < 200; ++i)
    flood.push_back(connect_to(s->port(), "127.0.0.2"));
  // The server cycles the 200 through the 3 slots beside the waiting probe: 197 evicted.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (s->dropped() < 197u && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  BOOST_TEST(s->dropped() == 197u);
  std::string req = "GET /health HTTP/1.0\r\n\r\n";
  send(probe, req.data(), req.size(), MSG_NOSIGNAL);
  BOOST_TEST(read_some(probe).find("200 OK") == 9u);
  close(probe);
  for (int fd : flood)
    close(fd);
}
