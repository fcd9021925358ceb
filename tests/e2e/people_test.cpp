// The people's side against the real binary: login, users, agents, the
// app WebSocket, isolation between users, and persistence across restarts.

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

class people_test : public ::testing::Test {
protected:
  people_test() {
    start();
  }

  ~people_test() override {
    stop();
  }

  void start() {
    server = std::make_unique<test::child_process>(
      NOD_SERVER_BINARY, std::vector<std::string>{},
      std::vector<std::string>{"NOD_LISTEN=127.0.0.1:0",
                               "NOD_DATA_DIR=" + dir / "data",
                               "NOD_ADMIN_PASSWORD=" + admin_password,
                               // Agents here point at 127.0.0.1:9.
                               "NOD_WEBHOOK_ALLOWED_HOSTS=loopback"});
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

  test::http_reply call(const std::string& method, const std::string& target,
                        const std::string& token = {},
                        const std::string& body = {}, headers extra = {}) {
    if (!token.empty())
      extra.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty())
      extra.emplace_back("Content-Type", "application/json");
    return test::http_call(port, method, target, body, extra);
  }

  std::string login(const std::string& user, const std::string& password) {
    auto r = call("POST", "/api/auth/login", {},
                  R"({"username":")" + user + R"(","password":")" + password
                    + "\"}");
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "token");
  }

  std::string admin() {
    return login("admin", admin_password);
  }

  /// Creates user `name` (password "pw-" + name + "-long") and logs in.
  std::string new_user(const std::string& name) {
    auto r = call("POST", "/api/users", admin(),
                  R"({"username":")" + name + R"(","password":"pw-)" + name
                    + R"(-long"})");
    EXPECT_EQ(r.status, 201u) << r.body;
    return login(name, "pw-" + name + "-long");
  }

  /// Creates an agent and returns the reply body.
  rapidjson::Document new_agent(const std::string& token,
                                const std::string& body) {
    auto r = call("POST", "/api/agents", token, body);
    EXPECT_EQ(r.status, 201u) << r.body;
    return parse(r.body);
  }

  test::temp_dir dir;
  std::unique_ptr<test::child_process> server;
  uint16_t port = 0;
};

TEST_F(people_test, login_me_and_logout) {
  auto token = admin();
  EXPECT_TRUE(test::matches(token, "nodt_", test::hex, 64));
  auto me = call("GET", "/api/me", token);
  EXPECT_EQ(me.status, 200u);
  EXPECT_EQ(str(parse(me.body), "username"), "admin");
  EXPECT_EQ(call("GET", "/api/me").status, 401u);
  EXPECT_EQ(call("GET", "/api/me", "nodt_bogus").status, 401u);
  EXPECT_EQ(call("POST", "/api/auth/logout", token).status, 200u);
  EXPECT_EQ(call("GET", "/api/me", token).status, 401u);
}

TEST_F(people_test, failed_logins_do_not_say_which_half_was_wrong) {
  auto wrong_pw = call("POST", "/api/auth/login", {},
                       R"({"username":"admin","password":"nope"})");
  auto no_user = call("POST", "/api/auth/login", {},
                      R"({"username":"nobody","password":"nope"})");
  EXPECT_EQ(wrong_pw.status, 401u);
  EXPECT_EQ(no_user.status, 401u);
  EXPECT_EQ(wrong_pw.body, no_user.body);
  auto missing = call("POST", "/api/auth/login", {}, R"({"username":"admin"})");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.body.find("password"), std::string::npos) << missing.body;
  EXPECT_EQ(call("POST", "/api/auth/login", {}, "not json").status, 400u);
  EXPECT_EQ(test::http_call(port, "POST", "/api/auth/login", "x=1",
                            {{"Content-Type", "text/plain"}})
              .status,
            415u);
}

TEST_F(people_test, repeated_failures_are_rate_limited) {
  unsigned last = 0;
  test::http_reply r;
  for (int i = 0; i < 8 && last != 429; ++i) {
    r = call("POST", "/api/auth/login", {},
             R"({"username":"admin","password":"guess-)" + std::to_string(i)
               + "\"}");
    last = r.status;
  }
  EXPECT_EQ(last, 429u) << r.body;
  EXPECT_FALSE(r.header("Retry-After").empty());
  // Even the right password waits now.
  EXPECT_EQ(call("POST", "/api/auth/login", {},
                 R"({"username":"admin","password":")" + admin_password + "\"}")
              .status,
            429u);
}

TEST_F(people_test, only_admins_add_users_and_names_are_unique) {
  auto bob = new_user("bob");
  auto r = call("POST", "/api/users", bob,
                R"({"username":"eve","password":"long-enough"})");
  EXPECT_EQ(r.status, 403u);
  auto dup = call("POST", "/api/users", admin(),
                  R"({"username":"bob","password":"long-enough"})");
  EXPECT_EQ(dup.status, 409u);
  auto bad = call("POST", "/api/users", admin(),
                  R"({"username":"bad name","password":"long-enough"})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("username"), std::string::npos);
}

TEST_F(people_test, agent_secret_is_shown_once) {
  auto token = admin();
  auto created = new_agent(
    token,
    R"({"name":"deployer","description":"ships it",)"
    R"("webhook_url":"http://127.0.0.1:9/hook","type":"approval_only"})");
  auto id = str(created, "agent_id");
  EXPECT_TRUE(test::matches(id, "agt_", test::hex, 16));
  EXPECT_EQ(str(created, "id"), id);
  EXPECT_TRUE(test::matches(str(created, "secret"), "nod_", test::hex, 40));
  EXPECT_TRUE(test::matches(str(created, "webhook_secret"), "whsec_",
                            test::base64, 43, "="));
  EXPECT_EQ(str(created, "type"), "approval_only");
  auto one = call("GET", "/api/agents/" + id, token);
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.body.find("\"secret\""), std::string::npos) << one.body;
  EXPECT_EQ(str(parse(one.body), "webhook_secret"),
            str(created, "webhook_secret"));
  auto list = call("GET", "/api/agents", token);
  EXPECT_EQ(list.status, 200u);
  auto doc = parse(list.body);
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 1u);
  EXPECT_EQ(str(doc[0], "name"), "deployer");
  EXPECT_TRUE(doc[0].HasMember("online"));
  EXPECT_EQ(list.body.find("\"secret\""), std::string::npos);
  // Rotation shows a new secret, once.
  auto rotated = call("POST", "/api/agents/" + id + "/secret", token);
  EXPECT_EQ(rotated.status, 200u);
  auto new_secret = str(parse(rotated.body), "secret");
  EXPECT_TRUE(test::matches(new_secret, "nod_", test::hex, 40));
  EXPECT_NE(new_secret, str(created, "secret"));
  auto wh = call("POST", "/api/agents/" + id + "/webhook-secret", token);
  EXPECT_EQ(wh.status, 200u);
  EXPECT_NE(str(parse(wh.body), "webhook_secret"),
            str(created, "webhook_secret"));
}

TEST_F(people_test, agents_are_validated_field_by_field) {
  auto token = admin();
  struct bad_case {
    std::string body;
    std::string field;
  };
  for (auto& c : std::vector<bad_case>{
         {R"({})", "name"},
         {R"({"name":42})", "name"},
         {R"({"name":")" + std::string(101, 'x') + "\"}", "name"},
         {R"({"name":"a","webhook_url":"ftp://x/y"})", "webhook_url"},
         {R"({"name":"a","webhook_url":"/relative"})", "webhook_url"},
         {R"({"name":"a","type":"robot"})", "type"},
         {R"({"name":"a","description":7})", "description"},
       }) {
    auto r = call("POST", "/api/agents", token, c.body);
    EXPECT_EQ(r.status, 400u) << c.body;
    EXPECT_NE(r.body.find(c.field), std::string::npos) << r.body;
  }
}

TEST_F(people_test, patch_and_delete) {
  auto token = admin();
  auto id
    = str(new_agent(token, R"({"name":"a","description":"d"})"), "agent_id");
  auto patched = call("PATCH", "/api/agents/" + id, token,
                      R"({"name":"renamed","description":null})");
  EXPECT_EQ(patched.status, 200u) << patched.body;
  auto doc = parse(patched.body);
  EXPECT_EQ(str(doc, "name"), "renamed");
  EXPECT_TRUE(doc["description"].IsNull());
  EXPECT_EQ(call("PATCH", "/api/agents/" + id, token, R"({"name":""})").status,
            400u);
  EXPECT_EQ(call("DELETE", "/api/agents/" + id, token).status, 204u);
  EXPECT_EQ(call("GET", "/api/agents/" + id, token).status, 404u);
  EXPECT_EQ(call("GET", "/api/agents/agt_nothex", token).status, 404u);
}

TEST_F(people_test, another_users_agent_is_404_everywhere) {
  auto alice = new_user("alice");
  auto bob = new_user("bob");
  auto id = str(new_agent(alice, R"({"name":"private"})"), "agent_id");
  auto base = "/api/agents/" + id;
  for (auto [method, target, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
         {"GET", base, ""},
         {"PATCH", base, R"({"name":"mine now"})"},
         {"DELETE", base, ""},
         {"POST", base + "/secret", ""},
         {"POST", base + "/webhook-secret", ""},
         {"GET", base + "/conversations", ""},
       }) {
    auto r = call(method, target, bob, body);
    EXPECT_EQ(r.status, 404u) << method << " " << target << ": " << r.body;
  }
  auto list = call("GET", "/api/agents", bob);
  EXPECT_EQ(list.body, "[]");
  EXPECT_EQ(call("GET", base, alice).status, 200u);
  EXPECT_EQ(str(parse(call("GET", base, alice).body), "name"), "private");
}

TEST_F(people_test, cookie_sessions_need_same_origin_writes) {
  auto r = call("POST", "/api/auth/login", {},
                R"({"username":"admin","password":")" + admin_password + "\"}");
  auto cookie = r.header("Set-Cookie");
  EXPECT_NE(cookie.find("nod_session="), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  auto value = cookie.substr(0, cookie.find(';'));
  headers with_cookie{{"Cookie", value}};
  EXPECT_EQ(call("GET", "/api/me", {}, {}, with_cookie).status, 200u);
  EXPECT_EQ(
    call("POST", "/api/agents", {}, R"({"name":"x"})", with_cookie).status,
    403u);
  auto same_origin = with_cookie;
  // The test client's Host header is 127.0.0.1:<port>.
  same_origin.emplace_back("Origin",
                           "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(
    call("POST", "/api/agents", {}, R"({"name":"x"})", same_origin).status,
    201u);
  auto evil = with_cookie;
  evil.emplace_back("Origin", "https://evil.example");
  EXPECT_EQ(call("POST", "/api/agents", {}, R"({"name":"x"})", evil).status,
            403u);
  // The app WebSocket: the cookie signs in a page of this server at once,
  // never a page of another site (cross-site WebSocket hijacking).
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app", same_origin), 101u);
    auto ok = ws.read_text();
    ASSERT_TRUE(ok);
    EXPECT_NE(ok->find("\"auth_ok\""), std::string::npos) << *ok;
  }
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app", evil), 101u);
    ws.send_text(R"({"type":"auth"})");
    EXPECT_EQ(ws.read_until_close(), 4001);
  }
}

TEST_F(people_test, app_websocket_auth_success_and_failures) {
  auto token = admin();
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app"), 101u);
    ws.send_text(R"({"type":"auth","token":")" + token + "\"}");
    auto ok = ws.read_text();
    ASSERT_TRUE(ok);
    EXPECT_EQ(str(parse(*ok), "type"), "auth_ok");
    EXPECT_EQ(str(parse(*ok)["user"], "username"), "admin");
    ws.send_text(R"({"type":"ping"})");
    auto pong = ws.read_text();
    ASSERT_TRUE(pong);
    EXPECT_EQ(*pong, R"({"type":"pong"})");
  }
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app"), 101u);
    ws.send_text(R"({"type":"auth","token":"nodt_wrong"})");
    EXPECT_EQ(ws.read_until_close(), 4003);
  }
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app"), 101u);
    ws.send_text(R"({"type":"hello"})");
    EXPECT_EQ(ws.read_until_close(), 4001);
  }
  {
    test::ws_client ws;
    ASSERT_EQ(ws.connect(port, "/ws/app"), 101u);
    ws.send_text("not json at all");
    EXPECT_EQ(ws.read_until_close(), 4001);
  }
}

TEST_F(people_test, users_agents_and_tokens_survive_a_restart) {
  auto token = new_user("carol");
  auto id = str(new_agent(token, R"({"name":"durable"})"), "agent_id");
  stop();
  start();
  auto one = call("GET", "/api/agents/" + id, token);
  EXPECT_EQ(one.status, 200u) << one.body;
  EXPECT_EQ(str(parse(one.body), "name"), "durable");
  // The admin password is not reset by NOD_ADMIN_PASSWORD on a used store.
  EXPECT_FALSE(admin().empty());
}

TEST(user_command, adds_users_and_resets_passwords_offline) {
  test::temp_dir dir;
  auto data = "--data-dir=" + dir / "data";
  {
    test::child_process add{NOD_SERVER_BINARY,
                            {"user", "add", "dora", data},
                            {"NOD_USER_PASSWORD=first-password"}};
    EXPECT_EQ(add.wait(30s), 0) << add.output();
    EXPECT_NE(add.output().find("added user dora"), std::string::npos);
  }
  {
    test::child_process again{NOD_SERVER_BINARY,
                              {"user", "add", "dora", data},
                              {"NOD_USER_PASSWORD=first-password"}};
    EXPECT_EQ(again.wait(30s), 2) << again.output();
    EXPECT_NE(again.output().find("exists"), std::string::npos);
  }
  {
    test::child_process reset{NOD_SERVER_BINARY,
                              {"user", "passwd", "dora", data},
                              {"NOD_USER_PASSWORD=second-password"}};
    EXPECT_EQ(reset.wait(30s), 0) << reset.output();
  }
  test::child_process server{
    NOD_SERVER_BINARY, {data, "--listen=127.0.0.1:0"}, {}};
  auto port = test::wait_for_port(server);
  ASSERT_NE(port, 0) << server.output();
  auto old_pw
    = test::http_call(port, "POST", "/api/auth/login",
                      R"({"username":"dora","password":"first-password"})",
                      {{"Content-Type", "application/json"}});
  EXPECT_EQ(old_pw.status, 401u);
  auto new_pw
    = test::http_call(port, "POST", "/api/auth/login",
                      R"({"username":"dora","password":"second-password"})",
                      {{"Content-Type", "application/json"}});
  EXPECT_EQ(new_pw.status, 200u) << new_pw.body;
  // A fresh store also got an admin, with a password shown once.
  EXPECT_NE(server.output().find("created user admin with password"),
            std::string::npos);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(20s), 0);
}

} // namespace
} // namespace nod
