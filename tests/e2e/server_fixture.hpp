#pragma once

// The real nod-server for end-to-end tests: a fixture that starts the
// binary on a fresh data directory, logs in as admin, and helpers to act
// as the admin (app API) and as agents (REST and WebSocket). Stop and
// start it again to restart the server on the same data.

#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/support/match.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <rapidjson/document.h>
#include <string>
#include <utility>
#include <vector>

namespace nod::test {

inline const std::string admin_password = "admin-Pw-0123456789";

/// Integer member `name` of `v`, or `missing`.
inline int64_t num(const rapidjson::Value& v, const char* name,
                   int64_t missing = -1) {
  if (!v.IsObject())
    return missing;
  auto i = v.FindMember(name);
  return i != v.MemberEnd() && i->value.IsInt64() ? i->value.GetInt64()
                                                  : missing;
}

/// An agent as its creator got it.
struct agent_info {
  std::string id;
  std::string secret;
  std::string webhook_secret;
};

/// Starts the real nod-server (NOD_SERVER_BINARY) on 127.0.0.1, a free
/// port and a fresh data directory, and logs in as admin. `settings`
/// (environment names to values) are added to every start.
class server_fixture : public ::testing::Test {
protected:
  using clock_type = std::chrono::steady_clock;

  explicit server_fixture(std::map<std::string, std::string> settings = {})
    : settings_(std::move(settings)) {
    start();
    token = login();
  }

  ~server_fixture() override {
    stop();
  }

  /// Starts the server on the fixture's data directory; `overrides`
  /// replace or add environment settings.
  void start(const std::map<std::string, std::string>& overrides = {}) {
    std::map<std::string, std::string> settings{
      {"NOD_LISTEN", "127.0.0.1:0"},
      {"NOD_DATA_DIR", dir / "data"},
      {"NOD_ADMIN_PASSWORD", admin_password},
    };
    for (auto& [name, value] : settings_)
      settings[name] = value;
    for (auto& [name, value] : overrides)
      settings[name] = value;
    std::vector<std::string> env;
    for (auto& [name, value] : settings)
      env.push_back(name + "=" + value);
    server = std::make_unique<child_process>(NOD_SERVER_BINARY,
                                             std::vector<std::string>{}, env);
    port = wait_for_port(*server);
    ASSERT_NE(port, 0) << server->output();
  }

  /// Stops the server with SIGTERM; it must exit 0.
  void stop() {
    if (!server)
      return;
    server->signal(SIGTERM);
    EXPECT_EQ(server->wait(std::chrono::seconds(20)), 0) << server->output();
    server.reset();
  }

  std::string login() {
    auto r = http_call(port, "POST", "/api/auth/login",
                       R"({"username":"admin","password":")" + admin_password
                         + "\"}",
                       {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "token");
  }

  /// A call to the app API as admin.
  http_reply app(const std::string& method, const std::string& target,
                 const std::string& body = {}) {
    return app_as(token, method, target, body);
  }

  /// A call to the app API with session `user_token`.
  http_reply app_as(const std::string& user_token, const std::string& method,
                    const std::string& target, const std::string& body = {}) {
    return http_call(port, method, target, body,
                     {{"Authorization", "Bearer " + user_token},
                      {"Content-Type", "application/json"}});
  }

  /// A call to the agent API as `a`.
  http_reply agent_call(const agent_info& a, const std::string& method,
                        const std::string& target,
                        const std::string& body = {}) {
    return http_call(port, method, target, body,
                     {{"X-Nod-Agent-Id", a.id},
                      {"X-Nod-Secret", a.secret},
                      {"Content-Type", "application/json"}});
  }

  /// Creates an agent (with `webhook_url` unless empty).
  agent_info create_agent(const std::string& name,
                          const std::string& webhook_url = {}) {
    std::string body = R"({"name":")" + name + "\"";
    if (!webhook_url.empty())
      body += R"(,"webhook_url":")" + webhook_url + "\"";
    body += "}";
    auto r = app("POST", "/api/agents", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    auto doc = parse(r.body);
    agent_info a{str(doc, "agent_id"), str(doc, "secret"),
                 str(doc, "webhook_secret")};
    EXPECT_TRUE(matches(a.id, "agt_", hex, 16)) << r.body;
    EXPECT_EQ(a.webhook_secret.rfind("whsec_", 0), 0u) << r.body;
    return a;
  }

  /// A person's chat message to `a`; its event id.
  std::string say(const agent_info& a, const std::string& text) {
    auto r = app("POST", "/api/agents/" + a.id + "/messages",
                 R"({"text":")" + text + "\"}");
    EXPECT_EQ(r.status, 201u) << r.body;
    auto id = str(parse(r.body), "event_id");
    EXPECT_TRUE(matches(id, "evt_", hex, 16)) << r.body;
    return id;
  }

  /// `a` asks for a decision; its id.
  std::string ask_decision(const agent_info& a, const std::string& title,
                           const std::string& kind = "approval") {
    auto r = agent_call(a, "POST", "/api/agent/events",
                        R"({"type":"decision","title":")" + title
                          + R"(","kind":")" + kind + "\"}");
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "decision_id");
  }

  http_reply resolve(const std::string& decision, const std::string& body) {
    return app("POST", "/api/decisions/" + decision + "/resolve", body);
  }

  /// The pending events `GET /api/agent/inbox` returns to `a`.
  rapidjson::Document inbox(const agent_info& a,
                            const std::string& query = {}) {
    auto r = agent_call(a, "GET", "/api/agent/inbox" + query);
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }

  /// An authenticated socket of `a`; `auth_ok` gets the reply frame.
  std::unique_ptr<ws_client> connect_agent(const agent_info& a, bool acks,
                                           std::string* auth_ok = nullptr) {
    auto ws = std::make_unique<ws_client>();
    EXPECT_EQ(ws->connect(port, "/ws/agent/" + a.id), 101u);
    ws->send_text(R"({"type":"auth","agent_id":")" + a.id + R"(","secret":")"
                  + a.secret + "\"" + (acks ? R"(,"acks":true)" : "") + "}");
    auto ok = ws->read_text();
    EXPECT_TRUE(ok);
    EXPECT_EQ(str(parse(ok.value_or("")), "type"), "auth_ok")
      << ok.value_or("");
    if (auth_ok)
      *auth_ok = ok.value_or("");
    return ws;
  }

  /// An app socket of admin, authenticated.
  std::unique_ptr<ws_client> app_socket() {
    auto ws = std::make_unique<ws_client>();
    EXPECT_EQ(ws->connect(port, "/ws/app"), 101u);
    ws->send_text(R"({"type":"auth","token":")" + token + "\"}");
    auto ok = ws->read_text();
    EXPECT_EQ(str(parse(ok.value_or("")), "type"), "auth_ok")
      << ok.value_or("");
    return ws;
  }

  /// Reads frames until one that `pick` accepts arrives; the frame, or
  /// empty.
  static std::string
  next_matching(ws_client& ws,
                const std::function<bool(const rapidjson::Document&)>& pick,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      auto f = ws.read_text(std::max(left, std::chrono::milliseconds(1)));
      if (!f)
        return {};
      if (pick(parse(*f)))
        return *f;
    }
    return {};
  }

  /// Reads frames until one of `type` arrives; the frame, or empty.
  static std::string next_of(ws_client& ws, const std::string& type,
                             std::chrono::milliseconds timeout
                             = std::chrono::seconds(5)) {
    return next_matching(
      ws,
      [&](const rapidjson::Document& doc) {
        return str(doc, "type") == type;
      },
      timeout);
  }

  temp_dir dir;
  std::unique_ptr<child_process> server;
  uint16_t port = 0;
  std::string token;

private:
  std::map<std::string, std::string> settings_;
};

} // namespace nod::test
