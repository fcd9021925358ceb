#pragma once

// nod-bench's command line: what it runs against, how many agents, how long,
// which phases, the open-loop rate.

#include <cstdio>
#include <string>
#include <vector>

namespace nod::bench {

/// A server's address from --url.
struct url_address {
  std::string host;
  std::string port;
};

struct options {
  std::string server;
  /// --url: one server, or the nodes of a cluster.
  std::vector<url_address> urls{{"127.0.0.1", "8000"}};
  std::string admin_password;
  int agents = 64;
  double seconds = 5;
  std::vector<std::string> phases{"healthz", "rest", "ws", "reply", "webhook"};
  bool phases_given = false;
  /// Open-loop messages per second; 0: no open-loop run.
  double rate = 0;
  int io_threads = 1;
  int webhook_max_per_host = 64; // 0: the server's own setting
};

/// Prints the usage text to `out`.
void usage(FILE* out);

/// Parses the command line; prints the usage and exits on --help (0) or on
/// a bad option (2).
options parse_options(int argc, char** argv);

} // namespace nod::bench
