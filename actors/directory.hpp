#pragma once

#include "actors/actors.hpp"

#include <caf/actor_addr.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

namespace nod {

/// Settings of the directory.
struct directory_options {
  /// A processing indicator clears itself this long after the last start
  /// or heartbeat (API.md A2: 30 s).
  caf::timespan processing_timeout = std::chrono::seconds{30};
  /// Authenticated sockets of one agent at most; a newer one closes the
  /// oldest (`max-sockets-per-agent`).
  size_t max_sockets_per_agent = 8;
};

/// State of the directory actor.
struct directory_state {
  static inline const char* name = "directory";

  /// Live app sessions of each user.
  std::unordered_map<uint64_t, std::vector<app_session_actor>> apps;

  /// Live authenticated sockets of each agent, oldest first.
  struct agent_entry {
    uint64_t owner = 0;
    std::vector<agent_session_actor> sessions;
  };
  std::unordered_map<uint64_t, agent_entry> agents;

  /// Processing indicators that are on, by agent; `generation` tells a
  /// stale expiry timer from the current one.
  struct indicator {
    processing_update last;
    uint64_t generation = 0;
  };
  std::unordered_map<uint64_t, indicator> processing;
  uint64_t next_generation = 1;

  directory_options opts;
};

/// Behavior of the directory actor.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          directory_options opts);

/// The app frame for a processing indicator.
std::string processing_frame(const processing_update& p);

/// The frame that tells an app that an agent went online or offline.
std::string agent_status_frame(uint64_t agent, bool online);

} // namespace nod
