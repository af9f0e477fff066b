#include "client/tls_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <mutex>
#include <condition_variable>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "util/x509_names.hpp"

namespace hatchet::rpc {

namespace {

using steady = std::chrono::steady_clock;
using kind = tls_diagnosis::kind;

struct ctx_free {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

class socket_fd {
public:
  explicit socket_fd(int fd = -1) noexcept : fd_(fd) {}
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const noexcept { return fd_; }

private:
  int fd_;
};

/// OpenSSL writes with write(2): a write to a connection the engine has already closed raises
/// SIGPIPE, which would end the process. Blocked on this thread for the probe, and a SIGPIPE it
/// raised meanwhile is taken off the pending set before the mask is restored.
class sigpipe_guard {
public:
  sigpipe_guard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;
  ~sigpipe_guard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

int ms_left(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// "host:port" or "[v6]:port" into its parts (brackets dropped); false if there is no port.
bool split_host_port(const std::string& host_port, std::string& host, std::string& port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon + 1 == host_port.size())
    return false;
  host = host_port.substr(0, colon);
  port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return !host.empty();
}

/// getaddrinfo, bounded by the deadline: it has no timeout of its own (a slow resolver can take
/// many seconds), so it runs on a thread of its own that is left behind when the deadline passes.
/// The list (free it with freeaddrinfo), or nullptr and `error`.
addrinfo* resolve_within(const std::string& host, const std::string& port,
                         steady::time_point deadline, std::string& error) {
  struct lookup {
    std::mutex mtx;
    std::condition_variable cv;
    bool done = false;
    bool abandoned = false;
    int rc = 0;
    addrinfo* found = nullptr;
  };
  auto l = std::make_shared<lookup>();
  std::thread{[l, host, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    std::lock_guard lock{l->mtx};
    if (l->abandoned) {
      if (rc == 0)
        freeaddrinfo(found);
      return;
    }
    l->rc = rc;
    l->found = found;
    l->done = true;
    l->cv.notify_all();
  }}.detach();
  std::unique_lock lock{l->mtx};
  if (!l->cv.wait_until(lock, deadline, [&] { return l->done; })) {
    l->abandoned = true;
    error = "resolving " + host + " took longer than the probe's time";
    return nullptr;
  }
  if (l->rc != 0) {
    error = std::string{"cannot resolve "} + host + ": " + gai_strerror(l->rc);
    return nullptr;
  }
  return l->found;
}

/// A non-blocking socket connected to host:port within the deadline, or -1 and `error`.
int connect_within(const std::string& host, const std::string& port,
                   steady::time_point deadline, std::string& error) {
  addrinfo* found = resolve_within(host, port, deadline, error);
  if (found == nullptr)
    return -1;
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list{found, freeaddrinfo};
  error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      return fd;
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, ms_left(deadline)) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0)
          return fd;
        error = std::strerror(err);
      } else {
        error = "timed out";
      }
    } else {
      error = std::strerror(errno);
    }
    ::close(fd);
  }
  return -1;
}

/// The outcome of one SSL_* call driven to completion on a non-blocking socket.
struct io_result {
  bool ok = false;
  bool timed_out = false;
  bool closed = false;      ///< the engine closed the connection without an alert
  unsigned long error = 0;  ///< OpenSSL's last error (0: none)
  std::string text;         ///< OpenSSL's reason text, or the system error
};

template <class Op>
io_result drive(SSL* ssl, int fd, steady::time_point deadline, Op op) {
  io_result r;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int rc = op();
    if (rc > 0) {
      r.ok = true;
      return r;
    }
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      pollfd p{fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      int left = ms_left(deadline);
      if (left == 0 || ::poll(&p, 1, left) <= 0) {
        r.timed_out = true;
        r.text = "timed out";
        return r;
      }
      continue;
    }
    r.error = ERR_peek_last_error();
    if (r.error != 0 && ERR_GET_LIB(r.error) == ERR_LIB_SSL &&
        ERR_GET_REASON(r.error) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      r.closed = true; // OpenSSL 3's words for a close without an alert
      r.text = "the engine closed the connection";
    } else if (r.error != 0) {
      const char* reason = ERR_reason_error_string(r.error);
      r.text = reason != nullptr ? reason : "unknown OpenSSL error";
    } else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
      r.closed = true;
      r.text = "the engine closed the connection";
    } else {
      r.text = errno != 0 ? std::strerror(errno) : "the connection failed";
      r.closed = errno == ECONNRESET || errno == EPIPE;
    }
    ERR_clear_error();
    return r;
  }
}

bool is_alert(unsigned long error) {
  return error != 0 && ERR_GET_LIB(error) == ERR_LIB_SSL &&
         ERR_GET_REASON(error) >= SSL_AD_REASON_OFFSET;
}

bool is_plaintext_answer(unsigned long error) {
  if (error == 0 || ERR_GET_LIB(error) != ERR_LIB_SSL)
    return false;
  int reason = ERR_GET_REASON(error);
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNEXPECTED_RECORD;
}


/// The kind of a certificate verification failure.
kind verify_verdict(long verify) {
  switch (verify) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return kind::name_mismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return kind::untrusted;
    default:
      return kind::invalid_certificate;
  }
}

/// Set by the certificate callback: the engine sent a CertificateRequest.
int cert_requested_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int note_cert_request(SSL* ssl, void*) {
  SSL_set_ex_data(ssl, cert_requested_index(), reinterpret_cast<void*>(1));
  return 1;
}

bool cert_requested(SSL* ssl) {
  return SSL_get_ex_data(ssl, cert_requested_index()) != nullptr;
}

/// The engine ended a connection that had asked for a client certificate: which of the two.
tls_diagnosis client_cert_verdict(const config& cfg, tls_diagnosis d, const io_result& r) {
  d.what = cfg.tls == tls_strategy::mtls ? kind::client_cert_refused : kind::client_cert_required;
  d.detail = r.text;
  return d;
}

tls_diagnosis probe(const config& cfg, steady::time_point deadline) {
  tls_diagnosis d;
  d.server_name = tls_server_name(cfg);
  std::string host;
  std::string port;
  if (!split_host_port(cfg.host_port, host, port)) {
    d.what = kind::other;
    d.detail = "no port in '" + cfg.host_port + "'";
    return d;
  }

  std::unique_ptr<SSL_CTX, ctx_free> ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) {
    d.what = kind::other;
    d.detail = "OpenSSL cannot make a TLS context";
    return d;
  }
  // Verification must not stop the handshake: its result is what this probe reads.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (!cfg.tls_root_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), cfg.tls_root_ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      d.what = kind::unusable_files;
      d.detail = "HATCHET_CLIENT_TLS_ROOT_CA_FILE (" + cfg.tls_root_ca_file +
                 ") holds no PEM certificate OpenSSL can read";
      return d;
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx.get());
  }
  if (cfg.tls == tls_strategy::mtls &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), cfg.tls_cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(ctx.get()) != 1)) {
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    d.what = kind::unusable_files;
    d.detail = "the client certificate HATCHET_CLIENT_TLS_CERT_FILE (" + cfg.tls_cert_file +
               ") and key HATCHET_CLIENT_TLS_KEY_FILE (" + cfg.tls_key_file +
               ") cannot be used: " +
               (e != 0 && ERR_reason_error_string(e) != nullptr ? ERR_reason_error_string(e)
                                                                 : "unreadable");
    return d;
  }
  SSL_CTX_set_cert_cb(ctx.get(), note_cert_request, nullptr);
  static const unsigned char alpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), alpn, sizeof alpn);

  std::string connect_error;
  socket_fd fd{connect_within(host, port, deadline, connect_error)};
  if (fd.get() < 0) {
    d.what = kind::unreachable;
    d.detail = connect_error;
    return d;
  }
  std::unique_ptr<SSL, ssl_free> ssl{SSL_new(ctx.get())};
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) {
    d.what = kind::other;
    d.detail = "OpenSSL cannot use the socket";
    return d;
  }
  if (is_ip_address(d.server_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), d.server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), d.server_name.c_str());
    SSL_set1_host(ssl.get(), d.server_name.c_str());
  }

  auto hs = drive(ssl.get(), fd.get(), deadline, [&] { return SSL_connect(ssl.get()); });
  std::unique_ptr<X509, x509_free> peer{SSL_get1_peer_certificate(ssl.get())};
  if (peer)
    d.certificate_names = util::certificate_names(peer.get());
  if (cfg.tls == tls_strategy::none) {
    d.what = hs.ok || peer || cert_requested(ssl.get()) ? kind::speaks_tls : kind::other;
    d.detail = hs.text;
    return d;
  }
  if (!hs.ok) {
    if (is_plaintext_answer(hs.error)) {
      d.what = kind::not_tls;
      d.detail = hs.text;
    } else if (cert_requested(ssl.get()) && (is_alert(hs.error) || hs.closed)) {
      return client_cert_verdict(cfg, d, hs); // TLS 1.2 refuses during the handshake
    } else {
      d.what = hs.timed_out ? kind::unreachable : kind::other;
      d.detail = hs.text;
    }
    return d;
  }

  long verify = SSL_get_verify_result(ssl.get());
  if (verify != X509_V_OK) {
    d.what = verify_verdict(verify);
    d.detail = X509_verify_cert_error_string(verify);
    return d;
  }

  // TLS 1.3: the engine checks the client's certificate after the client has finished; a refusal
  // arrives as an alert on the first read. Say something (the HTTP/2 preface and an empty
  // SETTINGS frame, as gRPC does) and wait for its first bytes.
  static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
  auto wr = drive(ssl.get(), fd.get(), deadline,
                  [&] { return SSL_write(ssl.get(), preface, sizeof preface - 1); });
  io_result rd = wr;
  if (wr.ok) {
    char buf[256];
    rd = drive(ssl.get(), fd.get(), deadline, [&] { return SSL_read(ssl.get(), buf, sizeof buf); });
  }
  if (rd.ok)
    return d; // accepted
  if (cert_requested(ssl.get()) && !rd.timed_out)
    return client_cert_verdict(cfg, d, rd);
  d.what = rd.timed_out ? kind::accepted : kind::other; // silence is no refusal
  d.detail = rd.text;
  return d;
}

} // namespace

std::string tls_server_name(const config& cfg) {
  if (!cfg.tls_server_name.empty())
    return cfg.tls_server_name;
  std::string host;
  std::string port;
  if (!split_host_port(cfg.host_port, host, port))
    return cfg.host_port;
  return host;
}

tls_diagnosis diagnose_tls(const config& cfg, std::chrono::milliseconds timeout) {
  try {
    sigpipe_guard no_sigpipe;
    return probe(cfg, steady::now() + timeout);
  } catch (const std::exception& e) {
    tls_diagnosis d;
    d.what = kind::other;
    d.detail = e.what();
    return d;
  }
}

} // namespace hatchet::rpc
