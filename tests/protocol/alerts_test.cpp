#include "protocol/alerts.hpp"
#include "protocol/cron.hpp"
#include "protocol/ids.hpp"
#include "protocol/time.hpp"
#include "protocol/webpush.hpp"

#include <gtest/gtest.h>

using namespace nod;

namespace {

bool patch(alert_prefs& p, std::string_view body,
           std::string* error = nullptr) {
  json::document doc;
  json::field_error err;
  EXPECT_TRUE(json::parse_object(body, doc, err)) << body;
  bool ok = apply_prefs_patch(doc, p, err);
  if (error)
    *error = err.message;
  return ok;
}

int64_t at(const char* iso) {
  return *parse_iso8601(iso);
}

person_alert decision_alert() {
  person_alert a;
  a.kind = alert_kind::decision;
  a.user = 1;
  a.agent = 0x0123456789abcdefULL;
  a.agent_name = "deploy-bot";
  a.title = "Deploy v2?";
  a.text = "All checks green.";
  a.decision_id = "dec_00000000000000aa";
  a.decision_kind = "approval";
  return a;
}

} // namespace

TEST(alerts, default_settings_notify_decisions_and_messages_only) {
  alert_prefs p;
  auto a = decision_alert();
  int64_t now = at("2026-12-06T12:00:00Z");
  EXPECT_TRUE(wants_alert(p, a, now));
  a.kind = alert_kind::message;
  EXPECT_TRUE(wants_alert(p, a, now));
  a.kind = alert_kind::expiring;
  EXPECT_FALSE(wants_alert(p, a, now));
  a.kind = alert_kind::pending;
  EXPECT_FALSE(wants_alert(p, a, now));
  a.kind = alert_kind::test;
  EXPECT_TRUE(wants_alert(p, a, now));
}

TEST(alerts, quiet_hours_wrap_midnight_in_the_persons_zone_and_mute_works) {
  ASSERT_FALSE(cron::load_zones());
  alert_prefs p;
  ASSERT_TRUE(patch(p, R"({"quiet_hours":{"start":"22:00","end":"07:00",
                           "timezone":"Europe/Berlin"},
                           "muted_agents":["agt_0000000000000007"]})"));
  auto a = decision_alert();
  // 22:30 in Berlin (UTC+1 in December) is 21:30 UTC.
  EXPECT_FALSE(wants_alert(p, a, at("2026-12-06T21:30:00Z")));
  EXPECT_FALSE(wants_alert(p, a, at("2026-12-07T05:59:00Z")));
  EXPECT_TRUE(wants_alert(p, a, at("2026-12-07T06:00:00Z")));
  EXPECT_TRUE(wants_alert(p, a, at("2026-12-06T20:59:00Z")));
  a.agent = 7;
  EXPECT_FALSE(wants_alert(p, a, at("2026-12-06T12:00:00Z")));
  a.kind = alert_kind::test;
  EXPECT_TRUE(wants_alert(p, a, at("2026-12-06T21:30:00Z")));
  // A window within one day.
  ASSERT_TRUE(patch(p, R"({"quiet_hours":{"start":"12:00","end":"13:00"}})"));
  a = decision_alert();
  EXPECT_FALSE(wants_alert(p, a, at("2026-12-06T12:30:00Z")));
  EXPECT_TRUE(wants_alert(p, a, at("2026-12-06T13:00:00Z")));
  ASSERT_TRUE(patch(p, R"({"quiet_hours":null})"));
  EXPECT_TRUE(wants_alert(p, a, at("2026-12-06T12:30:00Z")));
}

TEST(alerts, bad_settings_name_the_field_and_change_nothing) {
  alert_prefs p;
  ASSERT_TRUE(patch(p, R"({"events":{"expiring":true}})"));
  std::string error;
  for (
    auto [body, expected] : std::vector<std::pair<const char*, const char*>>{
      {R"({"events":{"message":1}})", "events.message: must be true or false"},
      {R"({"quiet_hours":{"start":"25:00","end":"07:00"}})",
       "quiet_hours.start: must be HH:MM"},
      {R"({"quiet_hours":{"start":"07:00","end":"07:00"}})",
       "quiet_hours.end: must differ from start"},
      {R"({"quiet_hours":{"start":"22:00","end":"07:00","timezone":"Mars/Base"}})",
       "quiet_hours.timezone: unknown time zone \"Mars/Base\""},
      {R"({"muted_agents":["bob"]})",
       "muted_agents: must be an array of agent ids"},
      {R"({"channels":{"ntfy":{"server":"ftp://x","topic":"t"}}})",
       "channels.ntfy.server: must be an http(s) URL, e.g. https://ntfy.sh"},
      {R"({"channels":{"ntfy":{"server":"https://ntfy.sh","topic":"a b"}}})",
       "channels.ntfy.topic: must be 1-64 letters, digits, - or _"},
      {R"({"channels":{"email":{"to":"alice@example.com\r\nBcc: x@y.z"}}})",
       "channels.email.to: must be an email address, e.g. alice@example.com"},
      {R"({"channels":{"slack":{}}})",
       "channels.slack.webhook_url: must be an http(s) URL (Slack's incoming "
       "webhook)"},
    }) {
    EXPECT_FALSE(patch(p, body, &error)) << body;
    EXPECT_EQ(error, expected);
  }
  EXPECT_TRUE(p.on_expiring);
  EXPECT_FALSE(p.quiet);
  EXPECT_FALSE(p.ntfy);
}

TEST(alerts, secrets_are_kept_stored_but_never_shown) {
  alert_prefs p;
  ASSERT_TRUE(patch(p, R"({"channels":{
    "ntfy":{"server":"https://ntfy.example/","topic":"alice-nod","token":"tk_secret"},
    "slack":{"webhook_url":"https://hooks.slack.com/services/T0/B0/XXXX"},
    "email":{"to":"alice@example.com"}}})"));
  EXPECT_EQ(p.ntfy->server, "https://ntfy.example");
  auto shown = prefs_json(p, true);
  EXPECT_EQ(shown.find("tk_secret"), std::string::npos);
  EXPECT_EQ(shown.find("XXXX"), std::string::npos);
  EXPECT_NE(shown.find(R"("token_set":true)"), std::string::npos);
  EXPECT_NE(shown.find(R"("webhook_url":"https://hooks.slack.com/…")"),
            std::string::npos);
  // The stored form reads back to the same settings.
  auto stored = prefs_json(p, false);
  auto again = parse_stored_prefs(stored);
  EXPECT_EQ(prefs_json(again, false), stored);
  // Patching the channel without a token keeps the token.
  ASSERT_TRUE(patch(
    p,
    R"({"channels":{"ntfy":{"server":"https://ntfy.example","topic":"other"}}})"));
  EXPECT_EQ(p.ntfy->token, "tk_secret");
  EXPECT_EQ(p.ntfy->topic, "other");
  ASSERT_TRUE(patch(p, R"({"channels":{"ntfy":null}})"));
  EXPECT_FALSE(p.ntfy);
  EXPECT_TRUE(p.slack);
}

TEST(alerts, push_subscriptions_are_checked_and_round_trip) {
  auto ua = webpush::generate_key_pair();
  ASSERT_TRUE(ua);
  auto body
    = R"({"endpoint":"https://push.example/send/abc","expirationTime":null,
                  "keys":{"p256dh":")"
      + webpush::base64url_encode(ua->public_key) + R"(","auth":")"
      + webpush::base64url_encode(std::string(16, 'k')) + R"("}})";
  json::document doc;
  json::field_error err;
  ASSERT_TRUE(json::parse_object(body, doc, err));
  push_subscription s;
  ASSERT_TRUE(parse_push_subscription(doc, s, err)) << err.message;
  s.id = 42;
  s.created_ms = at("2026-12-06T12:00:00Z");
  push_subscription back;
  ASSERT_TRUE(parse_stored_subscription(push_subscription_json(s), back));
  EXPECT_EQ(back.id, 42u);
  EXPECT_EQ(back.p256dh, ua->public_key);
  EXPECT_EQ(back.auth, std::string(16, 'k'));
  EXPECT_EQ(back.created_ms, s.created_ms);

  for (
    auto [bad, expected] : std::vector<std::pair<std::string, const char*>>{
      {R"({"keys":{}})", "endpoint: is required"},
      {R"x({"endpoint":"javascript:alert(1)","keys":{}})x",
       "endpoint: must be an http(s) URL"},
      {R"({"endpoint":"https://p.example/x"})",
       "keys: must be an object with p256dh and auth"},
      {R"({"endpoint":"https://p.example/x","keys":{"p256dh":"AAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}})",
       "keys.p256dh: must be base64url of an uncompressed P-256 public key"},
      {R"({"endpoint":"https://p.example/x","keys":{"p256dh":")"
         + webpush::base64url_encode(ua->public_key) + R"(","auth":"AAAA"}})",
       "keys.auth: must be base64url of 16 bytes"},
    }) {
    json::document d;
    ASSERT_TRUE(json::parse_object(bad, d, err));
    push_subscription x;
    EXPECT_FALSE(parse_push_subscription(d, x, err)) << bad;
    EXPECT_EQ(err.message, expected);
  }
}

TEST(alerts, payloads_link_to_the_card_and_offer_answers_for_approvals) {
  auto a = decision_alert();
  auto payload = push_payload(a);
  EXPECT_NE(payload.find(R"("type":"decision")"), std::string::npos);
  EXPECT_NE(payload.find(R"("title":"deploy-bot asks: Deploy v2?")"),
            std::string::npos);
  EXPECT_NE(payload.find(R"("url":"/#/decisions/dec_00000000000000aa")"),
            std::string::npos);
  EXPECT_NE(payload.find(R"("actions":true)"), std::string::npos);
  a.decision_kind = "question";
  EXPECT_NE(push_payload(a).find(R"("actions":false)"), std::string::npos);

  a.decision_kind = "permission";
  alert_prefs::ntfy_channel ch{"https://ntfy.example", "alice", "tk"};
  auto req = ntfy_post(ch, a, "https://nod.example");
  EXPECT_EQ(req.url, "https://ntfy.example/");
  EXPECT_NE(
    req.body.find(
      R"("url":"https://nod.example/#/decisions/dec_00000000000000aa/approve")"),
    std::string::npos);
  EXPECT_EQ(req.headers.back().second, "Bearer tk");

  auto slack = slack_post({"https://hooks.slack.com/services/x"}, a,
                          "https://nod.example");
  EXPECT_NE(slack.body.find(R"("type":"button")"), std::string::npos);

  person_alert m;
  m.kind = alert_kind::message;
  m.agent = 5;
  m.agent_name = "bot";
  m.text = std::string(400, 'x');
  auto mail = alert_email(m, "https://nod.example");
  EXPECT_EQ(mail.subject, "[Nod] bot");
  EXPECT_NE(mail.body.find("https://nod.example/#/agents/agt_0000000000000005"),
            std::string::npos);
  EXPECT_NE(mail.body.find("x…"), std::string::npos);

  // TTL: until the decision expires, else a week for decisions.
  int64_t now = at("2026-12-06T12:00:00Z");
  a.expires_ms = now + 90'000;
  EXPECT_EQ(push_ttl(a, now), 90);
  a.expires_ms = 0;
  EXPECT_EQ(push_ttl(a, now), 7 * 24 * 3600);
  EXPECT_STREQ(push_urgency(a), "high");
  EXPECT_STREQ(push_urgency(m), "normal");
}
