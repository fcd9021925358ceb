#pragma once

#include "actors/actors.hpp"

#include <atomic>
#include <caf/timespan.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

namespace nod {

/// Settings of the accounts actor.
struct accounts_options {
  /// Lifetime of a login session (bearer token and cookie).
  std::chrono::milliseconds session_ttl = std::chrono::hours{24 * 30};
  /// Failed logins (per username and per client address) allowed within
  /// `failure_window` before further attempts are refused for a while.
  int free_failures = 5;
  std::chrono::milliseconds failure_window = std::chrono::minutes{15};
  /// The first refusal lasts this long, doubling with each further
  /// failure, up to `max_lockout`.
  std::chrono::milliseconds first_lockout = std::chrono::seconds{1};
  std::chrono::milliseconds max_lockout = std::chrono::minutes{5};
  /// Moved forward whenever an agent changes (settings, secrets,
  /// deletion), before the change is acknowledged: caches of agent
  /// credentials outside this actor drop what they hold. May be null.
  std::shared_ptr<std::atomic<uint64_t>> agents_epoch;
};

/// Failed logins of one username or client address.
struct login_failures {
  int count = 0;
  int64_t first_ms = 0;
  int64_t locked_until_ms = 0;
};

/// State of the accounts actor: every user, session and agent in memory
/// (loaded once at start; these tables are small), written through the
/// journal. Changes are applied in memory when requested, so later
/// requests see them, and undone if the journal write fails.
struct accounts_state {
  static inline const char* name = "accounts";

  journal_actor journal;
  hasher_actor hasher;
  accounts_options opts;

  std::unordered_map<uint64_t, user_record> users;
  std::unordered_map<std::string, uint64_t> usernames;
  /// By SHA-256 hex of the token.
  std::unordered_map<std::string, session_record> sessions;
  std::unordered_map<uint64_t, agent_record> agents;
  std::unordered_map<std::string, login_failures> failures;
};

/// Behavior of the accounts actor. Loads its tables from `journal` before
/// it handles any request.
accounts_actor::behavior_type
accounts(accounts_actor::stateful_pointer<accounts_state> self,
         journal_actor journal, hasher_actor hasher, accounts_options opts);

} // namespace nod
