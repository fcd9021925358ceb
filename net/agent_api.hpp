#pragma once

#include "actors/actors.hpp"
#include "actors/agent_session.hpp"
#include "actors/task_interfaces.hpp"

#include <atomic>
#include <caf/fwd.hpp>
#include <memory>

namespace nod::metrics {
class counter;
} // namespace nod::metrics

namespace nod::net {

class server;
class edge_actors;

/// What the agent API (API.md A1-A3) needs from the rest of the server.
struct agent_api_context {
  caf::actor_system* sys = nullptr;
  /// What handlers ask actors through; made by `add_agent_api`.
  std::shared_ptr<edge_actors> edge;
  accounts_actor accounts;
  directory_actor directory;
  ingest_actor ingest;
  journal_actor journal;
  reader_actor reader;
  outbox_actor outbox;
  notifier_actor notifier;
  tasks_actor tasks;
  /// The accounts actor's `agents_epoch`: agents authenticated once are
  /// then checked at the edge until it moves. Null: every call asks
  /// accounts.
  std::shared_ptr<const std::atomic<uint64_t>> agents_epoch;
  /// Requests per second (and burst) of each inbound trigger URL.
  double trigger_rate = 10;
  double trigger_burst = 20;
  /// Counts trigger calls refused as a loop (X-Nod-Hops); may be null.
  metrics::counter* trigger_loops = nullptr;
  /// Also the per-agent limit of `POST /api/agent/events` (429 over it).
  agent_session_options sessions;
};

/// Adds `POST /api/agent/events`, the inbox and decision polls (A6), the
/// agent's task endpoints and inbound triggers `POST /webhook/{id}` (A5),
/// and the agent WebSocket `/ws/agent/{agent_id}` to `srv`.
void add_agent_api(server& srv, agent_api_context ctx);

} // namespace nod::net
