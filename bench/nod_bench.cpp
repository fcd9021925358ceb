// nod-bench: load generator for nod-server's HTTP and WebSocket paths. Not a
// test: prints figures. See usage() below.
//
// Every phase opens N connections from asynchronous Beast clients on one
// io_context (--io-threads threads), each with one operation in flight,
// runs 0.5 s of warm-up that is not counted, then measures for --seconds.
// Latency is taken per operation with steady_clock and merged at the end.
// The return-path phases (reply, webhook) time a person's message from the
// REST call until it reaches the agent: its WebSocket, or a webhook
// receiver that nod-bench runs on the same io_context.
//
// The parts: options (the command line), nodes (the server or a cluster's
// nodes, and which connection uses which), server (the --server child),
// setup (the admin's blocking client, agents, probes), phase (one
// closed-loop phase and the connections' base), clients and webhook (the
// load clients), phases (the --phases loop), open_loop (--rate), report
// (the tables). testkit/ has the child process and blocking clients it
// shares with the tests.

#include "bench/common.hpp"
#include "bench/nodes.hpp"
#include "bench/open_loop.hpp"
#include "bench/options.hpp"
#include "bench/phases.hpp"
#include "bench/report.hpp"
#include "bench/server.hpp"
#include "bench/setup.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nod::bench {

namespace {

extern "C" void on_interrupt(int) {
  interrupted = true;
}

int run(const options& opt) {
  std::optional<server_process> srv;
  std::vector<url_address> urls = opt.urls;
  std::string password = opt.admin_password;
  std::string server_env; // what nod-bench set, for the output
  if (!opt.server.empty()) {
    std::vector<std::pair<std::string, std::string>> env;
    // The webhook phase's receiver listens on 127.0.0.1.
    env.emplace_back("NOD_WEBHOOK_ALLOWED_HOSTS", "loopback");
    if (opt.webhook_max_per_host > 0)
      env.emplace_back("NOD_WEBHOOK_MAX_PER_HOST",
                       std::to_string(opt.webhook_max_per_host));
    for (auto& [k, v] : env)
      server_env += " " + k + "=" + v;
    srv.emplace();
    auto p = srv->start(opt.server, env);
    urls = {{"127.0.0.1", std::to_string(p)}};
    password = srv->password();
    std::fprintf(stderr, "started %s (pid %d) on %s:%s%s%s\n",
                 opt.server.c_str(), static_cast<int>(srv->pid()),
                 urls.front().host.c_str(), urls.front().port.c_str(),
                 server_env.empty() ? "" : " with", server_env.c_str());
  }

  net::io_context resolve_io;
  tcp::resolver resolver{resolve_io};
  std::vector<server_node> nodes;
  for (auto& url : urls)
    nodes.push_back({resolver.resolve(url.host, url.port).begin()->endpoint(),
                     url.host + ":" + url.port});
  // Every node must answer before anything is set up, so that a wrong URL
  // shows once and not as errors on a share of the connections.
  for (auto& node : nodes) {
    api_client probe{node.endpoint, node.host};
    try {
      auto res = probe.call("GET", "/healthz");
      if (res.status != 200)
        throw std::runtime_error(describe(res.status, res.body));
    } catch (const std::exception& e) {
      throw std::runtime_error("GET http://" + node.host
                               + "/healthz failed: " + e.what());
    }
  }
  api_client client{nodes.front().endpoint, nodes.front().host};

  bool need_agents
    = opt.rate > 0
      || std::any_of(opt.phases.begin(), opt.phases.end(), [](auto& p) {
           return p != "healthz";
         });
  setup_result creds;
  if (need_agents) {
    if (password.empty())
      throw std::runtime_error("every phase but healthz needs "
                               "--admin-password (or NOD_ADMIN_PASSWORD)");
    creds = setup(client, password, opt.agents);
    std::fprintf(stderr, "logged in, created %zu agents\n",
                 creds.agents.size());
  }

  auto [rows, notes, hook_agents]
    = run_phases(opt, nodes, srv ? &*srv : nullptr, client, creds);
  if (nodes.size() > 1) {
    char line[160];
    std::snprintf(line, sizeof(line),
                  "%zu nodes: agent i on node i %% %zu, the person writing "
                  "to it on node (i+1) %% %zu, setup and the app socket on "
                  "the first",
                  nodes.size(), nodes.size(), nodes.size());
    notes.insert(notes.begin(), line);
  }
  std::vector<open_loop_row> open_rows;
  if (opt.rate > 0 && !interrupted) {
    open_loop_config cfg;
    cfg.nodes = nodes;
    cfg.token = creds.token;
    for (auto& a : creds.agents)
      cfg.agents.push_back({a.id, a.secret});
    cfg.rate = opt.rate;
    cfg.seconds = opt.seconds;
    cfg.paths = open_loop_paths();
    cfg.interrupted = [] {
      return interrupted != 0;
    };
    std::function<double()> server_cpu;
    if (srv)
      server_cpu = [pid = srv->pid()] {
        return process_cpu_seconds(pid).value_or(-1);
      };
    std::fprintf(stderr,
                 "open loop: %.0f messages/s over %zu agents, 0.5 s warm-up "
                 "+ %.1f s per direction...\n",
                 opt.rate, cfg.agents.size(), opt.seconds);
    open_rows = run_open_loop(cfg, server_cpu);
  }

  // Against a long-lived server, leave nothing behind.
  if (!srv) {
    try {
      for (auto& a : creds.agents)
        client.call("DELETE", "/api/agents/" + a.id);
      for (auto& a : hook_agents)
        client.call("DELETE", "/api/agents/" + a.id);
      if (!creds.token.empty())
        client.call("POST", "/api/auth/logout");
    } catch (const std::exception& e) {
      notes.push_back(std::string{"cannot delete the bench agents: "}
                      + e.what());
    }
  }

  print_report(rows, open_rows, opt.rate, creds.agents.size(), notes);
  if (srv) {
    auto [count, first] = srv->problems();
    auto how = srv->stop();
    if (count > 0) {
      std::printf("server logged %zu warning/error line(s), first:\n", count);
      for (auto& l : first)
        std::printf("  | %s\n", l.c_str());
    }
    if (!how.empty())
      std::printf("%s\n", how.c_str());
  }
  return interrupted ? 130 : 0;
}

} // namespace

} // namespace nod::bench

int main(int argc, char** argv) {
  using namespace nod::bench;
  auto opt = parse_options(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  raise_fd_limit();
  try {
    return run(opt);
  } catch (const std::exception& e) {
    // `run`'s server_process has been stopped and its temp dir removed by
    // the time we get here.
    std::fprintf(stderr, "nod-bench: %s\n", e.what());
    return 1;
  }
}
