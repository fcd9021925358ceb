// The agent API against the real binary: the Nod quickstart, REST and
// WebSocket events, close codes, live pushes to the app, durability.

#include "protocol/credentials.hpp"
#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/support/match.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace nod {
namespace {

using namespace std::chrono_literals;
using headers = std::vector<std::pair<std::string, std::string>>;

const std::string admin_password = "admin-Pw-0123456789";

using test::parse;
using test::str;

class agent_api_test : public ::testing::Test {
protected:
  agent_api_test() {
    start();
    token = login();
    auto r = app("POST", "/api/agents", R"({"name":"quickstart"})");
    EXPECT_EQ(r.status, 201u) << r.body;
    auto doc = parse(r.body);
    agent_id = str(doc, "agent_id");
    secret = str(doc, "secret");
  }

  ~agent_api_test() override {
    stop();
  }

  void start(std::vector<std::string> env = {}) {
    env.push_back("NOD_LISTEN=127.0.0.1:0");
    env.push_back("NOD_DATA_DIR=" + dir / "data");
    env.push_back("NOD_ADMIN_PASSWORD=" + admin_password);
    server = std::make_unique<test::child_process>(
      NOD_SERVER_BINARY, std::vector<std::string>{}, env);
    port = test::wait_for_port(*server);
    ASSERT_NE(port, 0) << server->output();
  }

  void stop() {
    if (!server)
      return;
    server->signal(SIGTERM);
    EXPECT_EQ(server->wait(20s), 0) << server->output();
    server.reset();
  }

  std::string login() {
    auto r = test::http_call(port, "POST", "/api/auth/login",
                             R"({"username":"admin","password":")"
                               + admin_password + "\"}",
                             {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "token");
  }

  test::http_reply app(const std::string& method, const std::string& target,
                       const std::string& body = {}) {
    return test::http_call(port, method, target, body,
                           {{"Authorization", "Bearer " + token},
                            {"Content-Type", "application/json"}});
  }

  test::http_reply event(const std::string& body, headers extra = {}) {
    extra.emplace_back("X-Nod-Agent-Id", agent_id);
    extra.emplace_back("X-Nod-Secret", secret);
    extra.emplace_back("Content-Type", "application/json");
    return test::http_call(port, "POST", "/api/agent/events", body, extra);
  }

  /// An agent socket, authenticated.
  std::unique_ptr<test::ws_client> agent_socket() {
    auto ws = std::make_unique<test::ws_client>();
    EXPECT_EQ(ws->connect(port, "/ws/agent/" + agent_id), 101u);
    ws->send_text(R"({"type":"auth","agent_id":")" + agent_id
                  + R"(","secret":")" + secret + "\"}");
    auto ok = ws->read_text();
    EXPECT_TRUE(ok);
    EXPECT_EQ(str(parse(ok.value_or("")), "type"), "auth_ok") << *ok;
    return ws;
  }

  /// An app socket, authenticated.
  std::unique_ptr<test::ws_client> app_socket() {
    auto ws = std::make_unique<test::ws_client>();
    EXPECT_EQ(ws->connect(port, "/ws/app"), 101u);
    ws->send_text(R"({"type":"auth","token":")" + token + "\"}");
    auto ok = ws->read_text();
    EXPECT_TRUE(ok && ok->find("auth_ok") != std::string::npos);
    return ws;
  }

  /// Reads frames until one of `type` arrives; the frame, or empty.
  static std::string next_of(test::ws_client& ws, const std::string& type) {
    for (int i = 0; i < 20; ++i) {
      auto f = ws.read_text(5s);
      if (!f)
        return {};
      if (str(parse(*f), "type") == type)
        return *f;
    }
    return {};
  }

  test::temp_dir dir;
  std::unique_ptr<test::child_process> server;
  uint16_t port = 0;
  std::string token;
  std::string agent_id;
  std::string secret;
};

TEST_F(agent_api_test, the_nod_quickstart_works_unchanged) {
  auto r = event(R"({"type":"message","text":"Hello from my agent!"})");
  EXPECT_EQ(r.status, 200u) << r.body;
  auto doc = parse(r.body);
  EXPECT_EQ(str(doc, "status"), "ok");
  EXPECT_TRUE(test::matches(str(doc, "message_id"), "msg_", test::hex, 16));
  EXPECT_TRUE(
    test::matches(str(doc, "conversation_id"), "conv_", test::hex, 16));
  auto msgs = app("GET", "/api/conversations/" + str(doc, "conversation_id")
                           + "/messages");
  EXPECT_EQ(msgs.status, 200u);
  EXPECT_NE(msgs.body.find("Hello from my agent!"), std::string::npos);
  auto metrics = test::http_call(port, "GET", "/metrics");
  EXPECT_NE(metrics.body.find(R"(nod_agent_events_total{type="message"} 1)"),
            std::string::npos);
}

TEST_F(agent_api_test, credentials_are_checked_without_revealing_agents) {
  auto no_creds = test::http_call(port, "POST", "/api/agent/events",
                                  R"({"type":"message","text":"x"})",
                                  {{"Content-Type", "application/json"}});
  EXPECT_EQ(no_creds.status, 401u);
  auto wrong = test::http_call(port, "POST", "/api/agent/events",
                               R"({"type":"message","text":"x"})",
                               {{"X-Nod-Agent-Id", agent_id},
                                {"X-Nod-Secret", "nod_" + std::string(40, '0')},
                                {"Content-Type", "application/json"}});
  auto unknown = test::http_call(port, "POST", "/api/agent/events",
                                 R"({"type":"message","text":"x"})",
                                 {{"X-Nod-Agent-Id", "agt_0000000000000001"},
                                  {"X-Nod-Secret", secret},
                                  {"Content-Type", "application/json"}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(unknown.status, 401u);
  EXPECT_EQ(wrong.body, unknown.body);
  // Rotation kills the old secret at once, open sockets included, also
  // after the secret has been used (and remembered at the edge).
  EXPECT_EQ(event(R"({"type":"message","text":"x"})").status, 200u);
  EXPECT_EQ(event(R"({"type":"message","text":"x"})").status, 200u);
  auto poll = [&] {
    return test::http_call(
             port, "GET", "/api/agent/inbox", "",
             {{"X-Nod-Agent-Id", agent_id}, {"X-Nod-Secret", secret}})
      .status;
  };
  EXPECT_EQ(poll(), 200u);
  auto ws = agent_socket();
  auto rotated = app("POST", "/api/agents/" + agent_id + "/secret");
  ASSERT_EQ(rotated.status, 200u);
  EXPECT_EQ(event(R"({"type":"message","text":"x"})").status, 401u);
  EXPECT_EQ(event(R"({"type":"message","text":"x"})").status, 401u);
  EXPECT_EQ(poll(), 401u) << "every agent call checks the new secret";
  EXPECT_EQ(ws->read_until_close(), 4003);
}

TEST_F(agent_api_test, bad_events_are_400s_naming_the_field) {
  auto r = event(R"({"type":"decision","title":"Pick","kind":"choice"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("options"), std::string::npos) << r.body;
  EXPECT_EQ(event(R"({"type":"nope"})").status, 400u);
  EXPECT_EQ(event("{not json").status, 400u);
  EXPECT_EQ(event(R"({"type":"message","text":5})").status, 400u);
}

TEST_F(agent_api_test, every_event_type_gets_its_reply) {
  EXPECT_NE(event(R"({"type":"decision","title":"Deploy?","kind":"approval"})")
              .body.find("\"decision_id\":\"dec_"),
            std::string::npos);
  EXPECT_NE(event(R"({"type":"alert","title":"Disk"})")
              .body.find("\"activity_id\":\"act_"),
            std::string::npos);
  EXPECT_NE(event(R"({"type":"status","action":"started"})")
              .body.find("\"activity_id\":\"act_"),
            std::string::npos);
  for (auto type :
       {"processing_start", "agent_heartbeat", "agent_idle", "processing_stop"})
    EXPECT_EQ(event(std::string{R"({"type":")"} + type + "\"}").body,
              R"({"status":"ok"})");
  auto decisions = app("GET", "/api/decisions?status=pending");
  EXPECT_NE(decisions.body.find("Deploy?"), std::string::npos);
  auto activity = app("GET", "/api/activity?agent_id=" + agent_id);
  auto doc = parse(activity.body);
  ASSERT_TRUE(doc.IsArray());
  EXPECT_EQ(doc.Size(), 3u);
}

TEST_F(agent_api_test, approval_only_agents_get_403_for_chat) {
  // Chatting first: the change of type applies at once all the same.
  EXPECT_EQ(event(R"({"type":"message","text":"hi"})").status, 200u);
  ASSERT_EQ(
    app("PATCH", "/api/agents/" + agent_id, R"({"type":"approval_only"})")
      .status,
    200u);
  EXPECT_EQ(event(R"({"type":"message","text":"hi"})").status, 403u);
  EXPECT_EQ(
    event(R"({"type":"decision","title":"ok?","kind":"approval"})").status,
    200u);
}

TEST_F(agent_api_test, idempotency_key_repeats_the_first_reply) {
  auto first = event(R"({"type":"message","text":"once"})",
                     {{"Idempotency-Key", "abc"}});
  auto second = event(R"({"type":"message","text":"once"})",
                      {{"Idempotency-Key", "abc"}});
  EXPECT_EQ(first.status, 200u);
  EXPECT_EQ(first.body, second.body);
  auto conv = str(parse(first.body), "conversation_id");
  auto msgs
    = parse(app("GET", "/api/conversations/" + conv + "/messages").body);
  ASSERT_TRUE(msgs.IsArray());
  EXPECT_EQ(msgs.Size(), 1u);
}

TEST_F(agent_api_test, idempotency_key_with_another_body_is_422) {
  auto first = event(R"({"type":"message","text":"v1"})",
                     {{"Idempotency-Key", "deploy-42"}});
  ASSERT_EQ(first.status, 200u) << first.body;
  auto second = event(R"({"type":"message","text":"v2"})",
                      {{"Idempotency-Key", "deploy-42"}});
  EXPECT_EQ(second.status, 422u) << second.body;
  EXPECT_NE(second.body.find("different request body"), std::string::npos)
    << second.body;
  auto conv = str(parse(first.body), "conversation_id");
  auto msgs
    = parse(app("GET", "/api/conversations/" + conv + "/messages").body);
  ASSERT_TRUE(msgs.IsArray());
  EXPECT_EQ(msgs.Size(), 1u);
}

TEST_F(agent_api_test, images_are_served_to_their_owner_only) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png += "pixels";
  auto r = event(R"({"type":"message","image_base64":"data:image/png;base64,)"
                 + base64_encode(png) + "\"}");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto conv = str(parse(r.body), "conversation_id");
  auto msgs
    = parse(app("GET", "/api/conversations/" + conv + "/messages").body);
  ASSERT_TRUE(msgs.IsArray() && msgs.Size() == 1);
  auto url = str(msgs[0], "image_url");
  auto path = url.substr(url.find("/media/"));
  auto img = app("GET", path);
  EXPECT_EQ(img.status, 200u);
  EXPECT_EQ(img.header("Content-Type"), "image/png");
  EXPECT_EQ(img.body, png);
  // Opened on its own, it is an image and nothing else.
  EXPECT_EQ(img.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(img.header("Content-Security-Policy"),
            "default-src 'none'; sandbox");
  auto name = path.substr(std::string{"/media/"}.size());
  EXPECT_EQ(img.header("Content-Disposition"),
            "inline; filename=\"" + name + ".png\"");
  EXPECT_EQ(test::http_call(port, "GET", path).status, 401u);
}

TEST_F(agent_api_test, websocket_close_codes) {
  struct close_case {
    std::string path;
    std::string frame;
    uint16_t code;
  };
  for (auto& c : std::vector<close_case>{
         {agent_id, "hello", 4001},
         {agent_id, R"({"type":"ping"})", 4001},
         {agent_id, R"({"type":"auth","secret":"nod_wrong"})", 4003},
         {"agt_00000000000000ff",
          R"({"type":"auth","secret":")" + secret + "\"}", 4004},
       }) {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/agent/" + c.path), 101u);
    ws.send_text(c.frame);
    EXPECT_EQ(ws.read_until_close(), c.code) << c.frame;
  }
}

TEST_F(agent_api_test, websocket_frames_get_results_and_errors) {
  auto ws = agent_socket();
  ws->send_text(R"({"type":"ping"})");
  EXPECT_EQ(ws->read_text().value_or(""), R"({"type":"pong"})");
  ws->send_text(R"({"type":"message","text":"over ws","request_id":"m1"})");
  auto result = parse(ws->read_text().value_or(""));
  EXPECT_EQ(str(result, "type"), "result");
  EXPECT_EQ(str(result, "request_id"), "m1");
  EXPECT_EQ(str(result, "status"), "ok");
  EXPECT_FALSE(str(result, "message_id").empty());
  ws->send_text("{broken");
  EXPECT_EQ(str(parse(ws->read_text().value_or("")), "type"), "error");
  ws->send_text(
    R"({"type":"decision","title":"x","kind":"choice","request_id":"d1"})");
  auto err = parse(ws->read_text().value_or(""));
  EXPECT_EQ(str(err, "type"), "error");
  EXPECT_EQ(str(err, "request_id"), "d1");
  // Binary frames are refused with 1003, but only after all of the above.
  ws->send_binary("\x01\x02");
  EXPECT_EQ(ws->read_until_close(), 1003);
}

TEST_F(agent_api_test, the_app_sees_everything_live) {
  auto app_ws = app_socket();
  {
    auto agent_ws = agent_socket();
    auto online = parse(next_of(*app_ws, "agent_status"));
    EXPECT_EQ(str(online, "agent_id"), agent_id);
    EXPECT_TRUE(online["online"].GetBool());
    agent_ws->send_text(R"({"type":"message","text":"live!"})");
    auto msg = parse(next_of(*app_ws, "message"));
    EXPECT_EQ(str(msg["message"], "text"), "live!");
    EXPECT_FALSE(next_of(*app_ws, "activity").empty());
    event(R"({"type":"decision","title":"Ship it?","kind":"approval"})");
    auto dec = parse(next_of(*app_ws, "decision_created"));
    EXPECT_EQ(str(dec["decision"], "title"), "Ship it?");
    EXPECT_EQ(str(dec["decision"], "status"), "pending");
    event(R"({"type":"processing_start","status_text":"Compiling"})");
    auto busy = parse(next_of(*app_ws, "processing"));
    EXPECT_EQ(str(busy, "status_text"), "Compiling");
    auto list = parse(app("GET", "/api/agents").body);
    ASSERT_TRUE(list.IsArray());
    EXPECT_TRUE(list[0]["online"].GetBool());
    EXPECT_TRUE(list[0]["processing"].GetBool());
    EXPECT_EQ(str(list[0], "status_text"), "Compiling");
    agent_ws->close();
  }
  auto offline = parse(next_of(*app_ws, "agent_status"));
  EXPECT_FALSE(offline["online"].GetBool());
}

TEST_F(agent_api_test, acknowledged_events_survive_a_restart) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto r = event(R"({"type":"message","text":"durable )" + std::to_string(i)
                   + "\"}");
    ASSERT_EQ(r.status, 200u);
    ids.push_back(str(parse(r.body), "message_id"));
  }
  auto conv = str(
    parse(event(R"({"type":"decision","title":"t","kind":"approval"})").body),
    "decision_id");
  // kill -9: nothing is flushed on the way out.
  server->signal(SIGKILL);
  server->wait(10s);
  server.reset();
  start();
  token = login();
  auto convs
    = parse(app("GET", "/api/agents/" + agent_id + "/conversations").body);
  ASSERT_TRUE(convs.IsArray() && convs.Size() == 1);
  auto msgs = parse(app("GET", "/api/conversations/" + str(convs[0], "id")
                                 + "/messages?limit=200")
                      .body);
  ASSERT_TRUE(msgs.IsArray());
  ASSERT_EQ(msgs.Size(), 20u);
  EXPECT_EQ(str(msgs[0], "id"), ids.back());
  EXPECT_EQ(str(msgs[19], "id"), ids.front());
  EXPECT_EQ(app("GET", "/api/decisions/" + conv).status, 200u);
}

TEST(agent_rate_limit, floods_get_429_with_retry_after) {
  test::temp_dir dir;
  test::child_process server{NOD_SERVER_BINARY,
                             {},
                             {"NOD_LISTEN=127.0.0.1:0",
                              "NOD_DATA_DIR=" + dir / "data",
                              "NOD_ADMIN_PASSWORD=" + admin_password,
                              "NOD_AGENT_RATE=1", "NOD_AGENT_BURST=3"}};
  auto port = test::wait_for_port(server);
  ASSERT_NE(port, 0);
  auto login = test::http_call(port, "POST", "/api/auth/login",
                               R"({"username":"admin","password":")"
                                 + admin_password + "\"}",
                               {{"Content-Type", "application/json"}});
  auto token = str(parse(login.body), "token");
  auto created
    = parse(test::http_call(port, "POST", "/api/agents", R"({"name":"flood"})",
                            {{"Authorization", "Bearer " + token},
                             {"Content-Type", "application/json"}})
              .body);
  headers creds{{"X-Nod-Agent-Id", str(created, "agent_id")},
                {"X-Nod-Secret", str(created, "secret")},
                {"Content-Type", "application/json"}};
  std::vector<unsigned> statuses;
  test::http_reply last;
  for (int i = 0; i < 5; ++i) {
    last = test::http_call(port, "POST", "/api/agent/events",
                           R"({"type":"agent_heartbeat"})", creds);
    statuses.push_back(last.status);
  }
  EXPECT_EQ(statuses.front(), 200u);
  EXPECT_EQ(statuses.back(), 429u);
  EXPECT_FALSE(last.header("Retry-After").empty());
  // Another agent is not affected.
  auto other
    = parse(test::http_call(port, "POST", "/api/agents", R"({"name":"calm"})",
                            {{"Authorization", "Bearer " + token},
                             {"Content-Type", "application/json"}})
              .body);
  auto calm = test::http_call(port, "POST", "/api/agent/events",
                              R"({"type":"agent_heartbeat"})",
                              {{"X-Nod-Agent-Id", str(other, "agent_id")},
                               {"X-Nod-Secret", str(other, "secret")},
                               {"Content-Type", "application/json"}});
  EXPECT_EQ(calm.status, 200u) << calm.body;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(20s), 0);
}

} // namespace
} // namespace nod
