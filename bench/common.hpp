#pragma once

// What every part of nod-bench shares: the clock, the time limits, Ctrl-C,
// CPU readings and small text helpers.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace nod::bench {

using clock_type = std::chrono::steady_clock;

inline constexpr std::chrono::milliseconds warmup_time{500};
inline constexpr std::chrono::seconds connect_timeout{5};
inline constexpr std::chrono::seconds op_timeout{10};
inline constexpr std::chrono::milliseconds reconnect_delay{50};
/// How long connections get to finish their last operation after a phase.
inline constexpr std::chrono::seconds drain_time{3};

/// Set by SIGINT and SIGTERM.
extern std::atomic<bool> interrupted;

/// Sleeps up to `d`; returns false early if the user pressed Ctrl-C.
bool sleep_unless_interrupted(clock_type::duration d);

/// An agent's credentials.
struct agent_creds {
  std::string id;
  std::string secret;
};

/// `s` cut to `n` characters, with "..." when cut.
std::string clip(std::string s, size_t n = 300);

/// `bytes` random bytes in hex.
std::string random_hex(size_t bytes);

/// "HTTP <status> <body, clipped>", for error messages.
std::string describe(unsigned status, const std::string& body);

/// User + system CPU seconds of a process, from /proc/PID/stat.
std::optional<double> process_cpu_seconds(pid_t pid);

/// User + system CPU seconds of nod-bench itself.
double self_cpu_seconds();

/// Many connections need many descriptors: lifts the soft limit to the
/// hard one.
void raise_fd_limit();

} // namespace nod::bench
