// Connection bounds against the real binary (issue #17, part 3):
// max-connections, max-connections-per-ip, max-sockets-per-agent, and the
// open-file limit fitted at start-up.

#include "tests/e2e/server_fixture.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nod::test {
namespace {

using namespace std::chrono_literals;
using testkit::http_session;

/// A keep-alive connection that has been served once, so the server holds
/// it open (and counts it) until it is closed.
std::unique_ptr<http_session> idle_connection(uint16_t port) {
  auto s = std::make_unique<http_session>("127.0.0.1", port);
  auto r = s->call("GET", "/healthz");
  EXPECT_EQ(r.status, 200u) << r.body;
  return s;
}

/// Polls with fresh connections until `target` is served with something
/// other than 503 (the server saw a closed connection go); its status.
unsigned status_once_room(uint16_t port, const std::string& target) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    auto r = http_call(port, "GET", target);
    if (r.status != 503 || std::chrono::steady_clock::now() > deadline)
      return r.status;
    std::this_thread::sleep_for(20ms);
  }
}

class limits_e2e : public server_fixture {
protected:
  limits_e2e()
    : server_fixture(
      {{"NOD_MAX_CONNECTIONS", "4"}, {"NOD_MAX_SOCKETS_PER_AGENT", "2"}}) {}
};

TEST_F(limits_e2e, over_max_connections_new_ones_get_503_and_health_checks) {
  // The fixture's login connection may still be closing: wait for room.
  ASSERT_EQ(status_once_room(port, "/readyz"), 200u);
  std::vector<std::unique_ptr<http_session>> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(idle_connection(port));
  auto refused = http_call(port, "GET", "/readyz");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("too many connections"), std::string::npos)
    << refused.body;
  // A health check still gets its answer, and the held ones keep working.
  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200u);
  EXPECT_EQ(held[0]->call("GET", "/readyz").status, 200u);
  // A refused upgrade is refused before the handshake.
  ws_client ws;
  EXPECT_EQ(ws.connect(port, "/ws/app"), 503u);
  // One goes, a new one is served.
  held.pop_back();
  EXPECT_EQ(status_once_room(port, "/readyz"), 200u);
  auto metrics = held[0]->call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("nod_http_connections_refused_total"),
            std::string::npos);
}

TEST_F(limits_e2e,
       a_newer_socket_of_an_agent_closes_the_oldest_over_the_bound) {
  auto a = create_agent("many-sockets");
  auto first = connect_agent(a, false);
  auto second = connect_agent(a, false);
  ASSERT_EQ(status_once_room(port, "/readyz"), 200u);
  // Room for a third connection: the two sockets and this one.
  auto third = connect_agent(a, false);
  EXPECT_EQ(first->read_until_close(5s), 4009);
  EXPECT_NE(first->close_reason().find("max-sockets-per-agent"),
            std::string::npos)
    << first->close_reason();
  // The newest gets the agent's events.
  say(a, "to the newest");
  EXPECT_FALSE(next_of(*third, "user_message").empty());
  EXPECT_FALSE(second->closed());
}

class per_ip_e2e : public server_fixture {
protected:
  per_ip_e2e() : server_fixture({{"NOD_MAX_CONNECTIONS_PER_IP", "2"}}) {}
};

TEST_F(per_ip_e2e, one_address_gets_no_more_than_its_share) {
  ASSERT_EQ(status_once_room(port, "/readyz"), 200u);
  auto one = idle_connection(port);
  auto two = idle_connection(port);
  auto refused = http_call(port, "GET", "/readyz");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  two.reset();
  EXPECT_EQ(status_once_room(port, "/readyz"), 200u);
}

TEST(fd_limit_e2e, max_connections_is_fitted_to_the_open_file_limit) {
  // A hard limit of 400 files: 256 stay in reserve, 144 connections.
  temp_dir dir;
  std::vector<std::string> env{"NOD_LISTEN=127.0.0.1:0",
                               "NOD_DATA_DIR=" + (dir / "data"),
                               "NOD_ADMIN_PASSWORD=" + admin_password};
  child_process server{"/bin/sh",
                       {"-c", "ulimit -Sn 300 && ulimit -Hn 400 && exec \"$0\"",
                        NOD_SERVER_BINARY},
                       env};
  auto port = wait_for_port(server);
  ASSERT_NE(port, 0) << server.output();
  EXPECT_TRUE(server.wait_for_output("max-connections lowered from 10000 to "
                                     "144",
                                     5s))
    << server.output();
  // More connections than fit: each is served or refused, none fails, and
  // health checks keep being answered.
  std::vector<std::unique_ptr<http_session>> held;
  size_t refused = 0;
  for (int i = 0; i < 200; ++i) {
    auto s = std::make_unique<http_session>("127.0.0.1", port);
    auto r = s->call("GET", "/readyz");
    if (r.status == 503)
      ++refused;
    else
      EXPECT_EQ(r.status, 200u) << i << ": " << r.body;
    held.push_back(std::move(s));
  }
  EXPECT_GE(refused, 56u);
  EXPECT_EQ(http_call(port, "GET", "/healthz").status, 200u);
  EXPECT_EQ(server.output().find("accept failed"), std::string::npos)
    << server.output();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(20s), 0) << server.output();
}

} // namespace
} // namespace nod::test
