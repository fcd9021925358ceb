#pragma once

#include "actors/actors.hpp"

#include <caf/actor_addr.hpp>
#include <unordered_map>
#include <vector>

namespace nod {

/// State of the directory actor.
struct directory_state {
  static inline const char* name = "directory";

  /// Live app sessions of each user.
  std::unordered_map<uint64_t, std::vector<app_session_actor>> apps;

  /// Live authenticated sockets of each agent, oldest first.
  struct agent_entry {
    uint64_t owner = 0;
    std::vector<caf::actor_addr> sessions;
  };
  std::unordered_map<uint64_t, agent_entry> agents;
};

/// Behavior of the directory actor.
directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self);

/// The frame that tells an app that an agent went online or offline.
std::string agent_status_frame(uint64_t agent, bool online);

} // namespace nod
