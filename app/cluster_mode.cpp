#include "app/cluster_mode.hpp"

#include "app/commands.hpp"
#include "cluster/node.hpp"
#include "config/config.hpp"
#include "net/server.hpp"
#include "nod_version.hpp"
#include "protocol/webhook.hpp"

#include <cstring>
#include <optional>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace nod::app {

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int wait_signal(const sigset_t& signals, bool poll) {
  if (!poll) {
    int received = 0;
    sigwait(&signals, &received);
    return received;
  }
  timespec wait{0, 100 * 1000 * 1000};
  int received = sigtimedwait(&signals, nullptr, &wait);
  return received < 0 ? 0 : received;
}

std::unique_ptr<cluster::node>
start_cluster_node(config& cfg, metrics::registry& metrics,
                   std::shared_ptr<storage::store> db, int& code) {
  // The other nodes relay to this one by its address: fixed, plain HTTP.
  if (!cfg.tls_cert.empty()) {
    spdlog::critical("cluster mode does not take tls-cert yet: terminate "
                     "TLS in front of the nodes (docs/cluster.md)");
    code = exit_bad_setting;
    return nullptr;
  }
  if (cfg.listen_port == 0) {
    spdlog::critical("cluster mode needs a fixed listen port: the other "
                     "nodes relay requests to it");
    code = exit_bad_setting;
    return nullptr;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  if (cfg.node_name.empty())
    cfg.node_name = host;
  if (cfg.node_url.empty()) {
    bool every_address
      = cfg.listen_host == "0.0.0.0" || cfg.listen_host == "::";
    cfg.node_url
      = "http://"
        + (every_address ? std::string{host} : url_host(cfg.listen_host)) + ":"
        + std::to_string(cfg.listen_port);
  }
  cluster::options opts;
  opts.servers = cluster_servers(cfg);
  opts.node_name = cfg.node_name;
  opts.url = cfg.node_url;
  opts.replicas = static_cast<int>(cfg.cluster_replicas);
  opts.lease = cfg.cluster_lease;
  opts.journal_max_age = cfg.cluster_journal_max_age;
  opts.metrics = &metrics;
  std::string error;
  auto node = cluster::node::start(opts, std::move(db), error);
  if (!node) {
    spdlog::critical("{}", error);
    code = exit_failure;
  }
  return node;
}

namespace {

// Where to relay: the leader's URL (http://HOST:PORT) as its lease names
// it, while another node leads.
std::optional<net::forward_target> relay_target(const cluster::node& node) {
  auto url = parse_http_url(node.relay_url());
  if (!url || url->tls)
    return std::nullopt;
  return net::forward_target{url->host, url->port};
}

} // namespace

bool stand_by(const config& cfg, metrics::registry& metrics,
              std::shared_ptr<spdlog::logger> access_logger,
              cluster::node& node, const sigset_t& signals, int& code) {
  // Ready while it can relay: linked to NATS, with a leader to relay to.
  net::server server{cfg, metrics, [&node] {
                       return !node.relay_url().empty();
                     }};
  server.set_access_logger(std::move(access_logger));
  server.set_forward([&node] {
    return relay_target(node);
  });
  if (auto err = server.start()) {
    spdlog::critical("{}", *err);
    code = exit_failure;
    return false;
  }
  spdlog::info("nod-server {} standing by on {}:{} as cluster node {}",
               NOD_VERSION_STRING, url_host(cfg.listen_host), server.port(),
               cfg.node_name);
  for (;;) {
    auto received = wait_signal(signals, true);
    if (received == SIGHUP)
      continue;
    if (received != 0) {
      spdlog::info("received {}, shutting down", strsignal(received));
      code = 0;
      return false;
    }
    auto now = node.current();
    if (now == cluster::role::leading)
      return true;
    if (now == cluster::role::failed) {
      code = exit_failure;
      return false;
    }
  }
}

} // namespace nod::app
