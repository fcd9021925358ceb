#include "protocol/delivery.hpp"
#include "protocol/outbound.hpp"

#include <gtest/gtest.h>

namespace nod {
namespace {

json::document parse(const std::string& text) {
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(text, doc, err)) << text;
  return doc;
}

std::string decision(const std::string& kind,
                     const std::string& status = "pending") {
  return R"({"id":"dec_0000000000000001","decision_id":"dec_0000000000000001",)"
         R"("agent_id":"agt_00000000000000aa","kind":")"
         + kind
         + R"(","title":"Deploy?","conversation_id":null,)"
           R"("task_run_id":"run_1","always_allow_options":)"
           R"([{"pattern":"git *","label":"git"}],"status":")"
         + status + R"(","note":null,"resolved_at":null})";
}

struct resolve_case {
  std::string kind;
  std::string status;
  std::optional<std::string> note;
  std::optional<bool> always;
  std::optional<std::string> pattern;
  resolve_refusal want;
};

TEST(outbound, status_must_fit_the_kind) {
  const std::vector<resolve_case> cases = {
    {"approval", "approved", std::nullopt, {}, {}, resolve_refusal::none},
    {"approval", "rejected", "no", {}, {}, resolve_refusal::none},
    {"approval", "responded", "x", {}, {}, resolve_refusal::invalid},
    {"approval", "dismissed", std::nullopt, {}, {}, resolve_refusal::none},
    {"permission", "approved", std::nullopt, true, "git *",
     resolve_refusal::none},
    {"permission", "approved", std::nullopt, true, "rm *",
     resolve_refusal::invalid},
    // Patterns were offered: "always" must name one (issue #15).
    {"permission",
     "approved",
     std::nullopt,
     true,
     {},
     resolve_refusal::invalid},
    {"permission", "approved", std::nullopt, false, {}, resolve_refusal::none},
    {"permission",
     "rejected",
     std::nullopt,
     true,
     {},
     resolve_refusal::invalid},
    {"approval", "approved", std::nullopt, true, {}, resolve_refusal::invalid},
    {"choice", "responded", "blue", {}, {}, resolve_refusal::none},
    {"choice", "responded", std::nullopt, {}, {}, resolve_refusal::invalid},
    {"choice", "approved", std::nullopt, {}, {}, resolve_refusal::invalid},
    {"question", "responded", "42", {}, {}, resolve_refusal::none},
    {"question", "dismissed", std::nullopt, {}, {}, resolve_refusal::none},
    {"task_proposal", "approved", std::nullopt, {}, {}, resolve_refusal::none},
    {"task_proposal", "responded", "x", {}, {}, resolve_refusal::invalid},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.kind + " " + c.status);
    resolution r{c.status, c.note, c.always, c.pattern};
    resolved_decision out;
    std::string detail;
    EXPECT_EQ(
      resolve_decision(decision(c.kind), r, "evt_1", 0, false, out, detail),
      c.want)
      << detail;
    if (c.want != resolve_refusal::none) {
      EXPECT_FALSE(detail.empty());
    }
  }
}

TEST(outbound, refusals_read_as_english) {
  auto refusal = [](const std::string& kind, const std::string& status) {
    resolution r{status, std::nullopt, {}, {}};
    resolved_decision out;
    std::string detail;
    resolve_decision(decision(kind), r, "evt_1", 0, false, out, detail);
    return detail;
  };
  EXPECT_EQ(refusal("approval", "responded"),
            "status: responded does not fit an approval decision");
  EXPECT_EQ(refusal("choice", "approved"),
            "status: approved does not fit a choice decision");
  EXPECT_EQ(refusal("question", "responded"),
            "note: is required to respond to a question");
}

TEST(outbound, resolved_decision_and_its_event) {
  resolution r{"approved", std::string{"ship it"}, true, std::string{"git *"}};
  resolved_decision out;
  std::string detail;
  ASSERT_EQ(resolve_decision(decision("permission"), r, "evt_00000000000000ff",
                             1795903391000, false, out, detail),
            resolve_refusal::none);
  EXPECT_EQ(out.agent, 0xaau);
  auto d = parse(out.decision_json);
  EXPECT_STREQ(d["status"].GetString(), "approved");
  EXPECT_STREQ(d["note"].GetString(), "ship it");
  EXPECT_STREQ(d["resolved_at"].GetString(), "2026-11-28T22:03:11Z");
  EXPECT_TRUE(d["always_allow"].GetBool());
  EXPECT_STREQ(d["title"].GetString(), "Deploy?"); // the rest is kept
  auto e = parse(out.event_json);
  EXPECT_STREQ(e["type"].GetString(), "decision_resolved");
  EXPECT_STREQ(e["event_id"].GetString(), "evt_00000000000000ff");
  EXPECT_STREQ(e["decision_id"].GetString(), "dec_0000000000000001");
  EXPECT_STREQ(e["status"].GetString(), "approved");
  EXPECT_STREQ(e["note"].GetString(), "ship it");
  EXPECT_TRUE(e["conversation_id"].IsNull());
  EXPECT_STREQ(e["task_run_id"].GetString(), "run_1");
  EXPECT_TRUE(e["always_allow"].GetBool());
  EXPECT_STREQ(e["always_allow_pattern"].GetString(), "git *");
  EXPECT_FALSE(e.HasMember("seq"));
}

TEST(outbound, always_allow_needs_one_of_the_offered_patterns) {
  resolution r{"approved", std::nullopt, true, std::nullopt};
  resolved_decision out;
  std::string detail;
  EXPECT_EQ(
    resolve_decision(decision("permission"), r, "evt_1", 0, false, out, detail),
    resolve_refusal::invalid);
  EXPECT_EQ(detail, "always_allow_pattern: is required when the decision "
                    "offers always_allow_options (one of their patterns)");
  // Without offered patterns, "always" alone is fine (the agent decides
  // the scope).
  std::string bare = decision("permission");
  bare.replace(bare.find(R"([{"pattern":"git *","label":"git"}])"),
               std::string{R"([{"pattern":"git *","label":"git"}])"}.size(),
               "[]");
  EXPECT_EQ(resolve_decision(bare, r, "evt_1", 0, false, out, detail),
            resolve_refusal::none)
    << detail;
}

TEST(outbound, a_resolved_decision_cannot_be_resolved_again) {
  resolution r{"approved", std::nullopt, std::nullopt, std::nullopt};
  resolved_decision out;
  std::string detail;
  EXPECT_EQ(resolve_decision(decision("approval", "rejected"), r, "evt_1", 0,
                             false, out, detail),
            resolve_refusal::already_resolved);
  EXPECT_EQ(resolve_decision("not json", r, "evt_1", 0, false, out, detail),
            resolve_refusal::corrupt);
  // Only the server expires decisions.
  resolution expire{"expired", std::nullopt, std::nullopt, std::nullopt};
  EXPECT_EQ(resolve_decision(decision("approval"), expire, "evt_1", 0, false,
                             out, detail),
            resolve_refusal::invalid);
  EXPECT_EQ(resolve_decision(decision("approval"), expire, "evt_1", 0, true,
                             out, detail),
            resolve_refusal::none);
}

TEST(outbound, parse_resolution_names_the_field) {
  const std::vector<std::pair<std::string, std::string>> bad = {
    {R"({})", "status"},
    {R"({"status":"yes"})", "status"},
    {R"({"status":1})", "status"},
    {R"({"status":"approved","note":5})", "note"},
    {R"({"status":"approved","always_allow":"y"})", "always_allow"},
    {R"({"status":"approved","always_allow_pattern":[]})",
     "always_allow_pattern"},
  };
  for (auto& [body, field] : bad) {
    SCOPED_TRACE(body);
    auto doc = parse(body);
    resolution r;
    json::field_error err;
    EXPECT_FALSE(parse_resolution(doc, r, err));
    EXPECT_EQ(err.message.rfind(field + ":", 0), 0u) << err.message;
  }
  auto doc = parse(R"({"status":"responded","note":"blue","extra":1})");
  resolution r;
  json::field_error err;
  ASSERT_TRUE(parse_resolution(doc, r, err));
  EXPECT_EQ(r.note, std::optional<std::string>{"blue"});
}

TEST(outbound, user_message_input_and_rendering) {
  const std::vector<std::pair<std::string, std::string>> bad = {
    {R"({})", "text"},
    {R"({"text":""})", "text"},
    {R"({"text":"","image_base64":null})", "text"},
    {R"({"image_base64":"aGVsbG8="})", "image_base64"},
    {R"({"text":"hi","conversation_id":"nope"})", "conversation_id"},
    {R"({"text":"hi","reply_to_id":"dec_0000000000000001"})", "reply_to_id"},
  };
  for (auto& [body, field] : bad) {
    SCOPED_TRACE(body);
    auto doc = parse(body);
    user_message_input in;
    json::field_error err;
    EXPECT_FALSE(parse_user_message(doc, in, err));
    EXPECT_EQ(err.message.rfind(field + ":", 0), 0u) << err.message;
  }
  auto doc = parse(R"({"text":"hi <b>","reply_to_id":"msg_0000000000000002"})");
  user_message_input in;
  json::field_error err;
  ASSERT_TRUE(parse_user_message(doc, in, err));
  auto out
    = render_user_message(3, 4, 5, in, "alice", std::string{"earlier"},
                          std::nullopt, "evt_0000000000000009", 1795903391000);
  auto m = parse(out.message_json);
  EXPECT_STREQ(m["id"].GetString(), "msg_0000000000000003");
  EXPECT_STREQ(m["role"].GetString(), "user");
  EXPECT_STREQ(m["event_id"].GetString(), "evt_0000000000000009");
  auto e = parse(with_seq(out.event_json, 12));
  EXPECT_STREQ(e["type"].GetString(), "user_message");
  EXPECT_STREQ(e["text"].GetString(), "hi <b>");
  EXPECT_STREQ(e["sender_name"].GetString(), "alice");
  EXPECT_STREQ(e["conversation_id"].GetString(), "conv_0000000000000004");
  EXPECT_STREQ(e["reply_to_id"].GetString(), "msg_0000000000000002");
  EXPECT_STREQ(e["reply_to_text"].GetString(), "earlier");
  EXPECT_TRUE(e["image_urls"].IsArray());
  EXPECT_TRUE(e["image_url"].IsNull());
  EXPECT_EQ(e["seq"].GetInt64(), 12);
}

TEST(outbound, a_persons_message_may_be_an_image) {
  // "\x89PNG\r\n\x1a\n" and a few bytes, as base64.
  auto doc
    = parse(R"({"image_base64":"data:image/png;base64,iVBORw0KGgpwaXg="})");
  user_message_input in;
  json::field_error err;
  ASSERT_TRUE(parse_user_message(doc, in, err)) << err.message;
  EXPECT_FALSE(in.text);
  ASSERT_TRUE(in.image);
  EXPECT_EQ(in.image->content_type, "image/png");
  EXPECT_EQ(in.image->bytes, std::string("\x89PNG\r\n\x1a\npix", 11));
  auto out = render_user_message(3, 4, 5, in, "alice", std::nullopt,
                                 std::string{"/media/med_0000000000000007"},
                                 "evt_0000000000000009", 1795903391000);
  auto m = parse(out.message_json);
  EXPECT_STREQ(m["image_url"].GetString(), "/media/med_0000000000000007");
  EXPECT_TRUE(m["text"].IsNull());
  auto e = parse(out.event_json);
  EXPECT_STREQ(e["image_url"].GetString(), "/media/med_0000000000000007");
  ASSERT_EQ(e["image_urls"].Size(), 1u);
  EXPECT_STREQ(e["image_urls"][0].GetString(), "/media/med_0000000000000007");
}

TEST(outbound, delivery_record_round_trips) {
  delivery_record r;
  r.event_id = "evt_0000000000000001";
  r.agent = 0xaa;
  r.seq = 7;
  r.type = "user_message";
  r.state = delivery_states::retrying;
  r.next_attempt_ms = 1795903392000;
  r.created_ms = 1795903391000;
  r.updated_ms = 1795903391000;
  delivery_attempt a;
  a.at_ms = 1795903391000;
  a.channel = "webhook";
  a.delivery_id = "dlv_1";
  a.retry_num = 0;
  a.status_code = 500;
  a.error = "HTTP 500";
  a.duration_ms = 12;
  r.attempts.push_back(a);
  delivery_record back;
  ASSERT_TRUE(from_json(to_json(r), back));
  EXPECT_EQ(to_json(back), to_json(r));
  EXPECT_EQ(back.attempts.at(0).status_code, std::optional<int64_t>{500});
  EXPECT_FALSE(from_json("{}", back));
  EXPECT_FALSE(from_json(R"({"event_id":"e"})", back));
  // Hops appear only on events a chain of webhooks led to.
  EXPECT_EQ(to_json(r).find("hops"), std::string::npos);
  r.hops = 3;
  ASSERT_TRUE(from_json(to_json(r), back));
  EXPECT_EQ(back.hops, 3u);
  EXPECT_NE(to_json(r).find(R"("hops":3)"), std::string::npos);
}

} // namespace
} // namespace nod
