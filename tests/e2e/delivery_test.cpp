// Delivery of events to agents against the real binary (API.md A3, A4, A6,
// A7, B2): WebSocket pushes, signed webhooks with retries against a real
// local receiver, pending events for polling and replay, acks, long polls,
// decision resolution, and a kill -9 in the middle of it all.

#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/e2e/server_fixture.hpp"
#include "tests/e2e/webhook_sink.hpp"
#include "tests/support/match.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <set>
#include <sstream>
#include <thread>

namespace nod {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using test::agent_info;
using test::num;
using test::parse;
using test::sink_action;
using test::str;

// -- helpers independent of the server's code --------------------------------

/// Standard base64 (with padding) decoded; empty when malformed.
std::string base64_decode(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0)
    return {};
  std::string out(in.size() / 4 * 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  if (n < 0)
    return {};
  // EVP_DecodeBlock counts the bytes the padding stands for.
  size_t pad = in.back() == '=' ? (in[in.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string base64_encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(in.data()),
                           static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

/// Raw HMAC-SHA256 of `data` keyed with `key`, by OpenSSL's one-shot HMAC().
std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(),
            md, &len))
    return {};
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string lower_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

/// Runs `call` on a helper thread: a failed connection becomes status 0
/// with the error as body instead of ending the test binary.
template <class F>
test::http_reply guarded(F call) {
  try {
    return call();
  } catch (const std::exception& e) {
    test::http_reply r;
    r.body = e.what();
    return r;
  }
}

// -- what the deliveries list says -------------------------------------------

struct attempt_view {
  std::string channel;
  std::string result;
  std::string delivery_id;
  std::string error;
  int64_t retry_num = -1;
  int64_t status_code = -1;
};

struct delivery_view {
  bool found = false;
  std::string state;
  std::string channel;
  std::string type;
  int64_t seq = -1;
  /// When `retrying`: the time of the next attempt.
  std::string next_attempt_at;
  std::string sent_at;
  std::vector<attempt_view> attempts;
  /// The record as the API returned it, for failure messages.
  std::string raw;

  /// The attempts made on `ch`.
  std::vector<attempt_view> on(const std::string& ch) const {
    std::vector<attempt_view> out;
    for (auto& a : attempts)
      if (a.channel == ch)
        out.push_back(a);
    return out;
  }
};

delivery_view view_of(const rapidjson::Value& v) {
  delivery_view d;
  d.found = true;
  d.state = str(v, "state");
  d.channel = str(v, "channel");
  d.type = str(v, "type");
  d.seq = num(v, "seq");
  d.next_attempt_at = str(v, "next_attempt_at");
  d.sent_at = str(v, "sent_at");
  if (v.HasMember("attempts") && v["attempts"].IsArray())
    for (auto& a : v["attempts"].GetArray()) {
      attempt_view x;
      x.channel = str(a, "channel");
      x.result = str(a, "result");
      x.delivery_id = str(a, "delivery_id");
      x.error = str(a, "error");
      x.retry_num = num(a, "retry_num");
      x.status_code = num(a, "status_code");
      d.attempts.push_back(std::move(x));
    }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  v.Accept(w);
  d.raw = buf.GetString();
  return d;
}

// -- the fixture -------------------------------------------------------------

/// The real nod-server with short webhook timings: first retry after
/// 200 ms, each later one 3 times longer, 1 s per attempt; webhooks may
/// reach the receivers on 127.0.0.1.
class delivery_e2e : public test::server_fixture {
protected:
  delivery_e2e()
    : server_fixture({{"NOD_WEBHOOK_BACKOFF", "200ms"},
                      {"NOD_WEBHOOK_BACKOFF_FACTOR", "3"},
                      {"NOD_WEBHOOK_TIMEOUT", "1s"},
                      {"NOD_WEBHOOK_ALLOWED_HOSTS", "loopback"}}) {}

  /// Counter `field` of agent `a` in the owner's agent list (-1: absent).
  int64_t listed_count(const agent_info& a, const char* field) {
    auto list = parse(app("GET", "/api/agents").body);
    if (list.IsArray())
      for (auto& x : list.GetArray())
        if (str(x, "agent_id") == a.id)
          return num(x, field);
    return -1;
  }

  /// The delivery record of `event_id` in the owner's list.
  delivery_view delivery_of(const agent_info& a, const std::string& event_id) {
    auto r = app("GET", "/api/agents/" + a.id + "/deliveries?limit=200");
    EXPECT_EQ(r.status, 200u) << r.body;
    auto doc = parse(r.body);
    if (doc.IsArray())
      for (auto& d : doc.GetArray())
        if (str(d, "event_id") == event_id)
          return view_of(d);
    delivery_view none;
    none.raw = r.body;
    return none;
  }

  /// Polls the deliveries list until `event_id` is in `state` or
  /// `timeout` passes; the last record seen.
  delivery_view wait_state(const agent_info& a, const std::string& event_id,
                           const std::string& state,
                           std::chrono::milliseconds timeout = 10s) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
      auto d = delivery_of(a, event_id);
      // Nothing follows "delivered": no point waiting for another state.
      if ((d.found && (d.state == state || d.state == "delivered"))
          || clock_type::now() > deadline)
        return d;
      std::this_thread::sleep_for(50ms);
    }
  }
};

// -- a. WebSocket ------------------------------------------------------------

TEST_F(delivery_e2e, a_message_reaches_an_online_agent_over_its_websocket) {
  // A webhook too: the socket comes first while the agent is online.
  test::webhook_sink sink;
  auto a = create_agent("online", sink.url());
  auto app_ws = app_socket();
  auto ws = connect_agent(a, false);
  auto event_id = say(a, "hello agent");
  auto frame = next_of(*ws, "user_message");
  ASSERT_FALSE(frame.empty()) << "no user_message on the agent's socket";
  auto doc = parse(frame);
  EXPECT_EQ(str(doc, "event_id"), event_id) << frame;
  EXPECT_EQ(num(doc, "seq"), 1) << frame;
  EXPECT_EQ(str(doc, "text"), "hello agent") << frame;
  EXPECT_EQ(str(doc, "sender_name"), "admin") << frame;
  EXPECT_TRUE(test::matches(str(doc, "message_id"), "msg_", test::hex, 16))
    << frame;
  EXPECT_TRUE(
    test::matches(str(doc, "conversation_id"), "conv_", test::hex, 16))
    << frame;
  auto d = wait_state(a, event_id, "delivered");
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "websocket") << d.raw;
  EXPECT_EQ(d.type, "user_message") << d.raw;
  EXPECT_EQ(d.seq, 1) << d.raw;
  ASSERT_FALSE(d.attempts.empty()) << d.raw;
  EXPECT_EQ(d.attempts.back().channel, "websocket") << d.raw;
  EXPECT_EQ(d.attempts.back().result, "ok") << d.raw;
  EXPECT_EQ(d.on("webhook").size(), 0u) << d.raw;
  EXPECT_EQ(sink.count(), 0u) << "webhook used while the agent was online";
  // Delivered, so nothing waits in the inbox.
  auto pending = inbox(a);
  ASSERT_TRUE(pending.IsArray());
  EXPECT_EQ(pending.Size(), 0u);
  // The owner's app is told live (B3).
  auto shown = next_matching(*app_ws, [&](const rapidjson::Document& f) {
    return str(f, "type") == "delivery" && f.HasMember("delivery")
           && str(f["delivery"], "event_id") == event_id
           && str(f["delivery"], "state") == "delivered";
  });
  EXPECT_FALSE(shown.empty()) << "no delivery push to the app";
}

TEST_F(delivery_e2e, of_two_sockets_only_the_newest_gets_the_event) {
  auto a = create_agent("twin");
  auto older = connect_agent(a, false);
  auto newer = connect_agent(a, false);
  auto event_id = say(a, "just one of you");
  auto frame = parse(next_of(*newer, "user_message"));
  EXPECT_EQ(str(frame, "event_id"), event_id) << "the newest socket missed it";
  // Had the older socket got it too, it would come before this pong.
  older->send_text(R"({"type":"ping"})");
  EXPECT_EQ(older->read_text().value_or(""), R"({"type":"pong"})");
  EXPECT_EQ(wait_state(a, event_id, "delivered").channel, "websocket");
}

// -- b. Resolving decisions --------------------------------------------------

TEST_F(delivery_e2e, a_resolution_reaches_the_agent_and_the_first_one_wins) {
  auto a = create_agent("decider");
  auto ws = connect_agent(a, false);
  auto decision = ask_decision(a, "Deploy?");
  ASSERT_TRUE(test::matches(decision, "dec_", test::hex, 16)) << decision;

  auto r = resolve(decision, R"({"status":"approved","note":"ship it"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(str(parse(r.body), "status"), "approved") << r.body;
  auto frame = next_of(*ws, "decision_resolved");
  ASSERT_FALSE(frame.empty()) << "no decision_resolved on the agent's socket";
  auto doc = parse(frame);
  EXPECT_EQ(str(doc, "decision_id"), decision) << frame;
  EXPECT_EQ(str(doc, "status"), "approved") << frame;
  EXPECT_EQ(str(doc, "note"), "ship it") << frame;
  EXPECT_TRUE(test::matches(str(doc, "event_id"), "evt_", test::hex, 16))
    << frame;
  EXPECT_EQ(num(doc, "seq"), 1) << frame;

  // The first resolution wins; a later one is a conflict.
  auto again = resolve(decision, R"({"status":"rejected"})");
  EXPECT_EQ(again.status, 409u) << again.body;
  auto stored = parse(app("GET", "/api/decisions/" + decision).body);
  EXPECT_EQ(str(stored, "status"), "approved");
  EXPECT_EQ(str(stored, "note"), "ship it");

  // A status that does not fit the kind is refused and changes nothing.
  auto other = ask_decision(a, "Restart?");
  auto wrong = resolve(other, R"({"status":"responded","note":"yes"})");
  EXPECT_EQ(wrong.status, 400u) << wrong.body;
  EXPECT_NE(wrong.body.find("status"), std::string::npos) << wrong.body;
  EXPECT_EQ(str(parse(app("GET", "/api/decisions/" + other).body), "status"),
            "pending");

  // Two people resolve at the same moment: exactly one wins.
  auto raced = ask_decision(a, "Roll back?");
  std::array<test::http_reply, 2> replies;
  std::array<std::thread, 2> people;
  std::atomic<int> ready{0};
  for (size_t i = 0; i < 2; ++i)
    people[i] = std::thread([&, i] {
      ready += 1;
      while (ready.load() < 2) {
      }
      replies[i] = guarded([&] {
        return test::http_call(
          port, "POST", "/api/decisions/" + raced + "/resolve",
          R"({"status":"approved","note":"person )" + std::to_string(i) + "\"}",
          {{"Authorization", "Bearer " + token},
           {"Content-Type", "application/json"}});
      });
    });
  for (auto& t : people)
    t.join();
  std::multiset<unsigned> statuses{replies[0].status, replies[1].status};
  EXPECT_EQ(statuses, (std::multiset<unsigned>{200u, 409u}))
    << replies[0].body << "\n"
    << replies[1].body;
  auto winner = replies[0].status == 200 ? 0 : 1;
  auto final_state = parse(app("GET", "/api/decisions/" + raced).body);
  EXPECT_EQ(str(final_state, "status"), "approved");
  EXPECT_EQ(str(final_state, "note"), "person " + std::to_string(winner));
  auto told = parse(next_of(*ws, "decision_resolved"));
  EXPECT_EQ(str(told, "decision_id"), raced);
  EXPECT_EQ(str(told, "note"), "person " + std::to_string(winner));
  EXPECT_EQ(num(told, "seq"), 2);
  // The agent is told once per resolution: two events in all.
  auto list = parse(app("GET", "/api/agents/" + a.id + "/deliveries").body);
  ASSERT_TRUE(list.IsArray());
  size_t resolutions = 0;
  for (auto& d : list.GetArray())
    if (str(d, "type") == "decision_resolved")
      ++resolutions;
  EXPECT_EQ(resolutions, 2u);
}

// -- c-g. Webhooks -----------------------------------------------------------

TEST_F(delivery_e2e, webhook_retries_two_500s_then_delivers_signed_requests) {
  test::webhook_sink sink;
  sink.set_sequence({sink_action::reply(500), sink_action::reply(500),
                     sink_action::reply(200)});
  auto a = create_agent("hooked", sink.url("/hook?x=1"));
  auto key = base64_decode(a.webhook_secret.substr(6));
  ASSERT_EQ(key.size(), 32u) << a.webhook_secret;
  auto before = unix_now();
  auto event_id = say(a, "via webhook");
  ASSERT_TRUE(sink.wait_for(3, 10s)) << "only " << sink.count() << " requests";
  auto d = wait_state(a, event_id, "delivered");
  EXPECT_FALSE(sink.wait_for(4, 500ms)) << "a 4th attempt after a 200";
  auto after = unix_now();

  auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 3u);
  const char* reasons[] = {"first_attempt", "http_500", "http_500"};
  std::set<std::string> delivery_ids;
  for (size_t i = 0; i < reqs.size(); ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i));
    auto& r = reqs[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook?x=1");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    for (auto name :
         {"X-Nod-Event-Id", "X-Nod-Delivery-Id", "X-Nod-Timestamp",
          "X-Nod-Retry-Num", "X-Nod-Retry-Reason", "X-Nod-Signature",
          "webhook-id", "webhook-timestamp", "webhook-signature"})
      EXPECT_EQ(r.header_count(name), 1u) << name;
    EXPECT_EQ(r.header("X-Nod-Event-Id"), event_id);
    EXPECT_EQ(r.header("webhook-id"), event_id);
    auto dlv = r.header("X-Nod-Delivery-Id");
    EXPECT_EQ(dlv.rfind("dlv_", 0), 0u) << dlv;
    EXPECT_GT(dlv.size(), 4u);
    EXPECT_EQ(dlv.find_first_not_of(test::hex, 4), std::string::npos) << dlv;
    delivery_ids.insert(dlv);
    EXPECT_EQ(r.header("X-Nod-Retry-Num"), std::to_string(i));
    EXPECT_EQ(r.header("X-Nod-Retry-Reason"), reasons[i]);

    auto ts = r.header("X-Nod-Timestamp");
    ASSERT_TRUE(all_digits(ts)) << ts;
    EXPECT_GE(std::stoll(ts), before - 2);
    EXPECT_LE(std::stoll(ts), after + 2);
    EXPECT_EQ(r.header("webhook-timestamp"), ts);
    EXPECT_EQ(r.header("X-Nod-Signature"),
              "sha256=" + lower_hex(hmac_sha256(key, ts + "." + r.body)));
    // Standard Webhooks: space-separated signatures, one must match.
    auto expected
      = "v1,"
        + base64_encode(hmac_sha256(key, event_id + "." + ts + "." + r.body));
    std::istringstream sigs{r.header("webhook-signature")};
    bool matched = false;
    for (std::string s; sigs >> s;)
      matched = matched || s == expected;
    EXPECT_TRUE(matched) << r.header("webhook-signature") << " vs " << expected;

    // The body is the A4 event, with its seq, the same on every attempt.
    EXPECT_EQ(r.body, reqs[0].body);
    auto body = parse(r.body);
    EXPECT_EQ(str(body, "type"), "user_message") << r.body;
    EXPECT_EQ(str(body, "event_id"), event_id) << r.body;
    EXPECT_EQ(num(body, "seq"), 1) << r.body;
    EXPECT_EQ(str(body, "text"), "via webhook") << r.body;
    EXPECT_EQ(str(body, "sender_name"), "admin") << r.body;
  }
  EXPECT_EQ(delivery_ids.size(), 3u);

  // Backoff grows: ~200 ms, then ~600 ms (±20% jitter each).
  auto gap1 = ms_between(reqs[0].at, reqs[1].at);
  auto gap2 = ms_between(reqs[1].at, reqs[2].at);
  EXPECT_GE(gap1, 140.0);
  EXPECT_GE(gap2, 420.0);
  EXPECT_GT(gap2, gap1 * 1.25) << gap1 << " ms, then " << gap2 << " ms";
  EXPECT_LT(gap2, 5000.0);

  // The owner sees where it went and how.
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "webhook") << d.raw;
  EXPECT_EQ(d.type, "user_message") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 3u) << d.raw;
  const int64_t codes[] = {500, 500, 200};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hooks[i].status_code, codes[i]) << d.raw;
    EXPECT_EQ(hooks[i].result, i < 2 ? "failed" : "ok") << d.raw;
    EXPECT_EQ(hooks[i].retry_num, static_cast<int64_t>(i)) << d.raw;
    EXPECT_EQ(hooks[i].delivery_id, reqs[i].header("X-Nod-Delivery-Id"))
      << d.raw;
  }
  EXPECT_EQ(d.on("websocket").size(), 0u) << d.raw;
  auto metrics = test::http_call(port, "GET", "/metrics").body;
  EXPECT_NE(
    metrics.find(
      R"(nod_deliveries_total{channel="webhook",result="delivered"} 1)"),
    std::string::npos)
    << metrics;
}

TEST_F(delivery_e2e, a_dropped_connection_is_retried_as_a_connection_error) {
  test::webhook_sink sink;
  sink.set_sequence({sink_action::close(), sink_action::reply(204)});
  auto a = create_agent("dropped", sink.url());
  auto event_id = say(a, "again");
  auto second = sink.wait_for(2, 10s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->header("X-Nod-Retry-Reason"), "connection_error");
  EXPECT_EQ(second->header("X-Nod-Retry-Num"), "1");
  auto d = wait_state(a, event_id, "delivered");
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "webhook") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 2u) << d.raw;
  EXPECT_EQ(hooks[0].status_code, -1) << d.raw;
  EXPECT_FALSE(hooks[0].error.empty()) << d.raw;
  EXPECT_EQ(hooks[1].status_code, 204) << d.raw;
}

TEST_F(delivery_e2e, a_redirect_is_a_failure_and_is_not_followed) {
  test::webhook_sink elsewhere;
  test::webhook_sink sink;
  sink.always(sink_action::reply(307).with("Location", elsewhere.url()));
  auto a = create_agent("moved", sink.url());
  auto event_id = say(a, "where are you?");
  ASSERT_TRUE(sink.wait_for(3, 10s)) << "only " << sink.count() << " requests";
  auto d = wait_state(a, event_id, "pending");
  EXPECT_EQ(d.state, "pending") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 3u) << d.raw;
  EXPECT_EQ(hooks[0].status_code, 307) << d.raw;
  EXPECT_EQ(sink.requests()[1].header("X-Nod-Retry-Reason"), "http_307");
  EXPECT_EQ(elsewhere.count(), 0u) << "the redirect was followed";
}

TEST_F(delivery_e2e, a_webhook_that_always_fails_leaves_the_event_to_poll) {
  test::webhook_sink sink;
  sink.always(sink_action::reply(500));
  auto a = create_agent("failing", sink.url());
  auto event_id = say(a, "poll me");
  ASSERT_TRUE(sink.wait_for(3, 10s)) << "only " << sink.count() << " requests";
  auto d = wait_state(a, event_id, "pending");
  EXPECT_FALSE(sink.wait_for(4, 500ms)) << "more than 3 attempts";
  EXPECT_EQ(d.state, "pending") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 3u) << d.raw;
  for (auto& h : hooks) {
    EXPECT_EQ(h.result, "failed") << d.raw;
    EXPECT_EQ(h.status_code, 500) << d.raw;
    EXPECT_FALSE(h.error.empty()) << d.raw;
  }

  auto events = inbox(a);
  ASSERT_TRUE(events.IsArray());
  ASSERT_EQ(events.Size(), 1u);
  EXPECT_EQ(str(events[0], "event_id"), event_id);
  EXPECT_EQ(str(events[0], "type"), "user_message");
  EXPECT_EQ(str(events[0], "text"), "poll me");
  auto seq = num(events[0], "seq");
  EXPECT_EQ(seq, 1);

  // Acks of what does not exist are refused and change nothing.
  EXPECT_EQ(
    agent_call(a, "POST", "/api/agent/inbox/ack", R"({"seq":99})").status,
    400u);
  EXPECT_EQ(agent_call(a, "POST", "/api/agent/inbox/ack", "{}").status, 400u);
  EXPECT_EQ(inbox(a).Size(), 1u);

  auto ack = agent_call(a, "POST", "/api/agent/inbox/ack",
                        R"({"seq":)" + std::to_string(seq) + "}");
  EXPECT_EQ(ack.status, 200u) << ack.body;
  EXPECT_EQ(num(parse(ack.body), "acked"), 1) << ack.body;
  auto empty = inbox(a);
  ASSERT_TRUE(empty.IsArray());
  EXPECT_EQ(empty.Size(), 0u);
  d = wait_state(a, event_id, "delivered");
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "poll") << d.raw;
  EXPECT_EQ(d.on("webhook").size(), 3u) << d.raw;
}

TEST_F(delivery_e2e, the_agent_list_counts_undelivered_events) {
  auto a = create_agent("counted");
  auto event_id = say(a, "nobody listens");
  ASSERT_EQ(wait_state(a, event_id, "pending").state, "pending");
  auto count = [&] {
    return listed_count(a, "undelivered_events");
  };
  EXPECT_EQ(count(), 1) << "B2: GET /api/agents counts undelivered events";
  ASSERT_EQ(
    agent_call(a, "POST", "/api/agent/inbox/ack", R"({"seq":1})").status, 200u);
  EXPECT_EQ(count(), 0);
}

TEST_F(delivery_e2e, the_agent_list_counts_pending_decisions) {
  auto a = create_agent("asking");
  auto count = [&] {
    return listed_count(a, "pending_decisions");
  };
  EXPECT_EQ(count(), 0);
  auto first = ask_decision(a, "Deploy?");
  auto second = ask_decision(a, "Migrate?");
  EXPECT_EQ(count(), 2) << "B2: GET /api/agents counts pending decisions";
  ASSERT_EQ(resolve(first, R"({"status":"approved"})").status, 200u);
  EXPECT_EQ(count(), 1);
  ASSERT_EQ(resolve(second, R"({"status":"dismissed"})").status, 200u);
  EXPECT_EQ(count(), 0);
  // The agent's own object (GET /api/agents/{id}) carries the count too.
  ask_decision(a, "Again?");
  EXPECT_EQ(
    num(parse(app("GET", "/api/agents/" + a.id).body), "pending_decisions"), 1);
}

TEST_F(delivery_e2e, a_webhook_that_hangs_times_out_and_the_event_waits) {
  test::webhook_sink sink;
  sink.always(sink_action::hang());
  auto a = create_agent("slow", sink.url());
  auto event_id = say(a, "anyone?");
  auto second = sink.wait_for(2, 10s);
  ASSERT_TRUE(second) << "no retry after a timeout";
  EXPECT_EQ(second->header("X-Nod-Retry-Reason"), "timeout");
  auto first = sink.requests().front();
  // The first attempt had 1 s before it timed out.
  EXPECT_GE(ms_between(first.at, second->at), 900.0);
  auto third = sink.wait_for(3, 10s);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->header("X-Nod-Retry-Reason"), "timeout");
  auto d = wait_state(a, event_id, "pending");
  EXPECT_EQ(d.state, "pending") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 3u) << d.raw;
  for (auto& h : hooks) {
    EXPECT_EQ(h.result, "failed") << d.raw;
    EXPECT_EQ(h.status_code, -1) << "no status without an answer: " << d.raw;
    EXPECT_FALSE(h.error.empty()) << d.raw;
  }
  auto events = inbox(a);
  ASSERT_TRUE(events.IsArray());
  ASSERT_EQ(events.Size(), 1u);
  EXPECT_EQ(str(events[0], "event_id"), event_id);
}

TEST_F(delivery_e2e, an_unreachable_webhook_leaves_the_event_for_the_socket) {
  auto url = "http://127.0.0.1:" + std::to_string(test::closed_port()) + "/";
  auto a = create_agent("unreachable", url);
  auto sent = clock_type::now();
  auto event_id = say(a, "are you there?");
  auto d = wait_state(a, event_id, "pending");
  ASSERT_EQ(d.state, "pending") << d.raw;
  // Refused at once: ~200 ms + ~600 ms of backoff.
  EXPECT_LT(ms_between(sent, clock_type::now()), 4000.0);
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 3u) << d.raw;
  for (auto& h : hooks) {
    EXPECT_EQ(h.result, "failed") << d.raw;
    EXPECT_EQ(h.status_code, -1) << d.raw;
    EXPECT_FALSE(h.error.empty()) << d.raw;
  }

  // The agent connects: the event is replayed after auth_ok.
  std::string auth;
  auto ws = connect_agent(a, false, &auth);
  EXPECT_EQ(num(parse(auth), "pending"), 1) << auth;
  auto frame = next_of(*ws, "user_message");
  ASSERT_FALSE(frame.empty()) << "the pending event was not replayed";
  auto doc = parse(frame);
  EXPECT_EQ(str(doc, "event_id"), event_id) << frame;
  EXPECT_EQ(num(doc, "seq"), 1) << frame;
  EXPECT_EQ(str(doc, "text"), "are you there?") << frame;
  d = wait_state(a, event_id, "delivered");
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "websocket") << d.raw;
  auto left = inbox(a);
  ASSERT_TRUE(left.IsArray());
  EXPECT_EQ(left.Size(), 0u);
}

TEST_F(delivery_e2e, a_410_stops_the_retries_at_once) {
  test::webhook_sink sink;
  sink.always(sink_action::reply(410));
  auto a = create_agent("gone", sink.url());
  auto event_id = say(a, "still there?");
  ASSERT_TRUE(sink.wait_for(1, 10s));
  auto d = wait_state(a, event_id, "pending");
  EXPECT_EQ(d.state, "pending") << d.raw;
  // With 200 ms of backoff a retry would come well within this.
  EXPECT_FALSE(sink.wait_for(2, 1000ms)) << "retried after a 410";
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 1u) << d.raw;
  EXPECT_EQ(hooks[0].status_code, 410) << d.raw;
}

TEST_F(delivery_e2e, a_name_that_resolves_to_a_refused_address_is_blocked) {
  // The default policy (external): "localhost" passes as a name when the
  // agent is created, and is refused where it counts, on the address
  // connected to, without a connection and without retries.
  stop();
  start({{"NOD_WEBHOOK_ALLOWED_HOSTS", "external"}});
  token = login();
  test::webhook_sink sink;
  auto a = create_agent(
    "rebinding", "http://localhost:" + std::to_string(sink.port()) + "/hook");
  auto event_id = say(a, "anyone home?");
  auto d = wait_state(a, event_id, "pending");
  EXPECT_EQ(d.state, "pending") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 1u) << d.raw;
  EXPECT_EQ(hooks[0].error.rfind("blocked_address: ", 0), 0u) << d.raw;
  EXPECT_NE(hooks[0].error.find("not allowed by webhook-allowed-hosts"),
            std::string::npos)
    << d.raw;
  EXPECT_EQ(sink.count(), 0u);
  auto metrics = app("GET", "/metrics").body;
  EXPECT_NE(
    metrics.find(R"(nod_webhook_attempts_total{result="blocked_address"} 1)"),
    std::string::npos)
    << metrics;
}

TEST_F(delivery_e2e, a_name_for_this_servers_own_trigger_url_is_blocked) {
  // 127.0.0.0/8 named by CIDR lets webhooks reach this server's port, but
  // never its trigger route: the agent would trigger itself in a loop.
  stop();
  start({{"NOD_WEBHOOK_ALLOWED_HOSTS", "127.0.0.0/8"}});
  token = login();
  auto a = create_agent("ouroboros");
  auto task = agent_call(a, "POST", "/api/agent/tasks",
                         R"({"name":"t","prompt":"p","schedule":"event"})");
  ASSERT_EQ(task.status, 200u) << task.body;
  auto url = str(parse(task.body), "trigger_url");
  auto path = url.substr(url.find("/webhook/"));
  // A host name passes when the agent is changed...
  ASSERT_EQ(app("PATCH", "/api/agents/" + a.id,
                R"({"webhook_url":"http://localhost:)" + std::to_string(port)
                  + path + "\"}")
              .status,
            200u);
  auto fired = test::http_call(port, "POST", path, "{}",
                               {{"Content-Type", "application/json"}});
  ASSERT_EQ(fired.status, 202u) << fired.body;
  auto event_id = str(parse(fired.body), "event_id");
  // ...and is refused on the address connected to.
  auto d = wait_state(a, event_id, "pending");
  EXPECT_EQ(d.state, "pending") << d.raw;
  auto hooks = d.on("webhook");
  ASSERT_EQ(hooks.size(), 1u) << d.raw;
  EXPECT_EQ(hooks[0].error.rfind("blocked_address: ", 0), 0u) << d.raw;
  EXPECT_NE(hooks[0].error.find("own trigger URL"), std::string::npos) << d.raw;
  auto runs = parse(
    app("GET", "/api/tasks/" + str(parse(task.body), "task_id") + "/runs")
      .body);
  EXPECT_EQ(runs.Size(), 1u);
}

TEST_F(delivery_e2e, retry_after_is_honoured) {
  test::webhook_sink sink;
  sink.set_sequence({sink_action::reply(503, "1"), sink_action::reply(200)});
  auto a = create_agent("busy", sink.url());
  auto event_id = say(a, "when you can");
  auto second = sink.wait_for(2, 10s);
  ASSERT_TRUE(second);
  auto gap = ms_between(sink.requests().front().at, second->at);
  EXPECT_GE(gap, 900.0) << "Retry-After: 1 ignored (backoff is 200 ms)";
  EXPECT_LT(gap, 5000.0);
  EXPECT_EQ(second->header("X-Nod-Retry-Reason"), "http_503");
  auto d = wait_state(a, event_id, "delivered");
  EXPECT_EQ(d.state, "delivered") << d.raw;
  EXPECT_EQ(d.channel, "webhook") << d.raw;
}

// -- h. Long polls -----------------------------------------------------------

TEST_F(delivery_e2e, inbox_long_poll_returns_when_a_message_arrives) {
  auto a = create_agent("poller");
  auto too_long = agent_call(a, "GET", "/api/agent/inbox?wait=61");
  EXPECT_EQ(too_long.status, 400u) << too_long.body;
  EXPECT_NE(too_long.body.find("wait"), std::string::npos) << too_long.body;

  test::http_reply polled;
  std::atomic<bool> returned{false};
  clock_type::time_point returned_at;
  std::thread poll([&] {
    polled = guarded([&] {
      return agent_call(a, "GET", "/api/agent/inbox?wait=5");
    });
    returned_at = clock_type::now();
    returned = true;
  });
  // Nothing is pending, so the poll is held open.
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(returned.load()) << "returned at once with nothing pending";
  auto sent = clock_type::now();
  auto event_id = say(a, "wake up");
  poll.join();
  EXPECT_LT(ms_between(sent, returned_at), 1500.0);
  ASSERT_EQ(polled.status, 200u) << polled.body;
  auto events = parse(polled.body);
  ASSERT_TRUE(events.IsArray()) << polled.body;
  ASSERT_EQ(events.Size(), 1u) << polled.body;
  EXPECT_EQ(str(events[0], "event_id"), event_id);
  EXPECT_EQ(num(events[0], "seq"), 1);
}

TEST_F(delivery_e2e, decision_long_poll_returns_when_it_is_resolved) {
  auto a = create_agent("waiter");
  auto decision = ask_decision(a, "Go ahead?");
  auto too_long
    = agent_call(a, "GET", "/api/agent/decisions/" + decision + "?wait=61");
  EXPECT_EQ(too_long.status, 400u) << too_long.body;

  test::http_reply polled;
  std::atomic<bool> returned{false};
  clock_type::time_point returned_at;
  std::thread poll([&] {
    polled = guarded([&] {
      return agent_call(a, "GET",
                        "/api/agent/decisions/" + decision + "?wait=5");
    });
    returned_at = clock_type::now();
    returned = true;
  });
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(returned.load()) << "returned at once while pending";
  auto sent = clock_type::now();
  // (No ASSERT before the join: a joinable thread must not be destroyed.)
  EXPECT_EQ(resolve(decision, R"({"status":"approved"})").status, 200u);
  poll.join();
  EXPECT_LT(ms_between(sent, returned_at), 1500.0);
  ASSERT_EQ(polled.status, 200u) << polled.body;
  auto doc = parse(polled.body);
  EXPECT_EQ(str(doc, "id"), decision) << polled.body;
  EXPECT_EQ(str(doc, "status"), "approved") << polled.body;
}

// -- i. Acks -----------------------------------------------------------------

TEST_F(delivery_e2e, unacked_events_are_replayed_until_acked) {
  auto a = create_agent("acker");
  std::string event_id;
  int64_t seq = 0;
  {
    std::string auth;
    auto ws = connect_agent(a, true, &auth);
    EXPECT_EQ(num(parse(auth), "pending"), 0) << auth;
    event_id = say(a, "ack me");
    auto frame = parse(next_of(*ws, "user_message"));
    ASSERT_EQ(str(frame, "event_id"), event_id);
    seq = num(frame, "seq");
    EXPECT_EQ(seq, 1);
    // Not acked: the socket goes away.
    ws->close();
  }
  auto d = wait_state(a, event_id, "pending");
  ASSERT_EQ(d.state, "pending")
    << "an unacked event must not count: " << d.raw << "\n"
    << server->output();
  {
    std::string auth;
    auto ws = connect_agent(a, true, &auth);
    EXPECT_GE(num(parse(auth), "pending"), 1) << auth;
    auto frame = parse(next_of(*ws, "user_message"));
    EXPECT_EQ(str(frame, "event_id"), event_id) << "not replayed";
    EXPECT_EQ(num(frame, "seq"), seq);
    ws->send_text(R"({"type":"ack","seq":)" + std::to_string(seq) + "}");
    d = wait_state(a, event_id, "delivered");
    EXPECT_EQ(d.state, "delivered") << d.raw;
    EXPECT_EQ(d.channel, "websocket") << d.raw;
    ws->close();
  }
  {
    std::string auth;
    auto ws = connect_agent(a, true, &auth);
    EXPECT_EQ(num(parse(auth), "pending"), 0) << auth;
    // A replay would come before the answer to anything the agent sends.
    ws->send_text(R"({"type":"ping"})");
    EXPECT_EQ(ws->read_text().value_or(""), R"({"type":"pong"})");
  }
}

TEST_F(delivery_e2e, with_acks_events_flow_without_waiting_for_each_ack) {
  auto a = create_agent("windowed");
  std::vector<std::string> ids;
  for (auto text : {"one", "two", "three"})
    ids.push_back(say(a, text));
  for (auto& id : ids)
    ASSERT_EQ(wait_state(a, id, "pending").state, "pending");
  auto next_seq = [](test::ws_client& ws) {
    return num(parse(next_of(ws, "user_message")), "seq");
  };
  {
    std::string auth;
    auto ws = connect_agent(a, true, &auth);
    EXPECT_EQ(num(parse(auth), "pending"), 3) << auth;
    // All three before any ack, in order.
    EXPECT_EQ(next_seq(*ws), 1);
    EXPECT_EQ(next_seq(*ws), 2);
    EXPECT_EQ(next_seq(*ws), 3);
    auto d = wait_state(a, ids[2], "sent");
    EXPECT_EQ(d.state, "sent") << d.raw;
    EXPECT_FALSE(d.sent_at.empty()) << d.raw;
    // Live events keep flowing while the earlier ones are unacked.
    ids.push_back(say(a, "four"));
    EXPECT_EQ(next_seq(*ws), 4);
    ws->send_text(R"({"type":"ack","seq":1})");
    EXPECT_EQ(wait_state(a, ids[0], "delivered").state, "delivered");
    ws->close();
  }
  for (size_t i = 1; i < ids.size(); ++i)
    ASSERT_EQ(wait_state(a, ids[i], "pending").state, "pending");
  {
    // The unacked ones come back, in order, and only they.
    std::string auth;
    auto ws = connect_agent(a, true, &auth);
    EXPECT_EQ(num(parse(auth), "pending"), 3) << auth;
    EXPECT_EQ(next_seq(*ws), 2);
    EXPECT_EQ(next_seq(*ws), 3);
    EXPECT_EQ(next_seq(*ws), 4);
    ws->send_text(R"({"type":"ack","seq":4})");
    for (auto& id : ids)
      EXPECT_EQ(wait_state(a, id, "delivered").state, "delivered");
  }
}

TEST_F(delivery_e2e, resume_from_skips_what_the_agent_already_has) {
  auto a = create_agent("resumer");
  auto first = say(a, "one");
  auto second = say(a, "two");
  ASSERT_EQ(wait_state(a, first, "pending").state, "pending");
  ASSERT_EQ(wait_state(a, second, "pending").state, "pending");
  // The inbox pages by seq.
  auto after = inbox(a, "?after=1");
  ASSERT_TRUE(after.IsArray());
  ASSERT_EQ(after.Size(), 1u);
  EXPECT_EQ(str(after[0], "event_id"), second);
  auto limited = inbox(a, "?limit=1");
  ASSERT_TRUE(limited.IsArray());
  ASSERT_EQ(limited.Size(), 1u);
  EXPECT_EQ(str(limited[0], "event_id"), first);

  auto ws = std::make_unique<test::ws_client>();
  ASSERT_EQ(ws->connect(port, "/ws/agent/" + a.id), 101u);
  ws->send_text(R"({"type":"auth","secret":")" + a.secret
                + R"(","resume_from":1})");
  auto auth = parse(ws->read_text().value_or(""));
  EXPECT_EQ(str(auth, "type"), "auth_ok");
  EXPECT_EQ(num(auth, "pending"), 1);
  auto frame = parse(next_of(*ws, "user_message"));
  EXPECT_EQ(str(frame, "event_id"), second);
  EXPECT_EQ(num(frame, "seq"), 2);
  ws->send_text(R"({"type":"ping"})");
  EXPECT_EQ(ws->read_text().value_or(""), R"({"type":"pong"})");
  auto d1 = wait_state(a, first, "delivered");
  EXPECT_EQ(d1.state, "delivered") << d1.raw;
  EXPECT_EQ(d1.channel, "resume") << d1.raw;
  auto d2 = wait_state(a, second, "delivered");
  EXPECT_EQ(d2.channel, "websocket") << d2.raw;
}

// -- j. kill -9 --------------------------------------------------------------

TEST_F(delivery_e2e, kill_9_in_the_middle_of_deliveries_loses_no_event) {
  // Long backoff, so deliveries are mid-retry when the server dies.
  stop();
  start({{"NOD_WEBHOOK_BACKOFF", "2s"}});
  token = login();
  test::webhook_sink sink;
  sink.always(sink_action::reply(500));
  auto a = create_agent("crashy", sink.url());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(say(a, "event " + std::to_string(i)));
  ASSERT_TRUE(sink.wait_for(1, 10s)) << "no delivery started";
  // The owner sees the first event waiting for its retry (B2).
  auto d = wait_state(a, ids[0], "retrying", 1500ms);
  EXPECT_EQ(d.state, "retrying") << d.raw;
  EXPECT_FALSE(d.next_attempt_at.empty()) << d.raw;
  server->signal(SIGKILL);
  server->wait(10s);
  server.reset();

  sink.always(sink_action::reply(200));
  start({{"NOD_WEBHOOK_BACKOFF", "2s"}});
  token = login();
  std::set<std::string> missing(ids.begin(), ids.end());
  size_t by_webhook = 0;
  size_t by_list = 0;
  size_t in_inbox = 0;
  auto deadline = clock_type::now() + 30s;
  while (!missing.empty() && clock_type::now() < deadline) {
    std::set<std::string> found;
    for (auto& r : sink.requests())
      if (r.action.what == sink_action::kind::reply && r.action.status >= 200
          && r.action.status < 300)
        found.insert(r.header("X-Nod-Event-Id"));
    by_webhook = found.size();
    auto list
      = parse(app("GET", "/api/agents/" + a.id + "/deliveries?limit=200").body);
    by_list = 0;
    if (list.IsArray())
      for (auto& d : list.GetArray())
        if (str(d, "state") == "delivered") {
          found.insert(str(d, "event_id"));
          ++by_list;
        }
    auto pending = inbox(a, "?limit=1000");
    in_inbox = pending.IsArray() ? pending.Size() : 0;
    if (pending.IsArray())
      for (auto& e : pending.GetArray())
        found.insert(str(e, "event_id"));
    for (auto& id : found)
      missing.erase(id);
    if (!missing.empty())
      std::this_thread::sleep_for(200ms);
  }
  std::string list;
  for (auto& id : missing)
    list += id + " ";
  EXPECT_TRUE(missing.empty())
    << missing.size() << " of 20 events neither delivered nor pending: " << list
    << "(webhook 2xx: " << by_webhook << ", delivered in list: " << by_list
    << ", in inbox: " << in_inbox << ")\n"
    << server->output();
}

} // namespace
} // namespace nod
