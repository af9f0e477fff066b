// The dev engine, part 3: the rules for workers: Register, heartbeats, the REST API (pausing),
// TLS and mutual TLS, the activation delay.
#include "engine_harness.hpp"

BOOST_AUTO_TEST_SUITE(workers)

// ---------------------------------------------------------------------------------------------
// Conformance with the real engine (each case is a row of engine/README.md's table)


BOOST_AUTO_TEST_CASE(register_accepts_only_go_python_typescript_ruby_as_a_present_language) {
  // pkg/repository/worker.go CreateNewWorker: "invalid sdk: <value>", a plain error the gRPC
  // error interceptor turns into INTERNAL. An absent language (or runtime_info) is fine.
  engine_under_test eng;
  auto reg = [&](bool with_runtime_info, std::optional<int> language) {
    WorkerRegisterRequest req;
    req.set_worker_name("lang-worker");
    req.add_actions("wf:t");
    if (with_runtime_info) {
      auto* info = req.mutable_runtime_info();
      info->set_sdk_version("0.1.0");
      info->set_extra("hatchet-caf");
      if (language)
        info->set_language(static_cast<SDKS>(*language));
    }
    WorkerRegisterResponse resp;
    return eng.dispatcher->Register(eng.context().get(), req, &resp);
  };
  BOOST_TEST(reg(false, std::nullopt).ok());
  BOOST_TEST(reg(true, std::nullopt).ok());
  for (int language : {GO, PYTHON, TYPESCRIPT, RUBY})
    BOOST_TEST(reg(true, language).ok(), "language " << language);
  auto unknown = reg(true, UNKNOWN);
  BOOST_TEST(unknown.error_code() == grpc::StatusCode::INTERNAL);
  BOOST_TEST(unknown.error_message().find("invalid sdk: UNKNOWN") != std::string::npos);
  auto out_of_range = reg(true, 42);
  BOOST_TEST(out_of_range.error_code() == grpc::StatusCode::INTERNAL);
  BOOST_TEST(out_of_range.error_message().find("invalid sdk: 42") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(register_validates_worker_name_services_and_action_ids) {
  // Register's request validation (INVALID_ARGUMENT): name `required,hatchetName`, each service
  // `hatchetName`, each action an action id (service:verb[:sub], no ';'); no bound on counts.
  engine_under_test eng;
  auto reg = [&](const std::string& name, const std::vector<std::string>& actions,
                 const std::vector<std::string>& services = {}) {
    WorkerRegisterRequest req;
    req.set_worker_name(name);
    for (const auto& a : actions)
      req.add_actions(a);
    for (const auto& svc : services)
      req.add_services(svc);
    WorkerRegisterResponse resp;
    return eng.dispatcher->Register(eng.context().get(), req, &resp).error_code();
  };
  const auto ok = grpc::StatusCode::OK;
  const auto invalid = grpc::StatusCode::INVALID_ARGUMENT;
  BOOST_TEST(reg("w-1.a_b", {"wf:t"}) == ok);
  BOOST_TEST(reg("w", {}) == ok);
  BOOST_TEST(reg("w", {"svc:run:sub"}) == ok);
  BOOST_TEST(reg("w", {"wf:t"}, {"default", "my-svc_1.x"}) == ok);
  BOOST_TEST(reg("", {"wf:t"}) == invalid);
  BOOST_TEST(reg("bad name!", {"wf:t"}) == invalid);
  BOOST_TEST(reg("w", {"wf:t"}, {"bad service"}) == invalid);
  BOOST_TEST(reg("w", {"no-colon"}) == invalid);
  BOOST_TEST(reg("w", {"svc:"}) == invalid);
  BOOST_TEST(reg("w", {"a:b:c:d"}) == invalid);
  BOOST_TEST(reg("w", {"svc:a;svc:b"}) == invalid);
}

BOOST_AUTO_TEST_CASE(workflow_names_are_matched_exactly) {
  // The real engine stores a workflow's name as given and looks it up with `name = @name`; an
  // unknown name on trigger is INVALID_ARGUMENT "workflow names not found: ...".
  engine_under_test eng;
  std::string upper_id, lower_id, again_id;
  BOOST_TEST_REQUIRE(put_with_actions(eng, "CaseWf", {{"t", "casewf:t"}}, &upper_id).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "casewf", {{"t", "lower:t"}}, &lower_id).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "CaseWf", {{"t", "casewf:t"}}, &again_id).ok());
  BOOST_TEST(upper_id != lower_id); // two workflows
  BOOST_TEST(upper_id == again_id); // a new version of the same one
  ready_worker w{eng, "worker", {"casewf:t", "lower:t"}};

  eng.trigger("CaseWf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "casewf:t");
  eng.trigger("casewf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "lower:t");

  std::string id;
  auto st = eng.try_trigger("CASEWF", "{}", id);
  BOOST_TEST(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(st.error_message().find("workflow names not found: CASEWF") != std::string::npos);
  BulkTriggerWorkflowRequest bulk;
  for (const char* name : {"CaseWf", "caseWF"}) {
    auto* r = bulk.add_workflows();
    r->set_name(name);
    r->set_input("{}");
  }
  BulkTriggerWorkflowResponse bulk_resp;
  BOOST_TEST(eng.workflows->BulkTriggerWorkflow(eng.context().get(), bulk, &bulk_resp)
               .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(w.stream.quiet()); // all or nothing: the CaseWf run was not created either
}

BOOST_AUTO_TEST_CASE(action_ids_are_lowercased_as_the_real_engine_stores_them) {
  // Worker actions are stored with LOWER(); a step's action goes through the action-id parser,
  // which lowercases the verb and only the first letter of the service. So "Svcwf:Step" on both
  // sides meets as "svcwf:step", while a step "MixedCase:step" ("mixedCase:step") matches no
  // worker at all, here as on a real engine.
  engine_under_test eng;
  BOOST_TEST_REQUIRE(put_with_actions(eng, "svcwf", {{"step", "Svcwf:STEP"}}).ok());
  BOOST_TEST_REQUIRE(put_with_actions(eng, "mixed", {{"step", "MixedCase:step"}}).ok());
  ready_worker w{eng, "worker", {"SVCWF:Step", "MixedCase:step", "mixedCase:step"}};
  eng.trigger("svcwf");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).action_id() == "svcwf:step");
  auto stranded = eng.trigger("mixed");
  BOOST_TEST(w.stream.quiet());
  BOOST_TEST(eng.details(stranded).status() == v1::QUEUED);
}

BOOST_AUTO_TEST_CASE(malformed_worker_ids_are_invalid_argument_and_unknown_ones_not_found) {
  // Heartbeat, ListenV2 and UpsertWorkerLabels parse the id as a uuid first.
  engine_under_test eng;
  BOOST_TEST(eng.heartbeat("not-a-uuid").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  BOOST_TEST(eng.heartbeat("00000000-0000-4000-8000-000000000000").error_code() ==
             grpc::StatusCode::NOT_FOUND);
  listener stream{eng, "not-a-uuid"};
  auto st = stream.ended();
  BOOST_TEST_REQUIRE(st.has_value());
  BOOST_TEST(st->error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  UpsertWorkerLabelsRequest labels;
  labels.set_worker_id("not-a-uuid");
  UpsertWorkerLabelsResponse labels_resp;
  BOOST_TEST(eng.dispatcher->UpsertWorkerLabels(eng.context().get(), labels, &labels_resp)
               .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

BOOST_AUTO_TEST_CASE(heartbeats_are_accepted_before_the_first_stream_and_refused_after_it_closes) {
  // Heartbeat rejects a worker that has had a listener and is inactive (FAILED_PRECONDITION,
  // "worker stream is not active"); one that never listened is accepted.
  engine_under_test eng;
  auto id = eng.register_worker("worker", {"wf:t"});
  BOOST_TEST(eng.heartbeat(id).ok());
  {
    listener stream{eng, id};
    BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  }
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));
  auto st = eng.heartbeat(id);
  BOOST_TEST(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  BOOST_TEST(st.error_message().find("no active listen stream") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tokens_name_the_rest_api_as_server_url) {
  // The SDKs call the REST API (pausing a worker) on the token's server_url.
  engine_under_test eng;
  const auto rest_port = eng.engine().rest_port();
  BOOST_TEST(rest_port != 0);
  BOOST_TEST(rest_port != eng.engine().port());
  BOOST_TEST(eng.engine().rest_address() == "http://127.0.0.1:" + std::to_string(rest_port));
  auto claims = token_claims(eng.token());
  BOOST_TEST(claims["server_url"] == eng.engine().rest_address());
  BOOST_TEST(claims["grpc_broadcast_address"] == eng.engine().address());
  BOOST_TEST(claims["sub"] == eng.engine().options().tenant_id);
  // without a server_url: the command line's default, the gRPC port + 1
  auto defaulted = token_claims(he::mint_token(eng.engine().options(), "127.0.0.1:7077"));
  BOOST_TEST(defaulted["server_url"] == "http://127.0.0.1:7078");
  BOOST_TEST(defaulted["grpc_broadcast_address"] == "127.0.0.1:7077");
  // and the REST API answers there
  auto r = worker_rest(eng, "GET", "00000000-0000-4000-8000-000000000000");
  BOOST_TEST(r.status == 404);
}

BOOST_AUTO_TEST_CASE(a_paused_worker_gets_no_new_tasks_and_keeps_its_running_ones) {
  // PATCH /api/v1/workers/{worker} {"isPaused": true} answers the Worker (status PAUSED); the
  // assignment query skips paused workers; heartbeats go on; isPaused false makes it eligible.
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  ready_worker w{eng, "worker", {"wf:t"}, 3};
  auto run1 = eng.trigger("wf");
  auto a1 = expect_action(w.stream, START_STEP_RUN);

  auto r = worker_rest(eng, "PATCH", w.id, R"({"isPaused": true})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto worker = json::parse(r.body);
  BOOST_TEST(worker["metadata"]["id"] == w.id);
  BOOST_TEST(worker["metadata"].contains("createdAt"));
  BOOST_TEST(worker["name"] == "worker");
  BOOST_TEST(worker["type"] == "SELFHOSTED");
  BOOST_TEST(worker["status"] == "PAUSED");
  BOOST_TEST(worker["actions"] == json::array({"wf:t"}));
  BOOST_TEST(worker["slotConfig"]["default"]["limit"] == 3);
  BOOST_TEST(worker["slotConfig"]["default"]["available"] == 2);
  BOOST_TEST(worker.contains("lastHeartbeatAt"));
  BOOST_TEST(worker.contains("lastListenerEstablished"));

  auto run2 = eng.trigger("wf");
  BOOST_TEST(w.stream.quiet()); // paused: no new task, though slots are free
  BOOST_TEST(eng.details(run2).status() == v1::QUEUED);
  BOOST_TEST(eng.heartbeat(w.id).ok());                           // heartbeats still accepted
  BOOST_TEST(eng.send(a1, STEP_EVENT_TYPE_COMPLETED, "{}").ok()); // the running task finishes
  BOOST_TEST(eng.details(run1).status() == v1::COMPLETED);
  BOOST_TEST(w.stream.quiet()); // a freed slot does not unpause it
  auto got = worker_rest(eng, "GET", w.id);
  BOOST_TEST_REQUIRE(got.status == 200);
  BOOST_TEST(json::parse(got.body)["status"] == "PAUSED");

  r = worker_rest(eng, "PATCH", w.id, R"({"isPaused": false})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body)["status"] == "ACTIVE");
  auto a2 = expect_action(w.stream, START_STEP_RUN); // what waited goes out at once
  BOOST_TEST(a2.workflow_run_id() == run2);
}

BOOST_AUTO_TEST_CASE(rest_worker_update_answers_400_403_and_404) {
  // The id is checked first (400 "invalid worker id", before authentication as the populator
  // runs first), then the bearer token (403), then the worker (404 here; a real engine answers
  // 500), then the body (400). A body without isPaused changes nothing.
  engine_under_test eng;
  ready_worker w{eng, "worker", {"wf:t"}};
  const std::string body = R"({"isPaused": true})";
  auto r =
    http(eng.engine().rest_port(), "PATCH", "/api/v1/workers/not-a-uuid", std::nullopt, body);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(json::parse(r.body)["message"] == "invalid worker id");

  he::engine_options other_secret = eng.engine().options();
  other_secret.secret = "not-the-engine-secret";
  BOOST_TEST(http(eng.engine().rest_port(), "PATCH", "/api/v1/workers/" + w.id, std::nullopt, body)
               .status == 403);
  BOOST_TEST(worker_rest(eng, "PATCH", w.id, body, "Bearer garbage").status == 403);
  BOOST_TEST(worker_rest(eng, "PATCH", w.id, body,
                         "Bearer " + he::mint_token(other_secret, eng.engine().address()))
               .status == 403);
  BOOST_TEST(worker_rest(eng, "GET", w.id, "", "Bearer garbage").status == 403);

  r = worker_rest(eng, "PATCH", "00000000-0000-4000-8000-000000000000", body);
  BOOST_TEST(r.status == 404);
  BOOST_TEST(json::parse(r.body).contains("message"));

  for (const char* bad : {"", "not json", "[]", "true", R"({"isPaused": "yes"})"}) {
    r = worker_rest(eng, "PATCH", w.id, bad);
    BOOST_TEST(r.status == 400, "body '" << bad << "' answered " << r.status);
  }
  r = worker_rest(eng, "PATCH", w.id, "{}");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(json::parse(r.body)["status"] == "ACTIVE"); // nothing above paused it
}

BOOST_AUTO_TEST_CASE(a_rest_port_in_use_fails_start_and_stop_ends_the_rest_api) {
  engine_under_test eng;
  auto o = test_options();
  o.rest_port = eng.engine().rest_port();
  he::dev_engine second{o};
  auto err = second.start();
  BOOST_TEST(err.find("REST") != std::string::npos, err);
  BOOST_TEST(second.port() == 0u); // its gRPC server did not stay up either

  const auto rest_port = eng.engine().rest_port();
  auto t0 = std::chrono::steady_clock::now();
  eng.engine().stop();
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 2s));
  BOOST_TEST(http(rest_port, "GET", "/api/v1/workers/00000000-0000-4000-8000-000000000000",
                  "Bearer " + eng.token())
               .status == 0); // nothing listens any more

  BOOST_TEST_REQUIRE(eng.engine().start() == ""); // a restart serves REST again
  BOOST_TEST(http(eng.engine().rest_port(), "GET",
                  "/api/v1/workers/00000000-0000-4000-8000-000000000000", "Bearer " + eng.token())
               .status == 404);
}

/// The certificates of tests/make_test_certs.sh, made on first use into a folder of their own
/// that goes when the test program ends.
const std::filesystem::path& test_certs() {
  struct folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("hatchet-engine-test-certs-" + std::to_string(::getpid()));
    folder() {
      std::filesystem::remove_all(path);
      std::string cmd = std::string{HATCHET_MAKE_TEST_CERTS} + " " + path.string();
      BOOST_TEST_REQUIRE(std::system(cmd.c_str()) == 0, "cannot make test certificates: " + cmd);
    }
    ~folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const folder certs;
  return certs.path;
}

/// GetVersion over a channel with `creds` (and the test name override localhost for TLS).
grpc::StatusCode get_version_over(const he::dev_engine& eng,
                                  std::shared_ptr<grpc::ChannelCredentials> creds) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = Dispatcher::NewStub(grpc::CreateCustomChannel(eng.address(), creds, args));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + eng.mint_token());
  ctx.set_deadline(std::chrono::system_clock::now() + must_happen);
  GetVersionResponse resp;
  return stub->GetVersion(&ctx, GetVersionRequest{}, &resp).error_code();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

BOOST_AUTO_TEST_CASE(tls_options_come_in_pairs_and_bad_files_fail_start_naming_them) {
  auto o = test_options();
  o.tls_cert_file = "cert.pem";
  BOOST_TEST(o.validate().find("tls_key_file is not") != std::string::npos, o.validate());
  o.tls_cert_file.clear();
  o.tls_key_file = "key.pem";
  BOOST_TEST(o.validate().find("tls_cert_file is not") != std::string::npos, o.validate());
  o.tls_key_file.clear();
  o.tls_client_ca_file = "ca.pem";
  BOOST_TEST(o.validate().find("tls_client_ca_file (mutual TLS) needs") != std::string::npos);

  const auto& certs = test_certs();
  auto start_error = [](he::engine_options opts) {
    he::dev_engine e{std::move(opts)};
    auto err = e.start();
    BOOST_TEST(e.port() == 0u); // nothing listens after a failed start
    return err;
  };
  o = test_options();
  o.tls_cert_file = (certs / "missing.pem").string();
  o.tls_key_file = (certs / "server.key").string();
  BOOST_TEST(start_error(o) == "cannot read the TLS certificate file '" + o.tls_cert_file +
                                 "': No such file or directory");
  o.tls_cert_file = (certs / "server.key").string(); // a key where the certificate belongs
  BOOST_TEST(start_error(o).find("holds no PEM certificate") != std::string::npos);
  o.tls_cert_file = (certs / "server.pem").string();
  o.tls_key_file = (certs / "client.key").string();
  BOOST_TEST(start_error(o).find("does not belong to the certificate") != std::string::npos);
  o.tls_key_file = (certs / "server.key").string();
  o.tls_client_ca_file = (certs / "server.key").string();
  BOOST_TEST(start_error(o).find("the TLS client CA file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tls_engines_serve_only_tls_and_mtls_ones_require_a_client_certificate) {
  // The real engine serves gRPC over TLS unless told otherwise, and with the mtls strategy
  // requires and verifies a client certificate; tokens of a TLS engine name an https:// REST API.
  const auto& certs = test_certs();
  auto o = test_options();
  o.tls_cert_file = (certs / "server.pem").string();
  o.tls_key_file = (certs / "server.key").string();
  he::dev_engine tls{o};
  BOOST_TEST_REQUIRE(tls.start() == "");
  BOOST_TEST(tls.rest_address() == "https://127.0.0.1:" + std::to_string(tls.rest_port()));
  auto claims = token_claims(tls.mint_token());
  BOOST_TEST(claims["server_url"] == tls.rest_address());
  BOOST_TEST(claims["grpc_broadcast_address"] == tls.address());
  BOOST_TEST(tls.client_settings().find("HATCHET_CLIENT_TLS_STRATEGY=tls") == 0u);
  BOOST_TEST(tls.client_settings().find("SERVER_NAME") == std::string::npos); // for 127.0.0.1

  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = read_text(certs / "ca.pem");
  grpc::SslCredentialsOptions other_ca;
  other_ca.pem_root_certs = read_text(certs / "other_ca.pem");
  grpc::SslCredentialsOptions with_client_cert = trusting;
  with_client_cert.pem_cert_chain = read_text(certs / "client.pem");
  with_client_cert.pem_private_key = read_text(certs / "client.key");

  BOOST_TEST(get_version_over(tls, grpc::SslCredentials(trusting)) == grpc::StatusCode::OK);
  BOOST_TEST(get_version_over(tls, grpc::SslCredentials(other_ca)) ==
             grpc::StatusCode::UNAVAILABLE);
  BOOST_TEST(get_version_over(tls, grpc::InsecureChannelCredentials()) ==
             grpc::StatusCode::UNAVAILABLE);

  o.tls_client_ca_file = (certs / "ca.pem").string();
  he::dev_engine mtls{o};
  BOOST_TEST_REQUIRE(mtls.start() == "");
  BOOST_TEST(mtls.client_settings().find("HATCHET_CLIENT_TLS_STRATEGY=mtls") == 0u);
  BOOST_TEST(get_version_over(mtls, grpc::SslCredentials(with_client_cert)) ==
             grpc::StatusCode::OK);
  BOOST_TEST(get_version_over(mtls, grpc::SslCredentials(trusting)) ==
             grpc::StatusCode::UNAVAILABLE);

  // A certificate for another name: the engine names the server name clients need.
  o.tls_client_ca_file.clear();
  o.tls_cert_file = (certs / "internal.pem").string();
  o.tls_key_file = (certs / "internal.key").string();
  he::dev_engine internal{o};
  BOOST_TEST_REQUIRE(internal.start() == "");
  BOOST_TEST(internal.client_settings().find("HATCHET_CLIENT_TLS_SERVER_NAME=engine.internal") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(activation_delay_keeps_a_new_stream_inactive_for_that_long) {
  // A real engine marks a worker active once its ListenV2 database write lands. Until then: no
  // assignments, and a worker that had an active stream before is refused on Heartbeat.
  auto o = test_options();
  o.activation_delay = 600ms;
  engine_under_test eng{o};
  BOOST_TEST_REQUIRE(eng.put_workflow("wf", {{.name = "t"}}).ok());
  auto id = eng.register_worker("worker", {"wf:t"});
  auto run1 = eng.trigger("wf");
  auto t0 = std::chrono::steady_clock::now();
  auto first = std::make_unique<listener>(eng, id);
  BOOST_TEST_REQUIRE(eng.heartbeat(id).ok()); // never active before: accepted meanwhile
  auto a = first->next();
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 600ms));
  BOOST_TEST(a->workflow_run_id() == run1);
  BOOST_TEST(eng.send(*a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());

  first.reset(); // the stream ends: inactive
  BOOST_TEST_REQUIRE(wait_until_stream_gone(eng, id));
  auto run2 = eng.trigger("wf");
  auto t1 = std::chrono::steady_clock::now();
  listener second{eng, id};
  BOOST_TEST(eng.heartbeat(id).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  BOOST_TEST(!second.next(300ms).has_value());
  BOOST_TEST_REQUIRE(heartbeat_once_listening(eng, id));
  BOOST_TEST((std::chrono::steady_clock::now() - t1 >= 600ms));
  auto b = expect_action(second, START_STEP_RUN);
  BOOST_TEST(b.workflow_run_id() == run2);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// REST: the tenant, task cancel and replay by ids, and routes not served

BOOST_AUTO_TEST_SUITE(rest)

BOOST_AUTO_TEST_CASE(the_tenant_is_a_v1_tenant_with_the_rest_base_url) {
  engine_under_test eng;
  const auto& tenant = eng.engine().options().tenant_id;
  auto bearer = std::optional<std::string>{"Bearer " + eng.token()};
  auto r = http(eng.engine().rest_port(), "GET", "/api/v1/tenants/" + tenant, bearer);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto j = json::parse(r.body);
  BOOST_TEST(j["metadata"]["id"] == tenant);
  BOOST_TEST(j["version"] == "V1");
  BOOST_TEST(j["serverUrl"] == eng.engine().rest_address());
  BOOST_TEST(http(eng.engine().rest_port(), "GET", "/api/v1/tenants/" + tenant, std::nullopt)
               .status == 403);
  BOOST_TEST(http(eng.engine().rest_port(), "GET", "/api/v1/tenants/not-a-uuid", bearer).status
             == 400);
}

BOOST_AUTO_TEST_CASE(cancel_by_ids_over_rest_cancels_the_run_and_tells_the_worker) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("long", {{"step"}}).ok());
  ready_worker w{eng, "w", {"long:step"}};
  auto run = eng.trigger("long");
  auto a = expect_action(w.stream, START_STEP_RUN);
  const auto path =
    "/api/v1/stable/tenants/" + eng.engine().options().tenant_id + "/tasks/cancel";
  auto bearer = std::optional<std::string>{"Bearer " + eng.token()};
  auto r = http(eng.engine().rest_port(), "POST", path, bearer,
                R"({"externalIds":[")" + a.task_run_external_id() + R"("]})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body)["ids"] == json::array({a.task_run_external_id()}));
  auto cancel = expect_action(w.stream, CANCEL_STEP_RUN);
  BOOST_TEST(cancel.task_run_external_id() == a.task_run_external_id());
  BOOST_TEST(eng.details(run).status() == v1::CANCELLED);

  auto filter = http(eng.engine().rest_port(), "POST", path, bearer,
                     R"({"filter":{"since":"2024-05-01T00:00:00Z"}})");
  BOOST_TEST(filter.status == 501);
  BOOST_TEST(filter.body.find("by filter") != std::string::npos, filter.body);
  BOOST_TEST(http(eng.engine().rest_port(), "POST", path, bearer, R"({"externalIds":["x"]})")
               .status == 400);
}

BOOST_AUTO_TEST_CASE(replay_by_ids_over_rest_runs_a_finished_run_again) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("again", {{"step"}}).ok());
  ready_worker w{eng, "w", {"again:step"}};
  auto run = eng.trigger("again");
  auto a = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST_REQUIRE(eng.send(a, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
  auto until = std::chrono::steady_clock::now() + must_happen;
  while (!eng.details(run).done() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  auto r = http(eng.engine().rest_port(), "POST",
                "/api/v1/stable/tenants/" + eng.engine().options().tenant_id + "/tasks/replay",
                std::optional<std::string>{"Bearer " + eng.token()},
                R"({"externalIds":[")" + run + R"("]})");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body)["ids"].size() == 1u);
  auto again = expect_action(w.stream, START_STEP_RUN);
  BOOST_TEST(again.task_run_external_id() == a.task_run_external_id());
  BOOST_TEST(again.retry_count() == 1);
}

BOOST_AUTO_TEST_CASE(a_route_not_served_answers_501_naming_it_never_an_empty_404) {
  engine_under_test eng;
  auto bearer = std::optional<std::string>{"Bearer " + eng.token()};
  const auto target =
    "/api/v1/stable/tenants/" + eng.engine().options().tenant_id + "/workflow-runs";
  auto r = http(eng.engine().rest_port(), "GET", target, bearer);
  BOOST_TEST(r.status == 501);
  BOOST_TEST(r.body.find("GET " + target) != std::string::npos, r.body);
  // A served route's own 404 keeps its answer.
  auto w = worker_rest(eng, "GET", "00000000-0000-4000-8000-000000000000");
  BOOST_TEST(w.status == 404);
  BOOST_TEST(w.body.find("worker not found") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
