// Tasks on the deterministic scheduler: the task clock firing schedules at
// their time (virtual time, with a wall clock that follows it), missed
// slots after a restart, changes that take effect at once, decision
// expiry, task proposals, and runs.

#include "actors/error.hpp"
#include "actors/ingest.hpp"
#include "actors/task_clock.hpp"
#include "actors/tasks.hpp"
#include "protocol/ids.hpp"
#include "protocol/json.hpp"
#include "protocol/time.hpp"
#include "storage/keys.hpp"
#include "tests/actors/delivery_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace nod {
namespace {

using namespace std::chrono_literals;
using storage::table;

constexpr int64_t minute = 60'000;
constexpr int64_t hour = 60 * minute;

/// String member `name` of JSON object `obj` ("" when absent or null).
std::string member(const std::string& obj, const char* name) {
  json::document doc;
  json::field_error err;
  if (!json::parse_object(obj, doc, err))
    return {};
  return json::string_member(doc, name).value_or("");
}

/// The elements of JSON array `text`, serialized.
std::vector<std::string> items(const std::string& text) {
  json::document doc;
  json::field_error err;
  std::vector<std::string> out;
  EXPECT_TRUE(json::parse_value(text, doc, err) && doc.IsArray()) << text;
  if (doc.IsArray())
    for (auto& v : doc.GetArray())
      out.push_back(json::to_string(v));
  return out;
}

/// Everything tasks need, over the delivery fixture: a task clock whose
/// wall clock follows virtual time (the tasks actor reads the same one),
/// the tasks actor, an actions actor that tells the clock about approved
/// proposals, and an ingest actor that tells it about expiries. The agent
/// is offline without a webhook, so its events stay pending in the journal.
class tasks_test : public test::delivery_fixture {
protected:
  tasks_test() {
    owner = add_user("owner");
    created = add_agent(owner.id, "worker");
    agent = created.agent.id;
    // Virtual time starts at the real wall clock: ingest and actions read
    // the real one (decision times), and agree with this one until a test
    // moves virtual time.
    start_time = sched.clock().now();
    base_ms = now_ms();
    start_tasks();
  }

  ~tasks_test() override {
    stop_tasks();
  }

  /// The wall clock of the clock and the tasks actor, Unix ms.
  int64_t wall() {
    return base_ms
           + std::chrono::duration_cast<std::chrono::milliseconds>(
               sched.clock().now() - start_time)
               .count();
  }

  void start_tasks() {
    task_clock_options co;
    co.now = [this] {
      return wall();
    };
    clk = sys.spawn(task_clock, co);
    acts = sys.spawn(actions, journal, acc, box, clk, std::string{"http://x"},
                     opts.agents_epoch);
    tasks_options to;
    to.public_url = "http://x";
    to.now = [this] {
      return wall();
    };
    tsk = sys.spawn(tasks, journal, acc, box, directory_, clk, to);
    ing = sys.spawn(ingest, journal, directory_,
                    ingest_options{"http://x", nullptr, clk, {}});
    self->send(clk, join_atom::value, tsk, acts);
    run();
  }

  void stop_tasks() {
    for (auto a :
         {caf::actor_cast<caf::actor>(clk), caf::actor_cast<caf::actor>(tsk),
          caf::actor_cast<caf::actor>(acts), caf::actor_cast<caf::actor>(ing)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// Stops every actor, lets `down` pass while the server is down, starts
  /// them again on the same store and recovers the clock's entries, as
  /// `main` does. Returns how many entries the tasks actor handed over.
  uint64_t restart_server(caf::timespan down) {
    stop_tasks();
    stop_delivery();
    stop();
    advance_time(down);
    start();
    start_delivery();
    start_tasks();
    auto n = call<uint64_t>(tsk, recover_atom::value);
    EXPECT_TRUE(n) << caf::to_string(n.error());
    // What is overdue is timed with a delay of zero; the test clock hands
    // out even those only when time moves (by nothing, here).
    advance_time(0ms);
    return n ? *n : UINT64_MAX;
  }

  /// Moves virtual time to the next full hour plus `offset_ms`; returns
  /// that hour. Only for tests that do not involve ingest or actions
  /// (which read the real clock).
  int64_t go_to_hour(int64_t offset_ms = 1000) {
    auto h = (wall() / hour + 1) * hour;
    advance_time(std::chrono::milliseconds{h + offset_ms - wall()});
    EXPECT_EQ(wall(), h + offset_ms);
    return h;
  }

  /// Moves virtual time to Unix ms `at` (forward only), a minute at most
  /// at a time, so that the clock wakes as it would while time passes
  /// (one jump over several slots is a pause: they would fire once).
  void advance_to(int64_t at) {
    ASSERT_GE(at, wall());
    while (wall() < at)
      advance_time(std::chrono::milliseconds{std::min(at - wall(), minute)});
  }

  task_caller as_owner() const {
    return {owner.id, 0};
  }

  task_caller as_agent() const {
    return {0, agent};
  }

  /// Creates a task of the agent as its owner; returns its id.
  uint64_t create(const std::string& schedule, int64_t run_at_ms = 0,
                  const std::string& name = "report") {
    task_input in;
    in.name = name;
    in.prompt = "Write the " + name;
    in.schedule = schedule;
    if (run_at_ms != 0)
      in.run_at_ms = run_at_ms;
    auto r
      = call<std::string>(tsk, task_new_atom::value, as_owner(), agent, in);
    EXPECT_TRUE(r) << caf::to_string(r.error());
    return r ? parse_id64("tsk_", member(*r, "id")).value_or(0) : 0;
  }

  caf::expected<std::string> patch(uint64_t id, const task_input& in) {
    return call<std::string>(tsk, task_set_atom::value, as_owner(), id, in);
  }

  task_record task(uint64_t id) {
    auto r = call<std::string>(tsk, task_get_atom::value, as_owner(), id);
    EXPECT_TRUE(r) << caf::to_string(r.error());
    auto t = r ? task_from_json(*r) : std::nullopt;
    EXPECT_TRUE(t);
    return t ? *t : task_record{};
  }

  /// The task's runs, newest first.
  std::vector<std::string> runs(uint64_t id) {
    auto r = call<std::string>(tsk, runs_atom::value, as_owner(), id,
                               uint64_t{0}, uint32_t{100});
    EXPECT_TRUE(r) << caf::to_string(r.error());
    return r ? items(*r) : std::vector<std::string>{};
  }

  /// Pending events of the agent of `type`, in seq order.
  std::vector<std::string> events(const std::string& type) {
    auto r = call<std::vector<stream_event>>(journal, inbox_atom::value, agent,
                                             uint64_t{0}, uint32_t{1000});
    EXPECT_TRUE(r);
    std::vector<std::string> out;
    if (r)
      for (auto& e : *r)
        if (member(e.payload, "type") == type)
          out.push_back(e.payload);
    return out;
  }

  /// Entries the clock holds (task fire times and decision expiries).
  uint64_t clock_entries() {
    auto n = call<uint64_t>(clk, entry_count_atom::value);
    EXPECT_TRUE(n);
    return n ? *n : UINT64_MAX;
  }

  /// The agent sends `body` (an event); returns the decision id.
  uint64_t post_decision(const std::string& body) {
    auto r = call<std::string>(ing, ingest_atom::value, created.agent, body,
                               std::string{});
    EXPECT_TRUE(r) << caf::to_string(r.error());
    return r ? parse_id64("dec_", member(*r, "decision_id")).value_or(0) : 0;
  }

  /// The decision as stored.
  std::string decision(uint64_t id) {
    auto r = call<std::string>(journal, get_atom::value,
                               storage::id_key(table::decisions, id));
    EXPECT_TRUE(r);
    return r ? *r : std::string{};
  }

  caf::expected<std::string> resolve(uint64_t id, const std::string& status) {
    resolution r{status, std::nullopt, std::nullopt, std::nullopt};
    return call<std::string>(acts, resolve_atom::value, owner, id, r);
  }

  caf::expected<std::string> complete(const task_caller& who, uint64_t run,
                                      const std::string& status = "completed") {
    run_completion c;
    c.status = status;
    c.result_json = R"({"ok":true})";
    return call<std::string>(tsk, run_done_atom::value, who, run, uint64_t{0},
                             c);
  }

  std::vector<std::string> agent_tasks() {
    auto r = call<std::string>(tsk, task_list_atom::value,
                               std::vector<uint64_t>{agent}, uint64_t{0},
                               uint32_t{100});
    EXPECT_TRUE(r) << caf::to_string(r.error());
    return r ? items(*r) : std::vector<std::string>{};
  }

  caf::actor_clock::time_point start_time;
  int64_t base_ms = 0;
  user_record owner;
  agent_created created;
  uint64_t agent = 0;
  task_clock_actor clk;
  tasks_actor tsk;
  actions_actor acts;
  ingest_actor ing;
};

uint64_t run_id(const std::string& run) {
  return parse_id64("run_", member(run, "id")).value_or(0);
}

// ---- the clock
// ---------------------------------------------------------------

TEST_F(tasks_test, scheduled_task_fires_at_its_slot_and_not_before) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  EXPECT_EQ(task(id).next_run_ms, h + 10 * minute);
  EXPECT_EQ(clock_entries(), 1u);

  advance_to(h + 10 * minute - 1);
  EXPECT_TRUE(runs(id).empty());
  EXPECT_TRUE(events("task_due").empty());
  EXPECT_EQ(task(id).next_run_ms, h + 10 * minute);

  advance_time(1ms);
  auto r = runs(id);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(member(r[0], "origin"), "schedule");
  EXPECT_EQ(member(r[0], "status"), "due");
  auto due = events("task_due");
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(member(due[0], "task_id"), format_id64("tsk_", id));
  EXPECT_EQ(member(due[0], "run_id"), member(r[0], "id"));
  EXPECT_EQ(member(due[0], "task_name"), "report");
  EXPECT_EQ(member(due[0], "task_prompt"), "Write the report");
  EXPECT_EQ(member(due[0], "schedule"), "*/10 * * * *");
  EXPECT_EQ(member(due[0], "event_id"), member(r[0], "event_id"));
  auto t = task(id);
  EXPECT_EQ(t.last_run_ms, h + 10 * minute);
  EXPECT_EQ(t.next_run_ms, h + 20 * minute);
  EXPECT_EQ(clock_entries(), 1u);

  // And the next slot, once.
  advance_to(h + 20 * minute - 1);
  EXPECT_EQ(runs(id).size(), 1u);
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 2u);
  EXPECT_EQ(events("task_due").size(), 2u);
}

TEST_F(tasks_test, once_task_fires_once_at_run_at) {
  auto h = go_to_hour();
  auto at = h + 3 * minute;
  auto id = create("once", at);
  EXPECT_EQ(task(id).next_run_ms, at);
  advance_to(at - 1);
  EXPECT_TRUE(runs(id).empty());
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(events("task_due").size(), 1u);
  EXPECT_EQ(task(id).next_run_ms, 0);
  EXPECT_EQ(clock_entries(), 0u);
  advance_to(at + 24 * hour);
  EXPECT_EQ(runs(id).size(), 1u);
}

TEST_F(tasks_test, once_task_with_fractional_seconds_still_fires) {
  // "run_at": "…T01:03:00.250Z" is valid ISO-8601; the task must fire.
  auto h = go_to_hour();
  auto id = create("once", h + 3 * minute + 250);
  advance_to(h + 4 * minute);
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(events("task_due").size(), 1u);
}

TEST_F(tasks_test, missed_slots_while_down_fire_once_at_start_up) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  ASSERT_EQ(task(id).next_run_ms, h + 10 * minute);
  // Down from h+0:00:01 to h+0:35:01: the 10, 20 and 30 slots are missed.
  EXPECT_EQ(restart_server(35min), 1u);
  EXPECT_EQ(wall(), h + 35 * minute + 1000);
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(events("task_due").size(), 1u);
  auto t = task(id);
  EXPECT_EQ(t.next_run_ms, h + 40 * minute);
  EXPECT_EQ(t.last_run_ms, h + 35 * minute + 1000);
  EXPECT_EQ(clock_entries(), 1u);
  // Then on schedule again.
  advance_to(h + 40 * minute - 1);
  EXPECT_EQ(runs(id).size(), 1u);
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 2u);
}

TEST_F(tasks_test, a_slot_not_yet_due_at_restart_fires_on_time) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  EXPECT_EQ(restart_server(5min), 1u);
  EXPECT_TRUE(runs(id).empty());
  advance_to(h + 10 * minute - 1);
  EXPECT_TRUE(runs(id).empty());
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 1u);
}

// ---- changes take effect at once
// ---------------------------------------------

TEST_F(tasks_test, disabled_task_does_not_fire_and_fires_again_when_enabled) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  EXPECT_EQ(clock_entries(), 1u);
  task_input off;
  off.enabled = false;
  auto r = patch(id, off);
  ASSERT_TRUE(r) << caf::to_string(r.error());
  EXPECT_EQ(member(*r, "next_run_at"), "");
  EXPECT_EQ(clock_entries(), 0u);
  advance_to(h + 25 * minute);
  EXPECT_TRUE(runs(id).empty());
  EXPECT_TRUE(events("task_due").empty());

  task_input on;
  on.enabled = true;
  r = patch(id, on);
  ASSERT_TRUE(r) << caf::to_string(r.error());
  EXPECT_EQ(task(id).next_run_ms, h + 30 * minute);
  EXPECT_EQ(clock_entries(), 1u);
  advance_to(h + 30 * minute - 1);
  EXPECT_TRUE(runs(id).empty());
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 1u);
}

TEST_F(tasks_test, editing_the_schedule_moves_the_fire_time) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  task_input in;
  in.schedule = "5 * * * *";
  ASSERT_TRUE(patch(id, in));
  EXPECT_EQ(task(id).next_run_ms, h + 5 * minute);
  EXPECT_EQ(clock_entries(), 1u);
  advance_to(h + 5 * minute - 1);
  EXPECT_TRUE(runs(id).empty());
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 1u);
  // The old slot is gone.
  advance_to(h + 59 * minute);
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(task(id).next_run_ms, h + hour + 5 * minute);

  // Later, not earlier: the old time does not fire either.
  in.schedule = "30 * * * *";
  ASSERT_TRUE(patch(id, in));
  EXPECT_EQ(task(id).next_run_ms, h + hour + 30 * minute);
  advance_to(h + hour + 30 * minute - 1);
  EXPECT_EQ(runs(id).size(), 1u);
  advance_time(1ms);
  EXPECT_EQ(runs(id).size(), 2u);
  EXPECT_EQ(events("task_due").size(), 2u);
}

TEST_F(tasks_test, deleted_task_never_fires) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  auto other = create("*/10 * * * *", 0, "other");
  EXPECT_EQ(clock_entries(), 2u);
  auto gone = call<bool>(tsk, task_del_atom::value, as_owner(), id);
  ASSERT_TRUE(gone) << caf::to_string(gone.error());
  EXPECT_EQ(clock_entries(), 1u);
  advance_to(h + 30 * minute);
  auto r = call<std::string>(tsk, task_get_atom::value, as_owner(), id);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
  // Only the other task's three slots fired.
  EXPECT_EQ(runs(other).size(), 3u);
  auto due = events("task_due");
  ASSERT_EQ(due.size(), 3u);
  for (auto& e : due)
    EXPECT_EQ(member(e, "task_id"), format_id64("tsk_", other));
  // Nor after a restart.
  restart_server(1min);
  EXPECT_EQ(clock_entries(), 1u);
}

// Known bug, disabled until fixed: the clock retries a failed fire at
// a later time, which `fire` then takes for a stale entry ("unchanged"),
// so the task is never timed again until a restart or an edit.
TEST_F(tasks_test, a_failed_fire_is_retried) {
  auto h = go_to_hour();
  auto id = create("*/10 * * * *");
  // The outbox is gone: the fire at h+10 fails, and keeps failing.
  caf::anon_send_exit(box, caf::exit_reason::user_shutdown);
  run();
  advance_to(h + 10 * minute);
  EXPECT_TRUE(runs(id).empty());
  EXPECT_EQ(clock_entries(), 1u); // the retry
  advance_to(h + 12 * minute);
  EXPECT_EQ(clock_entries(), 1u); // retried, failed, timed again
}

// ---- decision expiry
// ---------------------------------------------------------

TEST_F(tasks_test, decision_expires_when_its_time_passes) {
  auto id = post_decision(
    R"({"type":"decision","kind":"approval","title":"Ship?","expires_in":60})");
  ASSERT_NE(id, 0u);
  EXPECT_EQ(clock_entries(), 1u);
  advance_time(59s);
  EXPECT_EQ(member(decision(id), "status"), "pending");
  EXPECT_TRUE(events("decision_resolved").empty());
  advance_time(2s);
  EXPECT_EQ(member(decision(id), "status"), "expired");
  auto resolved = events("decision_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(member(resolved[0], "status"), "expired");
  EXPECT_EQ(member(resolved[0], "decision_id"), format_id64("dec_", id));
  EXPECT_EQ(clock_entries(), 0u);
  // A person cannot resolve it any more.
  auto late = resolve(id, "approved");
  ASSERT_FALSE(late);
  EXPECT_EQ(code_of(late.error()), ec::conflict);
  // Its expiry is gone from the store: nothing to re-arm after a restart.
  EXPECT_EQ(restart_server(1s), 0u);
}

TEST_F(tasks_test, decision_resolved_before_expiry_does_not_expire) {
  auto id = post_decision(
    R"({"type":"decision","kind":"approval","title":"Ship?","expires_in":60})");
  ASSERT_NE(id, 0u);
  advance_time(30s);
  ASSERT_TRUE(resolve(id, "approved"));
  advance_time(1min);
  EXPECT_EQ(member(decision(id), "status"), "approved");
  auto resolved = events("decision_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(member(resolved[0], "status"), "approved");
  EXPECT_EQ(clock_entries(), 0u);
  // Asked again (a late timer), the lapse changes nothing.
  auto again = call<bool>(acts, expire_decision_atom::value, id);
  ASSERT_TRUE(again) << caf::to_string(again.error());
  EXPECT_FALSE(*again);
  EXPECT_EQ(events("decision_resolved").size(), 1u);
  EXPECT_EQ(member(decision(id), "status"), "approved");
}

TEST_F(tasks_test, decision_expiry_survives_a_restart) {
  auto id = post_decision(
    R"({"type":"decision","kind":"question","title":"Name?","expires_in":120})");
  ASSERT_NE(id, 0u);
  advance_time(30s);
  // Down for 30 s; the expiry is re-armed from the store.
  EXPECT_EQ(restart_server(30s), 1u);
  EXPECT_EQ(clock_entries(), 1u);
  advance_time(59s);
  EXPECT_EQ(member(decision(id), "status"), "pending");
  EXPECT_TRUE(events("decision_resolved").empty());
  advance_time(2s);
  EXPECT_EQ(member(decision(id), "status"), "expired");
  auto resolved = events("decision_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(member(resolved[0], "status"), "expired");
}

TEST_F(tasks_test, decision_that_expired_while_down_expires_at_start_up) {
  auto id = post_decision(
    R"({"type":"decision","kind":"approval","title":"Ship?","expires_in":60})");
  ASSERT_NE(id, 0u);
  EXPECT_EQ(restart_server(2min), 1u);
  EXPECT_EQ(member(decision(id), "status"), "expired");
  EXPECT_EQ(events("decision_resolved").size(), 1u);
}

// ---- task proposals
// ----------------------------------------------------------

constexpr const char* proposal = R"({"type":"task_proposal","title":"Daily?",
  "task_name":"digest","task_prompt":"Summarize the day",
  "task_schedule":"*/10 * * * *"})";

TEST_F(tasks_test, approved_task_proposal_creates_and_schedules_the_task) {
  auto id = post_decision(proposal);
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(agent_tasks().empty());
  auto r = resolve(id, "approved");
  ASSERT_TRUE(r) << caf::to_string(r.error());
  auto list = agent_tasks();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(member(list[0], "name"), "digest");
  EXPECT_EQ(member(list[0], "prompt"), "Summarize the day");
  EXPECT_EQ(member(list[0], "schedule"), "*/10 * * * *");
  EXPECT_EQ(member(list[0], "agent_id"), agent_id_text(agent));
  EXPECT_EQ(clock_entries(), 1u);
  // It fires on its schedule (the next of the slots 10 minutes apart).
  advance_time(10min + 1s);
  auto due = events("task_due");
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(member(due[0], "task_id"), member(list[0], "id"));
  EXPECT_EQ(member(due[0], "task_name"), "digest");
}

TEST_F(tasks_test, rejected_task_proposal_creates_no_task) {
  auto id = post_decision(proposal);
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(resolve(id, "rejected"));
  EXPECT_TRUE(agent_tasks().empty());
  EXPECT_EQ(clock_entries(), 0u);
  advance_time(1h);
  EXPECT_TRUE(events("task_due").empty());
}

// ---- runs
// --------------------------------------------------------------------

TEST_F(tasks_test, a_run_completes_once_and_leaves_the_due_list) {
  auto id = create("*/10 * * * *");
  auto r = call<std::string>(tsk, run_now_atom::value, as_owner(), id);
  ASSERT_TRUE(r) << caf::to_string(r.error());
  auto run = run_id(*r);
  EXPECT_EQ(member(*r, "origin"), "manual");
  EXPECT_EQ(events("task_due").size(), 1u);
  auto due = call<std::string>(tsk, due_atom::value, agent);
  ASSERT_TRUE(due);
  auto open = items(*due);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(member(open[0], "run_id"), format_id64("run_", run));
  EXPECT_EQ(member(open[0], "id"), format_id64("tsk_", id));

  // Another agent (even of the same owner) cannot see it.
  auto other = add_agent(owner.id, "other").agent.id;
  auto theirs = complete({0, other}, run);
  ASSERT_FALSE(theirs);
  EXPECT_EQ(code_of(theirs.error()), ec::not_found);

  auto done = complete(as_agent(), run);
  ASSERT_TRUE(done) << caf::to_string(done.error());
  EXPECT_EQ(member(*done, "status"), "completed");
  due = call<std::string>(tsk, due_atom::value, agent);
  ASSERT_TRUE(due);
  EXPECT_TRUE(items(*due).empty());

  auto twice = complete(as_agent(), run, "failed");
  ASSERT_FALSE(twice);
  EXPECT_EQ(code_of(twice.error()), ec::conflict);
  auto stored = runs(id);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(member(stored[0], "status"), "completed");

  auto unknown = complete(as_agent(), run + 1);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), ec::not_found);
}

TEST_F(tasks_test, inbound_trigger_queues_a_run_until_completed) {
  auto id = create("event");
  auto t = task(id);
  ASSERT_FALSE(t.trigger_id.empty());
  EXPECT_EQ(t.trigger_url, "http://x/webhook/" + t.trigger_id);
  EXPECT_EQ(clock_entries(), 0u);
  auto r = call<std::string>(
    tsk, trigger_atom::value,
    trigger_call{t.trigger_id, R"({"order":42})", wall(), 0, "{}", "", "", ""});
  ASSERT_TRUE(r) << caf::to_string(r.error());
  EXPECT_EQ(member(*r, "status"), "accepted");
  auto run = parse_id64("run_", member(*r, "run_id")).value_or(0);
  auto trig = events("task_trigger");
  ASSERT_EQ(trig.size(), 1u);
  EXPECT_EQ(member(trig[0], "run_id"), member(*r, "run_id"));
  EXPECT_EQ(member(trig[0], "event_id"), member(*r, "event_id"));
  EXPECT_NE(trig[0].find(R"("payload":{"order":42})"), std::string::npos)
    << trig[0];

  auto pending = call<std::string>(tsk, triggers_atom::value, agent);
  ASSERT_TRUE(pending);
  auto open = items(*pending);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(member(open[0], "id"), member(*r, "event_id"));
  EXPECT_EQ(member(open[0], "run_id"), member(*r, "run_id"));
  // Not a due task: the due list is for scheduled and manual runs.
  auto due = call<std::string>(tsk, due_atom::value, agent);
  ASSERT_TRUE(due);
  EXPECT_TRUE(items(*due).empty());

  ASSERT_TRUE(complete(as_agent(), run));
  pending = call<std::string>(tsk, triggers_atom::value, agent);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(items(*pending).empty());

  // Unknown trigger: 404; disabled task: 409, and no run.
  auto unknown
    = call<std::string>(tsk, trigger_atom::value,
                        trigger_call{"trg_" + std::string(32, '0'), "{}",
                                     wall(), 0, "{}", "", "", ""});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), ec::not_found);
  task_input off;
  off.enabled = false;
  ASSERT_TRUE(patch(id, off));
  auto disabled = call<std::string>(
    tsk, trigger_atom::value,
    trigger_call{t.trigger_id, "{}", wall(), 0, "{}", "", "", ""});
  ASSERT_FALSE(disabled);
  EXPECT_EQ(code_of(disabled.error()), ec::conflict);
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(events("task_trigger").size(), 1u);
}

TEST_F(tasks_test, approval_only_agents_have_no_tasks) {
  agent_input a;
  a.name = "approver";
  a.type = "approval_only";
  auto made = call<agent_created>(acc, agent_new_atom::value, owner.id, a);
  ASSERT_TRUE(made) << caf::to_string(made.error());
  task_input in;
  in.name = "x";
  in.prompt = "y";
  in.schedule = "*/10 * * * *";
  auto r = call<std::string>(tsk, task_new_atom::value, as_owner(),
                             made->agent.id, in);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::forbidden);
  r = call<std::string>(tsk, task_new_atom::value,
                        task_caller{0, made->agent.id}, made->agent.id, in);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::forbidden);
  EXPECT_EQ(clock_entries(), 0u);
}

TEST_F(tasks_test, another_users_task_is_not_found) {
  auto id = create("*/10 * * * *");
  auto mallory = add_user("mallory");
  task_caller as_mallory{mallory.id, 0};
  auto r = call<std::string>(tsk, task_get_atom::value, as_mallory, id);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
  task_input off;
  off.enabled = false;
  r = call<std::string>(tsk, task_set_atom::value, as_mallory, id, off);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), ec::not_found);
  auto del = call<bool>(tsk, task_del_atom::value, as_mallory, id);
  ASSERT_FALSE(del);
  EXPECT_EQ(code_of(del.error()), ec::not_found);
  EXPECT_EQ(clock_entries(), 1u);
}

} // namespace
} // namespace nod
