// directory and app_session on the deterministic scheduler, with a real
// journal, hasher and accounts behind them and a recording client link.

#include "actors/app_session.hpp"
#include "tests/actors/people_fixture.hpp"
#include "tests/support/fake_socket.hpp"

#include <algorithm>
#include <memory>

namespace nod {
namespace {

using namespace std::chrono_literals;

using test::fake_socket;
using test::link_to;

/// A stand-in for an app or agent session that records what the
/// directory pushes.
app_session_actor::behavior_type
recording_session(app_session_actor::pointer self,
                  std::shared_ptr<std::vector<std::string>> pushed) {
  return {
    [](frame_atom, const std::string&) {},
    [pushed](push_atom, const std::string& frame) {
      pushed->push_back(frame);
    },
    [self](closed_atom) {
      self->quit();
    },
    [](timeout_atom) {},
    [pushed](kick_atom, uint16_t code, const std::string&) {
      pushed->push_back("kicked " + std::to_string(code));
    },
  };
}

class sessions_test : public test::people_fixture {
protected:
  app_session_actor open_app(std::shared_ptr<fake_socket> sock,
                             std::string cookie = {}) {
    auto s = sys.spawn(app_session, link_to(sock), acc, directory_,
                       std::move(cookie), app_session_options{});
    run();
    return s;
  }

  uint64_t sessions_of(uint64_t user) {
    auto n = call<uint64_t>(directory_, session_count_atom::value, user);
    EXPECT_TRUE(n);
    return n ? *n : 0;
  }
};

TEST_F(sessions_test, directory_fans_out_only_to_the_owners_sessions) {
  auto a1 = std::make_shared<std::vector<std::string>>();
  auto a2 = std::make_shared<std::vector<std::string>>();
  auto b1 = std::make_shared<std::vector<std::string>>();
  auto s_a1 = sys.spawn(recording_session, a1);
  auto s_a2 = sys.spawn(recording_session, a2);
  auto s_b1 = sys.spawn(recording_session, b1);
  self->send(directory_, join_atom::value, uint64_t{1}, s_a1);
  self->send(directory_, join_atom::value, uint64_t{1}, s_a2);
  self->send(directory_, join_atom::value, uint64_t{2}, s_b1);
  self->send(directory_, publish_atom::value, uint64_t{1},
             std::string{"for user 1"});
  run();
  EXPECT_EQ(*a1, std::vector<std::string>{"for user 1"});
  EXPECT_EQ(*a2, std::vector<std::string>{"for user 1"});
  EXPECT_TRUE(b1->empty());
  // A session that ends is dropped without telling the directory.
  self->send(s_a1, closed_atom::value);
  run();
  EXPECT_EQ(sessions_of(1), 1u);
  self->send(directory_, publish_atom::value, uint64_t{1},
             std::string{"second"});
  run();
  EXPECT_EQ(a1->size(), 1u);
  EXPECT_EQ(a2->size(), 2u);
}

TEST_F(sessions_test,
       agents_go_online_with_the_first_socket_and_offline_with_the_last) {
  auto pushed = std::make_shared<std::vector<std::string>>();
  auto app = sys.spawn(recording_session, pushed);
  self->send(directory_, join_atom::value, uint64_t{7}, app);
  auto sock1 = sys.spawn(recording_session, pushed);
  auto sock2 = sys.spawn(recording_session, pushed);
  self->send(directory_, agent_up_atom::value, uint64_t{42}, uint64_t{7},
             sock1);
  self->send(directory_, agent_up_atom::value, uint64_t{42}, uint64_t{7},
             sock2);
  run();
  ASSERT_EQ(pushed->size(), 1u);
  EXPECT_NE(pushed->at(0).find("\"online\":true"), std::string::npos);
  auto live = call<std::vector<agent_live>>(directory_, online_atom::value,
                                            std::vector<uint64_t>{41, 42});
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 2u);
  EXPECT_FALSE(live->at(0).online);
  EXPECT_TRUE(live->at(1).online);
  self->send(directory_, agent_down_atom::value, uint64_t{42}, sock1.address());
  run();
  EXPECT_EQ(pushed->size(), 1u); // still one socket open
  // The last socket's actor dies without saying goodbye.
  self->send(sock2, closed_atom::value);
  run();
  ASSERT_EQ(pushed->size(), 2u);
  EXPECT_NE(pushed->at(1).find("\"online\":false"), std::string::npos);
  EXPECT_NE(pushed->at(1).find(agent_id_text(42)), std::string::npos);
}

TEST_F(sessions_test, app_session_closes_4001_without_auth_in_time) {
  auto sock = std::make_shared<fake_socket>();
  open_app(sock);
  advance_time(9s);
  EXPECT_EQ(sock->closed_with, 0);
  advance_time(2s);
  EXPECT_EQ(sock->closed_with, 4001);
}

TEST_F(sessions_test,
       app_session_closes_4001_when_the_first_frame_is_not_auth) {
  for (auto first : {std::string{"not json"}, std::string{R"({"type":"ping"})"},
                     std::string{R"({"type":"auth"})"},
                     std::string{R"({"type":"auth","token":7})"}}) {
    auto sock = std::make_shared<fake_socket>();
    auto s = open_app(sock);
    self->send(s, frame_atom::value, first);
    run();
    EXPECT_EQ(sock->closed_with, 4001) << first;
  }
}

TEST_F(sessions_test, app_session_closes_4003_for_a_wrong_token) {
  auto sock = std::make_shared<fake_socket>();
  auto s = open_app(sock);
  self->send(s, frame_atom::value,
             std::string{R"({"type":"auth","token":"nodt_wrong"})"});
  run();
  EXPECT_EQ(sock->closed_with, 4003);
}

TEST_F(sessions_test, authenticated_session_gets_its_users_events_and_pongs) {
  auto alice = add_user("alice");
  auto token = login("alice");
  auto sock = std::make_shared<fake_socket>();
  auto s = open_app(sock);
  self->send(s, frame_atom::value,
             std::string{R"({"type":"auth","token":")"} + token + "\"}");
  run();
  ASSERT_EQ(sock->frames.size(), 1u);
  EXPECT_NE(sock->frames[0].find("\"type\":\"auth_ok\""), std::string::npos);
  EXPECT_NE(sock->frames[0].find("\"username\":\"alice\""), std::string::npos);
  EXPECT_EQ(sessions_of(alice.id), 1u);
  // The auth deadline passing later changes nothing.
  advance_time(11s);
  EXPECT_EQ(sock->closed_with, 0);
  self->send(directory_, publish_atom::value, alice.id,
             std::string{R"({"type":"message"})"});
  self->send(directory_, publish_atom::value, alice.id + 1,
             std::string{R"({"type":"not for alice"})"});
  self->send(s, frame_atom::value, std::string{R"({"type":"ping"})"});
  self->send(s, frame_atom::value, std::string{R"({"type":"dance"})"});
  run();
  EXPECT_TRUE(sock->contains(R"({"type":"message"})"));
  EXPECT_FALSE(sock->contains("not for alice"));
  EXPECT_TRUE(sock->contains(R"({"type":"pong"})"));
  EXPECT_TRUE(sock->contains("\"type\":\"error\""));
}

TEST_F(sessions_test, cookie_token_authenticates_without_a_frame) {
  add_user("alice");
  auto sock = std::make_shared<fake_socket>();
  open_app(sock, login("alice"));
  ASSERT_EQ(sock->frames.size(), 1u);
  EXPECT_NE(sock->frames[0].find("auth_ok"), std::string::npos);
}

TEST_F(sessions_test, a_session_that_falls_behind_is_dropped) {
  auto alice = add_user("alice");
  auto sock = std::make_shared<fake_socket>();
  open_app(sock, login("alice"));
  ASSERT_EQ(sessions_of(alice.id), 1u);
  sock->keeps_up = false;
  self->send(directory_, publish_atom::value, alice.id,
             std::string{R"({"type":"message"})"});
  run();
  EXPECT_EQ(sock->closed_with, 4008);
  EXPECT_EQ(sessions_of(alice.id), 0u);
}

TEST_F(sessions_test, closed_socket_ends_the_session) {
  auto alice = add_user("alice");
  auto sock = std::make_shared<fake_socket>();
  auto s = open_app(sock, login("alice"));
  ASSERT_EQ(sessions_of(alice.id), 1u);
  self->send(s, closed_atom::value);
  run();
  EXPECT_EQ(sessions_of(alice.id), 0u);
}

TEST_F(sessions_test, kick_closes_every_socket_of_an_agent) {
  auto pushed = std::make_shared<std::vector<std::string>>();
  auto sock1 = sys.spawn(recording_session, pushed);
  auto sock2 = sys.spawn(recording_session, pushed);
  auto other = sys.spawn(recording_session, pushed);
  self->send(directory_, agent_up_atom::value, uint64_t{42}, uint64_t{7},
             sock1);
  self->send(directory_, agent_up_atom::value, uint64_t{42}, uint64_t{7},
             sock2);
  self->send(directory_, agent_up_atom::value, uint64_t{43}, uint64_t{7},
             other);
  self->send(directory_, kick_atom::value, uint64_t{42}, uint16_t{4003},
             std::string{"secret rotated"});
  run();
  EXPECT_EQ(std::count(pushed->begin(), pushed->end(), "kicked 4003"), 2);
}

} // namespace
} // namespace nod
