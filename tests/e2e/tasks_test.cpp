// Tasks against the real binary (API.md A4, A5, A6 "Expiry", B2, B3):
// scheduled and one-off runs reaching agents, inbound triggers and their
// limits, validation, ownership, decision expiry, missed schedules across
// a restart, task proposals, and the people's task endpoints.

#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/e2e/server_fixture.hpp"
#include "tests/support/match.hpp"

#include <cctype>
#include <chrono>
#include <ctime>
#include <functional>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <string>
#include <thread>
#include <vector>

namespace nod {
namespace {

using namespace std::chrono_literals;
using test::agent_info;
using test::num;
using test::parse;
using test::str;

// -- helpers independent of the server's code --------------------------------

/// Wall clock, Unix milliseconds.
int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// `ms` as ISO-8601 UTC: whole seconds ("…:05Z") or, like JavaScript's
/// toISOString, with milliseconds ("…:05.250Z").
std::string iso(int64_t ms, bool millis = false) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (millis) {
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms % 1000));
    out += frac;
  }
  return out + "Z";
}

/// Unix ms of an ISO-8601 UTC time of whole seconds ("…Z"); -1 if it is
/// not one.
int64_t iso_ms(const std::string& text) {
  std::tm tm{};
  auto end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || std::string(end) != "Z")
    return -1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

/// The next time after `now_ms` at `hour`:`minute` UTC, Unix ms.
int64_t next_daily_utc(int64_t now_ms, int hour, int minute) {
  const int64_t day = 86'400'000;
  auto at = now_ms / day * day + (hour * 60 + minute) * 60'000;
  return at > now_ms ? at : at + day;
}

/// `v` as compact JSON, for failure messages.
std::string json_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  v.Accept(w);
  return buf.GetString();
}

/// How many items JSON array `v` has; -1 if it is not an array.
int64_t items(const rapidjson::Value& v) {
  return v.IsArray() ? static_cast<int64_t>(v.Size()) : -1;
}

/// Boolean member `name` of `v`: 1 true, 0 false, -1 missing or no bool.
int flag(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject() || !v.HasMember(name) || !v[name].IsBool())
    return -1;
  return v[name].GetBool() ? 1 : 0;
}

bool is_null_or_absent(const rapidjson::Value& v, const char* name) {
  return v.IsObject() && (!v.HasMember(name) || v[name].IsNull());
}

/// The path of a trigger URL (absolute or relative): "/webhook/trg_…".
std::string path_of(const std::string& trigger_url) {
  auto at = trigger_url.find("/webhook/");
  return at == std::string::npos ? std::string{} : trigger_url.substr(at);
}

/// The item of JSON array `list` whose member `key` is `value`, or null.
const rapidjson::Value* find_in(const rapidjson::Value& list, const char* key,
                                const std::string& value) {
  if (!list.IsArray())
    return nullptr;
  for (auto& x : list.GetArray())
    if (str(x, key) == value)
      return &x;
  return nullptr;
}

/// Calls `probe` every 50 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& probe,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (probe())
      return true;
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
}

void sleep_until_wall(int64_t ms) {
  auto left = ms - wall_ms();
  if (left > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(left));
}

// -- the fixture -------------------------------------------------------------

class tasks_e2e : public test::server_fixture {
protected:
  /// `POST /api/agent/tasks` as `a`.
  test::http_reply agent_task(const agent_info& a, const std::string& body) {
    return agent_call(a, "POST", "/api/agent/tasks", body);
  }

  /// Creates a task through the agent API; its id and trigger URL.
  std::pair<std::string, std::string> new_agent_task(const agent_info& a,
                                                     const std::string& body) {
    auto r = agent_task(a, body);
    EXPECT_EQ(r.status, 200u) << r.body;
    auto doc = parse(r.body);
    EXPECT_EQ(str(doc, "status"), "ok") << r.body;
    auto id = str(doc, "task_id");
    EXPECT_TRUE(test::matches(id, "tsk_", test::hex, 16)) << r.body;
    return {id, str(doc, "trigger_url")};
  }

  /// Creates a task through the app API (201); the task object.
  rapidjson::Document new_task(const agent_info& a, const std::string& body) {
    auto r = app("POST", "/api/tasks/" + a.id, body);
    EXPECT_EQ(r.status, 201u) << r.body;
    return parse(r.body);
  }

  /// The task as the owner sees it.
  rapidjson::Document task(const std::string& id) {
    auto r = app("GET", "/api/tasks/" + id);
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }

  /// The runs of a task as the owner sees them (newest first).
  rapidjson::Document runs(const std::string& task_id) {
    auto r = app("GET", "/api/tasks/" + task_id + "/runs");
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }

  /// An inbound call to a trigger: no credentials.
  test::http_reply fire(const std::string& path, const std::string& body,
                        const std::string& content_type = "application/json") {
    return test::http_call(port, "POST", path, body,
                           {{"Content-Type", content_type}});
  }

  /// The pending events of `a` of `type`.
  std::vector<std::string> inbox_of(const agent_info& a,
                                    const std::string& type) {
    std::vector<std::string> out;
    auto events = inbox(a, "?limit=1000");
    if (events.IsArray())
      for (auto& e : events.GetArray())
        if (str(e, "type") == type)
          out.push_back(json_text(e));
    return out;
  }
};

// -- 1. A one-off task reaches an online agent -------------------------------

TEST_F(tasks_e2e, a_once_task_reaches_the_online_agent_and_completes_once) {
  auto a = create_agent("scheduled");
  auto ws = connect_agent(a, false);
  // Whole seconds, 2 to 3 s from now.
  auto run_at = (wall_ms() + 2000 + 999) / 1000 * 1000;
  auto [task_id, trigger_url] = new_agent_task(
    a, R"({"name":"nightly report","prompt":"Summarise the day",)"
       R"("schedule":"once","run_at":")"
         + iso(run_at) + "\"}");
  EXPECT_TRUE(trigger_url.empty()) << "a once task has no trigger URL";
  auto created = task(task_id);
  EXPECT_EQ(str(created, "trigger_type"), "once") << json_text(created);
  EXPECT_EQ(str(created, "run_at"), iso(run_at)) << json_text(created);
  EXPECT_EQ(str(created, "next_run_at"), iso(run_at)) << json_text(created);

  auto frame = next_of(*ws, "task_due", 6s);
  auto arrived = wall_ms();
  ASSERT_FALSE(frame.empty()) << "no task_due on the agent's socket\n"
                              << server->output();
  EXPECT_GE(arrived, run_at - 50) << "fired before run_at";
  EXPECT_LE(arrived, run_at + 2000) << "fired late";
  auto due = parse(frame);
  EXPECT_EQ(str(due, "task_id"), task_id) << frame;
  EXPECT_EQ(str(due, "task_name"), "nightly report") << frame;
  EXPECT_EQ(str(due, "task_prompt"), "Summarise the day") << frame;
  EXPECT_EQ(str(due, "schedule"), "once") << frame;
  EXPECT_TRUE(test::matches(str(due, "event_id"), "evt_", test::hex, 16))
    << frame;
  EXPECT_EQ(num(due, "seq"), 1) << frame;
  auto run_id = str(due, "run_id");
  ASSERT_TRUE(test::matches(run_id, "run_", test::hex, 16)) << frame;

  // Due and not completed: the agent's list of due runs has it.
  auto listed = agent_call(a, "GET", "/api/agent/tasks/due");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  auto due_list = parse(listed.body);
  auto item = find_in(due_list, "run_id", run_id);
  ASSERT_NE(item, nullptr) << listed.body;
  EXPECT_EQ(str(*item, "id"), task_id) << listed.body;
  EXPECT_EQ(str(*item, "name"), "nightly report") << listed.body;

  // What the agent sends for the run is linked to it.
  auto said = agent_call(a, "POST", "/api/agent/events",
                         R"({"type":"message","text":"Working on it",)"
                         R"("task_run_id":")"
                           + run_id + R"("})");
  ASSERT_EQ(said.status, 200u) << said.body;
  auto alerted = agent_call(a, "POST", "/api/agent/events",
                            R"({"type":"alert","title":"Disk 91%",)"
                            R"("task_run_id":")"
                              + run_id + R"("})");
  ASSERT_EQ(alerted.status, 200u) << alerted.body;
  // Through another task's path the run is not found.
  auto other
    = new_agent_task(a, R"({"name":"other","prompt":"p","schedule":"event"})");
  auto wrong
    = agent_call(a, "POST", "/api/agent/tasks/" + other.first + "/run/complete",
                 R"({"status":"completed","run_id":")" + run_id + R"("})");
  EXPECT_EQ(wrong.status, 404u) << wrong.body;

  auto bad_summary
    = agent_call(a, "POST", "/api/agent/tasks/runs/" + run_id + "/complete",
                 R"({"status":"completed","summary":["not","text"]})");
  EXPECT_EQ(bad_summary.status, 400u) << bad_summary.body;
  EXPECT_NE(bad_summary.body.find("summary"), std::string::npos);
  auto done = agent_call(
    a, "POST", "/api/agent/tasks/runs/" + run_id + "/complete",
    R"({"status":"completed","result":{"summary":"all quiet","items":3},)"
    R"("summary":"Checked 3 services: all quiet."})");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(done.body, R"({"status":"ok"})");
  auto again
    = agent_call(a, "POST", "/api/agent/tasks/runs/" + run_id + "/complete",
                 R"({"status":"failed","error":"twice"})");
  EXPECT_EQ(again.status, 409u) << again.body;
  auto after = parse(agent_call(a, "GET", "/api/agent/tasks/due").body);
  EXPECT_EQ(find_in(after, "run_id", run_id), nullptr)
    << "a completed run is still due: " << json_text(after);

  auto list = runs(task_id);
  ASSERT_EQ(items(list), 1) << json_text(list);
  auto& run = list[0];
  EXPECT_EQ(str(run, "id"), run_id) << json_text(run);
  EXPECT_EQ(str(run, "status"), "completed") << json_text(run);
  ASSERT_TRUE(run.HasMember("result") && run["result"].IsObject())
    << json_text(run);
  EXPECT_EQ(str(run["result"], "summary"), "all quiet") << json_text(run);
  EXPECT_EQ(num(run["result"], "items"), 3) << json_text(run);
  EXPECT_EQ(str(run, "summary"), "Checked 3 services: all quiet.")
    << json_text(run);
  EXPECT_TRUE(is_null_or_absent(run, "error")) << "the 409 changed the run";
  ASSERT_TRUE(run.HasMember("items") && run["items"].IsArray())
    << json_text(run);
  ASSERT_EQ(run["items"].Size(), 2u) << json_text(run);
  EXPECT_EQ(str(run["items"][0], "type"), "message") << json_text(run);
  EXPECT_EQ(str(run["items"][0], "id"), str(parse(said.body), "message_id"))
    << json_text(run);
  EXPECT_EQ(str(run["items"][1], "type"), "alert") << json_text(run);
  EXPECT_EQ(str(run["items"][1], "id"), str(parse(alerted.body), "activity_id"))
    << json_text(run);
  EXPECT_GE(iso_ms(str(run, "completed_at")), run_at - 1000) << json_text(run);
  // Fired once: nothing more is scheduled.
  auto fired = task(task_id);
  EXPECT_TRUE(is_null_or_absent(fired, "next_run_at")) << json_text(fired);
  EXPECT_FALSE(str(fired, "last_run_at").empty()) << json_text(fired);
}

TEST_F(tasks_e2e, a_once_task_with_milliseconds_in_run_at_fires) {
  // What JavaScript's Date.toISOString() sends: "…:05.250Z".
  auto a = create_agent("js client");
  auto ws = connect_agent(a, false);
  auto run_at = wall_ms() + 1500;
  auto [task_id, trigger_url] = new_agent_task(
    a, R"({"name":"soon","prompt":"p","schedule":"once","run_at":")"
         + iso(run_at, true) + "\"}");
  auto frame = next_of(*ws, "task_due", 5s);
  ASSERT_FALSE(frame.empty())
    << "a once task whose run_at has milliseconds never fired (run_at "
    << iso(run_at, true) << "); the task: " << json_text(task(task_id));
  EXPECT_GE(wall_ms(), run_at) << "fired before its run_at";
  EXPECT_EQ(str(parse(frame), "task_id"), task_id) << frame;
}

// -- 2. Inbound triggers while the agent is offline
// --------------------------

TEST_F(tasks_e2e, a_trigger_keeps_the_callers_headers_but_no_credentials) {
  auto a = create_agent("hooked");
  auto [task_id, trigger_url] = new_agent_task(
    a, R"({"name":"on push","prompt":"p","schedule":"event"})");
  auto path = path_of(trigger_url);
  auto r
    = test::http_call(port, "POST", path, "ref=main",
                      {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"X-GitHub-Event", "push"},
                       {"X-GitHub-Delivery", "72d3162e"},
                       {"Authorization", "Bearer do-not-keep"},
                       {"Cookie", "session=do-not-keep"},
                       {"Proxy-Authorization", "Basic do-not-keep"},
                       {"X-Tag", "a"},
                       {"X-Tag", "b"}});
  ASSERT_EQ(r.status, 202u) << r.body;
  auto check = [&](const rapidjson::Value& e, const std::string& where) {
    EXPECT_EQ(str(e, "content_type"), "application/x-www-form-urlencoded")
      << where;
    ASSERT_TRUE(e.HasMember("headers") && e["headers"].IsObject()) << where;
    auto& h = e["headers"];
    EXPECT_EQ(str(h, "x-github-event"), "push") << where;
    EXPECT_EQ(str(h, "x-github-delivery"), "72d3162e") << where;
    EXPECT_EQ(str(h, "x-tag"), "a, b") << where;
    EXPECT_FALSE(h.HasMember("authorization")) << where;
    EXPECT_FALSE(h.HasMember("cookie")) << where;
    EXPECT_FALSE(h.HasMember("proxy-authorization")) << where;
    EXPECT_EQ(where.find("do-not-keep"), std::string::npos);
  };
  auto listed = agent_call(a, "GET", "/api/agent/tasks/triggers/pending");
  auto pending = parse(listed.body);
  ASSERT_TRUE(pending.IsArray() && pending.Size() == 1) << listed.body;
  check(pending[0], listed.body);
  auto ws = connect_agent(a, false);
  auto frame = next_of(*ws, "task_trigger");
  ASSERT_FALSE(frame.empty());
  check(parse(frame), frame);
  auto list = runs(task_id);
  ASSERT_EQ(items(list), 1) << json_text(list);
  check(list[0], json_text(list));
}

TEST_F(tasks_e2e, a_trigger_with_a_secret_takes_only_signed_calls) {
  auto a = create_agent("signed");
  // GitHub's documented example: this secret and body give this signature.
  const std::string secret = "It's a Secret to Everybody";
  const std::string body = "Hello, World!";
  const std::string signature = "sha256=757107ea0eb2509fc211221cce984b8a3757"
                                "0b6d7586c22c46f4379c8b043e17";
  auto [task_id, trigger_url]
    = new_agent_task(a, R"({"name":"on push","prompt":"p","schedule":"event",)"
                        R"("trigger_secret":")"
                          + secret + R"("})");
  auto path = path_of(trigger_url);
  auto shown = agent_call(a, "GET", "/api/agent/tasks/" + task_id);
  EXPECT_TRUE(parse(shown.body)["trigger_secret_set"].GetBool()) << shown.body;
  EXPECT_EQ(shown.body.find(secret), std::string::npos) << shown.body;
  EXPECT_EQ(app("GET", "/api/tasks").body.find(secret), std::string::npos);

  auto call = [&](const std::string& sig) {
    testkit::header_list h{{"Content-Type", "text/plain"}};
    if (!sig.empty())
      h.emplace_back("X-Hub-Signature-256", sig);
    return test::http_call(port, "POST", path, body, h);
  };
  auto unsigned_call = call("");
  EXPECT_EQ(unsigned_call.status, 401u) << unsigned_call.body;
  EXPECT_NE(unsigned_call.body.find("X-Hub-Signature-256"), std::string::npos)
    << unsigned_call.body;
  auto wrong = call("sha256=" + std::string(64, '0'));
  EXPECT_EQ(wrong.status, 401u) << wrong.body;
  EXPECT_EQ(call("sha1=757107ea0eb2509fc211221cce984b8a37570b6d").status, 401u);
  EXPECT_EQ(call(signature).status, 202u);
  std::string upper = signature;
  for (size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_EQ(call(upper).status, 202u);
  // Another body under the same signature is refused.
  EXPECT_EQ(test::http_call(port, "POST", path, "Hello, World?",
                            {{"X-Hub-Signature-256", signature}})
              .status,
            401u);
  auto pending
    = parse(agent_call(a, "GET", "/api/agent/tasks/triggers/pending").body);
  EXPECT_EQ(items(pending), 2) << json_text(pending);

  // An empty secret is refused; null removes it, and unsigned calls pass.
  auto empty = agent_call(a, "PATCH", "/api/agent/tasks/" + task_id,
                          R"({"trigger_secret":""})");
  EXPECT_EQ(empty.status, 400u) << empty.body;
  EXPECT_NE(empty.body.find("trigger_secret"), std::string::npos);
  auto cleared = agent_call(a, "PATCH", "/api/agent/tasks/" + task_id,
                            R"({"trigger_secret":null})");
  ASSERT_EQ(cleared.status, 200u) << cleared.body;
  EXPECT_FALSE(parse(cleared.body)["trigger_secret_set"].GetBool());
  EXPECT_EQ(call("").status, 202u);
  // Set again by the person, and kept across a restart.
  ASSERT_EQ(app("PATCH", "/api/tasks/" + task_id,
                R"({"trigger_secret":"It's a Secret to Everybody"})")
              .status,
            200u);
  stop();
  start();
  EXPECT_EQ(call("").status, 401u);
  EXPECT_EQ(call(signature).status, 202u);
}

TEST_F(tasks_e2e, triggers_wait_for_an_offline_agent_and_are_replayed) {
  auto a = create_agent("offline");
  auto [task_id, trigger_url] = new_agent_task(
    a, R"({"name":"on push","prompt":"Review the push","schedule":"event"})");
  auto path = path_of(trigger_url);
  ASSERT_FALSE(path.empty()) << trigger_url;
  EXPECT_EQ(path.find_first_not_of(test::hex, 13), std::string::npos) << path;
  EXPECT_GE(path.size(), 13u + 32u) << "trigger ids carry >= 128 bits";

  auto before = wall_ms();
  auto json_call = fire(path, R"({"ref":"refs/heads/main","commits":[1,2,3]})");
  ASSERT_EQ(json_call.status, 202u) << json_call.body;
  auto text_call = fire(path, "plain text, not JSON", "text/plain");
  ASSERT_EQ(text_call.status, 202u) << text_call.body;
  auto after = wall_ms();
  auto first = parse(json_call.body);
  auto second = parse(text_call.body);
  for (auto* reply : {&first, &second}) {
    EXPECT_EQ(str(*reply, "status"), "accepted") << json_text(*reply);
    EXPECT_TRUE(test::matches(str(*reply, "event_id"), "evt_", test::hex, 16))
      << json_text(*reply);
    EXPECT_TRUE(test::matches(str(*reply, "run_id"), "run_", test::hex, 16))
      << json_text(*reply);
  }
  auto run1 = str(first, "run_id");
  auto run2 = str(second, "run_id");
  ASSERT_NE(run1, run2);

  auto listed = agent_call(a, "GET", "/api/agent/tasks/triggers/pending");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  auto pending = parse(listed.body);
  ASSERT_TRUE(pending.IsArray()) << listed.body;
  EXPECT_EQ(pending.Size(), 2u) << listed.body;
  auto p1 = find_in(pending, "run_id", run1);
  auto p2 = find_in(pending, "run_id", run2);
  ASSERT_NE(p1, nullptr) << listed.body;
  ASSERT_NE(p2, nullptr) << listed.body;
  EXPECT_EQ(str(*p1, "id"), str(first, "event_id")) << listed.body;
  EXPECT_EQ(str(*p1, "task_id"), task_id) << listed.body;
  EXPECT_EQ(str(*p1, "task_name"), "on push") << listed.body;
  EXPECT_EQ(str(*p1, "task_prompt"), "Review the push") << listed.body;
  ASSERT_TRUE(p1->HasMember("payload") && (*p1)["payload"].IsObject())
    << listed.body;
  EXPECT_EQ(str((*p1)["payload"], "ref"), "refs/heads/main") << listed.body;
  ASSERT_TRUE((*p1)["payload"].HasMember("commits")
              && (*p1)["payload"]["commits"].IsArray())
    << listed.body;
  EXPECT_EQ((*p1)["payload"]["commits"].Size(), 3u) << listed.body;
  ASSERT_TRUE(p2->HasMember("payload") && (*p2)["payload"].IsString())
    << listed.body;
  EXPECT_EQ(std::string((*p2)["payload"].GetString()), "plain text, not JSON")
    << listed.body;
  for (auto* p : {p1, p2}) {
    auto at = iso_ms(str(*p, "received_at"));
    EXPECT_GE(at, before / 1000 * 1000) << listed.body;
    EXPECT_LE(at, after) << listed.body;
  }
  // Trigger runs are not "due" scheduled runs.
  auto due = parse(agent_call(a, "GET", "/api/agent/tasks/due").body);
  EXPECT_EQ(find_in(due, "run_id", run1), nullptr) << json_text(due);

  // Completed through the task-path variant: no longer pending.
  auto done
    = agent_call(a, "POST", "/api/agent/tasks/" + task_id + "/run/complete",
                 R"({"run_id":")" + run1 + R"(","status":"completed"})");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(done.body, R"({"status":"ok"})");
  auto left
    = parse(agent_call(a, "GET", "/api/agent/tasks/triggers/pending").body);
  ASSERT_TRUE(left.IsArray()) << json_text(left);
  ASSERT_EQ(left.Size(), 1u) << json_text(left);
  EXPECT_EQ(str(left[0], "run_id"), run2) << json_text(left);

  // The agent comes online: the trigger events are replayed in order.
  std::string auth;
  auto ws = connect_agent(a, false, &auth);
  EXPECT_EQ(num(parse(auth), "pending"), 2) << auth;
  std::vector<rapidjson::Document> got;
  for (int i = 0; i < 2; ++i) {
    auto frame = next_of(*ws, "task_trigger");
    if (frame.empty())
      break;
    got.push_back(parse(frame));
  }
  ASSERT_EQ(got.size(), 2u) << "task_trigger events were not replayed";
  EXPECT_EQ(str(got[0], "event_id"), str(first, "event_id"));
  EXPECT_EQ(str(got[1], "event_id"), str(second, "event_id"));
  EXPECT_LT(num(got[0], "seq"), num(got[1], "seq"));
  for (auto& g : got) {
    EXPECT_EQ(str(g, "task_id"), task_id) << json_text(g);
    EXPECT_EQ(str(g, "task_name"), "on push") << json_text(g);
    EXPECT_EQ(str(g, "task_prompt"), "Review the push") << json_text(g);
    EXPECT_FALSE(str(g, "received_at").empty()) << json_text(g);
  }
  EXPECT_EQ(str(got[0], "run_id"), run1);
  ASSERT_TRUE(got[0].HasMember("payload") && got[0]["payload"].IsObject())
    << json_text(got[0]);
  EXPECT_EQ(str(got[0]["payload"], "ref"), "refs/heads/main");
  EXPECT_EQ(str(got[0], "received_at"), str(*p1, "received_at"));
  EXPECT_EQ(str(got[1], "run_id"), run2);
  ASSERT_TRUE(got[1].HasMember("payload") && got[1]["payload"].IsString())
    << json_text(got[1]);
  EXPECT_EQ(std::string(got[1]["payload"].GetString()), "plain text, not JSON");
  EXPECT_EQ(str(got[1], "received_at"), str(*p2, "received_at"));
}

// -- 3. Trigger refusals
// -----------------------------------------------------

TEST_F(tasks_e2e, unknown_disabled_oversized_and_flooded_triggers_are_refused) {
  auto a = create_agent("guarded");
  EXPECT_EQ(fire("/webhook/trg_" + std::string(32, '0'), "{}").status, 404u);
  EXPECT_EQ(fire("/webhook/nonsense", "{}").status, 404u);

  auto t = new_task(a, R"({"name":"hook","prompt":"p","schedule":"event"})");
  auto task_id = str(t, "id");
  auto path = path_of(str(t, "trigger_url"));
  ASSERT_FALSE(path.empty()) << json_text(t);

  // Disabled: 409, and nothing reaches the agent.
  auto off = app("PATCH", "/api/tasks/" + task_id, R"({"enabled":false})");
  ASSERT_EQ(off.status, 200u) << off.body;
  EXPECT_EQ(flag(parse(off.body), "enabled"), 0) << off.body;
  auto refused = fire(path, R"({"n":1})");
  EXPECT_EQ(refused.status, 409u) << refused.body;
  EXPECT_FALSE(str(parse(refused.body), "detail").empty()) << refused.body;
  EXPECT_EQ(items(runs(task_id)), 0);
  EXPECT_TRUE(inbox_of(a, "task_trigger").empty());
  // Enabled again: the same URL works.
  ASSERT_EQ(app("PATCH", "/api/tasks/" + task_id, R"({"enabled":true})").status,
            200u);
  EXPECT_EQ(fire(path, R"({"n":2})").status, 202u);

  // At most 1 MiB.
  auto too_big = fire(path, std::string(1024 * 1024 + 1, 'x'), "text/plain");
  EXPECT_EQ(too_big.status, 413u) << too_big.body.substr(0, 200);
  auto just_fits = fire(path, std::string(1024 * 1024, 'y'), "text/plain");
  EXPECT_EQ(just_fits.status, 202u) << just_fits.body.substr(0, 200);
  EXPECT_EQ(items(runs(task_id)), 2);

  // A flood on a fresh trigger (default 10/s, burst 20): the burst
  // passes, then 429. 40 calls, more while none was limited (a slow
  // machine sends fewer than 10 a second).
  auto flood
    = new_task(a, R"({"name":"flood","prompt":"p","schedule":"event"})");
  auto flood_path = path_of(str(flood, "trigger_url"));
  ASSERT_FALSE(flood_path.empty()) << json_text(flood);
  auto started = clock_type::now();
  std::vector<test::http_reply> replies;
  bool any_429 = false;
  for (int i = 0; i < 200 && (i < 40 || !any_429); ++i) {
    replies.push_back(fire(flood_path, R"({"i":)" + std::to_string(i) + "}"));
    any_429 = any_429 || replies.back().status == 429;
  }
  auto seconds
    = std::chrono::duration<double>(clock_type::now() - started).count();
  size_t accepted = 0;
  size_t limited = 0;
  for (size_t i = 0; i < replies.size(); ++i) {
    auto& r = replies[i];
    if (i < 20) {
      EXPECT_EQ(r.status, 202u) << "call " << i << " within the burst";
    }
    if (r.status == 202) {
      ++accepted;
    } else if (r.status == 429) {
      ++limited;
      auto retry = r.header("Retry-After");
      EXPECT_FALSE(retry.empty()) << "429 without Retry-After";
      EXPECT_EQ(retry.find_first_not_of("0123456789"), std::string::npos)
        << retry;
      EXPECT_GE(std::atoi(retry.c_str()), 1) << retry;
    } else {
      ADD_FAILURE() << "call " << i << ": " << r.status << " " << r.body;
    }
  }
  EXPECT_GE(limited, 1u) << replies.size() << " calls in " << seconds
                         << " s, none limited";
  // 20 at once, then 10 a second.
  EXPECT_LE(accepted, 20 + static_cast<size_t>(seconds * 10) + 1)
    << accepted << " accepted in " << seconds << " s";
  // Only the accepted calls made runs; the other trigger was not limited.
  EXPECT_EQ(items(runs(str(flood, "id"))), static_cast<int64_t>(accepted));
  EXPECT_EQ(fire(path, R"({"n":3})").status, 202u)
    << "one trigger's flood limited another";
  // A rate, not a ban: after Retry-After the trigger works again.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(fire(flood_path, "{}").status, 202u);
}

// -- 4. Validation and ownership
// ---------------------------------------------

TEST_F(tasks_e2e, invalid_tasks_are_400s_naming_the_field) {
  auto a = create_agent("validated");
  struct bad_case {
    const char* body;
    const char* field;
  };
  const bad_case cases[] = {
    {R"({"name":"n","prompt":"p","schedule":"61 * * * *"})", "schedule"},
    {R"({"name":"n","prompt":"p","schedule":"every day"})", "schedule"},
    {R"({"name":"n","prompt":"p","schedule":"0 9 * * *",)"
     R"("timezone":"Mars/Olympus_Mons"})",
     "timezone"},
    {R"({"name":"n","prompt":"p","schedule":"once"})", "run_at"},
    {R"({"name":"n","prompt":"p","schedule":"once","run_at":"tomorrow"})",
     "run_at"},
    {R"({"prompt":"p","schedule":"event"})", "name"},
    {R"({"name":"n","schedule":"event"})", "prompt"},
    {R"({"name":"n","prompt":"p","schedule":5})", "schedule"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.body);
    for (bool by_agent : {true, false}) {
      auto r = by_agent ? agent_task(a, c.body)
                        : app("POST", "/api/tasks/" + a.id, c.body);
      EXPECT_EQ(r.status, 400u) << r.body;
      auto detail = str(parse(r.body), "detail");
      EXPECT_NE(detail.find(c.field), std::string::npos)
        << (by_agent ? "agent API: " : "app API: ") << r.body;
    }
  }
  auto none = parse(agent_call(a, "GET", "/api/agent/tasks").body);
  EXPECT_EQ(items(none), 0) << "a refused task was stored: " << json_text(none);

  // A bad patch is refused and changes nothing.
  auto t = new_task(a, R"({"name":"ok","prompt":"p","schedule":"0 9 * * *"})");
  auto id = str(t, "id");
  auto patched
    = app("PATCH", "/api/tasks/" + id, R"({"schedule":"61 * * * *"})");
  EXPECT_EQ(patched.status, 400u) << patched.body;
  EXPECT_NE(str(parse(patched.body), "detail").find("schedule"),
            std::string::npos)
    << patched.body;
  EXPECT_EQ(str(task(id), "schedule"), "0 9 * * *");
  EXPECT_EQ(str(task(id), "next_run_at"), str(t, "next_run_at"));
}

TEST_F(tasks_e2e, approval_only_agents_and_other_owners_get_no_tasks) {
  auto r = app("POST", "/api/agents",
               R"({"name":"approver","type":"approval_only"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  auto created = parse(r.body);
  agent_info approver{str(created, "agent_id"), str(created, "secret"), {}};
  auto refused = agent_task(
    approver, R"({"name":"n","prompt":"p","schedule":"0 9 * * *"})");
  EXPECT_EQ(refused.status, 403u) << refused.body;
  EXPECT_EQ(agent_call(approver, "GET", "/api/agent/tasks").status, 403u);
  EXPECT_EQ(app("POST", "/api/tasks/" + approver.id,
                R"({"name":"n","prompt":"p","schedule":"0 9 * * *"})")
              .status,
            403u);
  // It can still ask for decisions.
  EXPECT_FALSE(ask_decision(approver, "May I?").empty());

  // Admin's agent and task; bob sees none of it.
  auto a = create_agent("admins");
  auto t = new_task(a, R"({"name":"mine","prompt":"p","schedule":"event"})");
  auto id = str(t, "id");
  auto path = path_of(str(t, "trigger_url"));
  auto fired = fire(path, "{}");
  ASSERT_EQ(fired.status, 202u) << fired.body;
  auto run_id = str(parse(fired.body), "run_id");
  ASSERT_FALSE(run_id.empty()) << fired.body;
  auto added = app("POST", "/api/users",
                   R"({"username":"bob","password":"pw-bob-long-enough"})");
  ASSERT_EQ(added.status, 201u) << added.body;
  auto login
    = test::http_call(port, "POST", "/api/auth/login",
                      R"({"username":"bob","password":"pw-bob-long-enough"})",
                      {{"Content-Type", "application/json"}});
  ASSERT_EQ(login.status, 200u) << login.body;
  auto bob = str(parse(login.body), "token");
  ASSERT_FALSE(bob.empty());

  EXPECT_EQ(app_as(bob, "GET", "/api/tasks/" + id).status, 404u);
  EXPECT_EQ(
    app_as(bob, "PATCH", "/api/tasks/" + id, R"({"enabled":false})").status,
    404u);
  EXPECT_EQ(app_as(bob, "POST", "/api/tasks/" + id + "/run").status, 404u);
  EXPECT_EQ(app_as(bob, "GET", "/api/tasks/" + id + "/runs").status, 404u);
  EXPECT_EQ(app_as(bob, "DELETE", "/api/tasks/" + id).status, 404u);
  EXPECT_EQ(app_as(bob, "POST", "/api/tasks/" + a.id,
                   R"({"name":"n","prompt":"p","schedule":"event"})")
              .status,
            404u);
  EXPECT_EQ(app_as(bob, "GET", "/api/tasks?agent_id=" + a.id).status, 404u);
  auto bobs = app_as(bob, "GET", "/api/tasks");
  ASSERT_EQ(bobs.status, 200u) << bobs.body;
  EXPECT_EQ(items(parse(bobs.body)), 0) << bobs.body;

  // Another agent cannot start or complete this agent's runs.
  auto other = create_agent("other");
  EXPECT_EQ(
    agent_call(other, "POST", "/api/agent/tasks/" + id + "/run/start").status,
    404u);
  EXPECT_EQ(agent_call(other, "POST",
                       "/api/agent/tasks/runs/" + run_id + "/complete",
                       R"({"status":"completed"})")
              .status,
            404u);
  auto others
    = parse(agent_call(other, "GET", "/api/agent/tasks/triggers/pending").body);
  EXPECT_EQ(items(others), 0) << json_text(others);

  // Untouched.
  auto still = task(id);
  EXPECT_EQ(flag(still, "enabled"), 1) << json_text(still);
  auto list = runs(id);
  ASSERT_EQ(items(list), 1) << json_text(list);
  EXPECT_EQ(str(list[0], "status"), "due") << json_text(list);
}

// -- 5. Decision expiry
// ------------------------------------------------------

TEST_F(tasks_e2e, a_decision_with_expires_in_expires_and_the_agent_is_told) {
  auto a = create_agent("impatient");
  auto ws = connect_agent(a, false);
  auto asked = wall_ms();
  auto r = agent_call(
    a, "POST", "/api/agent/events",
    R"({"type":"decision","title":"Deploy now?","kind":"approval","expires_in":2})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto decision = str(parse(r.body), "decision_id");
  auto frame = next_of(*ws, "decision_resolved", 5s);
  auto told = wall_ms();
  ASSERT_FALSE(frame.empty()) << "no decision_resolved after expires_in";
  auto doc = parse(frame);
  EXPECT_EQ(str(doc, "decision_id"), decision) << frame;
  EXPECT_EQ(str(doc, "status"), "expired") << frame;
  EXPECT_GE(told, asked + 1900) << "expired early";
  EXPECT_LE(told, asked + 4000) << "expired late";
  auto stored = parse(app("GET", "/api/decisions/" + decision).body);
  EXPECT_EQ(str(stored, "status"), "expired") << json_text(stored);
  // Expired is final: a person's late answer is a conflict.
  EXPECT_EQ(resolve(decision, R"({"status":"approved"})").status, 409u);
  // A decision answered in time does not expire later.
  auto r2 = agent_call(
    a, "POST", "/api/agent/events",
    R"({"type":"decision","title":"Quick?","kind":"approval","expires_in":1})");
  auto answered = str(parse(r2.body), "decision_id");
  ASSERT_EQ(resolve(answered, R"({"status":"approved"})").status, 200u);
  auto approved = parse(next_of(*ws, "decision_resolved"));
  EXPECT_EQ(str(approved, "status"), "approved");
  EXPECT_TRUE(next_of(*ws, "decision_resolved", 1500ms).empty())
    << "a resolved decision expired too";
  EXPECT_EQ(str(parse(app("GET", "/api/decisions/" + answered).body), "status"),
            "approved");
}

TEST_F(tasks_e2e, a_decision_expires_across_a_restart) {
  auto a = create_agent("patient");
  auto asked = wall_ms();
  auto r = agent_call(
    a, "POST", "/api/agent/events",
    R"({"type":"decision","title":"Reboot?","kind":"approval","expires_in":3})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto decision = str(parse(r.body), "decision_id");
  stop();
  ASSERT_LT(wall_ms(), asked + 3000) << "the server took too long to stop";
  sleep_until_wall(asked + 4000);
  start();
  token = login();
  std::string status;
  auto expired = eventually(
    [&] {
      auto d = agent_call(a, "GET", "/api/agent/decisions/" + decision);
      status = str(parse(d.body), "status");
      return status == "expired";
    },
    3s);
  EXPECT_TRUE(expired) << "still " << status << " after the restart\n"
                       << server->output();
  auto events = inbox_of(a, "decision_resolved");
  ASSERT_EQ(events.size(), 1u);
  auto e = parse(events[0]);
  EXPECT_EQ(str(e, "decision_id"), decision) << events[0];
  EXPECT_EQ(str(e, "status"), "expired") << events[0];
}

// -- 6. Missed schedules
// -----------------------------------------------------

TEST_F(tasks_e2e, a_schedule_missed_while_down_fires_once_after_restart) {
  auto a = create_agent("sleeper");
  auto run_at = (wall_ms() + 2000 + 999) / 1000 * 1000;
  auto [task_id, trigger_url] = new_agent_task(
    a, R"({"name":"wake","prompt":"Catch up","schedule":"once","run_at":")"
         + iso(run_at) + "\"}");
  stop();
  ASSERT_LT(wall_ms(), run_at) << "the server took too long to stop";
  sleep_until_wall(run_at + 500);
  start();
  token = login();
  std::vector<std::string> due;
  EXPECT_TRUE(eventually(
    [&] {
      due = inbox_of(a, "task_due");
      return !due.empty();
    },
    5s))
    << "the missed run did not fire\n"
    << server->output();
  // Once, and not again on the next start.
  std::this_thread::sleep_for(300ms);
  stop();
  start();
  token = login();
  std::this_thread::sleep_for(300ms);
  due = inbox_of(a, "task_due");
  ASSERT_EQ(due.size(), 1u);
  auto e = parse(due[0]);
  EXPECT_EQ(str(e, "task_id"), task_id) << due[0];
  EXPECT_EQ(str(e, "task_name"), "wake") << due[0];
  auto list = runs(task_id);
  ASSERT_EQ(items(list), 1) << json_text(list);
  EXPECT_EQ(str(list[0], "run_id"), str(e, "run_id"));
  auto t = task(task_id);
  EXPECT_TRUE(is_null_or_absent(t, "next_run_at")) << json_text(t);
  EXPECT_GE(iso_ms(str(t, "last_run_at")), run_at) << json_text(t);
}

// -- 7. Task proposals
// -------------------------------------------------------

TEST_F(tasks_e2e, approving_a_task_proposal_creates_a_working_task) {
  auto a = create_agent("proposer");
  auto bad = agent_call(a, "POST", "/api/agent/events",
                        R"({"type":"task_proposal","title":"t",)"
                        R"("task_name":"n","task_prompt":"p",)"
                        R"("task_schedule":"61 * * * *"})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find("task_schedule"), std::string::npos) << bad.body;

  auto propose = [&](const std::string& name) {
    auto r = agent_call(a, "POST", "/api/agent/events",
                        R"({"type":"task_proposal","title":"May I watch )"
                          + name + R"(?","task_name":")" + name
                          + R"(","task_prompt":"Check )" + name
                          + R"(","task_schedule":"event"})");
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "decision_id");
  };
  auto rejected = propose("logs");
  auto approved = propose("deploys");
  auto tasks = [&] {
    auto r = agent_call(a, "GET", "/api/agent/tasks");
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  };
  EXPECT_EQ(items(tasks()), 0) << "a proposal is not a task yet";
  ASSERT_EQ(resolve(rejected, R"({"status":"rejected"})").status, 200u);
  EXPECT_EQ(items(tasks()), 0) << "a rejected proposal created a task";
  auto ok = resolve(approved, R"({"status":"approved"})");
  ASSERT_EQ(ok.status, 200u) << ok.body;

  auto list = tasks();
  ASSERT_EQ(items(list), 1) << json_text(list);
  auto& t = list[0];
  EXPECT_EQ(str(t, "name"), "deploys") << json_text(t);
  EXPECT_EQ(str(t, "prompt"), "Check deploys") << json_text(t);
  EXPECT_EQ(str(t, "schedule"), "event") << json_text(t);
  EXPECT_EQ(str(t, "trigger_type"), "event") << json_text(t);
  auto task_id = str(t, "id");
  auto path = path_of(str(t, "trigger_url"));
  ASSERT_FALSE(path.empty()) << json_text(t);
  // The decision and the agent's decision_resolved name the new task.
  EXPECT_EQ(str(parse(ok.body), "task_id"), task_id) << ok.body;
  // The event is stored when the resolve answers; it is in the inbox once
  // its lane has found no socket and no webhook and parked it.
  test::http_reply inbox;
  rapidjson::Document events;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    inbox = agent_call(a, "GET", "/api/agent/inbox");
    ASSERT_EQ(inbox.status, 200u) << inbox.body;
    events = parse(inbox.body);
  } while (items(events) < 2 && std::chrono::steady_clock::now() < deadline);
  auto* resolved = find_in(events, "decision_id", approved);
  ASSERT_NE(resolved, nullptr) << inbox.body;
  EXPECT_EQ(str(*resolved, "task_id"), task_id) << inbox.body;
  auto* declined = find_in(events, "decision_id", rejected);
  ASSERT_NE(declined, nullptr) << inbox.body;
  EXPECT_FALSE(declined->HasMember("task_id")) << inbox.body;

  auto ws = connect_agent(a, false);
  auto called = fire(path, R"({"deploy":"v1.2.3"})");
  ASSERT_EQ(called.status, 202u) << called.body;
  auto frame = next_of(*ws, "task_trigger");
  ASSERT_FALSE(frame.empty()) << "no task_trigger from the approved task";
  auto doc = parse(frame);
  EXPECT_EQ(str(doc, "task_id"), task_id) << frame;
  EXPECT_EQ(str(doc, "task_name"), "deploys") << frame;
  EXPECT_EQ(str(doc, "run_id"), str(parse(called.body), "run_id")) << frame;
  ASSERT_TRUE(doc.HasMember("payload") && doc["payload"].IsObject()) << frame;
  EXPECT_EQ(str(doc["payload"], "deploy"), "v1.2.3") << frame;
  // The owner sees the task too.
  auto owners = app("GET", "/api/tasks?agent_id=" + a.id);
  EXPECT_NE(find_in(parse(owners.body), "id", task_id), nullptr) << owners.body;
}

// -- 8. The people's task endpoints
// ------------------------------------------

TEST_F(tasks_e2e, people_create_list_edit_run_and_delete_tasks) {
  auto a = create_agent("managed");
  auto b = create_agent("bystander");
  auto app_ws = app_socket();
  auto ws = connect_agent(a, false);

  auto now = wall_ms();
  auto t = new_task(
    a, R"({"name":"daily","prompt":"Morning report","schedule":"0 9 * * *"})");
  auto id = str(t, "id");
  ASSERT_TRUE(test::matches(id, "tsk_", test::hex, 16)) << json_text(t);
  EXPECT_EQ(str(t, "agent_id"), a.id) << json_text(t);
  EXPECT_EQ(str(t, "name"), "daily") << json_text(t);
  EXPECT_EQ(str(t, "prompt"), "Morning report") << json_text(t);
  EXPECT_EQ(str(t, "trigger_type"), "scheduled") << json_text(t);
  EXPECT_EQ(flag(t, "enabled"), 1) << json_text(t);
  EXPECT_TRUE(is_null_or_absent(t, "trigger_url")) << json_text(t);
  EXPECT_EQ(str(t, "next_run_at"), iso(next_daily_utc(now, 9, 0)))
    << json_text(t);
  EXPECT_FALSE(str(t, "created_at").empty()) << json_text(t);
  auto second
    = new_task(a, R"({"name":"second","prompt":"p","schedule":"event"})");
  new_task(b, R"({"name":"not a's","prompt":"p","schedule":"event"})");

  auto listed = app("GET", "/api/tasks?agent_id=" + a.id);
  ASSERT_EQ(listed.status, 200u) << listed.body;
  auto list = parse(listed.body);
  ASSERT_TRUE(list.IsArray()) << listed.body;
  ASSERT_EQ(list.Size(), 2u) << listed.body;
  EXPECT_EQ(str(list[0], "id"), str(second, "id")) << "newest first";
  EXPECT_EQ(str(list[1], "id"), id);
  EXPECT_EQ(items(parse(app("GET", "/api/tasks").body)), 3);
  EXPECT_EQ(str(task(id), "name"), "daily");

  // A new schedule gets a new next run; a time zone shifts it.
  now = wall_ms();
  auto p1 = app("PATCH", "/api/tasks/" + id,
                R"({"schedule":"30 18 * * *","name":"evening"})");
  ASSERT_EQ(p1.status, 200u) << p1.body;
  auto evening = parse(p1.body);
  EXPECT_EQ(str(evening, "name"), "evening") << p1.body;
  EXPECT_EQ(str(evening, "prompt"), "Morning report") << "a patch keeps fields";
  EXPECT_EQ(str(evening, "next_run_at"), iso(next_daily_utc(now, 18, 30)))
    << p1.body;
  now = wall_ms();
  auto p2 = app("PATCH", "/api/tasks/" + id, R"({"timezone":"Asia/Kolkata"})");
  ASSERT_EQ(p2.status, 200u) << p2.body;
  // 18:30 in Kolkata (UTC+5:30, no DST) is 13:00 UTC.
  EXPECT_EQ(str(parse(p2.body), "next_run_at"), iso(next_daily_utc(now, 13, 0)))
    << p2.body;
  EXPECT_EQ(str(task(id), "timezone"), "Asia/Kolkata");

  // Switching to "event" gives it a trigger URL that works.
  auto p3 = app("PATCH", "/api/tasks/" + id, R"({"schedule":"event"})");
  ASSERT_EQ(p3.status, 200u) << p3.body;
  auto as_event = parse(p3.body);
  EXPECT_EQ(str(as_event, "trigger_type"), "event") << p3.body;
  EXPECT_TRUE(is_null_or_absent(as_event, "next_run_at")) << p3.body;
  auto path = path_of(str(as_event, "trigger_url"));
  ASSERT_FALSE(path.empty()) << p3.body;
  auto via_trigger = fire(path, R"({"k":"v"})");
  EXPECT_EQ(via_trigger.status, 202u) << via_trigger.body;
  EXPECT_FALSE(next_of(*ws, "task_trigger").empty());
  // Back to a cron schedule: the URL stops working.
  auto p4 = app("PATCH", "/api/tasks/" + id, R"({"schedule":"*/5 * * * *"})");
  ASSERT_EQ(p4.status, 200u) << p4.body;
  EXPECT_TRUE(is_null_or_absent(parse(p4.body), "trigger_url")) << p4.body;
  EXPECT_EQ(fire(path, "{}").status, 404u) << "the old trigger still works";

  // Run now: the agent gets task_due, the app sees the run.
  auto ran = app("POST", "/api/tasks/" + id + "/run");
  ASSERT_EQ(ran.status / 100, 2u) << ran.status << " " << ran.body;
  auto run_id = str(parse(ran.body), "run_id");
  ASSERT_TRUE(test::matches(run_id, "run_", test::hex, 16)) << ran.body;
  auto due = parse(next_of(*ws, "task_due"));
  EXPECT_EQ(str(due, "run_id"), run_id) << json_text(due);
  EXPECT_EQ(str(due, "task_id"), id) << json_text(due);
  EXPECT_EQ(str(due, "task_name"), "evening") << json_text(due);
  EXPECT_EQ(str(due, "schedule"), "*/5 * * * *") << json_text(due);
  auto pushed = next_matching(*app_ws, [&](const rapidjson::Document& f) {
    return str(f, "type") == "task_run" && f.HasMember("run")
           && str(f["run"], "run_id") == run_id;
  });
  ASSERT_FALSE(pushed.empty()) << "no task_run push to the app";
  EXPECT_EQ(str(parse(pushed)["run"], "task_id"), id) << pushed;

  // The agent starts its own run and fails it; the owner sees both.
  auto started = agent_call(a, "POST", "/api/agent/tasks/" + id + "/run/start");
  ASSERT_EQ(started.status, 200u) << started.body;
  auto own_run = str(parse(started.body), "run_id");
  ASSERT_TRUE(test::matches(own_run, "run_", test::hex, 16)) << started.body;
  auto failed
    = agent_call(a, "POST", "/api/agent/tasks/runs/" + own_run + "/complete",
                 R"({"status":"failed","error":"disk full"})");
  EXPECT_EQ(failed.status, 200u) << failed.body;
  auto history = runs(id);
  auto manual = find_in(history, "run_id", run_id);
  auto own = find_in(history, "run_id", own_run);
  ASSERT_NE(manual, nullptr) << json_text(history);
  ASSERT_NE(own, nullptr) << json_text(history);
  EXPECT_EQ(str(*manual, "status"), "due") << json_text(history);
  EXPECT_EQ(str(*own, "status"), "failed") << json_text(history);
  EXPECT_EQ(str(*own, "error"), "disk full") << json_text(history);
  EXPECT_EQ(str(history[0], "run_id"), own_run) << "newest first";

  // Delete: 204, then gone everywhere.
  auto del = app("DELETE", "/api/tasks/" + id);
  EXPECT_EQ(del.status, 204u) << del.body;
  EXPECT_TRUE(del.body.empty()) << del.body;
  EXPECT_EQ(app("GET", "/api/tasks/" + id).status, 404u);
  EXPECT_EQ(app("POST", "/api/tasks/" + id + "/run").status, 404u);
  EXPECT_EQ(app("DELETE", "/api/tasks/" + id).status, 404u);
  auto remaining = parse(app("GET", "/api/tasks?agent_id=" + a.id).body);
  ASSERT_EQ(items(remaining), 1) << json_text(remaining);
  EXPECT_EQ(str(remaining[0], "id"), str(second, "id"));
  EXPECT_EQ(
    find_in(parse(agent_call(a, "GET", "/api/agent/tasks").body), "id", id),
    nullptr);
}

} // namespace
} // namespace nod
