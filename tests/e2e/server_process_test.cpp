// The real nod-server binary: start on port 0, serve the operational
// endpoints, refuse bad settings with status 2, stop cleanly on signals.

#include "tests/e2e/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>

namespace nod {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class server_process : public ::testing::Test {
protected:
  std::unique_ptr<test::child_process>
  start(std::vector<std::string> args = {}, std::vector<std::string> env = {}) {
    env.push_back("NOD_LISTEN=127.0.0.1:0");
    env.push_back("NOD_DATA_DIR=" + dir / "data");
    return std::make_unique<test::child_process>(NOD_SERVER_BINARY, args, env);
  }

  test::temp_dir dir;
};

TEST_F(server_process, serves_health_and_stops_on_sigterm_with_status_0) {
  auto server = start();
  auto port = test::wait_for_port(*server);
  ASSERT_NE(port, 0) << server->output();
  auto health = test::http_call(port, "GET", "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(test::http_call(port, "GET", "/readyz").status, 200u);
  auto missing = test::http_call(port, "GET", "/no/such/path");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("content-type"), "application/json");
  EXPECT_TRUE(contains(missing.body, "\"detail\"")) << missing.body;
  // The banner names version, URL and data directory.
  auto log = server->output();
  EXPECT_TRUE(contains(log, "nod-server 0.")) << log;
  EXPECT_TRUE(contains(log, "http://127.0.0.1:" + std::to_string(port)));
  EXPECT_TRUE(contains(log, dir / "data")) << log;
  server->signal(SIGTERM);
  EXPECT_EQ(server->wait(20s), 0) << server->output();
  EXPECT_TRUE(contains(server->output(), "journal closed"));
}

TEST_F(server_process, sigint_also_stops_with_status_0) {
  auto server = start();
  ASSERT_NE(test::wait_for_port(*server), 0) << server->output();
  server->signal(SIGINT);
  EXPECT_EQ(server->wait(20s), 0) << server->output();
}

TEST_F(server_process, metrics_cover_requests_journal_and_process) {
  auto server = start();
  auto port = test::wait_for_port(*server);
  ASSERT_NE(port, 0) << server->output();
  test::http_call(port, "GET", "/healthz");
  auto metrics = test::http_call(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_TRUE(contains(metrics.header("content-type"), "text/plain"));
  for (auto name :
       {"nod_http_requests_total{route=\"/healthz\",method=\"GET\",status="
        "\"200\"} 1",
        "nod_http_connections_active", "nod_http_request_duration_seconds",
        "nod_journal_batch_writes", "nod_journal_write_seconds",
        "process_resident_memory_bytes", "process_open_fds"})
    EXPECT_TRUE(contains(metrics.body, name)) << name;
}

TEST_F(server_process, bad_settings_print_one_line_and_exit_2) {
  std::ofstream{dir / "a_file"} << "x";
  struct bad_case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string mentions;
  };
  std::vector<bad_case> cases{
    {{"--listen=127.0.0.1:70000"}, {}, "listen"},
    {{}, {"NOD_LISTEN=127.0.0.1:70000"}, "NOD_LISTEN"},
    {{"--frobnicate"}, {}, "--frobnicate"},
    {{"--log-level=loud"}, {}, "log-level"},
    {{"--data-dir=" + dir / "a_file"}, {}, "data-dir"},
    {{},
     {"NOD_WEBHOOK_ALLOWED_HOSTS=loopback,10.1.2.3/16"},
     "webhook-allowed-hosts (NOD_WEBHOOK_ALLOWED_HOSTS): entry "
     "\"10.1.2.3/16\": host bits are set"},
  };
  for (auto& c : cases) {
    test::child_process p{NOD_SERVER_BINARY, c.args, c.env};
    EXPECT_EQ(p.wait(20s), 2) << p.output();
    auto out = p.output();
    EXPECT_TRUE(contains(out, c.mentions)) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
}

TEST_F(server_process, help_lists_settings_and_exits_0) {
  test::child_process p{NOD_SERVER_BINARY, {"--help"}, {}};
  EXPECT_EQ(p.wait(20s), 0);
  auto out = p.output();
  for (auto name :
       {"NOD_LISTEN", "NOD_DATA_DIR", "NOD_LOG_LEVEL", "127.0.0.1:8000",
        "./data", "nod-server user add", "nod-server user passwd"})
    EXPECT_TRUE(contains(out, name)) << name;
}

TEST_F(server_process, user_help_is_an_answer_and_a_wrong_call_is_not) {
  for (auto flag : {"--help", "-h"}) {
    test::child_process p{NOD_SERVER_BINARY, {"user", flag}, {}};
    EXPECT_EQ(p.wait(20s), 0) << p.output();
    EXPECT_TRUE(contains(p.output(), "nod-server user passwd NAME"))
      << p.output();
  }
  test::child_process wrong{NOD_SERVER_BINARY, {"user", "remove", "x"}, {}};
  EXPECT_EQ(wrong.wait(20s), 2) << wrong.output();
  EXPECT_TRUE(contains(wrong.output(), "usage:")) << wrong.output();
}

TEST_F(server_process, a_data_directory_in_use_is_refused_clearly) {
  auto first = start();
  ASSERT_NE(test::wait_for_port(*first), 0) << first->output();
  auto second = start();
  EXPECT_EQ(second->wait(20s), 1) << second->output();
  EXPECT_TRUE(contains(second->output(), "in use")) << second->output();
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(20s), 0);
}

TEST_F(server_process, a_failed_first_start_does_not_spend_the_admin_password) {
  auto holder = start();
  auto port = test::wait_for_port(*holder);
  ASSERT_NE(port, 0) << holder->output();
  auto fresh = "--data-dir=" + dir / "fresh";
  {
    test::child_process taken{
      NOD_SERVER_BINARY,
      {"--listen=127.0.0.1:" + std::to_string(port), fresh},
      {}};
    EXPECT_EQ(taken.wait(20s), 1) << taken.output();
    EXPECT_FALSE(contains(taken.output(), "created user admin"))
      << taken.output();
  }
  holder->signal(SIGTERM);
  EXPECT_EQ(holder->wait(20s), 0);
  test::child_process again{
    NOD_SERVER_BINARY, {"--listen=127.0.0.1:0", fresh}, {}};
  ASSERT_NE(test::wait_for_port(again), 0) << again.output();
  EXPECT_TRUE(contains(again.output(), "created user admin with password"))
    << again.output();
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(20s), 0);
}

TEST_F(server_process, a_damaged_data_directory_is_refused_clearly) {
  {
    auto server = start();
    ASSERT_NE(test::wait_for_port(*server), 0) << server->output();
    server->signal(SIGTERM);
    ASSERT_EQ(server->wait(20s), 0);
  }
  std::ofstream{dir / "data/CURRENT", std::ios::trunc} << "garbage\n";
  auto server = start();
  EXPECT_EQ(server->wait(20s), 1) << server->output();
  EXPECT_TRUE(contains(server->output(), dir / "data")) << server->output();
}

TEST_F(server_process, a_taken_port_is_refused_clearly) {
  auto first = start();
  auto port = test::wait_for_port(*first);
  ASSERT_NE(port, 0) << first->output();
  test::temp_dir other;
  test::child_process second{
    NOD_SERVER_BINARY,
    {"--listen=127.0.0.1:" + std::to_string(port), "--data-dir=" + other / "d"},
    {}};
  EXPECT_EQ(second.wait(20s), 1) << second.output();
  EXPECT_TRUE(contains(second.output(), std::to_string(port)))
    << second.output();
}

} // namespace
} // namespace nod
