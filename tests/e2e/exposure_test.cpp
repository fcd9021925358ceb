// What a server exposed to the internet must not give away (issue #17,
// part 5): /metrics behind a token, no caching of session answers, and
// cookie writes only from the configured public origin.

#include "tests/e2e/server_fixture.hpp"

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

} // namespace
} // namespace nod::test
