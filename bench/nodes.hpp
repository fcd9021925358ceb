#pragma once

// The nod-server nodes nod-bench talks to: one server, or a cluster's nodes
// (--url with several URLs). Agent i's connections go to node i % n; the
// person writing to agent i uses the next node, so that with a cluster a
// message crosses nodes on its way to the agent. With one node both are it.

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <string>
#include <vector>

namespace nod::bench {

struct server_node {
  boost::asio::ip::tcp::endpoint endpoint;
  /// The Host header: HOST:PORT as given.
  std::string host;
};

/// The node agent `i` connects to.
inline const server_node& agent_node(const std::vector<server_node>& nodes,
                                     size_t i) {
  return nodes[i % nodes.size()];
}

/// The node of the person writing to agent `i`: not the agent's, if there
/// are several.
inline const server_node& person_node(const std::vector<server_node>& nodes,
                                      size_t i) {
  return nodes[(i + 1) % nodes.size()];
}

} // namespace nod::bench
