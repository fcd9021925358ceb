#pragma once

// Agents as the APIs show them: each stored record with its live state
// (online, processing, pending decisions, undelivered events), gathered
// from the actors that know it. The app's agent views and an agent's own
// `GET /api/agent/me` share it.

#include "actors/actors.hpp"

#include <caf/fwd.hpp>
#include <functional>
#include <vector>

namespace nod::net {

/// The actors that know an agent's live state; any may be absent (its
/// fields then read as none).
struct live_sources {
  directory_actor directory;
  outbox_actor outbox;
  reader_actor reader;
};

/// Called with the agents and their live state, index by index, on an
/// actor thread.
using agents_view = std::function<void(const std::vector<agent_record>&,
                                       const std::vector<agent_live>&)>;

/// Gathers the live state of `agents` and hands both to `done`. Never
/// fails: what an actor could not tell reads as offline and none.
void with_live(const live_sources& from, std::vector<agent_record> agents,
               agents_view done);

} // namespace nod::net
