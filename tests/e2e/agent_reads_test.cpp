// What an agent reads back with its own credentials (issue "The agent's
// side of the API"): itself, its decisions, its conversations and their
// messages, its media and its tasks with their runs; another agent's or
// person's ids are 404s, as everywhere.

#include "protocol/credentials.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/e2e/server_fixture.hpp"
#include "tests/support/match.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace nod {
namespace {

using test::agent_info;
using test::num;
using test::parse;
using test::str;

size_t items_of(const rapidjson::Value& v) {
  return v.IsArray() ? v.Size() : 0;
}

class agent_reads_e2e : public test::server_fixture {
protected:
  /// The `name` member of each item of the JSON array `body`.
  static std::vector<std::string> column(const std::string& body,
                                         const char* name) {
    auto doc = parse(body);
    std::vector<std::string> out;
    if (!doc.IsArray())
      return {"(not an array: " + body + ")"};
    for (auto& item : doc.GetArray())
      out.push_back(str(item, name));
    return out;
  }

  /// The reply to `GET target` as `a`, which must be 200.
  std::string read_as(const agent_info& a, const std::string& target) {
    auto r = agent_call(a, "GET", target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    return r.body;
  }

  /// `a` sends a chat message; the reply.
  rapidjson::Document tell(const agent_info& a, const std::string& body) {
    auto r = agent_call(a, "POST", "/api/agent/events", body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }
};

TEST_F(agent_reads_e2e, me_is_the_agent_as_the_app_shows_it_without_secrets) {
  auto a = create_agent("reader", "https://hooks.example.com/nod");
  auto body = read_as(a, "/api/agent/me");
  auto me = parse(body);
  EXPECT_EQ(str(me, "agent_id"), a.id);
  EXPECT_EQ(str(me, "name"), "reader");
  EXPECT_EQ(str(me, "webhook_url"), "https://hooks.example.com/nod");
  EXPECT_FALSE(me.HasMember("secret")) << body;
  EXPECT_FALSE(me.HasMember("webhook_secret")) << body;
  EXPECT_EQ(body.find(a.secret), std::string::npos);
  EXPECT_EQ(body.find(a.webhook_secret), std::string::npos);
  // The app's view of the same agent has the same fields but the secret.
  auto app_view = parse(app("GET", "/api/agents/" + a.id).body);
  for (auto& m : app_view.GetObject()) {
    std::string name = m.name.GetString();
    EXPECT_TRUE(name == "webhook_secret" || me.HasMember(m.name))
      << "missing " << name << ": " << body;
  }
  // Online while its socket is open.
  auto ws = connect_agent(a, false);
  EXPECT_TRUE(parse(read_as(a, "/api/agent/me"))["online"].GetBool());

  agent_info wrong = a;
  wrong.secret = "nope";
  EXPECT_EQ(agent_call(wrong, "GET", "/api/agent/me").status, 401u);
}

TEST_F(agent_reads_e2e, decisions_are_the_agents_own_newest_first_paged) {
  auto a = create_agent("asker");
  auto b = create_agent("other");
  auto d1 = ask_decision(a, "First?");
  auto d2 = ask_decision(a, "Second?");
  auto d3 = ask_decision(a, "Third?");
  ask_decision(b, "Not yours?");
  ASSERT_EQ(resolve(d2, R"({"status":"approved"})").status, 200u);

  auto all = read_as(a, "/api/agent/decisions");
  EXPECT_EQ(column(all, "id"), (std::vector<std::string>{d3, d2, d1}));
  EXPECT_EQ(column(all, "agent_id"),
            (std::vector<std::string>{a.id, a.id, a.id}));
  EXPECT_EQ(column(read_as(a, "/api/agent/decisions?status=pending"), "id"),
            (std::vector<std::string>{d3, d1}));
  EXPECT_EQ(column(read_as(a, "/api/agent/decisions?status=resolved"), "id"),
            (std::vector<std::string>{d2}));
  EXPECT_EQ(column(read_as(a, "/api/agent/decisions?status=expired"), "id"),
            std::vector<std::string>{});
  EXPECT_EQ(column(read_as(a, "/api/agent/decisions?limit=2"), "id"),
            (std::vector<std::string>{d3, d2}));
  EXPECT_EQ(
    column(read_as(a, "/api/agent/decisions?limit=2&before=" + d2), "id"),
    (std::vector<std::string>{d1}));
  // The resolved one says how; its exact status filters too.
  auto resolved = parse(read_as(a, "/api/agent/decisions?status=resolved"));
  EXPECT_EQ(str(resolved[0], "status"), "approved");
  EXPECT_EQ(column(read_as(a, "/api/agent/decisions?status=approved"), "id"),
            (std::vector<std::string>{d2}));

  auto bad = agent_call(a, "GET", "/api/agent/decisions?status=done");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("status: "), std::string::npos) << bad.body;
  EXPECT_EQ(agent_call(a, "GET", "/api/agent/decisions?limit=0").status, 400u);
  // The person's list reads the same statuses.
  EXPECT_EQ(app("GET", "/api/decisions?status=done").status, 400u);
  EXPECT_EQ(column(app("GET", "/api/decisions?status=resolved").body, "id"),
            (std::vector<std::string>{d2}));
  EXPECT_EQ(agent_call(a, "GET", "/api/agent/decisions?before=x").status, 400u);
}

TEST_F(agent_reads_e2e, conversations_and_messages_rebuild_the_history) {
  auto a = create_agent("chatty");
  auto b = create_agent("nosy");
  auto first = tell(a, R"({"type":"message","text":"hello from the agent"})");
  auto conv = str(first, "conversation_id");
  say(a, "hello from the person");
  tell(a, R"({"type":"message","text":"second from the agent"})");

  auto convs = read_as(a, "/api/agent/conversations");
  EXPECT_EQ(column(convs, "id"), std::vector<std::string>{conv});
  // The app's lists have the same shape.
  EXPECT_EQ(convs, app("GET", "/api/agents/" + a.id + "/conversations").body);

  auto path = "/api/agent/conversations/" + conv + "/messages";
  auto msgs = read_as(a, path);
  EXPECT_EQ(column(msgs, "role"),
            (std::vector<std::string>{"agent", "user", "agent"}));
  EXPECT_EQ(
    column(msgs, "text"),
    (std::vector<std::string>{"second from the agent", "hello from the person",
                              "hello from the agent"}));
  EXPECT_EQ(msgs, app("GET", "/api/conversations/" + conv + "/messages").body);
  auto ids = column(msgs, "id");
  EXPECT_EQ(column(read_as(a, path + "?limit=1&before=" + ids[0]), "text"),
            std::vector<std::string>{"hello from the person"});

  // Another agent sees neither the conversation nor its messages.
  EXPECT_EQ(column(read_as(b, "/api/agent/conversations"), "id"),
            std::vector<std::string>{});
  EXPECT_EQ(agent_call(b, "GET", path).status, 404u);
  EXPECT_EQ(
    agent_call(a, "GET",
               "/api/agent/conversations/conv_0000000000000001/messages")
      .status,
    404u);
  EXPECT_EQ(
    agent_call(a, "GET", "/api/agent/conversations/xyz/messages").status, 404u);
}

TEST_F(agent_reads_e2e, media_of_its_own_conversations_with_agent_credentials) {
  auto a = create_agent("painter");
  auto b = create_agent("viewer");
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += "pixels";
  auto sent = tell(a, R"({"type":"message","image_base64":")"
                        + base64_encode(png) + "\"}");
  auto conv = str(sent, "conversation_id");
  auto msgs
    = parse(read_as(a, "/api/agent/conversations/" + conv + "/messages"));
  auto url = str(msgs[0], "image_url");
  auto path = url.substr(url.find("/media/"));
  auto img = agent_call(a, "GET", path);
  EXPECT_EQ(img.status, 200u);
  EXPECT_EQ(img.header("Content-Type"), "image/png");
  EXPECT_EQ(img.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(img.body, png);
  EXPECT_EQ(agent_call(b, "GET", path).status, 404u);
  agent_info wrong = a;
  wrong.secret = "nope";
  EXPECT_EQ(agent_call(wrong, "GET", path).status, 401u);
  // The person still reads it with a session.
  EXPECT_EQ(app("GET", path).status, 200u);
}

TEST_F(agent_reads_e2e, a_persons_image_reaches_the_agent_which_fetches_it) {
  auto a = create_agent("looker");
  auto b = create_agent("other");
  auto ws = connect_agent(a, false);
  std::string jpeg("\xff\xd8\xff\xe0", 4);
  jpeg += "a photo";
  auto sent = app("POST", "/api/agents/" + a.id + "/messages",
                  R"({"text":"what is this?","image_base64":")"
                    + base64_encode(jpeg) + R"("})");
  ASSERT_EQ(sent.status, 201u) << sent.body;
  auto url = str(parse(sent.body), "image_url");
  ASSERT_NE(url.find("/media/med_"), std::string::npos) << sent.body;

  auto frame = next_of(*ws, "user_message");
  ASSERT_FALSE(frame.empty());
  auto event = parse(frame);
  EXPECT_EQ(str(event, "text"), "what is this?");
  EXPECT_EQ(str(event, "image_url"), url);
  ASSERT_TRUE(event["image_urls"].IsArray() && event["image_urls"].Size() == 1)
    << frame;
  EXPECT_EQ(std::string(event["image_urls"][0].GetString()), url);

  auto path = url.substr(url.find("/media/"));
  auto img = agent_call(a, "GET", path);
  EXPECT_EQ(img.status, 200u);
  EXPECT_EQ(img.header("Content-Type"), "image/jpeg");
  EXPECT_EQ(img.body, jpeg);
  EXPECT_EQ(agent_call(b, "GET", path).status, 404u);
  EXPECT_EQ(app("GET", path).body, jpeg);

  // An image alone is a message; what is not an image is a 400.
  auto alone = app("POST", "/api/agents/" + a.id + "/messages",
                   R"({"image_base64":")" + base64_encode(jpeg) + R"("})");
  EXPECT_EQ(alone.status, 201u) << alone.body;
  auto bad = app("POST", "/api/agents/" + a.id + "/messages",
                 R"({"text":"x","image_base64":")"
                   + base64_encode("GIF87 is not quite") + R"("})");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find("image_base64"), std::string::npos) << bad.body;
}

TEST_F(agent_reads_e2e, an_agent_reads_edits_and_deletes_its_own_tasks) {
  auto a = create_agent("worker");
  auto b = create_agent("stranger");
  auto created = agent_call(a, "POST", "/api/agent/tasks",
                            R"({"name":"nightly","prompt":"tidy up",)"
                            R"("schedule":"0 3 * * *"})");
  ASSERT_EQ(created.status, 200u) << created.body;
  auto task = str(parse(created.body), "task_id");
  auto path = "/api/agent/tasks/" + task;

  auto got = parse(read_as(a, path));
  EXPECT_EQ(str(got, "id"), task);
  EXPECT_EQ(str(got, "name"), "nightly");
  // The same object the person reads.
  EXPECT_EQ(read_as(a, path), app("GET", "/api/tasks/" + task).body);

  auto patched = agent_call(a, "PATCH", path,
                            R"({"name":"nightly tidy","enabled":false})");
  ASSERT_EQ(patched.status, 200u) << patched.body;
  EXPECT_EQ(str(parse(patched.body), "name"), "nightly tidy");
  EXPECT_FALSE(parse(read_as(a, path))["enabled"].GetBool());
  auto invalid = agent_call(a, "PATCH", path, R"({"schedule":"61 * * * *"})");
  EXPECT_EQ(invalid.status, 400u);
  EXPECT_NE(invalid.body.find("schedule"), std::string::npos) << invalid.body;

  // Runs: one started and completed by the agent.
  auto run = agent_call(a, "POST", path + "/run/start");
  ASSERT_EQ(run.status, 200u) << run.body;
  auto run_id = str(parse(run.body), "run_id");
  ASSERT_EQ(agent_call(a, "POST",
                       "/api/agent/tasks/runs/" + run_id + "/complete",
                       R"({"status":"completed","summary":"done"})")
              .status,
            200u);
  auto runs = read_as(a, path + "/runs");
  EXPECT_EQ(column(runs, "id"), std::vector<std::string>{run_id});
  EXPECT_EQ(column(runs, "summary"), std::vector<std::string>{"done"});
  EXPECT_EQ(agent_call(a, "GET", path + "/runs?limit=500").status, 400u);

  // Another agent: 404 for all of it, and nothing changes.
  EXPECT_EQ(agent_call(b, "GET", path).status, 404u);
  EXPECT_EQ(agent_call(b, "PATCH", path, R"({"name":"mine"})").status, 404u);
  EXPECT_EQ(agent_call(b, "DELETE", path).status, 404u);
  EXPECT_EQ(agent_call(b, "GET", path + "/runs").status, 404u);
  EXPECT_EQ(str(parse(read_as(a, path)), "name"), "nightly tidy");

  EXPECT_EQ(agent_call(a, "DELETE", path).status, 204u);
  EXPECT_EQ(agent_call(a, "GET", path).status, 404u);
  EXPECT_EQ(app("GET", "/api/tasks/" + task).status, 404u);
  EXPECT_EQ(agent_call(a, "GET", "/api/agent/tasks/tsk_zz").status, 404u);
}

// Not the agent's side, but what an agent developer met first: the app's
// agent list is paged like every other list.
TEST_F(agent_reads_e2e, the_agent_list_is_paged) {
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i)
    made.push_back(create_agent("bot " + std::to_string(i)).id);
  // Newest first (agents made in the same millisecond in any order).
  auto all = column(app("GET", "/api/agents").body, "agent_id");
  ASSERT_EQ(all.size(), 5u);
  EXPECT_TRUE(std::is_permutation(all.begin(), all.end(), made.begin()));
  auto first = column(app("GET", "/api/agents?limit=2").body, "agent_id");
  EXPECT_EQ(first, (std::vector<std::string>{all[0], all[1]}));
  auto second = column(
    app("GET", "/api/agents?limit=2&before=" + first.back()).body, "agent_id");
  EXPECT_EQ(second, (std::vector<std::string>{all[2], all[3]}));
  auto last = column(
    app("GET", "/api/agents?limit=2&before=" + second.back()).body, "agent_id");
  EXPECT_EQ(last, std::vector<std::string>{all[4]});
  EXPECT_EQ(app("GET", "/api/agents?limit=0").status, 400u);
  auto unknown = app("GET", "/api/agents?before=agt_0000000000000001");
  EXPECT_EQ(unknown.status, 400u) << unknown.body;
}

/// The README's first ```python block.
std::string readme_script() {
  std::ifstream in{NOD_README};
  std::stringstream all;
  all << in.rdbuf();
  auto text = all.str();
  auto begin = text.find("```python\n");
  if (begin == std::string::npos)
    return {};
  begin += 10;
  return text.substr(begin, text.find("```", begin) - begin);
}

void replace_all(std::string& text, const std::string& from,
                 const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

TEST_F(agent_reads_e2e, the_readme_websocket_script_works_as_written) {
  auto a = create_agent("readme");
  auto script = readme_script();
  ASSERT_NE(script.find("websockets.connect"), std::string::npos) << script;
  replace_all(script, "agt_…", a.id);
  replace_all(script, "nod_…", a.secret);
  replace_all(script, "127.0.0.1:8000", "127.0.0.1:" + std::to_string(port));
  // Something pending before it connects: replayed, then acked.
  say(a, "are you there?");
  auto path = dir / "readme_agent.py";
  std::ofstream{path} << script;
  test::child_process py{"/usr/bin/python3", {"-u", path}, {}};
  auto asked = py.wait_for_output("decision_id", std::chrono::seconds(10));
  ASSERT_TRUE(asked) << py.output();
  EXPECT_NE(py.output().find("event: user_message are you there?"),
            std::string::npos)
    << py.output();
  auto decisions = parse(app("GET", "/api/decisions?status=pending").body);
  ASSERT_EQ(decisions.Size(), 1u);
  ASSERT_EQ(resolve(str(decisions[0], "id"), R"({"status":"approved"})").status,
            200u);
  EXPECT_TRUE(py.wait_for_output("event: decision_resolved approved",
                                 std::chrono::seconds(10)))
    << py.output();
  // Both events acked: nothing is pending for the agent.
  for (int i = 0; i < 50 && items_of(inbox(a)) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(items_of(inbox(a)), 0u);
  py.signal(SIGTERM);
}

class cors_e2e : public test::server_fixture {
protected:
  cors_e2e()
    : server_fixture({{"NOD_CORS_ORIGINS",
                       "https://Agents.example.com, http://localhost:5173"}}) {}

  test::http_reply preflight(const std::string& path,
                             const std::string& origin) {
    return test::http_call(port, "OPTIONS", path, "",
                           {{"Origin", origin},
                            {"Access-Control-Request-Method", "POST"},
                            {"Access-Control-Request-Headers",
                             "content-type, x-nod-agent-id, x-nod-secret"}});
  }
};

TEST_F(cors_e2e, listed_origins_may_call_the_agent_api_and_triggers) {
  auto a = create_agent("browser agent");
  const std::string origin = "https://agents.example.com";
  auto pre = preflight("/api/agent/events", origin);
  EXPECT_EQ(pre.status, 204u) << pre.body;
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), origin);
  EXPECT_NE(pre.header("Access-Control-Allow-Headers").find("X-Nod-Secret"),
            std::string::npos);
  EXPECT_NE(pre.header("Access-Control-Allow-Methods").find("POST"),
            std::string::npos);
  EXPECT_EQ(
    preflight("/webhook/trg_" + std::string(32, '0'), "http://localhost:5173")
      .status,
    204u);

  // The call itself says who may read it, failures included.
  auto sent = test::http_call(port, "POST", "/api/agent/events",
                              R"({"type":"message","text":"from a page"})",
                              {{"Origin", origin},
                               {"Content-Type", "application/json"},
                               {"X-Nod-Agent-Id", a.id},
                               {"X-Nod-Secret", a.secret}});
  EXPECT_EQ(sent.status, 200u) << sent.body;
  EXPECT_EQ(sent.header("Access-Control-Allow-Origin"), origin);
  EXPECT_EQ(sent.header("Vary"), "Origin");
  auto refused = test::http_call(port, "POST", "/api/agent/events", "{}",
                                 {{"Origin", origin},
                                  {"Content-Type", "application/json"},
                                  {"X-Nod-Agent-Id", a.id},
                                  {"X-Nod-Secret", "wrong"}});
  EXPECT_EQ(refused.status, 401u);
  EXPECT_EQ(refused.header("Access-Control-Allow-Origin"), origin);

  // Another origin, or the people's API: no CORS at all.
  auto other = preflight("/api/agent/events", "https://evil.example.com");
  EXPECT_NE(other.status, 204u);
  EXPECT_EQ(other.header("Access-Control-Allow-Origin"), "");
  auto people = preflight("/api/agents", origin);
  EXPECT_NE(people.status, 204u);
  EXPECT_EQ(people.header("Access-Control-Allow-Origin"), "");
}

TEST_F(cors_e2e, an_origin_that_is_not_one_stops_the_start) {
  test::child_process bad{
    NOD_SERVER_BINARY,
    {"--cors-origins=https://ok.example.com,ftp://files.example.com"},
    {"NOD_DATA_DIR=" + dir / "other"}};
  EXPECT_EQ(bad.wait(std::chrono::seconds(20)), 2) << bad.output();
  EXPECT_NE(bad.output().find("ftp://files.example.com"), std::string::npos)
    << bad.output();
}

} // namespace
} // namespace nod
