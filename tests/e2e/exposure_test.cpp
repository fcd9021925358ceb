// What a server exposed to the internet must not give away (issue #17,
// part 5): /metrics behind a token, no caching of session answers, cookie
// writes only from the configured public origin, and guessing of passwords
// and agent secrets throttled per client address (behind a trusted proxy,
// the address X-Forwarded-For names).

#include "tests/e2e/server_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <string>

namespace nod::test {
namespace {

const std::string metrics_token = "scrape-0123456789";
const std::string public_origin = "https://nod.example.com";

class exposure_e2e : public server_fixture {
protected:
  exposure_e2e()
    : server_fixture({{"NOD_METRICS_TOKEN", metrics_token},
                      {"NOD_PUBLIC_URL", public_origin + "/"}}) {}

  /// The session cookie ("nod_session=…") of a fresh admin login.
  std::string session_cookie() {
    auto r = http_call(port, "POST", "/api/auth/login",
                       R"({"username":"admin","password":")" + admin_password
                         + "\"}",
                       {{"Content-Type", "application/json"}});
    auto cookie = r.header("Set-Cookie");
    return cookie.substr(0, cookie.find(';'));
  }
};

TEST_F(exposure_e2e, metrics_need_the_token) {
  auto open = http_call(port, "GET", "/metrics");
  EXPECT_EQ(open.status, 401u) << open.body;
  EXPECT_EQ(open.header("WWW-Authenticate"), R"(Bearer realm="metrics")");
  EXPECT_EQ(open.body.find("nod_"), std::string::npos);
  EXPECT_EQ(http_call(port, "GET", "/metrics", {},
                      {{"Authorization", "Bearer " + metrics_token + "x"}})
              .status,
            401u);
  EXPECT_EQ(http_call(port, "GET", "/metrics", {},
                      {{"Authorization", "Bearer " + token}})
              .status,
            401u);
  auto ok = http_call(port, "GET", "/metrics", {},
                      {{"Authorization", "Bearer " + metrics_token}});
  EXPECT_EQ(ok.status, 200u);
  EXPECT_NE(ok.body.find("nod_http_requests_total"), std::string::npos);
  // Health checks stay open.
  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200u);
}

TEST_F(exposure_e2e, login_and_me_are_never_cached) {
  auto login
    = http_call(port, "POST", "/api/auth/login",
                R"({"username":"admin","password":")" + admin_password + "\"}",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(login.status, 200u);
  EXPECT_EQ(login.header("Cache-Control"), "no-store");
  auto me = app("GET", "/api/me");
  EXPECT_EQ(me.status, 200u);
  EXPECT_EQ(me.header("Cache-Control"), "no-store");
}

TEST_F(exposure_e2e, cookie_writes_come_from_the_public_origin_only) {
  auto cookie = session_cookie();
  auto create
    = [&](testkit::header_list headers, const std::string& host_header = {}) {
        headers.emplace_back("Cookie", cookie);
        headers.emplace_back("Content-Type", "application/json");
        testkit::http_session s{"127.0.0.1", port, host_header};
        return s.call("POST", "/api/agents", R"({"name":"x"})", headers).status;
      };
  EXPECT_EQ(create({{"Origin", public_origin}}), 201u);
  // The request's own Host is the client's to write: not trusted once a
  // public URL is set.
  EXPECT_EQ(create({{"Origin", "http://127.0.0.1:" + std::to_string(port)}}),
            403u);
  EXPECT_EQ(create({{"Origin", "http://evil.example"}}, "evil.example"), 403u);
  EXPECT_EQ(create({}), 403u);
}

/// `password` for admin, from `client` as a proxy's X-Forwarded-For says.
http_reply login_from(uint16_t port, const std::string& password,
                      const std::string& client) {
  return http_call(
    port, "POST", "/api/auth/login",
    R"({"username":"admin","password":")" + password + "\"}",
    {{"Content-Type", "application/json"}, {"X-Forwarded-For", client}});
}

/// A server behind a reverse proxy on 127.0.0.1.
class proxied_e2e : public server_fixture {
protected:
  proxied_e2e() : server_fixture({{"NOD_TRUSTED_PROXIES", "127.0.0.1"}}) {}
};

TEST_F(proxied_e2e, wrong_passwords_lock_out_the_address_not_the_person) {
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(login_from(port, "wrong-guess", "198.51.100.7").status, 401u)
      << "attempt " << i;
  auto locked = login_from(port, admin_password, "198.51.100.7");
  EXPECT_EQ(locked.status, 429u) << locked.body;
  EXPECT_EQ(locked.header("Retry-After"), "1");
  // The person, from their own address, is not locked out.
  EXPECT_EQ(login_from(port, admin_password, "203.0.113.20").status, 200u);
}

TEST_F(proxied_e2e, wrong_agent_secrets_are_throttled_per_address) {
  auto a = create_agent("guarded");
  auto call_from = [&](const std::string& secret, const std::string& client) {
    return http_call(port, "GET", "/api/agent/inbox", {},
                     {{"X-Nod-Agent-Id", a.id},
                      {"X-Nod-Secret", secret},
                      {"X-Forwarded-For", client}});
  };
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(call_from("nod_wrong", "198.51.100.7").status, 401u)
      << "attempt " << i;
  auto refused = call_from(a.secret + "x", "198.51.100.7");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_FALSE(refused.header("Retry-After").empty());
  // The agent itself, from its own address, carries on.
  EXPECT_EQ(call_from(a.secret, "203.0.113.20").status, 200u);
  // A socket from the throttled address is told to come back later.
  ws_client ws;
  ASSERT_EQ(ws.connect(port, "/ws/agent/" + a.id,
                       {{"X-Forwarded-For", "198.51.100.7"}}),
            101u);
  ws.send_text(R"({"type":"auth","agent_id":")" + a.id + R"(","secret":")"
               + a.secret + "x\"}");
  EXPECT_EQ(ws.read_until_close(std::chrono::seconds{5}), 1013);
  EXPECT_NE(ws.close_reason().find("try again in"), std::string::npos)
    << ws.close_reason();
}

TEST_F(exposure_e2e, forwarded_for_from_an_untrusted_peer_is_ignored) {
  // No trusted proxy: every attempt counts against 127.0.0.1, whatever
  // the header claims.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(
      login_from(port, "wrong-guess", "198.51.100." + std::to_string(i + 1))
        .status,
      401u);
  EXPECT_EQ(login_from(port, admin_password, "203.0.113.20").status, 429u);
}

} // namespace
} // namespace nod::test
