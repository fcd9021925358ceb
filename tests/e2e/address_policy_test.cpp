// The outbound address policy against the real binary (issue #17): a
// webhook_url whose host is a literal address that webhook-allowed-hosts
// refuses is a 400 naming webhook_url, on create and on patch; host names
// wait for the connection.

#include "tests/e2e/server_fixture.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace nod {
namespace {

using test::parse;
using test::str;

std::string agent_body(const std::string& name, const std::string& url) {
  return R"({"name":")" + name + R"(","webhook_url":")" + url + "\"}";
}

std::string patch_body(const std::string& url) {
  return R"({"webhook_url":")" + url + "\"}";
}

const std::vector<std::string> refused_by_default = {
  "http://127.0.0.1:9/x",    "http://0x7f.0.0.1/", "http://[::ffff:127.0.0.1]/",
  "http://169.254.169.254/", "http://2130706433/", "http://[::1]:8080/hook",
  "http://10.0.0.1/",
};

/// The default policy: `external`.
class default_policy : public test::server_fixture {};

TEST_F(default_policy, literal_local_addresses_are_400s_naming_webhook_url) {
  auto a = create_agent("kept");
  for (auto& url : refused_by_default) {
    SCOPED_TRACE(url);
    auto created = app("POST", "/api/agents", agent_body("hooked", url));
    EXPECT_EQ(created.status, 400u) << created.body;
    auto detail = str(parse(created.body), "detail");
    EXPECT_EQ(detail.rfind("webhook_url: ", 0), 0u) << detail;
    auto patched = app("PATCH", "/api/agents/" + a.id, patch_body(url));
    EXPECT_EQ(patched.status, 400u) << patched.body;
    EXPECT_EQ(str(parse(patched.body), "detail").rfind("webhook_url: ", 0), 0u)
      << patched.body;
  }
  // The details say which address and why, in its normal spelling.
  auto r = app("POST", "/api/agents", agent_body("x", "http://0x7f.0.0.1/"));
  EXPECT_EQ(str(parse(r.body), "detail"),
            "webhook_url: address 127.0.0.1 is not allowed by "
            "webhook-allowed-hosts (loopback)");
  r = app("POST", "/api/agents", agent_body("x", "http://[::ffff:127.0.0.1]/"));
  EXPECT_EQ(str(parse(r.body), "detail"),
            "webhook_url: address 127.0.0.1 is not allowed by "
            "webhook-allowed-hosts (loopback)");
  r = app("POST", "/api/agents", agent_body("x", "http://169.254.169.254/"));
  EXPECT_EQ(str(parse(r.body), "detail"),
            "webhook_url: address 169.254.169.254 is not allowed by "
            "webhook-allowed-hosts (link-local; only a CIDR entry allows "
            "it)");
  // Nothing was created or changed.
  auto list = parse(app("GET", "/api/agents").body);
  ASSERT_TRUE(list.IsArray());
  EXPECT_EQ(list.Size(), 1u);
  auto one = parse(app("GET", "/api/agents/" + a.id).body);
  EXPECT_TRUE(one["webhook_url"].IsNull());
  // Host names are checked when connecting, public addresses are fine.
  auto named = app("POST", "/api/agents",
                   agent_body("named", "https://hooks.example.com/x"));
  EXPECT_EQ(named.status, 201u) << named.body;
  auto pub = app("PATCH", "/api/agents/" + a.id,
                 patch_body("http://93.184.215.14/hook"));
  EXPECT_EQ(pub.status, 200u) << pub.body;
  EXPECT_EQ(str(parse(pub.body), "webhook_url"), "http://93.184.215.14/hook");
}

/// A receiver on this machine: `loopback`.
class loopback_policy : public test::server_fixture {
protected:
  loopback_policy()
    : server_fixture({{"NOD_WEBHOOK_ALLOWED_HOSTS", "loopback"}}) {}
};

TEST_F(loopback_policy, loopback_is_accepted_but_not_this_server) {
  auto a = create_agent("local", "http://127.0.0.1/");
  auto one = parse(app("GET", "/api/agents/" + a.id).body);
  EXPECT_EQ(str(one, "webhook_url"), "http://127.0.0.1/");
  for (std::string url : {"http://0x7f.0.0.1:9/x", "http://[::1]/",
                          "http://[::ffff:127.0.0.1]:9/"}) {
    auto r = app("PATCH", "/api/agents/" + a.id, patch_body(url));
    EXPECT_EQ(r.status, 200u) << url << ": " << r.body;
  }
  // The server's own port on its own address is never a receiver.
  auto self = "http://127.0.0.1:" + std::to_string(port) + "/api/me";
  auto r = app("PATCH", "/api/agents/" + a.id, patch_body(self));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(str(parse(r.body), "detail"),
            "webhook_url: address 127.0.0.1 is not allowed by "
            "webhook-allowed-hosts (port "
              + std::to_string(port)
              + " there is this server; only a CIDR entry allows it)");
  // Nor is the metadata address, nor a private one.
  for (std::string url : {"http://169.254.169.254/", "http://10.0.0.1/"}) {
    auto bad = app("PATCH", "/api/agents/" + a.id, patch_body(url));
    EXPECT_EQ(bad.status, 400u) << url << ": " << bad.body;
  }
}

} // namespace
} // namespace nod
