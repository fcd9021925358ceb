#pragma once

// What `main` does as a cluster node beyond a single server
// (docs/cluster.md): start the link to the cluster, and stand by, relaying
// to the leader, while another node leads.

#include <csignal>
#include <memory>
#include <string>

namespace spdlog {
class logger;
} // namespace spdlog

namespace nod {
struct config;
namespace cluster {
class node;
} // namespace cluster
namespace metrics {
class registry;
} // namespace metrics
namespace storage {
class store;
} // namespace storage
} // namespace nod

namespace nod::app {

/// `host` as it goes into a URL: an IPv6 address in brackets.
std::string url_host(const std::string& host);

/// The next of `signals` (blocked in every thread); 0 when `poll` and none
/// came within 100 ms.
int wait_signal(const sigset_t& signals, bool poll);

/// Starts following the cluster `cfg.cluster_nats` names, with `db` as the
/// local store; fills in `node-name` and `node-url` when unset. Null, with
/// the exit status in `code`, when the settings do not fit cluster mode
/// (TLS, port 0) or the link cannot be set up (said in the log).
std::unique_ptr<cluster::node>
start_cluster_node(config& cfg, metrics::registry& metrics,
                   std::shared_ptr<storage::store> db, int& code);

/// While `node` does not lead: answers health checks and metrics and relays
/// every other connection to the leader (503 while there is none). True
/// once the node leads; false when a signal stops it or the node failed
/// (`code` is then the exit status).
bool stand_by(const config& cfg, metrics::registry& metrics,
              std::shared_ptr<spdlog::logger> access_logger,
              cluster::node& node, const sigset_t& signals, int& code);

} // namespace nod::app
