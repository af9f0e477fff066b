// The dev engine, part 4: tokens and the secret they are signed with.
#include "engine_harness.hpp"

BOOST_AUTO_TEST_SUITE(auth)

// ---------------------------------------------------------------------------------------------
// Tokens and secrets: every engine has a secret of its own, and a refusal says why.

namespace {

/// GetVersion with `authorization: <auth>` (no metadata at all for nullopt).
grpc::Status get_version(engine_under_test& eng, const std::optional<std::string>& auth) {
  grpc::ClientContext ctx;
  if (auth)
    ctx.AddMetadata("authorization", *auth);
  ctx.set_deadline(std::chrono::system_clock::now() + must_happen);
  GetVersionResponse resp;
  return eng.dispatcher->GetVersion(&ctx, GetVersionRequest{}, &resp);
}

/// "header.payload.signature" with the given (possibly invalid) parts, signed with `secret`.
std::string signed_token(const std::string& secret, const std::string& header_text,
                         const std::string& payload_text) {
  std::string input = hatchet::util::base64url_encode(header_text) + "." +
                      hatchet::util::base64url_encode(payload_text);
  return input + "." + he::hs256_signature(secret, input);
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A fresh directory under TMPDIR (or /tmp), removed with everything in it at the end.
struct temp_dir {
  std::string path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string{base != nullptr && *base != '\0' ? base : "/tmp"} +
                        "/engine-test-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

unsigned file_mode(const std::string& path) {
  struct stat st{};
  BOOST_TEST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

} // namespace

BOOST_AUTO_TEST_CASE(refused_tokens_say_why) {
  engine_under_test eng;
  const auto& o = eng.engine().options();
  auto refused_because = [&](const std::optional<std::string>& auth, const std::string& reason) {
    auto st = get_version(eng, auth);
    BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED, auth.value_or("(none)"));
    // The real engine's words first, then why.
    BOOST_TEST(st.error_message().rfind("invalid auth token: ", 0) == 0, st.error_message());
    BOOST_TEST(st.error_message().find(reason) != std::string::npos,
               "'" << st.error_message() << "' should contain '" << reason << "'");
  };
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  const std::string claims =
    json{{"sub", o.tenant_id}, {"exp", unix_seconds_now() + 3600}}.dump();

  // missing
  refused_because(std::nullopt, "no authorization metadata");
  refused_because("Basic " + eng.token(), "the authorization header is not 'Bearer <token>'");
  refused_because("Bearer", "the bearer token is empty");
  // malformed
  refused_because("Bearer garbage", "malformed token: not a JWT");
  refused_because("Bearer a.b.c.d", "malformed token: not a JWT");
  refused_because("Bearer !!.b.c", "malformed token: the header is not valid base64url");
  refused_because("Bearer " + signed_token(o.secret, "[1]", claims),
                  "malformed token: the header is not a JSON object");
  refused_because("Bearer " + signed_token(o.secret, header, "not json"),
                  "malformed token: the payload is not a JSON object");
  refused_because("Bearer " + signed_token(o.secret, R"({"alg":"none"})", claims),
                  R"(malformed token: alg must be "HS256", not "none")");
  refused_because("Bearer " + signed_token(o.secret, header, json{{"sub", o.tenant_id}}.dump()),
                  R"(malformed token: no numeric "exp" claim)");
  // bad signature: another engine's key, or a forgery
  auto other_engine = o;
  other_engine.secret = he::random_secret();
  refused_because("Bearer " + he::mint_token(other_engine, eng.engine().address()),
                  "the token was not signed by this engine (another engine's or a forged token)");
  refused_because("Bearer " + signed_token("a guess", header, claims),
                  "the token was not signed by this engine (another engine's or a forged token)");
  // another tenant, signed with this engine's key
  auto other_tenant = o;
  other_tenant.tenant_id = "11111111-2222-4333-8444-555555555555";
  refused_because("Bearer " + he::mint_token(other_tenant, eng.engine().address()),
                  "the token is for another tenant (11111111-2222-4333-8444-555555555555); this "
                  "engine serves tenant " + o.tenant_id);
  // expired, with the time
  const std::string expired =
    signed_token(o.secret, header, json{{"sub", o.tenant_id}, {"exp", 1000000000}}.dump());
  refused_because("Bearer " + expired, "the token expired at 2001-09-09T01:46:40Z");

  BOOST_TEST(get_version(eng, "Bearer " + signed_token(o.secret, header, claims)).ok());
  BOOST_TEST(get_version(eng, "Bearer " + eng.token()).ok());

  // The REST API gives the same reasons after the real engine's words (status 403 as before).
  const std::string worker = "/api/v1/workers/00000000-0000-4000-8000-000000000000";
  auto r = http(eng.engine().rest_port(), "GET", worker, "Bearer " + expired);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(json::parse(r.body)["message"] ==
             "Please provide valid credentials: the token expired at 2001-09-09T01:46:40Z");
  r = http(eng.engine().rest_port(), "GET", worker, std::nullopt);
  BOOST_TEST(r.status == 403);
  BOOST_TEST(json::parse(r.body)["message"].get<std::string>().find(
               "Please provide valid credentials: no authorization header") == 0);
}

BOOST_AUTO_TEST_CASE(engines_with_different_secrets_refuse_each_others_tokens) {
  engine_under_test a;
  engine_under_test b;
  BOOST_TEST(a.engine().options().secret != b.engine().options().secret);
  for (auto [self, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    BOOST_TEST(get_version(*self, "Bearer " + self->token()).ok());
    auto st = get_version(*self, "Bearer " + other->token());
    BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    BOOST_TEST(st.error_message().find("not signed by this engine") != std::string::npos,
               st.error_message());
  }
}

BOOST_AUTO_TEST_CASE(no_engine_accepts_the_old_public_development_secret) {
  engine_under_test eng;
  auto old = eng.engine().options();
  old.secret = "hatchet-dev-engine-secret";
  auto st = get_version(eng, "Bearer " + he::mint_token(old, eng.engine().address(),
                                                        eng.engine().rest_address()));
  BOOST_TEST(st.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  BOOST_TEST(st.error_message().find("not signed by this engine") != std::string::npos,
             st.error_message());
  BOOST_TEST(st.error_message().find("old public development secret") != std::string::npos,
             st.error_message());

  // Nor can an engine be made to sign with it, or start without a secret: there is no default.
  BOOST_TEST(he::engine_options{}.secret.empty());
  auto with_old = test_options();
  with_old.secret = "hatchet-dev-engine-secret";
  he::dev_engine e1{with_old};
  auto err = e1.start();
  BOOST_TEST(err.find("old public development secret") != std::string::npos, err);
  BOOST_TEST(e1.port() == 0u);
  auto without = test_options();
  without.secret.clear();
  he::dev_engine e2{without};
  err = e2.start();
  BOOST_TEST(err.find("secret is empty") != std::string::npos, err);
  BOOST_TEST(e2.port() == 0u);
}

BOOST_AUTO_TEST_CASE(the_data_dir_secret_is_made_once_with_mode_0600_and_differs_per_directory) {
  temp_dir root;
  const std::string dir = root.path + "/share/hatchet-dev-engine"; // parents made as needed
  auto first = he::load_or_create_secret(dir);
  BOOST_TEST_REQUIRE(first.error == "");
  BOOST_TEST(first.created);
  BOOST_TEST(first.path == dir + "/secret");
  BOOST_TEST(first.secret.size() == 64u); // 32 random bytes, hex
  BOOST_TEST(first.secret.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(file_mode(first.path) == 0600u);
  BOOST_TEST(file_mode(dir) == 0700u);

  auto again = he::load_or_create_secret(dir + "/");
  BOOST_TEST_REQUIRE(again.error == "");
  BOOST_TEST(!again.created);
  BOOST_TEST(again.secret == first.secret);

  auto elsewhere = he::load_or_create_secret(root.path + "/other");
  BOOST_TEST_REQUIRE(elsewhere.error == "");
  BOOST_TEST(elsewhere.created);
  BOOST_TEST(elsewhere.secret != first.secret);

  // An engine keyed from one directory accepts what `token` mints from the same directory and
  // refuses what it mints from another.
  auto o = test_options();
  o.secret = again.secret;
  engine_under_test eng{o};
  auto same_dir = o;
  same_dir.secret = he::load_or_create_secret(dir).secret;
  auto other_dir = o;
  other_dir.secret = elsewhere.secret;
  BOOST_TEST(get_version(eng, "Bearer " + he::mint_token(same_dir, eng.engine().address())).ok());
  BOOST_TEST(get_version(eng, "Bearer " + he::mint_token(other_dir, eng.engine().address()))
               .error_code() == grpc::StatusCode::UNAUTHENTICATED);
}

BOOST_AUTO_TEST_CASE(a_secret_file_readable_by_others_or_empty_is_an_error) {
  temp_dir root;
  auto made = he::load_or_create_secret(root.path);
  BOOST_TEST_REQUIRE(made.error == "");

  BOOST_TEST_REQUIRE(::chmod(made.path.c_str(), 0644) == 0);
  auto loose = he::load_or_create_secret(root.path);
  BOOST_TEST(loose.secret == "");
  BOOST_TEST(loose.error.find(made.path + " has permissions 0644") != std::string::npos,
             loose.error);
  BOOST_TEST(loose.error.find("chmod 600") != std::string::npos, loose.error);
  BOOST_TEST(file_mode(made.path) == 0644u); // reported, not repaired

  BOOST_TEST_REQUIRE(::chmod(made.path.c_str(), 0600) == 0);
  { std::ofstream{made.path, std::ios::trunc} << "\n"; }
  auto empty = he::load_or_create_secret(root.path);
  BOOST_TEST(empty.secret == "");
  BOOST_TEST(empty.error.find(made.path + " is empty") != std::string::npos, empty.error);
  BOOST_TEST(std::filesystem::file_size(made.path) == 1u); // not overwritten

  // A secret written by hand is used as it is, surrounding whitespace aside.
  { std::ofstream{made.path, std::ios::trunc} << "  my own secret\n"; }
  auto own = he::load_or_create_secret(root.path);
  BOOST_TEST(own.error == "");
  BOOST_TEST(own.secret == "my own secret");
}

BOOST_AUTO_TEST_CASE(concurrent_first_uses_of_a_data_dir_agree_on_one_secret) {
  // Engines of parallel tests may start at the same moment on a fresh machine.
  temp_dir root;
  const std::string dir = root.path + "/d";
  constexpr int n = 8;
  std::vector<he::secret_file> results(n);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      while (!go.load())
        std::this_thread::yield();
      results[static_cast<size_t>(i)] = he::load_or_create_secret(dir);
    });
  go = true;
  for (auto& t : threads)
    t.join();
  int created = 0;
  for (const auto& r : results) {
    BOOST_TEST(r.error == "");
    BOOST_TEST(r.secret == results[0].secret);
    created += r.created ? 1 : 0;
  }
  BOOST_TEST(created == 1);
  // Only the secret is left: no temporary files.
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  BOOST_TEST(names == std::vector<std::string>{"secret"});
}

BOOST_AUTO_TEST_CASE(the_default_data_dir_is_xdg_data_home_else_home_local_share) {
  BOOST_TEST(he::default_data_dir("/x/data", "/home/u") == "/x/data/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir(nullptr, "/home/u") ==
             "/home/u/.local/share/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir("", "/home/u") == "/home/u/.local/share/hatchet-dev-engine");
  // The XDG spec: a relative XDG_DATA_HOME is ignored.
  BOOST_TEST(he::default_data_dir("data", "/home/u") == "/home/u/.local/share/hatchet-dev-engine");
  BOOST_TEST(he::default_data_dir(nullptr, nullptr) == "");
  BOOST_TEST(he::load_or_create_secret("").error.find("no data directory") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
