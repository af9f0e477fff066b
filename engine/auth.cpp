#include "engine/auth.hpp"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util/base64url.hpp"
#include "engine/dev_engine.hpp"
#include "util/ids.hpp"
#include "util/utc_time.hpp"

namespace hatchet::engine {

namespace {

constexpr size_t max_cached_tokens = 256;
constexpr int64_t token_lifetime_s = 90LL * 24 * 3600;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y)
      return false;
  }
  return true;
}

/// Constant-time comparison; an empty `expected` (HMAC failed) never matches.
bool same_mac(const std::string& given, const std::string& expected) {
  return !expected.empty() && given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

/// At most 64 characters of `text`, for quoting a client's value in a refusal.
std::string excerpt(const std::string& text) {
  return text.size() <= 64 ? text : text.substr(0, 61) + "...";
}

token_verdict expired_verdict(int64_t exp) {
  return {token_verdict::kind::expired, "the token expired at " + util::utc_seconds_text(exp)};
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

/// mkdir -p with mode 0700 for what it creates; "" or what went wrong.
std::string make_dirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/')
      continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return "cannot create the data directory " + prefix + ": " + std::strerror(errno);
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return "the data directory " + dir + " is not a directory";
  return {};
}

/// Reads an existing secret file after checking whose it is and who may read it; "" or what is
/// wrong with it, saying what to do.
std::string read_secret(int fd, const std::string& path, std::string& secret) {
  struct stat st{};
  if (::fstat(fd, &st) != 0)
    return "cannot stat the secret file " + path + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode))
    return "the secret file " + path + " is not a regular file";
  if (st.st_nlink != 1)
    return "the secret file " + path + " has " + std::to_string(st.st_nlink) +
           " links; it must have exactly one: delete it to have a new secret made";
  if (st.st_uid != ::geteuid())
    return "the secret file " + path + " belongs to another user (uid " +
           std::to_string(st.st_uid) + "); give --data-dir DIR or --secret S";
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return "the secret file " + path + " has permissions " + mode +
           "; it must be readable by its owner only (0600): run 'chmod 600 " + path +
           "', or delete it to have a new secret made if others may have read it";
  }
  constexpr size_t max_secret_bytes = 4096;
  std::string text(max_secret_bytes + 1, '\0');
  size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return "cannot read the secret file " + path + ": " + std::strerror(errno);
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
    if (got == text.size())
      return "the secret file " + path + " is larger than " + std::to_string(max_secret_bytes) +
             " bytes; is it the right file?";
  }
  text.resize(got);
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return "the secret file " + path +
           " is empty; delete it to have a new secret made, or write a secret into it";
  auto last = text.find_last_not_of(" \t\r\n");
  secret = text.substr(first, last - first + 1);
  return {};
}

/// "http://<host>:<port + 1>" for "<host>:<port>" (the command line's default REST port).
std::string default_server_url(const std::string& grpc_address) {
  auto colon = grpc_address.rfind(':');
  if (colon != std::string::npos && colon + 1 < grpc_address.size() &&
      grpc_address.size() - colon - 1 <= 5 &&
      grpc_address.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    int port = std::stoi(grpc_address.substr(colon + 1));
    if (port < 65535)
      return "http://" + grpc_address.substr(0, colon + 1) + std::to_string(port + 1);
  }
  return "http://" + grpc_address;
}

} // namespace

std::string hs256_signature(std::string_view secret, std::string_view signing_input) {
  return util::base64url_encode(hmac_sha256(secret, signing_input));
}

std::string mint_token(const engine_options& opts, const std::string& grpc_address,
                       const std::string& server_url) {
  const nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  const int64_t now = unix_now();
  const nlohmann::json payload = {
    {"sub", opts.tenant_id},
    {"server_url", server_url.empty() ? default_server_url(grpc_address) : server_url},
    {"grpc_broadcast_address", grpc_address},
    {"iat", now},
    {"exp", now + token_lifetime_s},
    {"token_id", util::new_uuid()},
  };
  std::string signing_input =
    util::base64url_encode(header.dump()) + "." + util::base64url_encode(payload.dump());
  std::string signature = hs256_signature(opts.secret, signing_input);
  return signing_input + "." + signature;
}


token_verifier::token_verifier(std::string secret, std::string tenant_id)
  : secret_(std::move(secret)), tenant_id_(std::move(tenant_id)) {}

token_verdict token_verifier::check_header(std::string_view value) const {
  using kind = token_verdict::kind;
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty())
    return {kind::missing, "no authorization header (expected 'authorization: Bearer <token>')"};
  // "<scheme> <token>" with any amount of spaces after the scheme.
  auto space = value.find(' ');
  auto scheme = value.substr(0, space);
  if (!iequals(scheme, "bearer"))
    return {kind::missing, "the authorization header is not 'Bearer <token>'"};
  auto token = space == std::string_view::npos ? std::string_view{} : value.substr(space);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  if (token.empty())
    return {kind::missing, "the bearer token is empty"};
  return check_token(token);
}

token_verdict token_verifier::check_token(std::string_view token) const {
  const int64_t now = unix_now();
  std::optional<int64_t> cached;
  {
    std::lock_guard lk{mu_};
    if (auto it = cache_.find(std::string{token}); it != cache_.end())
      cached = it->second;
  }
  if (cached)
    return *cached > now ? token_verdict{} : expired_verdict(*cached);
  int64_t exp = 0;
  auto verdict = verify_uncached(token, exp);
  if (!verdict)
    return verdict;
  if (exp <= now)
    return expired_verdict(exp);
  std::lock_guard lk{mu_};
  if (cache_.size() >= max_cached_tokens)
    cache_.clear();
  cache_.emplace(std::string{token}, exp);
  return {};
}

token_verdict token_verifier::verify_uncached(std::string_view token, int64_t& exp) const {
  using kind = token_verdict::kind;
  auto malformed = [](std::string what) {
    return token_verdict{kind::malformed, "malformed token: " + std::move(what)};
  };
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return malformed("not a JWT (expected three base64url parts separated by '.')");
  auto header_text = util::base64url_decode(token.substr(0, dot1));
  if (!header_text)
    return malformed("the header is not valid base64url");
  auto payload_text = util::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload_text)
    return malformed("the payload is not valid base64url");
  auto given = util::base64url_decode(token.substr(dot2 + 1));
  if (!given)
    return malformed("the signature is not valid base64url");
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (!header.is_object())
    return malformed("the header is not a JSON object");
  auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!payload.is_object())
    return malformed("the payload is not a JSON object");
  // Only HS256: never let the token pick a weaker algorithm (or "none").
  if (auto alg = header.find("alg"); alg == header.end() || *alg != "HS256")
    return malformed("alg must be \"HS256\", not " +
                     (alg == header.end() ? std::string{"absent"} : excerpt(alg->dump())));
  auto sub = payload.find("sub");
  if (sub == payload.end() || !sub->is_string())
    return malformed("no string \"sub\" claim (the tenant id)");
  auto e = payload.find("exp");
  if (e == payload.end() || !e->is_number())
    return malformed("no numeric \"exp\" claim");

  // Claims are trusted only once the signature holds, so it is checked before them.
  auto signing_input = token.substr(0, dot2);
  if (!same_mac(*given, hmac_sha256(secret_, signing_input))) {
    if (same_mac(*given, hmac_sha256(old_public_dev_secret, signing_input)))
      return {kind::bad_signature,
              "the token was not signed by this engine: it was signed with the old public "
              "development secret, which no engine accepts any more (mint a new one with "
              "'hatchet-dev-engine token')"};
    return {kind::bad_signature,
            "the token was not signed by this engine (another engine's or a forged token)"};
  }
  if (sub->get<std::string>() != tenant_id_)
    return {kind::other_tenant, "the token is for another tenant (" +
                                  excerpt(sub->get<std::string>()) +
                                  "); this engine serves tenant " + tenant_id_};
  if (e->is_number_integer()) {
    exp = e->is_number_unsigned() && e->get<uint64_t>() > uint64_t{INT64_MAX}
            ? INT64_MAX
            : e->get<int64_t>();
  } else {
    double d = e->get<double>();
    exp = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(d);
  }
  return {};
}

std::string random_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    while (fd >= 0 && got < sizeof bytes) {
      ssize_t n = ::read(fd, bytes + got, sizeof bytes - got);
      if (n <= 0 && errno != EINTR)
        break;
      if (n > 0)
        got += static_cast<size_t>(n);
    }
    if (fd >= 0)
      ::close(fd);
    if (got < sizeof bytes)
      throw std::runtime_error("no randomness for a secret: RAND_bytes and /dev/urandom failed");
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * sizeof bytes);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

secret_file load_or_create_secret(const std::string& dir_in) {
  secret_file out;
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  if (dir.empty()) {
    out.error = "no data directory for the dev engine's secret (set XDG_DATA_HOME or HOME, or "
                "give --data-dir DIR or --secret S)";
    return out;
  }
  out.path = dir + "/secret";
  if (auto err = make_dirs(dir); !err.empty()) {
    out.error = err;
    return out;
  }
  // A few rounds: a file that vanishes between our failed link and our open (someone deleting
  // it meanwhile) is made again.
  for (int round = 0; round < 3; ++round) {
    // Not through a link: in a directory others can write, one could point 'secret' at a file
    // of ours whose contents they know.
    int fd = ::open(out.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      out.error = read_secret(fd, out.path, out.secret);
      ::close(fd);
      if (!out.error.empty())
        out.secret.clear();
      return out;
    }
    if (errno != ENOENT) {
      out.error = "cannot open the secret file " + out.path + ": " + std::strerror(errno);
      return out;
    }
    // Write the whole file under a name nobody else uses, then move it into place: that fails
    // with EEXIST if another process won, and no one ever sees a partial file.
    std::string secret = random_secret();
    std::string tmp =
      dir + "/.secret." + std::to_string(::getpid()) + "." + random_secret().substr(0, 12);
    int t = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (t < 0) {
      out.error = "cannot create a file in " + dir + ": " + std::strerror(errno);
      return out;
    }
    std::string text = secret + "\n";
    bool written = ::fchmod(t, 0600) == 0 && write_all(t, text) && ::fsync(t) == 0;
    int write_errno = errno;
    ::close(t);
    if (!written) {
      ::unlink(tmp.c_str());
      out.error = "cannot write the secret file " + tmp + ": " + std::strerror(write_errno);
      return out;
    }
    // Moved into place without replacing: no one ever sees the file with a second name (a
    // reader checks that it has exactly one). link() then unlink() where the file system cannot.
    int linked = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.path.c_str(), RENAME_NOREPLACE);
    int link_errno = errno;
    if (linked != 0 && (link_errno == EINVAL || link_errno == ENOSYS)) {
      linked = ::link(tmp.c_str(), out.path.c_str());
      link_errno = errno;
    }
    ::unlink(tmp.c_str()); // gone already after a rename
    if (linked == 0) {
      out.secret = std::move(secret);
      out.created = true;
      return out;
    }
    if (link_errno != EEXIST) {
      out.error = "cannot create the secret file " + out.path + ": " + std::strerror(link_errno) +
                  " (give --data-dir DIR on a file system with hard links, or --secret S)";
      return out;
    }
  }
  out.error = "the secret file " + out.path + " keeps disappearing; is something deleting it?";
  return out;
}

std::string default_data_dir(const char* xdg_data_home, const char* home) {
  // The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
  if (xdg_data_home != nullptr && xdg_data_home[0] == '/')
    return std::string{xdg_data_home} + "/hatchet-dev-engine";
  if (home != nullptr && home[0] != '\0')
    return std::string{home} + "/.local/share/hatchet-dev-engine";
  return {};
}

std::string default_data_dir() {
  const char* home = std::getenv("HOME");
  std::string from_passwd;
  if (home == nullptr || home[0] == '\0') {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
        found->pw_dir != nullptr)
      from_passwd = found->pw_dir;
    home = from_passwd.c_str();
  }
  return default_data_dir(std::getenv("XDG_DATA_HOME"), home);
}

} // namespace hatchet::engine
