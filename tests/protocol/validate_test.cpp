#include "protocol/validate.hpp"

#include <functional>
#include <gtest/gtest.h>

namespace nod {
namespace {

json::document parse(const std::string& text) {
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(text, doc, err)) << text << err.message;
  return doc;
}

// A JSON string literal of `s` (ASCII test data only).
std::string jstr(const std::string& s) {
  return "\"" + s + "\"";
}

// `base` (a JSON object text) with member `field` set to `raw`, or without
// `field` when `raw` is empty.
std::string with(std::string base, const std::string& field,
                 const std::string& raw) {
  auto doc = parse(base);
  doc.RemoveMember(field.c_str());
  if (!raw.empty()) {
    auto val = parse("{\"v\":" + raw + "}");
    json::value copy(val["v"], doc.GetAllocator());
    json::value key(field.c_str(), doc.GetAllocator());
    doc.AddMember(key, copy, doc.GetAllocator());
  }
  return json::to_string(doc);
}

using parser = std::function<bool(const json::value&, json::field_error&)>;

struct row {
  std::string field;
  std::string raw;     // empty: absent
  std::string message; // empty: accepted
};

// Runs every row against `base` with the row's field replaced.
void run(const char* what, const std::string& base, const parser& parse_fn,
         const std::vector<row>& rows) {
  for (auto& r : rows) {
    auto text = with(base, r.field, r.raw);
    auto doc = parse(text);
    json::field_error err;
    bool ok = parse_fn(doc, err);
    SCOPED_TRACE(std::string{what} + " " + text.substr(0, 200));
    if (r.message.empty()) {
      EXPECT_TRUE(ok) << err.message;
    } else {
      EXPECT_FALSE(ok);
      EXPECT_EQ(err.field, r.field);
      EXPECT_EQ(err.message, r.message);
    }
  }
}

const std::string str_type = ": must be a string";

// Rows shared by create and patch for the optional fields.
std::vector<row> optional_field_rows() {
  std::vector<row> rows;
  for (auto [field, max] :
       {std::pair{"avatar", limits::agent_avatar},
        std::pair{"description", limits::agent_description}}) {
    std::string f = field;
    rows.push_back({f, "", ""});
    rows.push_back({f, "\"\"", ""});
    rows.push_back({f, jstr(std::string(max, 'a')), ""});
    rows.push_back({f, jstr(std::string(max + 1, 'a')),
                    f + ": at most " + std::to_string(max) + " characters"});
    for (auto bad : {"1", "true", "[]", "{}", "[\"x\"]"})
      rows.push_back({f, bad, f + str_type});
  }
  std::string u = "webhook_url";
  rows.push_back({u, "", ""});
  rows.push_back({u, "\"http://localhost:9000/hook\"", ""});
  auto long_ok = "http://h/" + std::string(limits::url - 9, 'a');
  rows.push_back({u, jstr(long_ok), ""});
  rows.push_back({u, jstr(long_ok + "a"), u + ": at most 2048 characters"});
  rows.push_back({u, "\"\"", u + ": must be an absolute http(s) URL"});
  rows.push_back({u, "\"ftp://x/\"", u + ": must be an absolute http(s) URL"});
  rows.push_back({u, "\"/hook\"", u + ": must be an absolute http(s) URL"});
  for (auto bad : {"1", "false", "[]", "{}"})
    rows.push_back({u, bad, u + str_type});
  std::string t = "type";
  const std::string enum_msg
    = "type: must be \"interactive\" or \"approval_only\"";
  rows.push_back({t, "", ""});
  rows.push_back({t, "\"interactive\"", ""});
  rows.push_back({t, "\"approval_only\"", ""});
  for (auto bad : {"\"\"", "\"Interactive\"", "\"approval-only\"",
                   "\" interactive\"", "\"other\""})
    rows.push_back({t, bad, enum_msg});
  rows.push_back({t, jstr(std::string(5000, 'x')), enum_msg});
  for (auto bad : {"0", "true", "[]", "{}"})
    rows.push_back({t, bad, t + str_type});
  return rows;
}

// ---- parse_agent_create ----------------------------------------------------

const std::string create_base = "{\"name\":\"Bot\"}";

bool create(const json::value& v, json::field_error& err) {
  agent_input in;
  return parse_agent_create(v, in, err);
}

TEST(parse_agent_create, name_rules) {
  run("create", create_base, create,
      {
        {"name", "", "name: is required"},
        {"name", "null", "name: is required"},
        {"name", "\"\"", "name: is required"},
        {"name", "\"   \"", "name: must not be only whitespace"},
        {"name", "\"\\t\\n \"", "name: must not be only whitespace"},
        {"name", "\" a \"", ""},
        {"name", "\"a\"", ""},
        {"name", jstr(std::string(100, 'n')), ""},
        {"name", jstr(std::string(101, 'n')), "name: at most 100 characters"},
        {"name", "1", "name: must be a string"},
        {"name", "true", "name: must be a string"},
        {"name", "[]", "name: must be a string"},
        {"name", "{}", "name: must be a string"},
      });
}

TEST(parse_agent_create, name_limit_counts_utf8_bytes) {
  std::string e50, e51;
  for (int i = 0; i < 50; ++i)
    e50 += "\\u00e9";
  e51 = e50 + "\\u00e9";
  run("create", create_base, create,
      {{"name", jstr(e50), ""},
       {"name", jstr(e51), "name: at most 100 characters"}});
}

TEST(parse_agent_create, optional_fields) {
  run("create", create_base, create, optional_field_rows());
  // In a create, null means absent, also for type.
  run("create", create_base, create,
      {{"avatar", "null", ""},
       {"description", "null", ""},
       {"webhook_url", "null", ""},
       {"type", "null", ""}});
}

TEST(parse_agent_create, fills_input) {
  auto doc = parse("{\"name\":\"Bot\",\"avatar\":\"a.png\",\"description\":"
                   "\"d\",\"webhook_url\":\"https://example.com/a?b=c\","
                   "\"type\":\"approval_only\",\"unknown\":[1,{}]}");
  agent_input in;
  json::field_error err;
  ASSERT_TRUE(parse_agent_create(doc, in, err)) << err.message;
  EXPECT_EQ(in.name, "Bot");
  EXPECT_EQ(in.avatar, "a.png");
  EXPECT_EQ(in.description, "d");
  EXPECT_EQ(in.webhook_url, "https://example.com/a?b=c");
  EXPECT_EQ(in.type, "approval_only");
  EXPECT_FALSE(in.clear_avatar || in.clear_description || in.clear_webhook_url);
}

TEST(parse_agent_create, defaults) {
  auto doc = parse("{\"name\":\"Bot\",\"avatar\":null}");
  agent_input in;
  in.avatar = "stale";
  json::field_error err;
  ASSERT_TRUE(parse_agent_create(doc, in, err)) << err.message;
  EXPECT_EQ(in.name, "Bot");
  EXPECT_FALSE(in.avatar);
  EXPECT_FALSE(in.description);
  EXPECT_FALSE(in.webhook_url);
  EXPECT_EQ(in.type, "interactive");
  EXPECT_FALSE(in.clear_avatar);
}

TEST(parse_agent_create, non_object_body) {
  json::value arr(rapidjson::kArrayType);
  agent_input in;
  json::field_error err;
  EXPECT_FALSE(parse_agent_create(arr, in, err));
  EXPECT_EQ(err.message, "body: must be a JSON object");
}

// ---- parse_agent_patch -----------------------------------------------------

bool patch(const json::value& v, json::field_error& err) {
  agent_input in;
  return parse_agent_patch(v, in, err);
}

TEST(parse_agent_patch, name_rules) {
  run("patch", "{}", patch,
      {
        {"name", "", ""},
        {"name", "null", "name: must not be null or empty"},
        {"name", "\"\"", "name: must not be null or empty"},
        {"name", "\" \"", "name: must not be only whitespace"},
        {"name", "\"x\"", ""},
        {"name", jstr(std::string(100, 'n')), ""},
        {"name", jstr(std::string(101, 'n')), "name: at most 100 characters"},
        {"name", "5", "name: must be a string"},
        {"name", "false", "name: must be a string"},
        {"name", "[]", "name: must be a string"},
        {"name", "{}", "name: must be a string"},
      });
}

TEST(parse_agent_patch, optional_fields) {
  run("patch", "{}", patch, optional_field_rows());
  run("patch", "{}", patch,
      {{"type", "null", "type: must be \"interactive\" or \"approval_only\""}});
}

TEST(parse_agent_patch, null_clears_and_absent_keeps) {
  auto doc = parse("{\"avatar\":null,\"description\":null,"
                   "\"webhook_url\":null}");
  agent_input in;
  json::field_error err;
  ASSERT_TRUE(parse_agent_patch(doc, in, err)) << err.message;
  EXPECT_TRUE(in.clear_avatar);
  EXPECT_TRUE(in.clear_description);
  EXPECT_TRUE(in.clear_webhook_url);
  EXPECT_FALSE(in.avatar || in.description || in.webhook_url || in.name
               || in.type);

  doc = parse("{\"unknown\":1}");
  ASSERT_TRUE(parse_agent_patch(doc, in, err)) << err.message;
  EXPECT_FALSE(in.clear_avatar || in.clear_description || in.clear_webhook_url);
  EXPECT_FALSE(in.avatar || in.description || in.webhook_url || in.name
               || in.type);

  doc = parse("{\"name\":\"N\",\"description\":\"\",\"type\":\"interactive\","
              "\"webhook_url\":\"http://[::1]:8080/x\"}");
  ASSERT_TRUE(parse_agent_patch(doc, in, err)) << err.message;
  EXPECT_EQ(in.name, "N");
  EXPECT_EQ(in.description, "");
  EXPECT_FALSE(in.clear_description);
  EXPECT_EQ(in.type, "interactive");
  EXPECT_EQ(in.webhook_url, "http://[::1]:8080/x");
}

// ---- parse_login / parse_new_user ------------------------------------------

TEST(parse_login, table) {
  auto login = [](const json::value& v, json::field_error& err) {
    std::string u, p;
    return parse_login(v, u, p, err);
  };
  const std::string base = "{\"username\":\"admin\",\"password\":\"pw\"}";
  std::vector<row> rows;
  for (std::string f : {"username", "password"}) {
    rows.push_back({f, "", f + ": is required"});
    rows.push_back({f, "null", f + ": is required"});
    rows.push_back({f, "\"\"", f + ": is required"});
    rows.push_back({f, "\"x\"", ""});
    rows.push_back({f, jstr(std::string(5000, 'x')), ""});
    for (auto bad : {"1", "true", "[]", "{}"})
      rows.push_back({f, bad, f + str_type});
  }
  run("login", base, login, rows);

  auto doc = parse(base);
  std::string u, p;
  json::field_error err;
  ASSERT_TRUE(parse_login(doc, u, p, err));
  EXPECT_EQ(u, "admin");
  EXPECT_EQ(p, "pw");
}

TEST(parse_new_user, table) {
  auto new_user = [](const json::value& v, json::field_error& err) {
    std::string u, p;
    return parse_new_user(v, u, p, err);
  };
  const std::string base = "{\"username\":\"alice\",\"password\":\"12345678\"}";
  const std::string chars = "username: only letters, digits, '_', '.' and '-'";
  std::vector<row> rows{
    {"username", "", "username: is required"},
    {"username", "null", "username: is required"},
    {"username", "\"\"", "username: is required"},
    {"username", "\"a\"", ""},
    {"username", "\"0\"", ""},
    {"username", "\"Al.i_c-e9\"", ""},
    {"username", jstr(std::string(64, 'u')), ""},
    {"username", jstr(std::string(65, 'u')), "username: at most 64 characters"},
    {"username", "\"_alice\"", "username: must start with a letter or digit"},
    {"username", "\".alice\"", "username: must start with a letter or digit"},
    {"username", "\"-alice\"", "username: must start with a letter or digit"},
    {"username", "\"al ice\"", chars},
    {"username", "\"al@ice\"", chars},
    {"username", "\"al/ice\"", chars},
    {"username", "\"\\u00e9\"", chars},
    {"username", "1", "username: must be a string"},
    {"username", "true", "username: must be a string"},
    {"username", "[]", "username: must be a string"},
    {"username", "{}", "username: must be a string"},
    {"password", "", "password: is required"},
    {"password", "null", "password: is required"},
    {"password", "\"\"", "password: is required"},
    {"password", "\"1234567\"", "password: at least 8 characters"},
    {"password", "\"12345678\"", ""},
    {"password", jstr(std::string(1024, 'p')), ""},
    {"password", jstr(std::string(1025, 'p')),
     "password: at most 1024 characters"},
    {"password", "12345678", "password: must be a string"},
    {"password", "false", "password: must be a string"},
    {"password", "[]", "password: must be a string"},
    {"password", "{}", "password: must be a string"},
  };
  run("new_user", base, new_user, rows);
}

TEST(check_username, messages_have_no_prefix) {
  EXPECT_EQ(check_username(""), "is required");
  EXPECT_EQ(check_username("a b"), "only letters, digits, '_', '.' and '-'");
  EXPECT_EQ(check_username(std::string(65, 'a')), "at most 64 characters");
  EXPECT_EQ(check_username("ok.name"), std::nullopt);
}

TEST(check_password, boundaries) {
  EXPECT_EQ(check_password(""), "at least 8 characters");
  EXPECT_EQ(check_password("1234567"), "at least 8 characters");
  EXPECT_EQ(check_password("12345678"), std::nullopt);
  EXPECT_EQ(check_password(std::string(1024, 'x')), std::nullopt);
  EXPECT_EQ(check_password(std::string(1025, 'x')), "at most 1024 characters");
}

// ---- is_webhook_url --------------------------------------------------------

TEST(is_webhook_url, accepts) {
  for (const std::string& url : std::vector<std::string>{
         "http://localhost:9000/hook",
         "https://example.com/a?b=c",
         "http://127.0.0.1:8080",
         "http://[::1]:8080/x",
         "http://[::1]",
         "http://[2001:db8::1]/p",
         "HTTPS://EXAMPLE.COM",
         "HtTp://example.com",
         "http://example.com/",
         "http://example.com.",
         "http://example.com#frag",
         "http://example.com?q",
         "http://my_host-1.internal:1/",
         "http://h:65535",
         "https://example.com/p%20q?x=a+b&y=%C3%A9",
         "http://h/" + std::string(2048 - 9, 'a'),
       })
    EXPECT_TRUE(is_webhook_url(url)) << url;
}

TEST(is_webhook_url, rejects) {
  for (const std::string& url : std::vector<std::string>{
         "",
         "ftp://example.com/",
         "file:///etc/passwd",
         "javascript:alert(1)",
         "JAVASCRIPT://x",
         "/relative/path",
         "example.com/hook",
         "//example.com/hook",
         "http:/example.com",
         "http:example.com",
         "http://",
         "http:///path",
         "http://?q",
         "http://:80",
         "http://:80/x",
         "http://host:0",
         "http://host:65536",
         "http://host:99999",
         "http://host:123456",
         "http://host:",
         "http://host:8a",
         "http://host:-1",
         "http://host:+80",
         "http://host:80:80",
         "http://user@host",
         "http://user:pass@host/",
         "http://@host",
         "http://ho st/",
         "http://host/a b",
         " http://host/",
         "http://host/ ",
         "http://host/\t",
         "http://host/\x7f",
         "http://host/\n",
         std::string("http://host/\0", 13),
         "http://h\xc3\xa9st/",
         "http://host\\@evil/",
         "http://host/\"",
         "http://ho<st/",
         "http://[::1",
         "http://[::1]x",
         "http://[::1]:",
         "http://[::1]:0",
         "http://[zz::1]/",
         "http://[]/",
         "http://::1/",
         "http://.host/",
         "http://ho..st/",
         "http://..",
         "http://ho%73t/",
         "http://ho!st/",
         "http://256.1.1.1/",
         "http://1.2.3/",
         "http://01.2.3.4/",
         "http://1.2.3.4.5/",
         "http://h/" + std::string(2048 - 8, 'a'),
         "http://h/" + std::string(100000, 'a'),
       })
    EXPECT_FALSE(is_webhook_url(url)) << url;
}

} // namespace
} // namespace nod
