#pragma once

#include "actors/actors.hpp"
#include "protocol/token_bucket.hpp"

#include <caf/timespan.hpp>
#include <chrono>
#include <string>

namespace nod {

/// Settings of agent sessions.
struct agent_session_options {
  /// Time the agent has to send its auth frame (API.md A3: 10 s).
  caf::timespan auth_timeout = std::chrono::seconds{10};
  /// Sustained events per second one socket may send, and the burst above
  /// that; a socket over the limit gets an error frame and is closed.
  double rate = 1000;
  double burst = 2000;
};

/// State of one agent session.
struct agent_session_state {
  static inline const char* name = "agent_session";

  client_link link;
  accounts_actor accounts;
  directory_actor dir;
  ingest_actor ingest;
  outbox_actor outbox;
  agent_session_options opts;
  /// The agent id in the socket's path, as given.
  std::string path_agent;
  bool auth_pending = false;
  bool authenticated = false;
  /// The agent acknowledges events (A6 `acks: true`).
  bool acks = false;
  /// The agent's delivery lane, from the outbox once authenticated: it
  /// pushes events to this socket and hears the acks.
  delivery_actor lane;
  agent_record agent;
  std::string session_id;
  /// The rate limit, full when the socket authenticates.
  token_bucket limit;
};

/// Behavior of an agent session for the socket `/ws/agent/{path_agent}`.
agent_session_actor::behavior_type
agent_session(agent_session_actor::stateful_pointer<agent_session_state> self,
              client_link link, std::string path_agent, accounts_actor accounts,
              directory_actor dir, ingest_actor ingest, outbox_actor outbox,
              agent_session_options opts);

} // namespace nod
