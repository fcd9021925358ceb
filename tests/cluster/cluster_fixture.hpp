#pragma once

// Three nats-servers (one JetStream cluster, R3) and three nod-servers on
// loopback, each with its own data directory, as docs/cluster.md runs
// them. Nodes and NATS servers can be killed, stopped and started again.

#include "tests/e2e/http_client.hpp"
#include "tests/e2e/json_util.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace nod::test {

inline const std::string cluster_admin_password = "admin-Pw-0123456789";

class cluster_fixture : public ::testing::Test {
protected:
  using clock_type = std::chrono::steady_clock;
  static constexpr size_t nodes = 3;

  struct nats_server {
    uint16_t client = 0;
    uint16_t route = 0;
    uint16_t monitor = 0;
    std::string conf;
    std::unique_ptr<child_process> proc;
  };

  struct nod_node {
    uint16_t port = 0;
    std::string data;
    std::unique_ptr<child_process> proc;
  };

  /// `settings`: environment added to every nod-server; with
  /// `own_nats_only` each node knows only its own NATS server (a node cut
  /// off from it is cut off from the cluster).
  explicit cluster_fixture(std::map<std::string, std::string> settings = {},
                           bool own_nats_only = false)
    : settings_(std::move(settings)), own_nats_only_(own_nats_only) {
    auto ports = free_ports(nodes * 4);
    for (size_t i = 0; i < nodes; ++i) {
      nats_[i].client = ports[i * 4];
      nats_[i].route = ports[i * 4 + 1];
      nats_[i].monitor = ports[i * 4 + 2];
      nodes_[i].port = ports[i * 4 + 3];
      nodes_[i].data = dir / ("node" + std::to_string(i + 1));
    }
    for (size_t i = 0; i < nodes; ++i)
      write_nats_conf(i);
    for (size_t i = 0; i < nodes; ++i)
      start_nats(i);
    for (size_t i = 0; i < nodes; ++i) {
      auto out = nats_[i].proc->wait_for_output("Server is ready",
                                                std::chrono::seconds(20));
      EXPECT_TRUE(out) << nats_[i].proc->output();
    }
    for (size_t i = 0; i < nodes; ++i)
      start_node(i);
    leader_ = wait_for_leader();
    EXPECT_GE(leader_, 0) << logs();
    if (leader_ >= 0)
      token = login(static_cast<size_t>(leader_));
    for (size_t i = 0; i < nodes; ++i)
      EXPECT_TRUE(wait_ready(i)) << "node " << i + 1 << "\n" << logs();
  }

  /// Waits until node `i` answers /readyz with 200 (a follower once it
  /// knows the leader).
  bool wait_ready(size_t i, std::chrono::milliseconds timeout
                            = std::chrono::seconds(10)) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      if (call(i, "GET", "/readyz").status == 200u)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  ~cluster_fixture() override {
    // Nodes first (they give their lease up), then NATS.
    for (auto& n : nodes_)
      if (n.proc) {
        n.proc->signal(SIGCONT);
        n.proc->signal(SIGTERM);
        n.proc->wait(std::chrono::seconds(20));
      }
    for (auto& s : nats_)
      if (s.proc) {
        s.proc->signal(SIGCONT);
        s.proc->signal(SIGTERM);
        s.proc->wait(std::chrono::seconds(10));
      }
  }

  // -- processes

  /// Children that get SIGTERM when the test dies (a pipe closed, ^C), so
  /// no server outlives it.
  static testkit::child_options child_options() {
    testkit::child_options o;
    o.own_group = true;
    return o;
  }

  static std::vector<uint16_t> free_ports(size_t n) {
    boost::asio::io_context ioc;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> held;
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < n; ++i) {
      auto a = std::make_unique<boost::asio::ip::tcp::acceptor>(
        ioc, boost::asio::ip::tcp::endpoint{
               boost::asio::ip::make_address("127.0.0.1"), 0});
      ports.push_back(a->local_endpoint().port());
      held.push_back(std::move(a));
    }
    return ports;
  }

  void write_nats_conf(size_t i) {
    auto& s = nats_[i];
    s.conf = dir / ("nats" + std::to_string(i + 1) + ".conf");
    std::ofstream out(s.conf);
    out << "server_name: n" << i + 1 << "\n"
        << "listen: 127.0.0.1:" << s.client << "\n"
        << "http: 127.0.0.1:" << s.monitor << "\n"
        << "max_payload: 8MB\n"
        << "jetstream { store_dir: \"" << (dir / ("js" + std::to_string(i + 1)))
        << "\", max_memory_store: 64MB, max_file_store: 1GB }\n"
        << "cluster { name: nodtest, listen: 127.0.0.1:" << s.route
        << ", routes: [";
    for (size_t j = 0; j < nodes; ++j)
      out << (j ? ", " : "") << "nats-route://127.0.0.1:" << nats_[j].route;
    out << "] }\n";
  }

  void start_nats(size_t i) {
    nats_[i].proc = std::make_unique<child_process>(
      NOD_NATS_SERVER, std::vector<std::string>{"-c", nats_[i].conf},
      std::vector<std::string>{}, child_options());
  }

  std::string nats_urls(size_t i) const {
    std::string urls = "nats://127.0.0.1:" + std::to_string(nats_[i].client);
    if (own_nats_only_)
      return urls;
    for (size_t j = 0; j < nodes; ++j)
      if (j != i)
        urls += ",nats://127.0.0.1:" + std::to_string(nats_[j].client);
    return urls;
  }

  void start_node(size_t i) {
    std::map<std::string, std::string> env{
      {"NOD_LISTEN", "127.0.0.1:" + std::to_string(nodes_[i].port)},
      {"NOD_DATA_DIR", nodes_[i].data},
      {"NOD_ADMIN_PASSWORD", cluster_admin_password},
      {"NOD_CLUSTER_NATS", nats_urls(i)},
      {"NOD_NODE_NAME", "node" + std::to_string(i + 1)},
      {"NOD_CLUSTER_LEASE", "3s"},
    };
    for (auto& [name, value] : settings_)
      env[name] = value;
    std::vector<std::string> vars;
    for (auto& [name, value] : env)
      vars.push_back(name + "=" + value);
    nodes_[i].proc = std::make_unique<child_process>(
      NOD_SERVER_BINARY, std::vector<std::string>{}, vars, child_options());
    auto out = nodes_[i].proc->wait_for_output("standing by on",
                                               std::chrono::seconds(20));
    EXPECT_TRUE(out) << nodes_[i].proc->output();
  }

  void kill_node(size_t i) {
    nodes_[i].proc->signal(SIGKILL);
    nodes_[i].proc->wait(std::chrono::seconds(10));
  }

  // -- who leads

  /// The node that leads and serves, waiting up to `timeout` for one (not
  /// `except`); -1 if none.
  int wait_for_leader(std::chrono::milliseconds timeout
                      = std::chrono::seconds(30),
                      int except = -1) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      for (size_t i = 0; i < nodes; ++i) {
        if (static_cast<int>(i) == except || !nodes_[i].proc)
          continue;
        // Leading, and serving (its actors are up).
        if (metric(i, "nod_cluster_leading") == 1
            && call(i, "GET", "/readyz").status == 200u)
          return static_cast<int>(i);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  /// Value of the unlabelled metric `name` on node `i`; -1 if unreadable.
  long long metric(size_t i, const std::string& name) {
    auto r = call(i, "GET", "/metrics");
    if (r.status != 200)
      return -1;
    auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos)
      return -1;
    return std::atoll(r.body.c_str() + at + name.size() + 2);
  }

  // -- requests

  /// A request to node `i`; status 0 when it could not be made.
  http_reply call(size_t i, const std::string& method,
                  const std::string& target, const std::string& body = {},
                  const header_list& headers = {}) {
    try {
      testkit::http_session s{"127.0.0.1", nodes_[i].port};
      s.timeouts(std::chrono::seconds(2), std::chrono::seconds(20));
      return s.call(method, target, body, headers);
    } catch (const std::exception&) {
      return {};
    }
  }

  size_t random_node() {
    return std::uniform_int_distribution<size_t>{0, nodes - 1}(rng_);
  }

  std::string login(size_t i) {
    auto r = call(i, "POST", "/api/auth/login",
                  R"({"username":"admin","password":")" + cluster_admin_password
                    + "\"}",
                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    return str(parse(r.body), "token");
  }

  http_reply app(size_t i, const std::string& method, const std::string& target,
                 const std::string& body = {}) {
    return call(i, method, target, body,
                {{"Authorization", "Bearer " + token},
                 {"Content-Type", "application/json"}});
  }

  struct agent {
    std::string id;
    std::string secret;
  };

  agent create_agent(size_t i, const std::string& name,
                     const std::string& webhook_url = {}) {
    std::string body = R"({"name":")" + name + "\"";
    if (!webhook_url.empty())
      body += R"(,"webhook_url":")" + webhook_url + "\"";
    body += "}";
    auto r = app(i, "POST", "/api/agents", body);
    EXPECT_EQ(r.status, 201u) << r.body;
    auto doc = parse(r.body);
    return {str(doc, "agent_id"), str(doc, "secret")};
  }

  http_reply agent_call(size_t i, const agent& a, const std::string& method,
                        const std::string& target, const std::string& body = {},
                        header_list more = {}) {
    header_list headers{{"X-Nod-Agent-Id", a.id},
                        {"X-Nod-Secret", a.secret},
                        {"Content-Type", "application/json"}};
    for (auto& h : more)
      headers.push_back(std::move(h));
    return call(i, method, target, body, headers);
  }

  /// An authenticated agent socket through node `i`.
  std::unique_ptr<ws_client> connect_agent(size_t i, const agent& a,
                                           bool acks = false) {
    auto ws = std::make_unique<ws_client>();
    if (ws->connect(nodes_[i].port, "/ws/agent/" + a.id) != 101u)
      return nullptr;
    ws->send_text(R"({"type":"auth","agent_id":")" + a.id + R"(","secret":")"
                  + a.secret + "\"" + (acks ? R"(,"acks":true)" : "") + "}");
    auto ok = ws->read_text();
    if (!ok || str(parse(*ok), "type") != "auth_ok")
      return nullptr;
    return ws;
  }

  std::string logs() const {
    std::string all;
    for (size_t i = 0; i < nodes; ++i)
      if (nodes_[i].proc)
        all += "--- node" + std::to_string(i + 1) + "\n"
               + nodes_[i].proc->output();
    for (size_t i = 0; i < nodes; ++i)
      if (nats_[i].proc) {
        auto out = nats_[i].proc->output();
        // The tail: the start-up lines are the same every time.
        all += "--- nats" + std::to_string(i + 1) + "\n"
               + (out.size() > 3000 ? out.substr(out.size() - 3000) : out);
      }
    return all;
  }

  /// Load threads, told to stop and joined however the test ends (a
  /// failed ASSERT returns early).
  struct load_threads {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    void finish() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable())
          t.join();
    }
    ~load_threads() {
      finish();
    }
  };

  temp_dir dir;
  std::array<nats_server, nodes> nats_;
  std::array<nod_node, nodes> nodes_;
  int leader_ = -1;
  std::string token;

private:
  std::map<std::string, std::string> settings_;
  bool own_nats_only_ = false;
  std::mt19937 rng_{std::random_device{}()};
};

} // namespace nod::test
