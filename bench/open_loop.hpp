#pragma once

// Open-loop latency for nod-bench (--rate): messages are sent at a fixed
// arrival rate whatever the server does, and each one's latency runs from
// its scheduled send time, so a slow answer cannot hold back the next
// sends (no coordinated omission).

#include "bench/nodes.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nod::bench {

/// An agent's credentials.
struct open_loop_agent {
  std::string id;
  std::string secret;
};

/// Where and how fast to send.
struct open_loop_config {
  /// The app socket uses the first node; agents and people are spread
  /// (nodes.hpp).
  std::vector<server_node> nodes;
  /// A person's bearer token (the agents' owner).
  std::string token;
  std::vector<open_loop_agent> agents;
  /// Messages per second, over all agents.
  double rate = 1000;
  /// Measured time, after half a second of warm-up.
  double seconds = 5;
  /// Which directions: any of rest>app, ws>app, post>agent, post>acks.
  std::vector<std::string> paths;
  /// Polled between steps; true ends the run early.
  std::function<bool()> interrupted;
};

/// What one direction measured.
struct open_loop_row {
  std::string name;
  /// Messages scheduled in the measured window, and how many arrived.
  uint64_t scheduled = 0;
  uint64_t arrived = 0;
  /// Failed sends, and messages that never arrived.
  uint64_t errors = 0;
  std::string first_error;
  /// Latencies from the scheduled send time, sorted.
  std::vector<float> latencies_us;
  double seconds = 0;
  /// Server CPU (% of one core) and per message; negative: unknown.
  double server_cpu_pct = -1;
};

/// The directions measured by `run_open_loop`, in order.
std::vector<std::string> open_loop_paths();

/// Runs each direction of `cfg.paths` in turn; `server_cpu` (may be
/// empty) reads the server's CPU seconds.
std::vector<open_loop_row>
run_open_loop(const open_loop_config& cfg,
              const std::function<double()>& server_cpu);

} // namespace nod::bench
