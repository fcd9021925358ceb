#pragma once

#include "actors/actors.hpp"
#include "actors/agent_cache.hpp"
#include "actors/task_interfaces.hpp"

#include <unordered_map>

namespace nod {

/// State of the actions actor.
struct actions_state {
  static inline const char* name = "actions";

  journal_actor journal;
  accounts_actor accounts;
  outbox_actor outbox;
  /// Told about tasks that approved proposals create.
  task_clock_actor clock;
  /// Base of trigger URLs of those tasks.
  std::string public_url;
  /// The agents people message, as accounts gave them.
  agent_cache agents;
  /// Conversation → its agent, for those read or written here (a
  /// conversation never changes agent and is never deleted).
  std::unordered_map<uint64_t, uint64_t> conversation_agents;
};

/// Behavior of the actions actor: turns a person's resolution or message
/// into stored objects and an event for the agent, sent through `outbox`.
actions_actor::behavior_type
actions(actions_actor::stateful_pointer<actions_state> self,
        journal_actor journal, accounts_actor accounts, outbox_actor outbox,
        task_clock_actor clock, std::string public_url,
        std::shared_ptr<const std::atomic<uint64_t>> agents_epoch);

} // namespace nod
