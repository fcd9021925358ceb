// agent_session on the deterministic scheduler, with real accounts,
// journal, directory and ingest behind it and a recording client link.

#include "actors/agent_session.hpp"
#include "actors/ingest.hpp"
#include "tests/actors/delivery_fixture.hpp"
#include "tests/support/fake_socket.hpp"

#include <memory>

namespace nod {
namespace {

using namespace std::chrono_literals;

using test::fake_socket;
using test::link_to;

class agent_session_test : public test::delivery_fixture {
protected:
  agent_session_test() {
    ing = sys.spawn(ingest, journal, directory_,
                    ingest_options{"http://x", nullptr, {}, {}});
    owner = add_user("owner");
    created = add_agent(owner.id, "worker");
    run();
  }

  ~agent_session_test() override {
    // Sessions wait on their auth timer in virtual time, which no longer
    // moves; end them so the actor system can shut down.
    for (auto& s : sessions)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ing, caf::exit_reason::user_shutdown);
    run();
  }

  agent_session_actor open(std::shared_ptr<fake_socket> sock,
                           std::string path = {},
                           agent_session_options opts = {}) {
    if (path.empty())
      path = agent_id_text(created.agent.id);
    auto s = sys.spawn(agent_session, link_to(sock), path, acc, directory_, ing,
                       box, opts);
    sessions.push_back(s);
    run();
    return s;
  }

  void send(const agent_session_actor& s, std::string frame) {
    self->send(s, frame_atom::value, std::move(frame));
    run();
  }

  std::string auth_frame(const std::string& secret) {
    return R"({"type":"auth","secret":")" + secret + "\"}";
  }

  bool online() {
    auto r = call<std::vector<agent_live>>(
      directory_, online_atom::value, std::vector<uint64_t>{created.agent.id});
    return r && r->size() == 1 && r->front().online;
  }

  ingest_actor ing;
  user_record owner;
  agent_created created;
  std::vector<agent_session_actor> sessions;
};

TEST_F(agent_session_test, auth_ok_names_the_agent_and_puts_it_online) {
  auto sock = std::make_shared<fake_socket>();
  auto s = open(sock);
  EXPECT_FALSE(online());
  send(s, auth_frame(created.secret));
  ASSERT_EQ(sock->frames.size(), 1u);
  EXPECT_NE(sock->last().find(R"("type":"auth_ok")"), std::string::npos);
  EXPECT_NE(sock->last().find(R"("agent_name":"worker")"), std::string::npos);
  EXPECT_NE(sock->last().find(R"("session_id":"sess_)"), std::string::npos);
  EXPECT_TRUE(online());
  self->send(s, closed_atom::value);
  run();
  EXPECT_FALSE(online());
}

TEST_F(agent_session_test, the_last_socket_closing_ends_the_processing) {
  auto live = [&] {
    auto r = call<std::vector<agent_live>>(
      directory_, online_atom::value, std::vector<uint64_t>{created.agent.id});
    return r && r->size() == 1 ? r->front() : agent_live{};
  };
  auto first = std::make_shared<fake_socket>();
  auto second = std::make_shared<fake_socket>();
  auto a = open(first);
  auto b = open(second);
  send(a, auth_frame(created.secret));
  send(b, auth_frame(created.secret));
  send(a, R"({"type":"processing_start","status_text":"Deploying"})");
  EXPECT_TRUE(live().processing);
  // Another socket is still open: the agent may still be at it.
  self->send(a, closed_atom::value);
  run();
  EXPECT_TRUE(live().processing);
  self->send(b, closed_atom::value);
  run();
  EXPECT_FALSE(live().online);
  EXPECT_FALSE(live().processing) << "an offline agent shown as Thinking";
}

TEST_F(agent_session_test, close_codes_for_each_auth_failure) {
  struct auth_case {
    std::string path;
    std::string frame;
    uint16_t code;
  };
  auto good = agent_id_text(created.agent.id);
  std::vector<auth_case> cases{
    {good, "not json", 4001},
    {good, R"({"type":"message","text":"hi"})", 4001},
    {good, R"({"type":"auth"})", 4001},
    {good, auth_frame("nod_" + std::string(40, '0')), 4003},
    {good,
     R"({"type":"auth","agent_id":"agt_0000000000000001","secret":")"
       + created.secret + "\"}",
     4003},
    {"agt_0000000000000001", auth_frame(created.secret), 4004},
    {"not-an-id", auth_frame(created.secret), 4004},
  };
  for (auto& c : cases) {
    auto sock = std::make_shared<fake_socket>();
    auto s = open(sock, c.path);
    send(s, c.frame);
    EXPECT_EQ(sock->closed_with, c.code) << c.path << " " << c.frame;
  }
}

TEST_F(agent_session_test, auth_deadline_is_ten_seconds) {
  auto sock = std::make_shared<fake_socket>();
  open(sock);
  advance_time(9s);
  EXPECT_EQ(sock->closed_with, 0);
  advance_time(1s);
  EXPECT_EQ(sock->closed_with, 4001);
}

TEST_F(agent_session_test, frames_get_results_and_errors_with_request_ids) {
  auto sock = std::make_shared<fake_socket>();
  auto s = open(sock);
  send(s, auth_frame(created.secret));
  send(s, R"({"type":"ping"})");
  EXPECT_EQ(sock->last(), R"({"type":"pong"})");
  send(s, R"({"type":"message","text":"hi","request_id":"r1"})");
  EXPECT_NE(
    sock->last().find(
      R"({"type":"result","request_id":"r1","status":"ok","message_id":"msg_)"),
    std::string::npos)
    << sock->last();
  send(
    s,
    R"({"type":"decision","title":"Deploy?","kind":"choice","request_id":7})");
  EXPECT_NE(sock->last().find(R"("type":"error","request_id":7)"),
            std::string::npos)
    << sock->last();
  EXPECT_NE(sock->last().find("options"), std::string::npos);
  send(s, "{broken");
  EXPECT_NE(sock->last().find(R"("type":"error")"), std::string::npos);
  send(s, R"({"type":"warp"})");
  EXPECT_NE(sock->last().find("unknown event type"), std::string::npos);
  // Bad frames never close the socket.
  EXPECT_EQ(sock->closed_with, 0);
}

TEST_F(agent_session_test, a_flood_gets_an_error_frame_then_a_close) {
  auto sock = std::make_shared<fake_socket>();
  agent_session_options opts;
  opts.rate = 1;
  opts.burst = 3;
  auto s = open(sock, {}, opts);
  send(s, auth_frame(created.secret));
  for (int i = 0; i < 3; ++i)
    send(s, R"({"type":"processing_start"})");
  EXPECT_EQ(sock->closed_with, 0);
  send(s, R"({"type":"processing_start"})");
  EXPECT_NE(sock->last().find("rate limit"), std::string::npos);
  EXPECT_EQ(sock->closed_with, 1008);
}

TEST_F(agent_session_test, the_rate_refills_with_time) {
  auto sock = std::make_shared<fake_socket>();
  agent_session_options opts;
  opts.rate = 1;
  opts.burst = 1;
  auto s = open(sock, {}, opts);
  send(s, auth_frame(created.secret));
  send(s, R"({"type":"processing_start"})");
  advance_time(1100ms);
  send(s, R"({"type":"processing_stop"})");
  EXPECT_EQ(sock->closed_with, 0);
}

} // namespace
} // namespace nod
