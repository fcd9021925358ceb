#include "protocol/records.hpp"

#include <gtest/gtest.h>
#include <set>

namespace nod {
namespace {

user_record full_user() {
  user_record x;
  x.id = 0xfedcba9876543210;
  x.username = "alice";
  x.password_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA";
  x.admin = true;
  x.created_ms = 1795903391123;
  return x;
}

agent_record full_agent() {
  agent_record x;
  x.id = UINT64_MAX;
  x.owner = 7;
  x.name = "Bot \"one\" \xc3\xa9";
  x.avatar = "https://example.com/a.png";
  x.description = "line1\nline2";
  x.webhook_url = "http://localhost:9000/hook";
  x.type = "approval_only";
  x.secret_hash = std::string(64, 'a');
  x.webhook_secret = "whsec_Zm9vYmFy";
  x.created_ms = 1795903391000;
  x.updated_ms = 1795903392999;
  return x;
}

void expect_same(const user_record& a, const user_record& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.username, b.username);
  EXPECT_EQ(a.password_hash, b.password_hash);
  EXPECT_EQ(a.admin, b.admin);
  EXPECT_EQ(a.created_ms, b.created_ms);
}

void expect_same(const session_record& a, const session_record& b) {
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.expires_ms, b.expires_ms);
}

void expect_same(const agent_record& a, const agent_record& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.avatar, b.avatar);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.webhook_url, b.webhook_url);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.secret_hash, b.secret_hash);
  EXPECT_EQ(a.webhook_secret, b.webhook_secret);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
}

template <class Record>
void expect_round_trip(const Record& x) {
  auto text = to_storage(x);
  Record y;
  ASSERT_TRUE(from_storage(text, y)) << text;
  expect_same(x, y);
  EXPECT_EQ(to_storage(y), text);
}

TEST(records_storage, user_round_trips) {
  expect_round_trip(full_user());
  expect_round_trip(user_record{});
  auto x = full_user();
  x.username = std::string("a\0b", 3);
  x.admin = false;
  x.created_ms = -1;
  expect_round_trip(x);
}

TEST(records_storage, session_round_trips) {
  expect_round_trip(session_record{});
  expect_round_trip(session_record{UINT64_MAX, INT64_MIN, INT64_MAX});
  expect_round_trip(session_record{42, 1795903391000, 1796508191000});
}

TEST(records_storage, agent_round_trips) {
  expect_round_trip(full_agent());
  expect_round_trip(agent_record{});
  // Empty optionals stay apart from absent ones.
  auto x = full_agent();
  x.avatar = "";
  x.description = std::nullopt;
  x.webhook_url = "";
  expect_round_trip(x);
  agent_record y;
  ASSERT_TRUE(from_storage(to_storage(x), y));
  EXPECT_EQ(y.avatar, std::optional<std::string>{""});
  EXPECT_EQ(y.description, std::nullopt);
}

TEST(records_storage, from_storage_replaces_optionals) {
  agent_record y = full_agent();
  ASSERT_TRUE(from_storage(to_storage(agent_record{}), y));
  EXPECT_FALSE(y.avatar || y.description || y.webhook_url);
}

// Storage text of `Record` with member `key` removed or set to `raw`.
template <class Record>
std::string edited(const Record& x, const char* key, const char* raw) {
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(to_storage(x), doc, err));
  doc.RemoveMember(key);
  if (raw != nullptr) {
    json::document v;
    v.Parse(raw);
    json::value copy(v, doc.GetAllocator());
    doc.AddMember(json::value(key, doc.GetAllocator()), copy,
                  doc.GetAllocator());
  }
  return json::to_string(doc);
}

const std::vector<const char*> malformed_texts{
  "",     "{",     "[]",          "null", "\"x\"",
  "42",   "{} {}", "{\"id\":1,}", "\xff", "{\"id\":\"\xff\"}",
  "true", "[{}]",  "{\"id\":1}x",
};

TEST(records_storage, malformed_text_is_rejected) {
  for (auto text : malformed_texts) {
    user_record u = full_user();
    session_record s;
    agent_record a;
    EXPECT_FALSE(from_storage(text, u)) << text;
    EXPECT_FALSE(from_storage(text, s)) << text;
    EXPECT_FALSE(from_storage(text, a)) << text;
    expect_same(u, full_user()); // untouched on failure
  }
  user_record u;
  session_record s;
  agent_record a;
  EXPECT_FALSE(from_storage("{}", u));
  EXPECT_FALSE(from_storage("{}", s));
  EXPECT_FALSE(from_storage("{}", a));
}

TEST(records_storage, user_fields_are_checked) {
  struct row {
    const char* key;
    const char* raw; // nullptr: removed
  };
  for (auto r :
       {row{"id", nullptr}, row{"id", "-1"}, row{"id", "\"1\""},
        row{"id", "1.5"}, row{"id", "null"}, row{"id", "18446744073709551616"},
        row{"username", nullptr}, row{"username", "null"}, row{"username", "1"},
        row{"password_hash", nullptr}, row{"password_hash", "[]"},
        row{"admin", nullptr}, row{"admin", "1"}, row{"admin", "\"true\""},
        row{"created_ms", nullptr}, row{"created_ms", "\"0\""},
        row{"created_ms", "1e3"}, row{"created_ms", "9223372036854775808"}}) {
    auto text = edited(full_user(), r.key, r.raw);
    user_record x;
    EXPECT_FALSE(from_storage(text, x)) << text;
  }
  // Unknown members are ignored.
  user_record x;
  EXPECT_TRUE(from_storage(edited(full_user(), "extra", "{\"a\":[]}"), x));
}

TEST(records_storage, session_fields_are_checked) {
  session_record s{1, 2, 3};
  for (auto key : {"user", "created_ms", "expires_ms"}) {
    for (auto raw : {static_cast<const char*>(nullptr), "null", "\"1\"", "1.5",
                     "true", "{}"}) {
      auto text = edited(s, key, raw);
      session_record x;
      EXPECT_FALSE(from_storage(text, x)) << text;
    }
  }
  session_record x;
  EXPECT_FALSE(from_storage(edited(s, "user", "-3"), x));
  EXPECT_TRUE(from_storage(edited(s, "created_ms", "-3"), x));
  EXPECT_EQ(x.created_ms, -3);
}

TEST(records_storage, agent_fields_are_checked) {
  for (auto key : {"id", "owner", "name", "type", "secret_hash",
                   "webhook_secret", "created_ms", "updated_ms"}) {
    for (auto raw :
         {static_cast<const char*>(nullptr), "null", "[]", "{}", "false"}) {
      auto text = edited(full_agent(), key, raw);
      agent_record x;
      EXPECT_FALSE(from_storage(text, x)) << text;
    }
  }
  for (auto key : {"avatar", "description", "webhook_url"}) {
    for (auto raw : {"1", "[]", "{}", "false"}) {
      auto text = edited(full_agent(), key, raw);
      agent_record x;
      EXPECT_FALSE(from_storage(text, x)) << text;
    }
    // Missing optionals (an older record) read as absent.
    agent_record x;
    ASSERT_TRUE(from_storage(edited(full_agent(), key, nullptr), x));
    EXPECT_EQ(key == std::string{"avatar"}        ? x.avatar
              : key == std::string{"description"} ? x.description
                                                  : x.webhook_url,
              std::nullopt);
  }
}

TEST(records_api, write_user) {
  json::writer w;
  write_user(w, full_user());
  EXPECT_EQ(w.str(), "{\"id\":\"usr_fedcba9876543210\",\"username\":\"alice\","
                     "\"admin\":true,\"created_at\":\"2026-11-28T22:03:11Z\"}");
}

json::document parse_agent_json(const agent_record& x, const agent_live& live,
                                bool with_secret) {
  json::writer w;
  write_agent(w, x, live, with_secret);
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(w.str(), doc, err)) << w.str();
  return doc;
}

std::set<std::string> keys(const json::value& obj) {
  std::set<std::string> out;
  for (auto& m : obj.GetObject())
    out.emplace(m.name.GetString());
  return out;
}

TEST(records_api, write_agent_full) {
  agent_live live;
  live.online = true;
  live.processing = true;
  live.status_text = "thinking";
  live.pending_decisions = 3;
  live.undelivered_events = 12;
  auto doc = parse_agent_json(full_agent(), live, false);
  std::set<std::string> expected{"id",
                                 "agent_id",
                                 "name",
                                 "avatar",
                                 "description",
                                 "webhook_url",
                                 "type",
                                 "created_at",
                                 "updated_at",
                                 "online",
                                 "processing",
                                 "status_text",
                                 "pending_decisions",
                                 "undelivered_events"};
  EXPECT_EQ(keys(doc), expected);
  EXPECT_STREQ(doc["id"].GetString(), "agt_ffffffffffffffff");
  EXPECT_STREQ(doc["agent_id"].GetString(), "agt_ffffffffffffffff");
  EXPECT_EQ(doc["name"].GetString(), full_agent().name);
  EXPECT_STREQ(doc["avatar"].GetString(), "https://example.com/a.png");
  EXPECT_STREQ(doc["description"].GetString(), "line1\nline2");
  EXPECT_STREQ(doc["webhook_url"].GetString(), "http://localhost:9000/hook");
  EXPECT_STREQ(doc["type"].GetString(), "approval_only");
  EXPECT_STREQ(doc["created_at"].GetString(), "2026-11-28T22:03:11Z");
  EXPECT_STREQ(doc["updated_at"].GetString(), "2026-11-28T22:03:12Z");
  EXPECT_TRUE(doc["online"].GetBool());
  EXPECT_TRUE(doc["processing"].GetBool());
  EXPECT_STREQ(doc["status_text"].GetString(), "thinking");
  EXPECT_EQ(doc["pending_decisions"].GetInt64(), 3);
  EXPECT_EQ(doc["undelivered_events"].GetInt64(), 12);
}

TEST(records_api, write_agent_minimal_has_nulls_and_no_secrets) {
  agent_record x;
  x.id = 0x1f;
  x.name = "n";
  x.secret_hash = "deadbeef";
  x.webhook_secret = "whsec_Zm9vYmFy";
  auto doc = parse_agent_json(x, agent_live{}, false);
  EXPECT_STREQ(doc["id"].GetString(), "agt_000000000000001f");
  for (auto k : {"avatar", "description", "webhook_url", "status_text"})
    EXPECT_TRUE(doc[k].IsNull()) << k;
  EXPECT_STREQ(doc["type"].GetString(), "interactive");
  EXPECT_FALSE(doc["online"].GetBool());
  EXPECT_FALSE(doc["processing"].GetBool());
  EXPECT_EQ(doc["pending_decisions"].GetInt64(), 0);
  EXPECT_EQ(doc["undelivered_events"].GetInt64(), 0);
  EXPECT_STREQ(doc["created_at"].GetString(), "1970-01-01T00:00:00Z");
  for (auto k : {"secret_hash", "webhook_secret", "secret", "owner"})
    EXPECT_FALSE(doc.HasMember(k)) << k;
  json::writer w;
  write_agent(w, x, agent_live{}, false);
  EXPECT_EQ(w.str().find("deadbeef"), std::string::npos);
  EXPECT_EQ(w.str().find("whsec_"), std::string::npos);
}

TEST(records_api, write_agent_webhook_secret_only_when_asked) {
  auto doc = parse_agent_json(full_agent(), agent_live{}, true);
  ASSERT_TRUE(doc.HasMember("webhook_secret"));
  EXPECT_STREQ(doc["webhook_secret"].GetString(), "whsec_Zm9vYmFy");
  EXPECT_FALSE(doc.HasMember("secret_hash"));
  EXPECT_EQ(keys(doc).size(), 15u);
}

TEST(records_api, write_agent_fields_lets_callers_add_members) {
  json::writer w;
  w.start_object();
  write_agent_fields(w, full_agent(), agent_live{}, true);
  w.field("secret", "nod_0123");
  w.end_object();
  json::document doc;
  json::field_error err;
  ASSERT_TRUE(json::parse_object(w.str(), doc, err)) << w.str();
  EXPECT_STREQ(doc["secret"].GetString(), "nod_0123");
  EXPECT_STREQ(doc["webhook_secret"].GetString(), "whsec_Zm9vYmFy");
  EXPECT_EQ(keys(doc).size(), 16u);
}

TEST(records_api, write_agent_inside_an_array) {
  json::writer w;
  w.start_array();
  write_agent(w, full_agent(), agent_live{}, false);
  write_agent(w, agent_record{}, agent_live{}, false);
  w.end_array();
  json::document doc;
  doc.Parse(w.str().c_str());
  ASSERT_FALSE(doc.HasParseError()) << w.str();
  ASSERT_TRUE(doc.IsArray());
  EXPECT_EQ(doc.Size(), 2u);
}

TEST(records, id_texts) {
  EXPECT_EQ(user_id_text(0), "usr_0000000000000000");
  EXPECT_EQ(user_id_text(0xabc), "usr_0000000000000abc");
  EXPECT_EQ(agent_id_text(UINT64_MAX), "agt_ffffffffffffffff");
  EXPECT_EQ(agent_id_text(0x0123456789abcdef), "agt_0123456789abcdef");
}

} // namespace
} // namespace nod
