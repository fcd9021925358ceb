// The loop guard (issue #17, part 2): an agent's webhook can neither be
// this server's own trigger URL nor keep a chain of webhooks and trigger
// URLs (agents, or servers, feeding each other) going forever: every
// webhook carries X-Nod-Hops, and a trigger call that has passed through
// too many is answered 508.

#include "tests/e2e/server_fixture.hpp"
#include "tests/e2e/webhook_sink.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace nod::test {
namespace {

using namespace std::chrono_literals;

class loop_guard_e2e : public server_fixture {
protected:
  loop_guard_e2e()
    : server_fixture({{"NOD_WEBHOOK_ALLOWED_HOSTS", "loopback, 127.0.0.0/8"},
                      {"NOD_WEBHOOK_BACKOFF", "100ms"}}) {}

  /// An event-triggered task of `a`; the path of its trigger URL.
  std::string trigger_path(const agent_info& a) {
    auto r = agent_call(a, "POST", "/api/agent/tasks",
                        R"({"name":"t","prompt":"p","schedule":"event"})");
    EXPECT_EQ(r.status, 200u) << r.body;
    auto doc = parse(r.body);
    task_id = str(doc, "task_id");
    auto url = str(doc, "trigger_url");
    auto at = url.find("/webhook/");
    EXPECT_NE(at, std::string::npos) << r.body;
    return at == std::string::npos ? std::string{} : url.substr(at);
  }

  http_reply trigger(const std::string& path, const std::string& hops = {}) {
    testkit::header_list headers{{"Content-Type", "application/json"}};
    if (!hops.empty())
      headers.emplace_back("X-Nod-Hops", hops);
    return http_call(port, "POST", path, R"({"n":1})", headers);
  }

  /// Runs of the task `trigger_path` made, as its owner sees them.
  size_t runs() {
    auto list = parse(app("GET", "/api/tasks/" + task_id + "/runs").body);
    return list.IsArray() ? list.Size() : 0;
  }

  /// The task `trigger_path` made.
  std::string task_id;
};

TEST_F(loop_guard_e2e, an_agent_cannot_point_its_webhook_at_this_server) {
  auto a = create_agent("self-feeding");
  auto path = trigger_path(a);
  auto base = "http://127.0.0.1:" + std::to_string(port);
  // 127.0.0.0/8 is allowed by CIDR, and still the trigger URL is refused.
  auto r = app("PATCH", "/api/agents/" + a.id,
               R"({"webhook_url":")" + base + path + "\"}");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.body.find("webhook_url: this server's own trigger URL"),
            std::string::npos)
    << r.body;
  auto created = app("POST", "/api/agents",
                     R"({"name":"b","webhook_url":")" + base + path + "\"}");
  EXPECT_EQ(created.status, 400u) << created.body;
  // Other paths of this server are the CIDR's to allow.
  EXPECT_EQ(app("PATCH", "/api/agents/" + a.id,
                R"({"webhook_url":")" + base + "/api/agent/events\"}")
              .status,
            200u);
}

TEST_F(loop_guard_e2e, webhooks_carry_the_hop_count) {
  webhook_sink sink;
  auto a = create_agent("hooked", sink.url());
  auto path = trigger_path(a);
  // An event that no webhook led to: the first hop.
  say(a, "hello");
  auto first = sink.wait_for(1, 10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->header("X-Nod-Hops"), "1");
  // A trigger call 3 webhooks deep: its event's webhook is the 4th.
  ASSERT_EQ(trigger(path, "3").status, 202u);
  auto second = sink.wait_for(2, 10s);
  ASSERT_TRUE(second);
  EXPECT_NE(second->body.find("task_trigger"), std::string::npos);
  EXPECT_EQ(second->header("X-Nod-Hops"), "4");
}

TEST_F(loop_guard_e2e, too_many_hops_are_answered_508) {
  auto a = create_agent("deep");
  auto path = trigger_path(a);
  EXPECT_EQ(trigger(path, "7").status, 202u);
  auto refused = trigger(path, "8");
  EXPECT_EQ(refused.status, 508u) << refused.body;
  EXPECT_NE(refused.body.find("loop detected"), std::string::npos)
    << refused.body;
  EXPECT_EQ(trigger(path, "9000000000").status, 508u);
  auto bad = trigger(path, "two");
  EXPECT_EQ(bad.status, 400u) << bad.body;
  EXPECT_NE(bad.body.find("X-Nod-Hops"), std::string::npos) << bad.body;
  EXPECT_EQ(runs(), 1u);
  // Recorded where an operator looks.
  auto metrics = http_call(port, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("nod_trigger_loops_total 2"), std::string::npos)
    << metrics.body.substr(0, 2000);
}

// The probe of the issue, across "servers": the agent's webhook goes to a
// relay standing for another Nod server, whose agent's webhook is this
// server's trigger URL. Each side adds a hop; the chain ends at 8.
TEST_F(loop_guard_e2e, a_chain_of_servers_ends) {
  auto a = create_agent("chained");
  auto path = trigger_path(a);
  std::vector<unsigned> answers;
  webhook_sink relay{[&](size_t, const sink_request& r) {
    // The other server: the webhook it got is a trigger call to it, and
    // its own webhook (one hop more) calls our trigger.
    auto hops = std::stoul(r.header("X-Nod-Hops"));
    answers.push_back(trigger(path, std::to_string(hops + 1)).status);
    return sink_action::reply(200);
  }};
  ASSERT_EQ(app("PATCH", "/api/agents/" + a.id,
                R"({"webhook_url":")" + relay.url() + "\"}")
              .status,
            200u);
  ASSERT_EQ(trigger(path).status, 202u);
  // Webhooks at hops 1, 3, 5 and 7; the relay's 4th call (8 hops) is 508.
  ASSERT_TRUE(relay.wait_for(4, 20s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(relay.count(), 4u);
  relay.stop();
  EXPECT_EQ(answers, (std::vector<unsigned>{202u, 202u, 202u, 508u}));
  EXPECT_EQ(runs(), 4u);
}

} // namespace
} // namespace nod::test
