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
  /// Failed attempts allowed within `failure_window` from one client
  /// address for one username (or one agent's secret) before that pair is
  /// refused for a while; the person (or agent) elsewhere is not.
  int free_failures = 5;
  /// As `free_failures`, for one client address whatever the username.
  int address_free_failures = 20;
  std::chrono::milliseconds failure_window = std::chrono::minutes{15};
  /// The first refusal lasts this long, doubling with each further
  /// failure, up to `max_lockout`.
  std::chrono::milliseconds first_lockout = std::chrono::seconds{1};
  std::chrono::milliseconds max_lockout = std::chrono::minutes{5};
  /// The per-user ceiling: beyond this many failed logins of one username
  /// within the window, from all addresses together, an address that has
  /// not logged in as that user within `known_address_ttl` gets one
  /// attempt per `user_slowdown`. Guessing from many addresses slows down;
  /// the person's own devices are never locked out by it.
  int user_free_failures = 20;
  std::chrono::milliseconds user_slowdown = std::chrono::seconds{1};
  std::chrono::milliseconds known_address_ttl = std::chrono::hours{24 * 30};
  /// Moved forward whenever an agent changes (settings, secrets,
  /// deletion), before the change is acknowledged: caches of agent
  /// credentials outside this actor drop what they hold. May be null.
  std::shared_ptr<std::atomic<uint64_t>> agents_epoch;
  /// The same for login sessions: moved forward whenever a session ends
  /// before its time (logout, a new password) or a user changes. May be
  /// null.
  std::shared_ptr<std::atomic<uint64_t>> sessions_epoch;
};

/// Failed attempts of one throttling key (a username, a client address or
/// a pair; see `accounts_options`).
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
  /// "user id|address bucket" → when that address last logged in as that
  /// user (ms): such an address is exempt from the per-user ceiling.
  std::unordered_map<std::string, int64_t> known_addresses;
};

/// Behavior of the accounts actor. Loads its tables from `journal` before
/// it handles any request.
accounts_actor::behavior_type
accounts(accounts_actor::stateful_pointer<accounts_state> self,
         journal_actor journal, hasher_actor hasher, accounts_options opts);

} // namespace nod
