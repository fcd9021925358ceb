#include "net/router.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace nod::net {
namespace {

// A handler that records which route it stands for when called.
handler tag(std::string name, std::string* hit) {
  return [name = std::move(name), hit](const http_request&, responder) {
    *hit = name;
  };
}

class router_test : public ::testing::Test {
protected:
  void SetUp() override {
    r.add("GET", "/api/agents", tag("list", &hit));
    r.add("POST", "/api/agents", tag("create", &hit));
    r.add("GET", "/api/agents/{id}", tag("get", &hit));
    r.add("DELETE", "/api/agents/{id}", tag("delete", &hit));
    r.add("GET", "/api/agents/search", tag("search", &hit));
    r.add("GET", "/api/agents/{id}/messages/{mid}", tag("message", &hit));
    r.add("PUT", "/api/{kind}/config", tag("config", &hit));
    r.add("GET", "/", tag("root", &hit));
    r.add("HEAD", "/explicit-head", tag("head", &hit));
    r.add("GET", "/explicit-head", tag("get-head", &hit));
    // Same pattern and method again: the first one stays.
    r.add("GET", "/dup", tag("first", &hit));
    r.add("GET", "/dup", tag("second", &hit));
  }

  // Runs the matched handler and returns its tag, or "" when none.
  std::string call(const router::match_result& m) {
    hit.clear();
    if (m.target != nullptr)
      (*m.target)(http_request{}, responder{});
    return hit;
  }

  router r;
  std::string hit;
};

struct match_case {
  std::string method;
  std::string path;
  std::string handler; // expected tag, "" for none
  std::string route;   // expected pattern, "" for none
  bool not_allowed;
  std::string allow;
  std::vector<std::pair<std::string, std::string>> params;
};

TEST_F(router_test, table) {
  std::vector<match_case> cases = {
    {"GET", "/api/agents", "list", "/api/agents", false, "", {}},
    {"POST", "/api/agents", "create", "/api/agents", false, "", {}},
    {"GET",
     "/api/agents/a1",
     "get",
     "/api/agents/{id}",
     false,
     "",
     {{"id", "a1"}}},
    {"DELETE",
     "/api/agents/a1",
     "delete",
     "/api/agents/{id}",
     false,
     "",
     {{"id", "a1"}}},
    // A literal segment beats a placeholder.
    {"GET",
     "/api/agents/search",
     "search",
     "/api/agents/search",
     false,
     "",
     {}},
    // ... but only for its own method: DELETE still reaches `{id}`.
    {"DELETE",
     "/api/agents/search",
     "delete",
     "/api/agents/{id}",
     false,
     "",
     {{"id", "search"}}},
    {"GET",
     "/api/agents/a1/messages/m9",
     "message",
     "/api/agents/{id}/messages/{mid}",
     false,
     "",
     {{"id", "a1"}, {"mid", "m9"}}},
    {"PUT",
     "/api/tasks/config",
     "config",
     "/api/{kind}/config",
     false,
     "",
     {{"kind", "tasks"}}},
    // Params are percent-decoded.
    {"GET",
     "/api/agents/my%20agent",
     "get",
     "/api/agents/{id}",
     false,
     "",
     {{"id", "my agent"}}},
    {"GET", "/", "root", "/", false, "", {}},
    // Unknown paths.
    {"GET", "/api", "", "", false, "", {}},
    {"GET", "/api/agents/a1/messages", "", "", false, "", {}},
    {"GET", "/nope", "", "", false, "", {}},
    {"GET", "", "", "", false, "", {}},
    {"GET", "api/agents", "", "", false, "", {}},
    // A trailing slash is a different path, and `{id}` needs a value.
    {"GET", "/api/agents/", "", "", false, "", {}},
    {"GET", "//api/agents", "", "", false, "", {}},
    // Known path, wrong method: 405 with every method of the path.
    {"PATCH", "/api/agents", "", "/api/agents", true, "GET, POST", {}},
    {"POST", "/api/agents/a1", "", "/api/agents/{id}", true, "GET, DELETE", {}},
    {"POST",
     "/api/agents/search",
     "",
     "/api/agents/search",
     true,
     "GET, DELETE",
     {}},
    {"GET", "/api/tasks/config", "", "/api/{kind}/config", true, "PUT", {}},
    // HEAD falls back to GET; an explicit HEAD route wins.
    {"HEAD", "/api/agents", "list", "/api/agents", false, "", {}},
    {"HEAD",
     "/api/agents/a1",
     "get",
     "/api/agents/{id}",
     false,
     "",
     {{"id", "a1"}}},
    {"HEAD", "/explicit-head", "head", "/explicit-head", false, "", {}},
    {"GET", "/explicit-head", "get-head", "/explicit-head", false, "", {}},
    // Methods are case-sensitive (RFC 9110).
    {"get", "/api/agents", "", "/api/agents", true, "GET, POST", {}},
    {"GET", "/dup", "first", "/dup", false, "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    auto m = r.match(c.method, c.path);
    EXPECT_EQ(call(m), c.handler);
    EXPECT_EQ(m.route, c.route);
    EXPECT_EQ(m.method_not_allowed, c.not_allowed);
    EXPECT_EQ(m.allow, c.allow);
    EXPECT_EQ(m.params, c.params);
  }
}

TEST(router, empty_router_matches_nothing) {
  router r;
  auto m = r.match("GET", "/");
  EXPECT_EQ(m.target, nullptr);
  EXPECT_FALSE(m.method_not_allowed);
  EXPECT_TRUE(m.route.empty());
}

TEST(router, literal_wins_regardless_of_registration_order) {
  std::string hit;
  router r;
  r.add("GET", "/a/{x}/c", tag("placeholder-first", &hit));
  r.add("GET", "/a/b/{y}", tag("literal-first", &hit));
  auto m = r.match("GET", "/a/b/c");
  ASSERT_NE(m.target, nullptr);
  (*m.target)(http_request{}, responder{});
  // The leftmost differing segment decides: `b` is literal in the second.
  EXPECT_EQ(hit, "literal-first");
  EXPECT_EQ(m.params,
            (std::vector<std::pair<std::string, std::string>>{{"y", "c"}}));
}

TEST(http, error_response_escapes_json) {
  auto res = error_response(400, "bad \"x\"\\\n\t\x01 é");
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, "{\"detail\":\"bad \\\"x\\\"\\\\\\n\\t\\u0001 é\"}");
}

TEST(http, json_response_keeps_body) {
  auto res = json_response(201, R"({"id":"a"})");
  EXPECT_EQ(res.status, 201u);
  EXPECT_EQ(res.body, R"({"id":"a"})");
  EXPECT_EQ(res.content_type, "application/json");
}

TEST(http, query_param_decodes) {
  http_request req;
  req.query = "a=1&name=hello+world%21&empty=&flag&pct=%zz%4&enc%20key=v&a=2";
  std::string v;
  EXPECT_TRUE(req.query_param("a", v));
  EXPECT_EQ(v, "1"); // the first one wins
  EXPECT_TRUE(req.query_param("name", v));
  EXPECT_EQ(v, "hello world!");
  EXPECT_TRUE(req.query_param("empty", v));
  EXPECT_EQ(v, "");
  v = "x";
  EXPECT_TRUE(req.query_param("flag", v));
  EXPECT_EQ(v, "");
  EXPECT_TRUE(req.query_param("pct", v));
  EXPECT_EQ(v, "%zz%4"); // malformed escapes stay as they are
  EXPECT_TRUE(req.query_param("enc key", v));
  EXPECT_EQ(v, "v");
  EXPECT_FALSE(req.query_param("missing", v));
  EXPECT_FALSE(req.query_param("", v));
  req.query = "";
  EXPECT_FALSE(req.query_param("a", v));
}

TEST(http, header_and_param_lookup) {
  http_request req;
  req.headers = {{"content-type", "text/plain"}, {"x-a", "1"}};
  req.params = {{"id", "a1"}};
  EXPECT_EQ(req.header("content-type"), "text/plain");
  EXPECT_EQ(req.header("x-b"), "");
  EXPECT_EQ(req.param("id"), "a1");
  EXPECT_EQ(req.param("other"), "");
}

} // namespace
} // namespace nod::net
