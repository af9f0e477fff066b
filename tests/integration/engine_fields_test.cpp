// The dev engine, part 7: nothing accepted and ignored. Every field of every request the engine
// reads has a rule (engine/request_fields.cpp): acted on, informational, or refused by name; the
// methods it does not serve are refused by name. And the rules it acts on here: the queue's
// priority order and default_priority.
#include "engine_harness.hpp"

#include <fstream>
#include <iterator>
#include <tuple>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "engine/request_fields.hpp"

namespace gp = google::protobuf;

namespace {

/// The services the dev engine registers, as the generated pool holds them.
std::vector<const gp::ServiceDescriptor*> served_services() {
  return {WorkerRegisterRequest::descriptor()->file()->FindServiceByName("Dispatcher"),
          ScheduleWorkflowRequest::descriptor()->file()->FindServiceByName("WorkflowService"),
          v1::CreateWorkflowVersionRequest::descriptor()->file()->FindServiceByName(
            "AdminService"),
          PushEventRequest::descriptor()->file()->FindServiceByName("EventsService")};
}

std::string method_path(const gp::MethodDescriptor* m) {
  return "/" + m->service()->full_name() + "/" + m->name();
}

bool method_refused(const std::string& path) {
  for (const auto& r : he::refused_methods())
    if (r.method == path)
      return true;
  return false;
}

/// Every field reachable from `d` through fields the engine takes, without a rule: into `missing`.
void find_unruled(const gp::Descriptor* d, std::set<std::string>& seen,
                  std::vector<std::string>& missing) {
  if (d->file()->package() == "google.protobuf" || !seen.insert(d->full_name()).second)
    return;
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const auto* rule = he::rule_for(f->full_name());
    if (rule == nullptr) {
      missing.push_back(f->full_name());
      continue;
    }
    if (rule->use == he::field_use::refused
        || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE)
      continue;
    if (f->is_map()) {
      const auto* value = f->message_type()->map_value();
      if (value->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE)
        find_unruled(value->message_type(), seen, missing);
    } else {
      find_unruled(f->message_type(), seen, missing);
    }
  }
}

/// Gives `f` of `m` a value that is not its default (a message field: one with something in it).
void set_something(gp::Message& m, const gp::FieldDescriptor* f) {
  const auto* r = m.GetReflection();
  using T = gp::FieldDescriptor;
  if (f->is_map()) {
    auto* entry = r->AddMessage(&m, f);
    set_something(*entry, f->message_type()->map_key());
    set_something(*entry, f->message_type()->map_value());
    return;
  }
  if (f->is_repeated()) {
    switch (f->cpp_type()) {
      case T::CPPTYPE_STRING: r->AddString(&m, f, "x"); return;
      case T::CPPTYPE_INT32: r->AddInt32(&m, f, 7); return;
      case T::CPPTYPE_INT64: r->AddInt64(&m, f, 7); return;
      case T::CPPTYPE_MESSAGE: {
        auto* sub = r->AddMessage(&m, f);
        set_something(*sub, sub->GetDescriptor()->field(0));
        return;
      }
      default: BOOST_FAIL("no setter for repeated " << f->full_name()); return;
    }
  }
  switch (f->cpp_type()) {
    case T::CPPTYPE_STRING: r->SetString(&m, f, "x"); return;
    case T::CPPTYPE_INT32: r->SetInt32(&m, f, 2); return;
    case T::CPPTYPE_INT64: r->SetInt64(&m, f, 2); return;
    case T::CPPTYPE_UINT32: r->SetUInt32(&m, f, 2); return;
    case T::CPPTYPE_UINT64: r->SetUInt64(&m, f, 2); return;
    case T::CPPTYPE_FLOAT: r->SetFloat(&m, f, 2.5F); return;
    case T::CPPTYPE_DOUBLE: r->SetDouble(&m, f, 2.5); return;
    case T::CPPTYPE_BOOL: r->SetBool(&m, f, true); return;
    case T::CPPTYPE_ENUM: r->SetEnumValue(&m, f, 1); return;
    case T::CPPTYPE_MESSAGE: {
      auto* sub = r->MutableMessage(&m, f);
      set_something(*sub, sub->GetDescriptor()->field(0));
      return;
    }
  }
}

} // namespace

BOOST_AUTO_TEST_SUITE(request_fields)

BOOST_AUTO_TEST_CASE(every_field_of_every_served_request_has_a_rule) {
  std::set<std::string> seen;
  std::vector<std::string> missing;
  size_t served = 0;
  for (const auto* service : served_services()) {
    BOOST_TEST_REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      if (method_refused(method_path(m)))
        continue;
      ++served;
      find_unruled(m->input_type(), seen, missing);
    }
  }
  BOOST_TEST(served >= 20u);
  std::string list;
  for (const auto& f : missing)
    list += " " + f;
  BOOST_TEST(missing.empty(), "fields without a rule in engine/request_fields.cpp:" << list);
}

BOOST_AUTO_TEST_CASE(every_rule_and_refused_method_names_something_in_the_contracts) {
  const auto* pool = gp::DescriptorPool::generated_pool();
  served_services(); // the generated files are linked in and registered
  for (const auto& r : he::request_field_rules())
    BOOST_TEST(pool->FindFieldByName(std::string{r.field}) != nullptr, r.field);
  std::set<std::string> paths;
  for (const auto* service : served_services())
    for (int i = 0; i < service->method_count(); ++i)
      paths.insert(method_path(service->method(i)));
  for (const auto& r : he::refused_methods())
    BOOST_TEST(paths.count(std::string{r.method}) == 1u, r.method);
}

BOOST_AUTO_TEST_CASE(each_refused_field_set_alone_is_refused_naming_it) {
  const auto* pool = gp::DescriptorPool::generated_pool();
  size_t refused = 0;
  for (const auto& r : he::request_field_rules()) {
    const auto* f = pool->FindFieldByName(std::string{r.field});
    BOOST_TEST_REQUIRE(f != nullptr, r.field);
    std::unique_ptr<gp::Message> m{
      gp::MessageFactory::generated_factory()->GetPrototype(f->containing_type())->New()};
    set_something(*m, f);
    auto why = he::unmodelled_field(*m);
    if (r.use != he::field_use::refused) {
      BOOST_TEST(!why.has_value(), r.field << ": " << why.value_or(""));
      continue;
    }
    ++refused;
    BOOST_TEST_REQUIRE(why.has_value(), r.field);
    BOOST_TEST(why->find(std::string{r.field}) != std::string::npos, *why);
    BOOST_TEST(why->find("does not model") != std::string::npos, *why);
  }
  BOOST_TEST(refused >= 15u);
}

BOOST_AUTO_TEST_CASE(put_workflow_with_a_concurrency_key_is_refused_where_it_is) {
  engine_under_test eng;
  v1::CreateWorkflowVersionRequest req;
  req.set_name("limited");
  for (const char* name : {"first", "second"}) {
    auto* t = req.add_tasks();
    t->set_readable_id(name);
    t->set_action(std::string{"limited:"} + name);
    t->mutable_conditions(); // present and empty, as the TypeScript SDK sends it: no refusal
  }
  v1::CreateWorkflowVersionResponse resp;
  auto ok = eng.admin->PutWorkflow(eng.context().get(), req, &resp);
  BOOST_TEST(ok.ok(), ok.error_message());

  auto* c = req.mutable_tasks(1)->add_concurrency();
  c->set_expression("input.user");
  c->set_max_runs(1);
  auto st = eng.admin->PutWorkflow(eng.context().get(), req, &resp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  BOOST_TEST(st.error_message().find("v1.CreateTaskOpts.concurrency (tasks[1].concurrency")
               != std::string::npos,
             st.error_message());
}

BOOST_AUTO_TEST_CASE(triggers_push_and_streams_refuse_what_is_not_modelled) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("plain", {{"only"}}).ok());
  v1::TriggerWorkflowRequest trig;
  trig.set_name("plain");
  trig.set_input("{}");
  (*trig.mutable_desired_worker_labels())["gpu"].set_str_value("a100");
  TriggerWorkflowResponse tresp;
  auto st = eng.workflows->TriggerWorkflow(eng.context().get(), trig, &tresp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  BOOST_TEST(st.error_message().find("v1.TriggerWorkflowRequest.desired_worker_labels")
               != std::string::npos);
  // Inside a bulk trigger, the path names the run.
  BulkTriggerWorkflowRequest bulk;
  bulk.add_workflows()->set_name("plain");
  auto* second = bulk.add_workflows();
  second->set_name("plain");
  second->set_desired_worker_id("00000000-0000-4000-8000-000000000000");
  BulkTriggerWorkflowResponse bresp;
  st = eng.workflows->BulkTriggerWorkflow(eng.context().get(), bulk, &bresp);
  BOOST_TEST(st.error_message().find("workflows[1].desired_worker_id") != std::string::npos,
             st.error_message());
  BOOST_TEST(bresp.workflow_run_ids_size() == 0); // nothing was started
  // A cancel by filter is refused (the run-id form is served), an empty filter too: its
  // presence selects by filter on a real engine. Ids and a filter together are invalid first.
  v1::CancelTasksRequest cancel;
  cancel.mutable_filter()->add_statuses("QUEUED");
  v1::CancelTasksResponse cresp;
  st = eng.admin->CancelTasks(eng.context().get(), cancel, &cresp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  BOOST_TEST(st.error_message().find("v1.CancelTasksRequest.filter") != std::string::npos);
  v1::ReplayTasksRequest empty_filter;
  empty_filter.mutable_filter();
  v1::ReplayTasksResponse rresp;
  st = eng.admin->ReplayTasks(eng.context().get(), empty_filter, &rresp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  BOOST_TEST(st.error_message().find("v1.ReplayTasksRequest.filter") != std::string::npos,
             st.error_message());
  cancel.add_external_ids("00000000-0000-4000-8000-000000000000");
  st = eng.admin->CancelTasks(eng.context().get(), cancel, &cresp);
  BOOST_TEST(st.error_message() == "cannot provide both external ids and filter");
}

BOOST_AUTO_TEST_CASE(methods_not_served_are_refused_by_name_after_the_token_check) {
  engine_under_test eng;
  PutRateLimitRequest rl;
  rl.set_key("k");
  rl.set_limit(1);
  PutRateLimitResponse rlresp;
  auto st = eng.workflows->PutRateLimit(eng.context().get(), rl, &rlresp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
  BOOST_TEST(st.error_message().find("/WorkflowService/PutRateLimit") != std::string::npos);
  st = eng.workflows->PutRateLimit(eng.context("Bearer nope").get(), rl, &rlresp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));

  for (auto auth : {std::optional<std::string>{}, std::optional<std::string>{"Bearer nope"}}) {
    WorkerListenRequest req;
    req.set_worker_id("00000000-0000-4000-8000-000000000000");
    auto ctx = eng.context(auth);
    auto reader = eng.dispatcher->Listen(ctx.get(), req);
    AssignedAction a;
    BOOST_TEST(!reader->Read(&a));
    auto end = reader->Finish();
    if (auth) {
      BOOST_TEST(static_cast<int>(end.error_code())
                 == static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
    } else {
      BOOST_TEST(static_cast<int>(end.error_code())
                 == static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
      BOOST_TEST(end.error_message().find("/Dispatcher/Listen ") != std::string::npos,
                 end.error_message());
    }
  }
}

BOOST_AUTO_TEST_CASE(the_readme_lists_every_refusal) {
  std::ifstream in{HATCHET_ENGINE_README};
  BOOST_TEST_REQUIRE(in.good(), HATCHET_ENGINE_README);
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto section = text.find("## Not modelled yet (refused)");
  BOOST_TEST_REQUIRE(section != std::string::npos);
  text = text.substr(section);
  for (const auto& r : he::request_field_rules())
    if (r.use == he::field_use::refused)
      BOOST_TEST(text.find("`" + std::string{r.field} + "`") != std::string::npos, r.field);
  for (const auto& m : he::refused_methods())
    BOOST_TEST(text.find("`" + std::string{m.method} + "`") != std::string::npos, m.method);
  // and nothing listed there is served: each backticked name is a refusal of the code
  for (size_t at = text.find("| `"); at != std::string::npos; at = text.find("| `", at + 1)) {
    auto end = text.find(" |", at + 2);
    auto cell = text.substr(at + 2, end - at - 2);
    for (size_t b = cell.find('`'); b != std::string::npos; b = cell.find('`', b + 1)) {
      auto e = cell.find('`', b + 1);
      auto name = cell.substr(b + 1, e - b - 1);
      b = e;
      bool known = false;
      if (const auto* rule = he::rule_for(name))
        known = rule->use == he::field_use::refused;
      for (const auto& m : he::refused_methods())
        known = known || m.method == name;
      BOOST_TEST(known, name << " is listed as refused but the code does not refuse it");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_log_line_keeps_the_time_the_worker_gave_it) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("logs", {{"step"}}).ok());
  ready_worker w{eng, "w", {"logs:step"}};
  eng.trigger("logs");
  auto a = expect_action(w.stream, START_STEP_RUN);
  PutLogRequest req;
  req.set_task_run_external_id(a.task_run_external_id());
  req.set_message("written earlier");
  req.mutable_created_at()->set_seconds(1714564800); // 2024-05-01T12:00:00Z
  PutLogResponse resp;
  auto st = eng.events->PutLog(eng.context().get(), req, &resp);
  BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  auto lines = eng.engine().task_logs(a.task_run_external_id());
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::seconds>(
               lines[0].created_at.time_since_epoch()).count() == 1714564800);
}

BOOST_AUTO_TEST_SUITE_END()

// -- priority: the real engine's queue order (pkg/repository/sqlcv1/queue.sql,
// ListQueueItemsForQueue: ORDER BY priority DESC, id ASC) -----------------------------------------

BOOST_AUTO_TEST_SUITE(priority)

BOOST_AUTO_TEST_CASE(a_free_slot_takes_the_highest_priority_then_the_oldest) {
  engine_under_test eng;
  BOOST_TEST_REQUIRE(eng.put_workflow("queue", {{"step"}}).ok());
  ready_worker w{eng, "one-slot", {"queue:step"}, 1};
  auto trigger = [&](const std::string& tag, std::optional<int> priority) {
    v1::TriggerWorkflowRequest req;
    req.set_name("queue");
    req.set_input(R"({"tag":")" + tag + R"("})");
    if (priority)
      req.set_priority(*priority);
    TriggerWorkflowResponse resp;
    auto st = eng.workflows->TriggerWorkflow(eng.context().get(), req, &resp);
    BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  };
  trigger("holder", std::nullopt);
  auto current = expect_action(w.stream, START_STEP_RUN); // holds the only slot
  trigger("low-1", 1);
  trigger("mid", 2);
  trigger("default", std::nullopt); // the workflow's default: 1
  trigger("high-1", 3);
  trigger("low-2", 1);
  trigger("high-2", 3);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    BOOST_TEST_REQUIRE(eng.send(current, STEP_EVENT_TYPE_COMPLETED, "{}").ok());
    current = expect_action(w.stream, START_STEP_RUN);
    order.push_back(json::parse(current.action_payload())["input"]["tag"].get<std::string>());
  }
  std::vector<std::string> want{"high-1", "high-2", "mid", "low-1", "default", "low-2"};
  BOOST_TEST(order == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(default_priority_applies_when_the_trigger_names_none) {
  engine_under_test eng;
  v1::CreateWorkflowVersionRequest req;
  req.set_name("urgent");
  auto* t = req.add_tasks();
  t->set_readable_id("step");
  t->set_action("urgent:step");
  req.set_default_priority(3);
  v1::CreateWorkflowVersionResponse resp;
  auto st = eng.admin->PutWorkflow(eng.context().get(), req, &resp);
  BOOST_TEST_REQUIRE(st.ok(), st.error_message());
  ready_worker w{eng, "w", {"urgent:step"}};
  eng.trigger("urgent");
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).priority() == 3);
  v1::TriggerWorkflowRequest low;
  low.set_name("urgent");
  low.set_input("{}");
  low.set_priority(1);
  TriggerWorkflowResponse tresp;
  BOOST_TEST_REQUIRE(eng.workflows->TriggerWorkflow(eng.context().get(), low, &tresp).ok());
  BOOST_TEST(expect_action(w.stream, START_STEP_RUN).priority() == 1);

  req.set_default_priority(4); // the real engine validates 1..3
  st = eng.admin->PutWorkflow(eng.context().get(), req, &resp);
  BOOST_TEST(static_cast<int>(st.error_code())
             == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  BOOST_TEST(st.error_message().find("between 1 and 3") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
